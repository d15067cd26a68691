import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ChatsPorts } from '../ports.ts';
import { ValidationError } from '../../platform/errors.ts';
import { redirect, wantsFragment } from '../../platform/htmx.ts';
import { idParam } from '../../platform/http-params.ts';
import * as saved from './saved-replies.service.ts';

type P = { id: string };
type Body = Record<string, string | undefined>;

/**
 * Settings › Chats › Saved replies (#16 item 3): every employee manages their own, admins also
 * the shared ones. And the composer's `/` list for one chat (public/js/saved-replies.js).
 */
export function savedRepliesRoutes(deps: ChatsPorts) {
  const page = async (
    req: FastifyRequest,
    reply: FastifyReply,
    o: { editing?: saved.SavedReplyInput & { id: number; shared: boolean }; values?: saved.SavedReplyInput; errors?: Record<string, string>; status?: number } = {},
  ) => {
    const replies = await saved.listForSettings(deps, req.auth!);
    const q = req.query as { saved?: string; deleted?: string };
    return reply.view(
      'settings/saved_replies',
      {
        title: req.t('savedreplies.title'),
        replies,
        editing: o.editing ?? null,
        values: o.values ?? { shortcut: '', text: '', scope: 'own' },
        errors: o.errors ?? {},
        max: saved.MAX_TEXT,
        flash: q.saved === '1' ? 'savedreplies.saved' : q.deleted === '1' ? 'savedreplies.deleted' : null,
      },
      o.status,
    );
  };

  return async (app: FastifyInstance) => {
    app.get('/settings/saved-replies', { config: { access: 'chats' } }, async (req, reply) => page(req, reply));

    app.post('/settings/saved-replies', { config: { access: 'chats' } }, async (req: FastifyRequest<{ Body: Body }>, reply) => {
      const values = saved.readInput(req.body);
      try {
        await saved.createSavedReply(deps, req.auth!, values);
      } catch (err) {
        if (err instanceof ValidationError) return page(req, reply, { values, errors: err.fields, status: 422 });
        throw err;
      }
      return redirect(req, reply, '/settings/saved-replies?saved=1');
    });

    app.get('/settings/saved-replies/:id/edit', { config: { access: 'chats' } }, async (req: FastifyRequest<{ Params: P }>, reply) => {
      const row = await saved.getEditable(deps, req.auth!, idParam(req));
      const shared = row.owner_employee_id === null;
      return page(req, reply, { editing: { id: row.id, shortcut: row.shortcut, text: row.text, scope: shared ? 'shared' : 'own', shared } });
    });

    app.post('/settings/saved-replies/:id', { config: { access: 'chats' } }, async (req: FastifyRequest<{ Params: P; Body: Body }>, reply) => {
      const id = idParam(req);
      const row = await saved.getEditable(deps, req.auth!, id);
      const values = saved.readInput(req.body);
      try {
        await saved.updateSavedReply(deps, req.auth!, id, values);
      } catch (err) {
        if (err instanceof ValidationError) {
          const shared = row.owner_employee_id === null;
          return page(req, reply, { editing: { ...values, id, shared, scope: shared ? 'shared' : 'own' }, errors: err.fields, status: 422 });
        }
        throw err;
      }
      return redirect(req, reply, '/settings/saved-replies?saved=1');
    });

    app.post('/settings/saved-replies/:id/delete', { config: { access: 'chats' } }, async (req: FastifyRequest<{ Params: P }>, reply) => {
      await saved.deleteSavedReply(deps, req.auth!, idParam(req));
      return redirect(req, reply, '/settings/saved-replies?deleted=1');
    });

    // The composer's list (an htmx-style fragment fetched by saved-replies.js); opened as a
    // page it sends the employee to the chat itself.
    app.get('/chats/:id/saved-replies', { config: { access: 'chats' } }, async (req: FastifyRequest<{ Params: P; Querystring: { q?: string } }>, reply) => {
      const chatId = idParam(req);
      const replies = await saved.savedRepliesForChat(deps, req.auth!, chatId, req.query.q);
      if (!wantsFragment(req)) return reply.redirect(`/chats/${chatId}`, 303);
      return reply.view('chats/saved-replies/_saved_replies', { chatId, replies });
    });
  };
}
