import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ChatsPorts } from '../ports.ts';
import { NotFoundError } from '../../platform/errors.ts';
import { redirect, wantsFragment } from '../../platform/htmx.ts';
import { idParam } from '../../platform/http-params.ts';
import * as chats from '../chats.service.ts';
import * as inbox from './inbox.service.ts';
import type { ChatView } from '../chats.view.ts';
import { listHtml, threadHtml, viewerOf } from './kept-html.ts';
import type { ComposerKit } from '../composer/composer.routes.ts';
import { mentionedIn } from '../team/team.service.ts';

type Q = { status?: string; filter?: string; q?: string; after?: string };
type P = { id: string };

/**
 * The Chats page itself: the list column and, for a deep link, the open chat's pane (its thread
 * kept as HTML, its composer). The composer's routes use `page` and `paneData` for a 422 that
 * re-renders the whole page (chats.routes.ts passes them in).
 */
export function chatsPage(deps: ChatsPorts, { composerData, composerQuery }: ComposerKit) {
  const paneData = async (req: FastifyRequest, chatId: number, known?: ChatView) => {
    const chat = known ?? (await chats.getChatFor(deps, req.auth!, chatId));
    return {
      chat,
      canReply: Boolean(deps.adapters.get(chat.channelKind)?.capabilities.replies),
      threadHtml: await threadHtml(deps, viewerOf(req), chat, chats.THREAD_PAGE),
      composer: await composerData(req, chat, composerQuery(req)),
    };
  };

  const status = (raw: unknown): 'open' | 'archived' => (raw === 'archived' ? 'archived' : 'open');

  /** The full page: the list column and, for a deep link, the chat (`pane` replaces it after a 422). */
  const page = async (req: FastifyRequest, reply: FastifyReply, chatId: number | null, o: { pane?: Record<string, unknown>; code?: number } = {}) => {
    const query = req.query as Q;
    const st = status(query.status);
    const q = query.q ?? '';
    let pane = o.pane ?? null;
    // Usually read with the session (config.prefetch): then the page costs one statement.
    const pre = inbox.prefetchedPage(req.prefetched);
    if (chatId && !pane) {
      if (pre.chat === null) throw new NotFoundError();
      pane = { ...(await paneData(req, chatId, pre.chat)), mentioned: await mentionedIn(deps, req.auth!, chatId, pre.mentioned) };
    }
    const filter = inbox.listFilterOf(query.filter);
    const list = await listHtml(deps, viewerOf(req), req.auth!, { status: st, filter, q }, pre.listDigest);
    // First run: with no channel to read, say what to do instead of "select a chat".
    const noChannels = !pane && (await chats.channelsOf(deps, req.auth!)).length === 0;
    return reply.view('chats/index', { listHtml: list, pane, noChannels, wide: true, title: req.t('chats.title') }, o.code);
  };

  return { paneData, status, page };
}

export type ChatsPage = ReturnType<typeof chatsPage>;

/** The list (C1–C3, I1–I3), a chat opened in the pane, marking it read, archive and reopen. */
export function inboxRoutes(app: FastifyInstance, deps: ChatsPorts, { page, paneData, status }: ChatsPage): void {
  app.get('/chats', { config: { access: 'chats', prefetch: inbox.chatsPagePrefetch } }, async (req: FastifyRequest<{ Querystring: Q }>, reply) => {
    if (wantsFragment(req)) {
      const st = status(req.query.status);
      const filter = inbox.listFilterOf(req.query.filter);
      const list = await inbox.listChatsFor(deps, req.auth!, { status: st, filter, q: req.query.q, after: req.query.after });
      const template = req.query.after ? 'chats/inbox/_list_items' : 'chats/inbox/_list';
      return reply.view(template, { list, status: st, filter, meId: req.auth!.employeeId, q: list.q, searchNotes: list.searchNotes });
    }
    return page(req, reply, null);
  });

  app.get('/chats/:id', { config: { access: 'chats', prefetch: inbox.chatsPagePrefetch } }, async (req: FastifyRequest<{ Params: P; Querystring: Q }>, reply) => {
    const id = idParam(req);
    if (wantsFragment(req)) {
      const pane = await paneData(req, id);
      return reply.view('chats/_pane', { ...pane, mentioned: await mentionedIn(deps, req.auth!, id) });
    }
    return page(req, reply, id);
  });

  app.post('/chats/:id/read', { config: { access: 'chats' } }, async (req: FastifyRequest<{ Params: P }>, reply) => {
    await inbox.markRead(deps, req.auth!, idParam(req));
    return reply.code(204).send();
  });

  for (const [action, archived] of [
    ['archive', true],
    ['reopen', false],
  ] as const) {
    app.post(`/chats/:id/${action}`, { config: { access: 'chats' } }, async (req: FastifyRequest<{ Params: P }>, reply) => {
      const id = idParam(req);
      await inbox.setArchived(deps, req.auth!, id, archived);
      if (wantsFragment(req)) {
        const chat = await chats.getChatFor(deps, req.auth!, id);
        return reply.view('chats/thread/_header', { chat, oob: false });
      }
      return redirect(req, reply, `/chats/${id}`);
    });
  }
}
