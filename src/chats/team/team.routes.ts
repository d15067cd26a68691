import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ChatsPorts } from '../ports.ts';
import { ValidationError } from '../../platform/errors.ts';
import { redirect, wantsFragment } from '../../platform/htmx.ts';
import { idParam } from '../../platform/http-params.ts';
import { getChatFor } from '../chats.service.ts';
import { chatHelpers } from '../chats.view.ts';
import { assignChat, colleaguesOf, openedChat } from './team.service.ts';

type P = { id: string };

/** `assignee` as the menu posts it: '' (nobody), 'me', or a colleague's id. */
function assigneeOf(raw: unknown, me: number): number | null {
  if (raw === '' || raw === undefined || raw === 'none') return null;
  if (raw === 'me') return me;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0 || n > 2147483647) throw new ValidationError({ assignee: 'chats.assign.not_allowed' });
  return n;
}

/** #16 assignment: the header's menu of colleagues, and assigning from it. */
export function teamRoutes(deps: ChatsPorts) {
  return async (app: FastifyInstance) => {
    app.addHook('preHandler', async (req) => {
      (req as FastifyRequest & { viewExtras?: Record<string, unknown> }).viewExtras = { h: chatHelpers(req.t) };
    });

    // The menu (htmx, when the header's "Assign" opens), or a page of its own without JavaScript.
    app.get('/chats/:id/assign', { config: { access: 'chats' } }, async (req: FastifyRequest<{ Params: P }>, reply) => {
      const { chat, colleagues } = await colleaguesOf(deps, req.auth!, idParam(req));
      const data = { chat, colleagues, meId: req.auth!.employeeId };
      if (wantsFragment(req)) return reply.view('chats/team/_assign_menu', data);
      return reply.view('chats/team/assign', { ...data, title: req.t('chats.assign.title') });
    });

    // The opened chat (pane or compact window) posts this once shown: a mention of the
    // employee there is seen, their red dot follows live. Opening itself is a GET (S5).
    app.post('/chats/:id/mentions/seen', { config: { access: 'chats' } }, async (req: FastifyRequest<{ Params: P }>, reply) => {
      const id = idParam(req);
      await getChatFor(deps, req.auth!, id);
      await openedChat(deps, req.auth!, id);
      if (wantsFragment(req)) return reply.code(204).send();
      return redirect(req, reply, `/chats/${id}`);
    });

    app.post('/chats/:id/assign', { config: { access: 'chats' } }, async (req: FastifyRequest<{ Params: P; Body: Record<string, unknown> }>, reply) => {
      const id = idParam(req);
      const raw = (req.body as Record<string, unknown> | undefined)?.assignee;
      try {
        await assignChat(deps, req.auth!, id, assigneeOf(raw, req.auth!.employeeId));
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        const { chat, colleagues } = await colleaguesOf(deps, req.auth!, id);
        const data = { chat, colleagues, meId: req.auth!.employeeId, error: err.fields.assignee };
        if (wantsFragment(req)) return reply.view('chats/team/_assign_menu', data, 422);
        return reply.view('chats/team/assign', { ...data, title: req.t('chats.assign.title') }, 422);
      }
      if (!wantsFragment(req)) return redirect(req, reply, `/chats/${id}`);
      return reply.view('chats/thread/_header', { chat: await getChatFor(deps, req.auth!, id), oob: false });
    });
  };
}
