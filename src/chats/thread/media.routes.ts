import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ChatsPorts } from '../ports.ts';
import { NotFoundError } from '../../platform/errors.ts';
import { channelsOf } from '../chats.service.ts';
import { parseId } from '../../platform/http-params.ts';
import { findAttachmentIn, findContactAvatarIn } from './thread.repository.ts';

/** Types a browser may render inline; anything else is served as a download. */
const INLINE = /^(image\/(jpeg|png|gif|webp)|audio\/(mpeg|ogg|mp4|aac|wav|x-wav|webm|amr)|video\/(mp4|webm|ogg|quicktime))$/;

function contentDisposition(kind: 'inline' | 'attachment', fileName: string | null): string {
  const name = (fileName ?? 'file').replace(/[\r\n"\\]/g, '_');
  const ascii = name.replace(/[^\x20-\x7e]/g, '_');
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/**
 * Stored media, behind the same access check as the chat it belongs to (A1): an attachment
 * of a channel the employee may not use is a 404. Served with nosniff, a sandboxing CSP and
 * an explicit disposition, so a hostile file cannot run in Parley's origin (S9).
 */
export function mediaRoutes(deps: ChatsPorts) {
  return async (app: FastifyInstance) => {
    app.get('/media/:id', { config: { access: 'chats' } }, async (req: FastifyRequest<{ Params: { id: string } }>, reply) => {
      const id = Number(req.params.id);
      if (!Number.isSafeInteger(id) || id <= 0) throw new NotFoundError();
      const channels = await channelsOf(deps, req.auth!);
      const a = await findAttachmentIn(deps.db, id, channels);
      if (a?.status !== 'stored' || !a.storage_key) throw new NotFoundError();
      const size = await deps.storage.size(a.storage_key);
      if (size === null) throw new NotFoundError();
      const mime = a.mime && /^[\w.+-]+\/[\w.+-]+$/.test(a.mime) ? a.mime.toLowerCase() : 'application/octet-stream';
      const inline = INLINE.test(mime);
      return reply
        .header('Content-Type', inline ? mime : 'application/octet-stream')
        .header('Content-Length', String(size))
        .header('Content-Disposition', contentDisposition(inline ? 'inline' : 'attachment', a.file_name))
        .header('X-Content-Type-Options', 'nosniff')
        .header('Content-Security-Policy', "default-src 'none'; sandbox")
        .header('Cache-Control', 'private, max-age=86400')
        .send(deps.storage.open(a.storage_key));
    });

    app.get('/media/avatars/:contactId', { config: { access: 'chats' } }, async (req: FastifyRequest<{ Params: { contactId: string } }>, reply) => {
      // Contact ids are `integer`s: a larger number must not reach the query.
      const id = parseId(req.params.contactId);
      if (id === null) throw new NotFoundError();
      const channels = await channelsOf(deps, req.auth!);
      if (channels.length === 0) throw new NotFoundError();
      const c = await findContactAvatarIn(deps.db, id, channels);
      if (!c?.avatar_key) throw new NotFoundError();
      const size = await deps.storage.size(c.avatar_key);
      if (size === null) throw new NotFoundError();
      return reply
        .header('Content-Type', 'image/jpeg')
        .header('X-Content-Type-Options', 'nosniff')
        .header('Content-Security-Policy', "default-src 'none'; sandbox")
        .header('Cache-Control', 'private, max-age=86400')
        .send(deps.storage.open(c.avatar_key));
    });
  };
}
