import { mentionedIn } from '../team/team.service.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ChatsPorts } from '../ports.ts';
import { NotFoundError, ValidationError } from '../../platform/errors.ts';
import { redirect, wantsFragment } from '../../platform/htmx.ts';
import type { MessageKey, Translate } from '../../platform/i18n/index.ts';
import { idParam } from '../../platform/http-params.ts';
import { clientExists } from '../../crm/clients.repository.ts';
import { KINDS } from '../../crm/documents.kinds.ts';
import { documentEditUrl } from '../../crm/crm.view.ts';
import { getChatFor } from '../chats.service.ts';
import { chatHelpers } from '../chats.view.ts';
import { threadHtml, viewerOf } from '../inbox/kept-html.ts';
import { composerFor } from '../composer/composer.ts';
import * as link from './client-link.service.ts';

type P = { id: string };
type Q = { q?: string };
type Form = Record<string, unknown>;

/** Messages a compact chat window shows before "load older". */
export const MINI_THREAD = 20;

const text = (v: unknown): string => (typeof v === 'string' ? v : '');

/**
 * Chats inside the CRM (D3, E5, J2): the chat's client panel (link, unlink, create the client
 * from the lead, documents from the chat), the compact chat window, and a client's chats with
 * "start a chat". Every chat read goes through the employee's visible channels (404 otherwise).
 */
export function clientLinkRoutes(deps: ChatsPorts) {
  const kindLabel = (t: Translate) => (kind: string) => t(`kind.${kind}` as MessageKey);

  const panelView = async (req: FastifyRequest, reply: FastifyReply, chatId: number, extras: link.PanelExtras = {}, status?: number, more: Record<string, unknown> = {}) => {
    const panel = await link.loadClientPanel(deps, req.auth!, chatId, kindLabel(req.t), extras);
    const data = { chat: panel.chat, clientPanel: panel, h: chatHelpers(req.t), q: '', results: null, ...more };
    if (wantsFragment(req)) return reply.view('chats/clients/_client_panel', data, status);
    return reply.view('chats/clients/client', { ...data, title: req.t('clientlink.title') }, status);
  };

  /** After a change htmx gets the fresh panel at once; a plain form post lands on the panel's page. */
  const afterChange = (req: FastifyRequest, reply: FastifyReply, chatId: number, extras: link.PanelExtras = {}) =>
    wantsFragment(req) ? panelView(req, reply, chatId, extras) : redirect(req, reply, `/chats/${chatId}/client`);

  const miniView = async (req: FastifyRequest, reply: FastifyReply, chatId: number) => {
    const chat = await getChatFor(deps, req.auth!, chatId);
    return reply.view('chats/clients/_mini_chat', {
      chat,
      // As on the Chats page, the window posts that a mention of the employee in it is seen.
      mentioned: await mentionedIn(deps, req.auth!, chatId),
      threadHtml: await threadHtml(deps, viewerOf(req), chat, MINI_THREAD),
      composer: await composerFor(deps, req.locale, chat, { viewerId: req.auth!.employeeId }),
      h: chatHelpers(req.t),
    });
  };

  return async (app: FastifyInstance) => {
    // The panel is loaded lazily from the details column, so the Chats page render (P5) pays nothing for it.
    app.get('/chats/:id/client', { config: { access: 'chats' } }, async (req: FastifyRequest<{ Params: P; Querystring: Q }>, reply) => {
      const id = idParam(req);
      const q = text(req.query.q).trim().slice(0, 100);
      // Without JavaScript the search box submits here; with htmx it asks /search for the results only.
      const results = q ? await link.searchClientsForChat(deps, req.auth!, id, q) : null;
      return panelView(req, reply, id, {}, undefined, { q, results });
    });

    app.get('/chats/:id/client/search', { config: { access: 'chats' } }, async (req: FastifyRequest<{ Params: P; Querystring: Q }>, reply) => {
      const id = idParam(req);
      const q = text(req.query.q).trim().slice(0, 100);
      const results = await link.searchClientsForChat(deps, req.auth!, id, q);
      if (!wantsFragment(req)) return reply.redirect(`/chats/${id}/client${q ? `?q=${encodeURIComponent(q)}` : ''}`, 303);
      return reply.view('chats/clients/_client_search_results', { chat: { id }, results, q });
    });

    app.post('/chats/:id/client', { config: { access: 'chats' } }, async (req: FastifyRequest<{ Params: P; Body: Form }>, reply) => {
      const id = idParam(req);
      try {
        await link.linkClient(deps, req.auth!, id, req.body?.client_id);
      } catch (err) {
        if (err instanceof ValidationError) return panelView(req, reply, id, { errors: err.fields }, 422);
        throw err;
      }
      return afterChange(req, reply, id);
    });

    app.post('/chats/:id/client/unlink', { config: { access: 'chats' } }, async (req: FastifyRequest<{ Params: P }>, reply) => {
      const id = idParam(req);
      await link.unlinkClient(deps, req.auth!, id);
      return afterChange(req, reply, id);
    });

    app.post('/chats/:id/client/new', { config: { access: 'chats' } }, async (req: FastifyRequest<{ Params: P; Body: Form }>, reply) => {
      const id = idParam(req);
      const b = req.body ?? {};
      try {
        await link.createClientFromChat(deps, req.auth!, id, b);
      } catch (err) {
        if (err instanceof ValidationError) {
          const { phones, ...rest } = err.fields;
          const errors = phones ? { ...rest, phone: phones } : rest;
          return panelView(req, reply, id, { errors, draft: { name: text(b.name), phone: text(b.phone), notes: text(b.notes) } }, 422);
        }
        throw err;
      }
      return afterChange(req, reply, id);
    });

    app.post('/chats/:id/client/documents', { config: { access: 'chats' } }, async (req: FastifyRequest<{ Params: P; Body: Form }>, reply) => {
      const id = idParam(req);
      const b = req.body ?? {};
      let doc: Awaited<ReturnType<typeof link.createDocumentFromChat>>;
      try {
        doc = await link.createDocumentFromChat(deps, req.auth!, id, b);
      } catch (err) {
        if (err instanceof ValidationError) {
          return panelView(req, reply, id, { errors: err.fields, docDraft: { amount: text(b.amount), notes: text(b.notes) } }, 422);
        }
        throw err;
      }
      return afterChange(req, reply, id, {
        flash: { key: 'clientlink.doc_created', params: { kind: req.t(KINDS[doc.kind].labelKey), number: doc.number }, url: documentEditUrl(doc) },
      });
    });

    // J2: the compact chat window; its #thread-messages-<id> receives live messages like the Chats page.
    app.get('/chats/:id/mini', { config: { access: 'chats' } }, async (req: FastifyRequest<{ Params: P }>, reply) => {
      const id = idParam(req);
      if (!wantsFragment(req)) {
        await getChatFor(deps, req.auth!, id);
        return reply.redirect(`/chats/${id}`, 303);
      }
      return miniView(req, reply, id);
    });

    // E5 on the client card (/clients/:id loads it): the client’s chats on the employee’s channels
    // and where a chat can start. Under /chats: it is chats data, behind the Chats permission.
    app.get('/chats/for-client/:id', { config: { access: 'chats' } }, async (req: FastifyRequest<{ Params: P }>, reply) => {
      const clientId = idParam(req);
      if (!(await clientExists(deps.db, clientId))) throw new NotFoundError();
      const list = await link.listClientChatsFor(deps, req.auth!, clientId);
      const start = await link.startOptions(deps, req.auth!, clientId, list);
      const data = { client: { id: clientId }, clientChats: { chats: list, start }, h: chatHelpers(req.t) };
      if (wantsFragment(req)) return reply.view('crm/clients/_chats', data);
      return reply.view('crm/clients/chats', { ...data, title: req.t('clientchats.title') });
    });

    app.post('/chats/for-client/:id', { config: { access: 'chats' } }, async (req: FastifyRequest<{ Params: P; Body: Form }>, reply) => {
      const clientId = idParam(req);
      const chatId = await link.startChat(deps, req.auth!, clientId, req.body?.channel_id);
      if (wantsFragment(req) && req.body?.mini === '1') return miniView(req, reply, chatId);
      return redirect(req, reply, `/chats/${chatId}`);
    });
  };
}
