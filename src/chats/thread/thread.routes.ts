import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ChatsPorts } from '../ports.ts';
import { NotFoundError } from '../../platform/errors.ts';
import { redirect, wantsFragment } from '../../platform/htmx.ts';
import { idParam } from '../../platform/http-params.ts';
import * as chats from '../chats.service.ts';
import { chatHelpers } from '../chats.view.ts';
import { loadThread } from './thread.ts';
import { ModerationError, moderateComment } from './comments.service.ts';

type Q = { before?: string };
type P = { id: string; mid?: string };

/** A message id (bigint: beyond int4 in time); chat ids go through `idParam` (int4). */
export function messageIdOf(raw: string | undefined): number {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) throw new NotFoundError();
  return n;
}

/** The thread: older messages (C4), and hiding or unhiding a comment (F2). */
export function threadRoutes(app: FastifyInstance, deps: ChatsPorts): void {
  app.get('/chats/:id/messages', { config: { access: 'chats' } }, async (req: FastifyRequest<{ Params: P; Querystring: Q }>, reply) => {
    const id = idParam(req);
    const chat = await chats.getChatFor(deps, req.auth!, id);
    const before = chats.parseCursor(req.query.before, Number.MAX_SAFE_INTEGER);
    const thread = await loadThread(deps.db, id, { limit: chats.THREAD_PAGE, ...(before ? { before } : {}) });
    if (!wantsFragment(req)) return reply.redirect(`/chats/${id}`, 303);
    return reply.view('chats/thread/_thread_page', { chat, thread, older: true, h: chatHelpers(req.t) });
  });

  // F2 moderation: hide / unhide a comment on the platform.
  app.post('/chats/:id/messages/:mid/moderate', { config: { access: 'chats' } }, async (req: FastifyRequest<{ Params: P; Body: Record<string, unknown> }>, reply) => {
    const id = idParam(req);
    const mid = messageIdOf(req.params.mid);
    const hidden = (req.body as Record<string, unknown> | undefined)?.hidden === '1';
    try {
      await moderateComment(deps, req.auth!, id, mid, hidden);
    } catch (err) {
      if (!(err instanceof ModerationError)) throw err;
      if (!wantsFragment(req)) throw err;
      return reply.view('chats/thread/_moderate_error', { messageId: mid, reason: err.reason }, 422);
    }
    if (wantsFragment(req)) return reply.code(204).send();
    return redirect(req, reply, `/chats/${id}`);
  });
}
