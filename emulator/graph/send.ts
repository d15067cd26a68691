// Send API for Pages and Instagram (meta-platform.md §2.5–2.8, §3.3–3.4):
// POST /{page-id|ig-id|me}/messages and POST /{page-id}/message_attachments.
// Instagram through Facebook Login uses the Page id and Page token; the recipient (an IGSID)
// tells which platform's rules apply.
import type { Ctx } from '../context.ts';
import { addComment } from '../customer.ts';
import { afterBusinessSend, newBusinessMessage } from '../outbound.ts';
import type { Attachment, AttachmentType, Channel, Comment, Person, QuickReply, TokenGrant } from '../state.ts';
import { authenticate, requireAccess } from './auth.ts';
import { errors, type GraphError } from './errors.ts';
import { fetchRemote } from './fetch-remote.ts';
import { emitFeedComment, emitInstagramComment } from '../webhooks/events.ts';
import type { UploadedFile } from './multipart.ts';
import { objectParam, str, stringParam, type GraphRequest, type GraphResponse } from './request.ts';

const MESSAGING_TYPES = ['RESPONSE', 'UPDATE', 'MESSAGE_TAG', 'UTILITY'];
/** Retired on 2026-04-27: any request carrying them gets error 100 (§2.6). */
export const RETIRED_TAGS = ['ACCOUNT_UPDATE', 'POST_PURCHASE_UPDATE', 'CONFIRMED_EVENT_UPDATE'];
const SENDER_ACTIONS = ['mark_seen', 'typing_on', 'typing_off', 'react', 'unreact'];
const ATTACHMENT_TYPES = ['image', 'audio', 'video', 'file', 'template'];

/** `me` or an explicit id → the channel the token acts for. */
export function resolveSender(ctx: Ctx, grant: TokenGrant, objectId: string): Channel {
  if (objectId === 'me') {
    const own = grant.channelIds.map((id) => ctx.store.channels.get(id)).find((c) => c && c.platform !== 'whatsapp');
    if (!own) throw errors.pageTokenRequired();
    return own;
  }
  const channel = ctx.store.channels.get(objectId);
  if (!channel || channel.platform === 'whatsapp') throw errors.unsupported('post', objectId);
  requireAccess(grant, objectId);
  return channel;
}

/** The Page id is used for both Messenger and the linked Instagram account (§3.1). */
function pageFamily(ctx: Ctx, sender: Channel): Channel[] {
  const page = sender.platform === 'instagram' && sender.pageId ? ctx.store.channels.get(sender.pageId) : sender;
  const family = [sender];
  if (page && page !== sender) family.push(page);
  if (page?.instagramId) {
    const ig = ctx.store.channels.get(page.instagramId);
    if (ig && ig !== sender) family.push(ig);
  }
  return family;
}

function attachmentLimit(ctx: Ctx, channel: Channel, type: AttachmentType): number {
  if (channel.platform === 'instagram') {
    const key = type === 'image' || type === 'audio' || type === 'video' ? type : 'file';
    return ctx.config.limits.instagramAttachmentBytes[key];
  }
  return ctx.config.limits.messengerAttachmentBytes;
}

interface ResolvedAttachment {
  attachment: Attachment;
  reusableId?: string;
}

/** By URL (Meta fetches it), by `attachment_id`, or by multipart `filedata` (§2.5, §3.4). */
async function resolveAttachment(ctx: Ctx, channel: Channel, raw: Record<string, unknown>, files: Record<string, UploadedFile>): Promise<ResolvedAttachment> {
  const type = str(raw.type);
  if (!type || !ATTACHMENT_TYPES.includes(type)) throw errors.invalidParam(`param message[attachment][type] must be one of {${ATTACHMENT_TYPES.join(', ')}}`);
  const payload = (raw.payload && typeof raw.payload === 'object' ? raw.payload : {}) as Record<string, unknown>;
  if (type === 'template') {
    if (channel.platform === 'instagram' && str(payload.template_type) !== 'generic' && str(payload.template_type) !== 'button') {
      throw errors.invalidParam('Instagram supports the generic and button templates only');
    }
    return { attachment: { type: 'template', payload } };
  }
  const attType = type as AttachmentType;
  const limit = attachmentLimit(ctx, channel, attType);
  const now = ctx.clock.now();
  let attachment: Attachment;
  const attachmentId = str(payload.attachment_id);
  const url = str(payload.url);
  const upload = files.filedata;
  if (attachmentId) {
    const saved = ctx.store.attachments.get(attachmentId);
    if (!saved || !pageFamily(ctx, channel).some((c) => c.id === saved.channelId)) throw errors.invalidParam(`Invalid attachment_id ${attachmentId}`);
    const media = ctx.media.get(saved.mediaId);
    attachment = { type: attType, mediaId: saved.mediaId, mimeType: media?.mimeType, filename: media?.filename, size: media?.size };
  } else if (upload) {
    if (upload.data.length > limit) throw errors.attachmentTooBig(limit);
    const media = ctx.media.add({ bytes: upload.data, filename: upload.filename, mimeType: upload.contentType, origin: 'upload', now });
    attachment = { type: attType, mediaId: media.id, mimeType: media.mimeType, filename: media.filename, size: media.size };
  } else if (url) {
    if (ctx.config.media.fetchAttachmentUrls) {
      const fetched = await fetchRemote(ctx, url, limit);
      if (!fetched.ok) throw fetched.tooBig ? errors.attachmentTooBig(limit) : errors.fetchFailed();
      const media = ctx.media.add({ ...fetched.file, origin: 'fetched', now });
      attachment = { type: attType, mediaId: media.id, mimeType: media.mimeType, filename: media.filename, size: media.size, sourceUrl: url };
    } else attachment = { type: attType, sourceUrl: url };
  } else throw errors.invalidParam('param message[attachment][payload] needs url, attachment_id or an uploaded filedata');

  let reusableId: string | undefined;
  if (payload.is_reusable === true || payload.is_reusable === 'true') {
    if (attachment.mediaId) {
      reusableId = attachmentId ?? ctx.ids.attachmentId();
      ctx.store.attachments.set(reusableId, { id: reusableId, channelId: channel.id, mediaId: attachment.mediaId, type: attType });
    }
  }
  return { attachment, reusableId };
}

function validateText(ctx: Ctx, channel: Channel, text: string): void {
  if (channel.platform === 'instagram') {
    // "Message text must be UTF-8 and be a 1000 bytes or less" (§3.4).
    if (Buffer.byteLength(text, 'utf8') > ctx.config.limits.instagramTextBytes) throw errors.igTextTooLong(ctx.config.limits.instagramTextBytes);
  } else if ([...text].length > ctx.config.limits.messengerTextChars) {
    // 2000 characters (§2.5), counted as code points.
    throw errors.textTooLong(ctx.config.limits.messengerTextChars);
  }
}

function windowError(channel: Channel): GraphError {
  return channel.platform === 'instagram' ? errors.instagramWindow() : errors.messengerWindow();
}

export async function handleSendMessage(ctx: Ctx, req: GraphRequest, objectId: string): Promise<GraphResponse> {
  const grant = authenticate(ctx, req.token, 'graph');
  const sender = resolveSender(ctx, grant, objectId);
  const params = req.params;
  const recipient = objectParam(params, 'recipient');
  if (!recipient) throw errors.invalidParam('param recipient must be non-empty.');

  // Resolve who receives it and through which platform.
  let channel: Channel;
  let person: Person;
  let comment: Comment | undefined;
  const commentId = str(recipient.comment_id);
  const recipientId = str(recipient.id);
  if (commentId) {
    comment = ctx.store.comments.get(commentId);
    if (!comment || !pageFamily(ctx, sender).some((c) => c.id === comment?.channelId)) throw errors.invalidParam(`param recipient[comment_id] ${commentId} is not a comment on this Page`);
    if (comment.from.kind !== 'person') throw errors.privateReplyNotAllowed();
    const author = ctx.store.people.get(comment.from.personId);
    if (!author) throw errors.privateReplyNotAllowed();
    person = author;
    channel = ctx.store.requireChannel(comment.channelId);
  } else if (recipientId) {
    const hit = ctx.store.personByScopedId(recipientId);
    if (!hit || !pageFamily(ctx, sender).some((c) => c.id === hit.channel.id)) throw errors.noMatchingUser();
    person = hit.person;
    channel = hit.channel;
  } else if (recipient.post_id || recipient.user_ref || recipient.phone_number) {
    throw errors.invalidParam('recipient by post_id / user_ref / phone_number is not emulated');
  } else throw errors.invalidParam('param recipient must be non-empty.');

  // Faults and rate limits apply to the account that sends: the Page or its Instagram account (§7).
  const fault = ctx.guards.takeFault(req.method, req.path, channel.id) ?? (channel.id !== sender.id ? ctx.guards.takeFault(req.method, req.path, sender.id) : undefined);
  if (fault) throw fault;
  const rate = ctx.guards.checkRate(channel);
  if (rate) throw rate;

  const senderAction = stringParam(params, 'sender_action');
  const messageParam = params.message !== undefined && params.message !== '' ? objectParam(params, 'message') : undefined;
  if (senderAction) {
    if (messageParam) throw errors.invalidParam('param sender_action cannot be sent with message');
    return senderActionResponse(ctx, channel, person, senderAction, params, recipientId ?? person.scopedIds[channel.id] ?? '');
  }
  if (!messageParam) throw errors.invalidParam('param message must be non-empty.');

  // Message tags (§2.6): retired tags are refused whatever the messaging_type.
  const tag = stringParam(params, 'tag');
  if (tag && RETIRED_TAGS.includes(tag)) throw errors.retiredTag(tag);
  let messagingType = stringParam(params, 'messaging_type');
  if (messagingType && !MESSAGING_TYPES.includes(messagingType)) throw errors.invalidParam(`param messaging_type must be one of {${MESSAGING_TYPES.join(', ')}}`);
  if (!messagingType && !comment) {
    if (channel.platform === 'messenger' && ctx.config.requireMessagingType) throw errors.invalidParam('param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG, UTILITY}');
    messagingType = 'RESPONSE';
  }
  if (messagingType === 'UTILITY') throw errors.invalidParam('UTILITY messages need an approved utility template (not emulated)');
  if (messagingType === 'MESSAGE_TAG') {
    if (!tag) throw errors.invalidParam('param tag is required when messaging_type is MESSAGE_TAG');
    if (tag !== 'HUMAN_AGENT') throw errors.invalidParam(`param tag must be one of {HUMAN_AGENT}${channel.platform === 'instagram' ? ' on Instagram' : ''}`);
  }

  // Content.
  const text = messageParam.text;
  if (text !== undefined && (typeof text !== 'string' || text === '')) throw errors.invalidParam('param message[text] must be a non-empty UTF-8 string');
  const rawAttachment = objectParam(messageParam, 'attachment');
  if (text === undefined && !rawAttachment) throw errors.invalidParam('param message must contain text or attachment');
  if (text !== undefined && rawAttachment) throw errors.invalidParam('param message cannot contain both text and attachment');
  if (typeof text === 'string') validateText(ctx, channel, text);
  const metadata = str(messageParam.metadata);
  if (metadata !== undefined && metadata.length > ctx.config.limits.metadataChars)
    throw errors.invalidParam(`param message[metadata] must be at most ${ctx.config.limits.metadataChars} characters long`);
  const quickReplies = Array.isArray(messageParam.quick_replies) ? (messageParam.quick_replies as QuickReply[]).slice(0, 13) : undefined;

  if (person.unreachable) throw errors.personUnavailable();

  // Windows (§2.6, §3.4) — private replies have their own rule (§2.8).
  const now = ctx.clock.now();
  const thread = ctx.store.findThread(channel.id, person.id);
  if (comment) {
    if (comment.privateReplyMessageId) throw errors.privateReplyDone();
    if (now - comment.createdAt > ctx.config.windows.privateReplyMs) throw errors.privateReplyNotAllowed();
  } else {
    const age = thread?.lastInboundAt === undefined ? Number.POSITIVE_INFINITY : now - thread.lastInboundAt;
    if (messagingType === 'MESSAGE_TAG' && tag === 'HUMAN_AGENT') {
      if (!ctx.config.humanAgentFeature) throw errors.humanAgentNotAllowed();
      if (age > ctx.config.windows.humanAgentMs) throw windowError(channel);
    } else if (age > ctx.config.windows.standardMs) throw windowError(channel);
  }

  const resolved = rawAttachment ? await resolveAttachment(ctx, channel, rawAttachment, req.files) : undefined;
  const replyTo = objectParam(params, 'reply_to');
  const target = ctx.store.ensureThread(channel, person, now);
  const message = newBusinessMessage(ctx, target, {
    source: comment ? 'private_reply' : 'api',
    text: typeof text === 'string' ? text : undefined,
    attachments: resolved ? [resolved.attachment] : [],
    appId: ctx.config.appId,
    metadata,
    messagingType,
    tag: messagingType === 'MESSAGE_TAG' ? tag : undefined,
    quickReplies,
    replyTo: str(replyTo?.mid),
    commentId: comment?.id,
  });
  if (comment) comment.privateReplyMessageId = message.id;
  afterBusinessSend(ctx, channel, person, message);

  const json: Record<string, unknown> = { recipient_id: person.scopedIds[channel.id], message_id: message.id };
  if (resolved?.reusableId) json.attachment_id = resolved.reusableId;
  return { json, channelId: channel.id, mutating: true };
}

function senderActionResponse(ctx: Ctx, channel: Channel, person: Person, action: string, params: Record<string, unknown>, recipientId: string): GraphResponse {
  if (!SENDER_ACTIONS.includes(action)) throw errors.invalidParam(`param sender_action must be one of {${SENDER_ACTIONS.join(', ')}}`);
  const now = ctx.clock.now();
  const thread = ctx.store.ensureThread(channel, person, now);
  switch (action) {
    case 'mark_seen':
      thread.seenByBusinessAt = now;
      break;
    case 'typing_on':
      // Typing auto-expires after ~20 s (§2.7).
      thread.typingUntil = now + 20_000;
      break;
    case 'typing_off':
      thread.typingUntil = undefined;
      break;
    default: {
      // react / unreact: payload {message_id, reaction} (§2.7). Business reactions produce no echo (§3.2).
      const payload = objectParam(params, 'payload');
      const mid = str(payload?.message_id);
      const target = mid ? ctx.store.messages.get(mid) : undefined;
      if (!target || target.threadId !== thread.id) throw errors.invalidParam('param payload[message_id] must be a message of this conversation');
      target.reactions = target.reactions.filter((r) => r.by !== 'business');
      if (action === 'react') {
        const reaction = str(payload?.reaction) ?? 'love';
        target.reactions.push({ by: 'business', emoji: reaction === 'love' ? '❤️' : reaction, reaction });
      }
    }
  }
  return { json: { recipient_id: recipientId }, channelId: channel.id, mutating: true };
}

/** POST /{page-id}/message_attachments: upload once, reuse by attachment_id (§2.5, §3.4). */
export async function handleAttachmentUpload(ctx: Ctx, req: GraphRequest, objectId: string): Promise<GraphResponse> {
  const grant = authenticate(ctx, req.token, 'graph');
  const sender = resolveSender(ctx, grant, objectId);
  const message = objectParam(req.params, 'message');
  const raw = message ? objectParam(message, 'attachment') : undefined;
  if (!raw) throw errors.invalidParam('param message[attachment] must be non-empty.');
  const channel = req.params.platform === 'instagram' && sender.instagramId ? ctx.store.requireChannel(sender.instagramId) : sender;
  const payload = { ...((raw.payload as Record<string, unknown> | undefined) ?? {}), is_reusable: true };
  const resolved = await resolveAttachment(ctx, channel, { ...raw, payload }, req.files);
  if (!resolved.reusableId) throw errors.invalidParam('the attachment could not be stored');
  return { json: { attachment_id: resolved.reusableId }, channelId: channel.id, mutating: true };
}

/** Public replies: POST /{comment-id}/comments (Page) and /{ig-comment-id}/replies (IG) (§2.8, §3.3). */
export function handleCommentReply(ctx: Ctx, req: GraphRequest, commentId: string, edge: 'comments' | 'replies'): GraphResponse {
  const grant = authenticate(ctx, req.token, 'graph');
  const parent = ctx.store.comments.get(commentId);
  const post = parent ? ctx.store.posts.get(parent.postId) : ctx.store.posts.get(commentId);
  if (!post) throw errors.unsupported('post', commentId);
  const channel = ctx.store.requireChannel(post.channelId);
  if ((edge === 'replies') !== (channel.platform === 'instagram')) throw errors.unknownPath(`/${commentId}/${edge}`);
  requireAccess(grant, channel.id);
  const fault = ctx.guards.takeFault(req.method, req.path, channel.id);
  if (fault) throw fault;
  const message = stringParam(req.params, 'message');
  if (!message) throw errors.invalidParam('param message must be non-empty.');
  if (channel.platform === 'instagram' && Buffer.byteLength(message) > 2200) throw errors.invalidParam('comment text is limited to 2200 characters');
  // A reply to a reply attaches to the same top-level thread on Instagram.
  const parentId = parent ? (channel.platform === 'instagram' ? (parent.parentId ?? parent.id) : parent.id) : undefined;
  const reply = addComment(ctx, post, { kind: 'business' }, message, parentId);
  // Our own replies come back through feed / comments (observed, §2.8/§3.3 ❓; configurable).
  if (ctx.config.webhooks.echoOwnComments) {
    if (channel.platform === 'instagram') emitInstagramComment(ctx, channel, post, reply);
    else emitFeedComment(ctx, channel, post, reply, 'add');
  }
  return { json: { id: reply.id }, channelId: channel.id, mutating: true };
}
