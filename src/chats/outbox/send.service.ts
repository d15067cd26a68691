import type { ChatsPorts, ChangePorts, RuntimePorts } from '../ports.ts';
import type { AuthContext } from '../../auth/permissions.ts';
import { NotFoundError, ValidationError } from '../../platform/errors.ts';
import { inTransaction } from '../../platform/tx.ts';
import type { SendPolicy } from '../../channels/adapter.ts';
import { loadRuntime, policyOf } from '../../channels/runtimes.ts';
import { channelsOf } from '../chats.service.ts';
import * as repo from '../chats.repository.ts';
import { publishChatChange } from '../live/chats.live.ts';
import { FILE_PART_SUFFIX, requeueFailed, claimPrivateReply } from './outbox.repository.ts';
import { quoteOf } from '../thread/thread.ts';
import { takeOnFirstAnswer } from '../team/team.service.ts';
import { checkText } from '../message-text.ts';
import { chosenTemplate, renderTemplateText, templateValues } from '../../channels/whatsapp/templates.service.ts';
import { sendMessageRef } from './outbox.refs.ts';
import { privateReplyProblem } from './private-reply.ts';

/** The composer's policy for a chat now (H1–H4): what it may send and why not. */
export async function policyFor(deps: RuntimePorts, chat: { channel_id: number; last_inbound_at: Date | null }, now = new Date()): Promise<SendPolicy> {
  const channel = await loadRuntime(deps, chat.channel_id);
  return policyOf(deps, channel, chat.last_inbound_at, now);
}

export interface OutgoingFile {
  data: Buffer;
  fileName: string;
  mime: string;
}

export interface SendInput {
  text: string;
  idempotencyKey: string;
  tag?: string | undefined;
  /** An image or file to send first; the text, if any, follows as its own message. */
  file?: OutgoingFile | undefined;
  /** An approved template (`name:language`) and its body values, instead of free text (H4). */
  template?: { key: string; values: Array<string | undefined> } | undefined;
  /** Quote one of the chat's messages (WhatsApp `context`; the thread shows the quote), or answer a comment. */
  replyTo?: number | undefined;
  /** Answering a comment (F2): publicly under it (the default), or privately to its author. */
  commentReply?: 'public' | 'private' | undefined;
}

/** F2's window for a private reply (its rule: private-reply.ts). */
export { PRIVATE_REPLY_MS } from './private-reply.ts';

const INLINE_IMAGE = /^image\/(jpeg|png|gif|webp)$/;

export function attachmentKindOf(mime: string): 'image' | 'audio' | 'video' | 'file' {
  if (INLINE_IMAGE.test(mime)) return 'image';
  if (mime.startsWith('audio/')) return 'audio';
  if (mime.startsWith('video/')) return 'video';
  return 'file';
}

/** File names from a browser are shown to employees and sent to the platform: keep them tame. */
function cleanFileName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? 'file';
  return base.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 120) || 'file';
}

/**
 * The outbox (R4): the message is committed as `queued` before any network call, with the
 * submit's idempotency key (a double submit finds the first one); the send job runs after
 * commit and the sweeper re-enqueues anything a crash left behind.
 */
export async function sendMessage(
  deps: ChangePorts & RuntimePorts & Pick<ChatsPorts, 'storage' | 'queue'>,
  auth: AuthContext,
  chatId: number,
  input: SendInput,
): Promise<{ messageId: number; created: boolean }> {
  const hasText = !input.template && input.text.trim().length > 0;
  const problem = input.template || (input.file && !hasText) ? null : checkText(input.text);
  if (problem) throw new ValidationError({ text: problem.key });
  const key = input.idempotencyKey.trim();
  if (!/^[A-Za-z0-9_-]{8,64}$/.test(key)) throw new ValidationError({ text: 'validation.required' });
  const channels = await channelsOf(deps, auth);
  const chat = await repo.findChatIn(deps.db, chatId, channels);
  if (!chat) throw new NotFoundError();

  const existing = await repo.findMessageByIdempotencyKey(deps.db, chatId, key);
  if (existing) return { messageId: existing.id, created: false };

  const channel = await loadRuntime(deps, chat.channel_id);
  const adapter = channel ? deps.adapters.get(channel.kind) : undefined;
  const policy = await policyFor(deps, chat);
  const quoted = await quotedMessage(deps, chatId, input.replyTo);
  const now = new Date();

  if (quoted?.kind === 'comment') {
    // F2: answering a comment. Messaging windows do not apply to a public reply; a private
    // one goes once per comment, within 7 days of it.
    if (input.file || input.template) throw new ValidationError({ text: 'chats.comment.text_only' });
    if (input.commentReply === 'private') {
      const privateProblem = privateReplyProblem(quoted, now.getTime());
      if (privateProblem) throw new ValidationError({ text: privateProblem });
      const meta = { commentExternalId: quoted.external_id, privateReply: true };
      return queueParts(deps, auth, chat, [{ kind: 'text', text: input.text, key, at: now }], meta, quoted, { privateReplyTo: quoted });
    }
    return queueParts(deps, auth, chat, [{ kind: 'comment', text: input.text, key, at: now }], { publicReplyTo: quoted.external_id }, quoted);
  }

  if (input.template) {
    // H4: allowed inside and outside the 24-hour window; the thread keeps the text the
    // customer sees, the send job the template's name and values.
    if (!adapter?.capabilities.templates) throw new ValidationError({ template: 'chats.template.unavailable' });
    if (policy.action !== 'send' && policy.action !== 'template-required') throw new ValidationError({ text: policy.reasonKey });
    const template = await chosenTemplate(deps, chat.channel_id, input.template.key);
    if (!template) throw new ValidationError({ template: 'chats.template.unknown' });
    const values = templateValues(template, input.template.values);
    const meta = { messagingType: 'TEMPLATE', template: { name: template.name, language: template.language, params: values } };
    return queueParts(deps, auth, chat, [{ kind: 'text', text: renderTemplateText(template, values), key, at: now }], meta, quoted);
  }

  const platformProblem = hasText ? adapter?.validateText?.(input.text) : null;
  if (platformProblem) throw new ValidationError({ text: platformProblem });
  let file: QueuedFile | undefined;
  if (input.file) {
    const kind = attachmentKindOf(input.file.mime);
    const max = adapter?.maxAttachmentBytes?.(kind) ?? 25 * 1024 * 1024;
    if (input.file.data.length === 0) throw new ValidationError({ file: 'chats.composer.file_empty' });
    if (input.file.data.length > max) throw new ValidationError({ file: 'chats.composer.file_too_large' });
    file = { ...input.file, fileName: cleanFileName(input.file.fileName), kind, key: deps.storage.newKey() };
  }
  let messagingType: string;
  let tag: string | undefined;
  if (policy.action === 'send') {
    messagingType = policy.messagingType;
    tag = policy.tag;
  } else if (policy.action === 'tag-required' && policy.tagsUsable && input.tag && policy.tags.includes(input.tag)) {
    messagingType = 'MESSAGE_TAG';
    tag = input.tag;
  } else {
    throw new ValidationError({ text: policy.reasonKey });
  }

  // The file goes first, the text after it: two messages, as the platforms deliver them.
  const parts: QueuedPart[] = [];
  if (file) parts.push({ kind: file.kind, text: null, key: hasText ? key + FILE_PART_SUFFIX : key, at: now, file });
  if (hasText) parts.push({ kind: 'text', text: input.text, key, at: new Date(now.getTime() + (file ? 1 : 0)) });
  if (file) await deps.storage.put(file.key, file.data);
  try {
    return await queueParts(deps, auth, chat, parts, { messagingType, ...(tag ? { tag } : {}) }, quoted);
  } catch (err) {
    if (file) await deps.storage.remove(file.key).catch(() => {});
    throw err;
  }
}

type QueuedFile = OutgoingFile & { kind: ReturnType<typeof attachmentKindOf>; key: string };
interface QueuedPart {
  kind: string;
  text: string | null;
  /** The submit's idempotency key (its file part: the key plus FILE_PART_SUFFIX). */
  key: string;
  at: Date;
  file?: QueuedFile;
}

/**
 * Commits a submit's messages `queued`, in order, with the chat's upkeep and live events; the
 * first part's send job goes out after commit (each part's job enqueues the next). The first
 * part carries the quoted message, if any.
 */
async function queueParts(
  deps: ChangePorts & Pick<ChatsPorts, 'storage' | 'queue'>,
  auth: AuthContext,
  chat: { id: number; channel_id: number; status: string },
  parts: QueuedPart[],
  meta: Record<string, unknown>,
  quoted: { id: number; direction: string; kind: string; text: string | null } | undefined,
  o: { privateReplyTo?: { id: number; meta: Record<string, unknown> | null } } = {},
): Promise<{ messageId: number; created: boolean }> {
  return inTransaction(deps.db, deps.logger, async (tx) => {
    const ids: number[] = [];
    for (const part of parts) {
      const first = ids.length === 0;
      const inserted = await repo.insertMessage(tx.db, {
        chatId: chat.id,
        channelId: chat.channel_id,
        direction: 'out',
        kind: part.kind,
        text: part.text,
        externalId: null,
        senderEmployeeId: auth.employeeId,
        status: 'queued',
        idempotencyKey: part.key,
        sortAt: part.at,
        ...(quoted && first ? { replyToMessageId: quoted.id } : {}),
        meta: quoted && first ? { ...meta, replyTo: quoteOf(quoted) } : meta,
      });
      if (!inserted) {
        // The same submit raced in: answer with the message it created.
        const earlier = await repo.findMessageByIdempotencyKey(tx.db, chat.id, parts[parts.length - 1]!.key);
        return { messageId: earlier!.id, created: false };
      }
      if (part.file) {
        await repo.insertAttachment(tx.db, {
          messageId: inserted.id,
          kind: part.file.kind,
          mime: part.file.mime,
          sizeBytes: part.file.data.length,
          fileName: part.file.fileName,
          storageKey: part.file.key,
          status: 'stored',
        });
      }
      await repo.touchChat(tx.db, chat.id, {
        id: inserted.id,
        direction: 'out',
        sortAt: part.at,
        previewKind: part.kind,
        previewText: part.text ?? part.file?.fileName ?? null,
        countUnread: false,
        reopen: true,
        markRead: true,
      });
      ids.push(inserted.id);
    }
    // A comment answered privately is marked at once: a second private reply is refused (F2).
    const privateTo = o.privateReplyTo;
    if (privateTo && !(await claimPrivateReply(tx.db, privateTo.id, ids[0]!))) throw new ValidationError({ text: 'chats.error.private_reply_used' });
    // The first answer takes an unassigned chat (#16): recorded just before it in the thread.
    const taken = await takeOnFirstAnswer(tx, auth, chat, parts[0]!.at);
    await publishChatChange(deps, tx, chat.id, {
      moved: true,
      newMessageIds: taken ? [taken, ...ids] : ids,
      ...(privateTo ? { changedMessageIds: [privateTo.id] } : {}),
      header: chat.status === 'archived' || taken !== null,
    });
    // Sent one after the other, in order: the text waits for its file (the send job
    // enqueues the submit's next part, found by its key, when it is done).
    tx.afterCommit(() => deps.queue.enqueue(sendMessageRef, { messageId: ids[0]! }));
    return { messageId: ids[ids.length - 1]!, created: true };
  });
}

/** The chat's message an employee replies to: it must be the platform's (it has a platform id). */
async function quotedMessage(deps: RuntimePorts, chatId: number, id: number | undefined) {
  if (id === undefined) return undefined;
  const m = await repo.findMessage(deps.db, id);
  const channel = m ? await loadRuntime(deps, m.channel_id) : null;
  const caps = channel ? deps.adapters.get(channel.kind)?.capabilities : undefined;
  const replies = m?.kind === 'comment' ? caps?.comments : caps?.replies;
  if (!m || m.chat_id !== chatId || !m.external_id || m.deleted_at || !replies) throw new ValidationError({ text: 'chats.reply.unavailable' });
  return m;
}

/** Retry a failed message: back to the outbox. */
export async function retryMessage(deps: ChangePorts & Pick<ChatsPorts, 'queue'>, auth: AuthContext, chatId: number, messageId: number): Promise<void> {
  const channels = await channelsOf(deps, auth);
  const chat = await repo.findChatIn(deps.db, chatId, channels);
  if (!chat) throw new NotFoundError();
  await inTransaction(deps.db, deps.logger, async (tx) => {
    const r = await requeueFailed(tx.db, chatId, messageId);
    if (!r) throw new NotFoundError();
    await publishChatChange(deps, tx, chatId, { changedMessageIds: [messageId] });
    tx.afterCommit(() => deps.queue.enqueue(sendMessageRef, { messageId }));
  });
}
