import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { MultipartFile, MultipartValue } from '@fastify/multipart';
import type { ChatsPorts } from '../ports.ts';
import { ValidationError } from '../../platform/errors.ts';
import { redirect, wantsFragment } from '../../platform/htmx.ts';
import { idParam } from '../../platform/http-params.ts';
import * as chats from '../chats.service.ts';
import type { ChatView } from '../chats.view.ts';
import { loadThread } from '../thread/thread.ts';
import { messageIdOf } from '../thread/thread.routes.ts';
import { addNote } from '../team/team.service.ts';
import { retryMessage, sendMessage, type OutgoingFile } from '../outbox/send.service.ts';
import { checkText, textLength } from '../message-text.ts';
import { newIdempotencyKey } from '../outbox/idempotency.ts';
import { refreshTemplates } from '../../channels/whatsapp/templates.service.ts';
import { PlatformError } from '../../channels/adapter.ts';
import { composerFor, type ComposerOptions } from './composer.ts';

type Q = { template?: string; reply_to?: string; private?: string; mode?: string };
type P = { id: string; mid?: string };

/** The composer's data for a chat, and the composer a link asks for. */
export function composerKit(deps: ChatsPorts) {
  const composerData = (req: FastifyRequest, chat: ChatView, o: ComposerOptions = {}) => composerFor(deps, req.locale, chat, { ...o, viewerId: req.auth!.employeeId });

  /** The composer a link asks for: a template to fill in, a message to reply to. */
  const composerQuery = (req: FastifyRequest): ComposerOptions => {
    const q = req.query as Q;
    const reply = q.reply_to && /^\d{1,15}$/.test(q.reply_to) ? Number(q.reply_to) : undefined;
    return {
      ...(q.mode === 'note' ? { mode: 'note' as const } : {}),
      ...(q.template ? { templateKey: String(q.template).slice(0, 600) } : {}),
      ...(reply ? { replyTo: reply, ...(q.private === '1' ? { commentReply: 'private' as const } : {}) } : {}),
    };
  };

  return { composerData, composerQuery };
}

export type ComposerKit = ReturnType<typeof composerKit>;

/** What a 422 that re-renders the whole page needs from the Chats page (inbox/inbox.routes.ts chatsPage). */
export interface ComposerPage {
  page(req: FastifyRequest, reply: FastifyReply, chatId: number, o: { pane: Record<string, unknown>; code: number }): Promise<unknown>;
  paneData(req: FastifyRequest, chatId: number): Promise<Record<string, unknown>>;
}

/** The composer: alone (htmx), templates refreshed (H4), a send (C5–C8, E1–E2, F1), a note (#16), a retry. */
export function composerRoutes(app: FastifyInstance, deps: ChatsPorts, { composerData, composerQuery }: ComposerKit, { page, paneData }: ComposerPage): void {
  // The composer alone (htmx: choosing a template, replying to a message, cancelling either).
  app.get('/chats/:id/composer', { config: { access: 'chats' } }, async (req: FastifyRequest<{ Params: P; Querystring: Q }>, reply) => {
    const id = idParam(req);
    if (!wantsFragment(req)) {
      const q = new URLSearchParams(composerQuery(req).templateKey ? { template: req.query.template! } : {});
      if (req.query.mode === 'note') q.set('mode', 'note');
      if (req.query.reply_to) q.set('reply_to', req.query.reply_to);
      if (req.query.private === '1') q.set('private', '1');
      return reply.redirect(`/chats/${id}${q.size ? '?' + q : ''}`, 303);
    }
    const chat = await chats.getChatFor(deps, req.auth!, id);
    return reply.view('chats/composer/_composer', await composerData(req, chat, composerQuery(req)));
  });

  // H4: the number's templates, fetched again from the platform now.
  app.post('/chats/:id/templates/refresh', { config: { access: 'chats' } }, async (req: FastifyRequest<{ Params: P }>, reply) => {
    const id = idParam(req);
    const chat = await chats.getChatFor(deps, req.auth!, id);
    let notice: ComposerOptions['notice'] = { key: 'chats.template.refreshed' };
    try {
      await refreshTemplates(deps, chat.channelId);
    } catch (err) {
      if (!(err instanceof PlatformError)) throw err;
      notice = { key: 'chats.template.refresh_failed', reason: err.reason };
    }
    if (!wantsFragment(req)) return redirect(req, reply, `/chats/${id}`);
    return reply.view('chats/composer/_composer', await composerData(req, chat, { notice }));
  });

  app.post('/chats/:id/messages', { config: { access: 'chats' } }, async (req: FastifyRequest<{ Params: P; Body: Record<string, unknown> }>, reply) => {
    const id = idParam(req);
    const form = await readComposerForm(req.body);
    const text = form.text.replace(/\r\n/g, '\n');
    req.body = { ...form, text } as never;
    try {
      const r = await sendMessage(deps, req.auth!, id, {
        text,
        idempotencyKey: form.idempotency_key,
        tag: form.tag,
        file: form.file,
        ...(form.template ? { template: { key: form.template, values: form.params } } : {}),
        ...(form.replyTo ? { replyTo: form.replyTo } : {}),
        ...(form.commentReply ? { commentReply: form.commentReply } : {}),
      });
      if (!wantsFragment(req)) return redirect(req, reply, `/chats/${id}`);
      const chat = await chats.getChatFor(deps, req.auth!, id);
      // The new message reaches this browser through the live stream like everyone
      // else's; the answer is a fresh composer (a new idempotency key) plus the message,
      // out of band, so it shows at once even before the stream delivers it.
      const thread = await loadThread(deps.db, id, { limit: 1 });
      const message = thread.messages.find((m) => m.id === r.messageId);
      return reply.view('chats/composer/_composer_sent', { ...(await composerData(req, chat)), message, chatId: id });
    } catch (err) {
      if (err instanceof ValidationError) {
        const chat = await chats.getChatFor(deps, req.auth!, id);
        const problem = checkText(text);
        const data = await composerData(req, chat, {
          text,
          key: form.idempotency_key || newIdempotencyKey(),
          error: { key: Object.values(err.fields)[0]!, n: problem?.n ?? textLength(text) },
          fieldErrors: err.fields,
          ...(form.template ? { templateKey: form.template, values: form.params } : {}),
          ...(form.replyTo ? { replyTo: form.replyTo } : {}),
          ...(form.commentReply ? { commentReply: form.commentReply } : {}),
        });
        if (wantsFragment(req)) return reply.view('chats/composer/_composer', data, 422);
        const pane = await paneData(req, id);
        return page(req, reply, id, { pane: { ...pane, composer: data }, code: 422 });
      }
      throw err;
    }
  });

  // #16: a note only employees see (the composer's Note mode); never sent to the platform.
  app.post('/chats/:id/notes', { config: { access: 'chats' } }, async (req: FastifyRequest<{ Params: P; Body: Record<string, unknown> }>, reply) => {
    const id = idParam(req);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const text = (typeof body.text === 'string' ? body.text : '').replace(/\r\n/g, '\n');
    const key = typeof body.idempotency_key === 'string' ? body.idempotency_key : '';
    try {
      const r = await addNote(deps, req.auth!, id, { text, idempotencyKey: key });
      if (!wantsFragment(req)) return redirect(req, reply, `/chats/${id}?mode=note`);
      const chat = await chats.getChatFor(deps, req.auth!, id);
      const thread = await loadThread(deps.db, id, { limit: 1 });
      const message = thread.messages.find((m) => m.id === r.messageId);
      return reply.view('chats/composer/_composer_sent', { ...(await composerData(req, chat, { mode: 'note' })), message, chatId: id });
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      const chat = await chats.getChatFor(deps, req.auth!, id);
      const data = await composerData(req, chat, {
        mode: 'note',
        text,
        key: key || newIdempotencyKey(),
        error: { key: Object.values(err.fields)[0]!, n: textLength(text) },
      });
      if (wantsFragment(req)) return reply.view('chats/composer/_composer', data, 422);
      return page(req, reply, id, { pane: { ...(await paneData(req, id)), composer: data }, code: 422 });
    }
  });

  app.post('/chats/:id/messages/:mid/retry', { config: { access: 'chats' } }, async (req: FastifyRequest<{ Params: P }>, reply) => {
    const id = idParam(req);
    await retryMessage(deps, req.auth!, id, messageIdOf(req.params.mid));
    if (wantsFragment(req)) return reply.code(204).send();
    return redirect(req, reply, `/chats/${id}`);
  });
}

/** A template's body values the composer reads (`param_1`…); WhatsApp templates have few. */
export const MAX_TEMPLATE_PARAMS = 20;

interface ComposerForm {
  text: string;
  idempotency_key: string;
  tag?: string;
  file?: OutgoingFile;
  template?: string;
  params: Array<string | undefined>;
  replyTo?: number;
  commentReply?: 'public' | 'private';
}

/** The composer's fields, whether posted urlencoded or multipart (with a file). */
async function readComposerForm(body: Record<string, unknown> | undefined): Promise<ComposerForm> {
  const value = (v: unknown): string | undefined => (typeof v === 'string' ? v : v && typeof v === 'object' && 'value' in v ? String((v as MultipartValue).value) : undefined);
  const out: ComposerForm = {
    text: value(body?.text) ?? '',
    idempotency_key: value(body?.idempotency_key) ?? '',
    params: Array.from({ length: MAX_TEMPLATE_PARAMS }, (_, i) => value(body?.[`param_${i + 1}`])),
  };
  const tag = value(body?.tag);
  if (tag) out.tag = tag;
  const template = value(body?.template);
  if (template) out.template = template.slice(0, 600);
  const replyTo = value(body?.reply_to);
  if (replyTo && /^\d{1,15}$/.test(replyTo)) out.replyTo = Number(replyTo);
  const commentReply = value(body?.comment_reply);
  if (commentReply === 'public' || commentReply === 'private') out.commentReply = commentReply;
  const f = body?.file as MultipartFile | undefined;
  if (f && typeof f === 'object' && 'toBuffer' in f && f.filename) {
    out.file = { data: await f.toBuffer(), fileName: f.filename, mime: f.mimetype || 'application/octet-stream' };
  }
  return out;
}
