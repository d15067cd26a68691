/**
 * What the composer shows for a chat: the send policy (H1–H4), a fresh idempotency key, and,
 * on channels with templates (WhatsApp), the templates on offer and the one being filled in;
 * plus the message being replied to. One place for the Chats page, its fragments and the
 * compact window.
 */
import type { ChatsPorts } from '../ports.ts';
import type { Locale } from '../../platform/i18n/index.ts';
import { chatLanguage, chosenTemplate, offeredTemplates, renderTemplateText, TEMPLATES_STALE_MS, type OfferedTemplate } from '../../channels/whatsapp/templates.service.ts';
import { policyOfChat } from '../chats.service.ts';
import { findMessage } from '../chats.repository.ts';
import type { ChatView } from '../chats.view.ts';
import { privateReplyProblem } from '../outbox/private-reply.ts';
import { MAX_TEXT_LENGTH } from '../message-text.ts';
import { newIdempotencyKey } from '../outbox/idempotency.ts';
import { colleaguesOnChannel } from '../access.repository.ts';
import { refreshTemplatesRef } from '../../channels/jobs.refs.ts';

export interface ComposerOptions {
  /** Reply to the client (default), or write a note only employees see (#16). */
  mode?: 'reply' | 'note' | undefined;
  /** Who the composer is for: a note's @ list offers everyone else. */
  viewerId?: number | undefined;
  /** `name:language` of the template being filled in. */
  templateKey?: string | undefined;
  /** The values typed so far (a 422 answer keeps them). */
  values?: Array<string | undefined>;
  /** The message (of this chat) being replied to. */
  replyTo?: number | undefined;
  /** Replying to a comment: publicly under it (default) or privately to its author (F2). */
  commentReply?: 'public' | 'private' | undefined;
  text?: string;
  key?: string;
  error?: { key: string; n: number } | null;
  /** Field errors of a template form (`param_1`…). */
  fieldErrors?: Record<string, string>;
  notice?: { key: string; reason?: string } | null;
}

export interface ComposerTemplates {
  list: OfferedTemplate[];
  fetchedAt: Date | null;
  chosen: OfferedTemplate | null;
  values: string[];
  /** The chosen template's text as the customer will see it (placeholders where nothing is typed yet). */
  preview: string | null;
}

/**
 * A stale cache asks for a refresh at most this often per channel and process: a refresh the
 * platform refuses (a revoked token) leaves the cache stale, and every composer render would
 * ask again.
 */
const REFRESH_ASK_MS = 10 * 60_000;
/** Per app (its deps), like kept-html.ts: no module-wide state shared between apps in one process. */
const askedByApp = new WeakMap<object, Map<number, number>>();
function refreshDue(deps: object, channelId: number, now = Date.now()): boolean {
  let lastAsked = askedByApp.get(deps);
  if (!lastAsked) askedByApp.set(deps, (lastAsked = new Map()));
  const at = lastAsked.get(channelId);
  if (at !== undefined && now - at < REFRESH_ASK_MS) return false;
  if (lastAsked.size > 1000) lastAsked.clear();
  lastAsked.set(channelId, now);
  return true;
}

export async function composerFor(deps: Pick<ChatsPorts, 'db' | 'adapters' | 'queue'>, locale: Locale, chat: ChatView, o: ComposerOptions = {}) {
  const policy = policyOfChat(deps, chat);
  const base = {
    chat,
    policy,
    max: MAX_TEXT_LENGTH,
    key: o.key ?? newIdempotencyKey(),
    text: o.text ?? '',
    error: o.error ?? null,
    fieldErrors: o.fieldErrors ?? {},
    notice: o.notice ?? null,
  };
  if (o.mode === 'note') {
    // A note is never sent: no window, template or reply applies. The @ list offers the
    // colleagues who may see the chat.
    const colleagues = (await colleaguesOnChannel(deps.db, chat.channelId)).filter((c) => c.id !== o.viewerId);
    return { ...base, mode: 'note' as const, colleagues, templates: null, replyTo: null };
  }
  let templates: ComposerTemplates | null = null;
  if (deps.adapters.get(chat.channelKind)?.capabilities.templates) {
    const { templates: list, fetchedAt } = await offeredTemplates(deps, chat.channelId, chatLanguage(chat.phone, locale));
    if ((!fetchedAt || Date.now() - fetchedAt.getTime() > TEMPLATES_STALE_MS) && refreshDue(deps, chat.channelId)) {
      // Shown from the cache now; the platform's current list is fetched in the background.
      deps.queue.enqueue(refreshTemplatesRef, { channelId: chat.channelId }).catch(() => {});
    }
    const chosen = o.templateKey ? (list.find((t) => t.key === o.templateKey) ?? (await chosenTemplate(deps, chat.channelId, o.templateKey))) : null;
    const values = chosen ? Array.from({ length: chosen.params }, (_, i) => o.values?.[i] ?? '') : [];
    templates = { list, fetchedAt, chosen, values, preview: chosen ? renderTemplateText(chosen, values.map((v) => v || undefined) as string[]) : null };
  }
  let replyTo: ReplyTarget | null = null;
  if (o.replyTo !== undefined) {
    const m = await findMessage(deps.db, o.replyTo);
    if (m && m.chat_id === chat.id && m.external_id && !m.deleted_at) {
      const meta = (m.meta ?? {}) as { post?: { text?: string | null } };
      const comment = m.kind === 'comment';
      const mode = comment ? (o.commentReply ?? 'public') : null;
      // F2: why a private reply is no longer possible, if it is not.
      const privateProblem = privateReplyProblem(m);
      replyTo = { id: m.id, direction: m.direction, kind: m.kind, text: m.text, commentMode: mode, postText: meta.post?.text ?? null, privateProblem };
    }
  }
  return { ...base, mode: 'reply' as const, colleagues: null, templates, replyTo };
}

export interface ReplyTarget {
  id: number;
  direction: string;
  kind: string;
  text: string | null;
  /** Answering a comment: 'public' or 'private'; null for a quoted message. */
  commentMode: 'public' | 'private' | null;
  postText: string | null;
  /** Why a private reply to this comment cannot be sent (a message key), or null. */
  privateProblem: string | null;
}

export type ComposerData = Awaited<ReturnType<typeof composerFor>>;
