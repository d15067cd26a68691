// The CDN-like paths that media URLs in webhooks and API answers point at (§4.2, §8):
// /cdn/v/{id}/{name}?oe=…&_nc_sig=…   (Messenger/IG: no token, expiring signature)
// /whatsapp_business/attachments/?mid=…&ext=…&hash=…   (WhatsApp: Bearer token required, 5 min)
// /samples/{name}  (the shipped sample files, for the UI and for tests)
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Ctx } from './context.ts';
import type { MediaItem } from './media.ts';
import { mimeFromFilename } from './media.ts';

function sendMedia(reply: FastifyReply, item: MediaItem): FastifyReply {
  return reply
    .header('content-type', item.mimeType)
    .header('content-length', String(item.size))
    .header('x-content-type-options', 'nosniff')
    .header('content-disposition', `inline; filename*=UTF-8''${encodeURIComponent(item.filename)}`)
    .send(item.bytes);
}

export function registerMediaRoutes(app: FastifyInstance, ctx: Ctx): void {
  app.get('/cdn/v/:id/:name', async (request, reply) => {
    const { id } = request.params as { id: string };
    const q = request.query as Record<string, string | undefined>;
    const { item, error } = ctx.media.checkCdn(id, q.oe, q._nc_sig, ctx.clock.now());
    if (!item)
      return reply
        .code(error?.status ?? 404)
        .type('text/plain')
        .send(error?.message ?? 'Not Found');
    return sendMedia(reply, item);
  });

  app.get('/whatsapp_business/attachments/', async (request, reply) => {
    const q = request.query as Record<string, string | undefined>;
    // "without the token the request fails" (§4.2).
    const token = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const grant = token ? ctx.store.tokens.get(token) : undefined;
    if (!grant || grant.revoked || (grant.expiresAt !== undefined && grant.expiresAt <= ctx.clock.now())) {
      return reply.code(401).type('text/plain').send('Unauthorized: a valid Bearer token is required to download this media');
    }
    const { item, error } = ctx.media.checkWhatsappUrl(q.mid, q.ext, q.hash, ctx.clock.now());
    if (!item)
      return reply
        .code(error?.status ?? 404)
        .type('text/plain')
        .send(error?.message ?? 'Not Found');
    if (item.channelId && !grant.channelIds.includes(item.channelId)) return reply.code(403).type('text/plain').send('Forbidden');
    return sendMedia(reply, item);
  });

  app.get('/samples/:name', async (request, reply) => {
    const { name } = request.params as { name: string };
    const bytes = ctx.media.sample(name);
    if (!bytes) return reply.code(404).type('text/plain').send('Not Found');
    return reply.header('content-type', mimeFromFilename(name)).header('x-content-type-options', 'nosniff').send(bytes);
  });
}
