// Webhook event shapes, per platform, as documented in meta-platform.md §2 (Messenger),
// §3 (Instagram) and §4 (WhatsApp). Each `emit*` builds the item, checks the subscription and
// hands it to the dispatcher, which batches and signs.
import { epochSeconds } from '../clock.ts';
import type { Ctx } from '../context.ts';
import type { Attachment, Channel, Comment, Message, Person, Post } from '../state.ts';

/** Is the app subscribed to this field for this channel? (§1.5, §3.2) */
export function wantsField(ctx: Ctx, channel: Channel, field: string): boolean {
  if (channel.platform === 'messenger') return channel.subscribedFields.includes(field);
  if (channel.platform === 'instagram') {
    // IG webhooks flow when the linked Page has the app installed (subscribed_apps) and the
    // field is enabled at app level in the dashboard.
    const page = channel.pageId ? ctx.store.channels.get(channel.pageId) : undefined;
    return Boolean(page && page.subscribedFields.length > 0 && ctx.config.webhooks.instagramFields.includes(field));
  }
  return true;
}

function messagingEvent(ctx: Ctx, channel: Channel, field: string, item: unknown): void {
  if (!wantsField(ctx, channel, field)) return;
  ctx.webhooks.enqueue({
    object: channel.platform === 'instagram' ? 'instagram' : 'page',
    entryId: channel.id,
    kind: 'messaging',
    field,
    item,
    raisedAt: ctx.clock.now(),
  });
}

function scoped(person: Person, channel: Channel): string {
  return person.scopedIds[channel.id] ?? person.id;
}

/** Attachment URLs point at the emulator's CDN path (direct, signed, expiring — §2.2, §8). */
function messengerAttachments(ctx: Ctx, attachments: Attachment[]): unknown[] {
  const now = ctx.clock.now();
  return attachments.map((a) => {
    if (a.type === 'template' || a.type === 'fallback') return { type: a.type, payload: a.payload ?? null };
    const item = a.mediaId ? ctx.media.get(a.mediaId) : undefined;
    const url = item ? ctx.media.cdnUrl(ctx.mediaBaseUrl(), item, now + ctx.config.media.cdnTtlMs) : (a.sourceUrl ?? '');
    if (a.type === 'sticker') {
      // Messenger stickers/likes arrive as `image` with payload.sticker_id (§2.2).
      return { type: 'image', payload: { url, sticker_id: Number(a.stickerId ?? '369239263222822') } };
    }
    const type = a.type === 'document' ? 'file' : a.type;
    return { type, payload: { url } };
  });
}

function messageBody(ctx: Ctx, message: Message): Record<string, unknown> {
  const body: Record<string, unknown> = { mid: message.id };
  if (message.text !== undefined) body.text = message.text;
  if (message.unsupported) body.is_unsupported = true;
  if (message.attachments.length) body.attachments = messengerAttachments(ctx, message.attachments);
  if (message.quickReplyPayload) body.quick_reply = { payload: message.quickReplyPayload };
  if (message.replyTo) body.reply_to = { mid: message.replyTo };
  return body;
}

/** A customer's message to a Page or Instagram account (§2.1, §2.2, §3.2). */
export function emitInbound(ctx: Ctx, channel: Channel, person: Person, message: Message): void {
  if (channel.platform === 'whatsapp') {
    emitWhatsAppInbound(ctx, channel, person, message);
    return;
  }
  messagingEvent(ctx, channel, 'messages', {
    sender: { id: scoped(person, channel) },
    recipient: { id: channel.id },
    timestamp: message.timestamp,
    message: messageBody(ctx, message),
  });
}

/**
 * A message the business sent (through the API, or typed in Meta's inbox): roles inverted,
 * `is_echo: true`, `app_id`, `metadata` (§2.3). Instagram echoes come through `messages` (§3.2).
 */
export function emitEcho(ctx: Ctx, channel: Channel, person: Person, message: Message): void {
  if (channel.platform === 'whatsapp') return;
  const body: Record<string, unknown> = { mid: message.id, is_echo: true };
  if (message.appId) body.app_id = Number(message.appId);
  if (message.metadata !== undefined) body.metadata = message.metadata;
  if (message.text !== undefined) body.text = message.text;
  if (message.attachments.length) body.attachments = messengerAttachments(ctx, message.attachments);
  messagingEvent(ctx, channel, channel.platform === 'instagram' ? 'messages' : 'message_echoes', {
    sender: { id: channel.id },
    recipient: { id: scoped(person, channel) },
    timestamp: message.timestamp,
    message: body,
  });
}

/** Messenger `delivery` (watermark + optional mids, §2.4); WhatsApp `delivered` statuses (§4.4). */
export function emitDelivered(ctx: Ctx, channel: Channel, person: Person, messages: Message[], watermark: number): void {
  if (!messages.length) return;
  if (channel.platform === 'whatsapp') {
    for (const m of messages) emitWhatsAppStatus(ctx, channel, person, m, 'delivered');
    return;
  }
  if (channel.platform !== 'messenger') return; // Instagram has no delivery webhook (§3.2).
  messagingEvent(ctx, channel, 'message_deliveries', {
    sender: { id: scoped(person, channel) },
    recipient: { id: channel.id },
    delivery: { mids: messages.map((m) => m.id), watermark },
  });
}

/** Messenger `read.watermark` (no mid), Instagram `read.mid`, WhatsApp `read` statuses (§2.4, §3.2, §4.4). */
export function emitRead(ctx: Ctx, channel: Channel, person: Person, messages: Message[], at: number): void {
  if (!messages.length) return;
  const last = messages[messages.length - 1] as Message;
  if (channel.platform === 'whatsapp') {
    for (const m of messages) emitWhatsAppStatus(ctx, channel, person, m, 'read');
    return;
  }
  const base = { sender: { id: scoped(person, channel) }, recipient: { id: channel.id }, timestamp: at };
  if (channel.platform === 'instagram') messagingEvent(ctx, channel, 'messaging_seen', { ...base, read: { mid: last.id } });
  else messagingEvent(ctx, channel, 'message_reads', { ...base, read: { watermark: last.timestamp } });
}

const REACTION_NAMES: Record<string, string> = {
  '❤️': 'love',
  '❤': 'love',
  '👍': 'like',
  '😂': 'laugh',
  '😆': 'laugh',
  '😮': 'wow',
  '😢': 'sad',
  '😠': 'angry',
  '😡': 'angry',
};

export function reactionName(emoji: string): string {
  return REACTION_NAMES[emoji] ?? 'other';
}

/** `reaction {mid, action, reaction, emoji}` (§2.4, §3.2); WhatsApp `type: reaction` (§4.3). */
export function emitReaction(ctx: Ctx, channel: Channel, person: Person, target: Message, emoji: string | null, at: number, waMessageId?: string): void {
  if (channel.platform === 'whatsapp') {
    const reaction: Record<string, unknown> = { message_id: target.id };
    // Removing a reaction sends the same webhook without `emoji` (§4.3).
    if (emoji) reaction.emoji = emoji;
    emitWhatsAppRaw(ctx, channel, person, { from: person.phone, id: waMessageId ?? ctx.ids.wamid(), timestamp: String(epochSeconds(at)), type: 'reaction', reaction });
    return;
  }
  const reaction = emoji ? { mid: target.id, action: 'react', reaction: reactionName(emoji), emoji } : { mid: target.id, action: 'unreact' };
  messagingEvent(ctx, channel, 'message_reactions', {
    sender: { id: scoped(person, channel) },
    recipient: { id: channel.id },
    timestamp: at,
    reaction,
  });
}

/** Messenger `message_edit {mid, text, num_edit}` (§2.4); WhatsApp edits arrive as `unsupported` `edit` (§4.3). */
export function emitEdit(ctx: Ctx, channel: Channel, person: Person, message: Message, at: number): void {
  if (channel.platform === 'whatsapp') {
    emitWhatsAppRaw(ctx, channel, person, {
      from: person.phone,
      id: ctx.ids.wamid(),
      timestamp: String(epochSeconds(at)),
      type: 'unsupported',
      errors: [{ code: 131051, title: 'Message type unknown', message: 'Message type unknown', error_data: { details: 'Message type is currently not supported.' } }],
      unsupported: { type: 'edit' },
    });
    return;
  }
  if (channel.platform !== 'messenger') return; // not documented for Instagram in meta-platform.md
  messagingEvent(ctx, channel, 'message_edits', {
    sender: { id: scoped(person, channel) },
    recipient: { id: channel.id },
    timestamp: at,
    message_edit: { mid: message.id, text: message.text ?? '', num_edit: message.edits.length },
  });
}

/** Instagram unsend: `message {mid, is_deleted: true}` (§3.2). Messenger: none documented (§2.4 ❓). */
export function emitUnsend(ctx: Ctx, channel: Channel, person: Person, message: Message, at: number): boolean {
  const send = channel.platform === 'instagram' || (channel.platform === 'messenger' && ctx.config.webhooks.messengerUnsendWebhook);
  if (!send) return false;
  messagingEvent(ctx, channel, 'messages', {
    sender: { id: scoped(person, channel) },
    recipient: { id: channel.id },
    timestamp: at,
    message: { mid: message.id, is_deleted: true },
  });
  return true;
}

/** Messenger `messaging_postbacks` (§2.4), e.g. a tapped button. */
export function emitPostback(ctx: Ctx, channel: Channel, person: Person, mid: string, title: string, payload: string, at: number): void {
  messagingEvent(ctx, channel, 'messaging_postbacks', {
    sender: { id: scoped(person, channel) },
    recipient: { id: channel.id },
    timestamp: at,
    postback: { mid, title, payload },
  });
}

// --- WhatsApp -------------------------------------------------------------------------------

function waGroup(channel: Channel, list: 'messages' | 'statuses', person?: Person) {
  return {
    wabaId: channel.wabaId ?? channel.id,
    phoneNumberId: channel.id,
    displayPhoneNumber: channel.displayPhoneNumber ?? '',
    list,
    contact: list === 'messages' && person?.phone ? { profile: { name: person.name }, wa_id: person.phone } : undefined,
  };
}

function emitWhatsAppRaw(ctx: Ctx, channel: Channel, person: Person, item: Record<string, unknown>): void {
  emitWhatsApp(ctx, channel, item, waGroup(channel, 'messages', person));
}

/** One WhatsApp `messages` change (a message of the person, or a status of the shop's). */
function emitWhatsApp(ctx: Ctx, channel: Channel, item: Record<string, unknown>, group: ReturnType<typeof waGroup>): void {
  ctx.webhooks.enqueue({
    object: 'whatsapp_business_account',
    entryId: channel.wabaId ?? channel.id,
    kind: 'change',
    field: 'messages',
    item,
    whatsapp: group,
    raisedAt: ctx.clock.now(),
  });
}

const WA_MEDIA_TYPE: Record<string, string> = { image: 'image', audio: 'audio', video: 'video', file: 'document', document: 'document', sticker: 'sticker' };

/** Inbound WhatsApp message: `messages[]` + `contacts[]`, timestamp in seconds as a string (§4.1–4.3). */
function emitWhatsAppInbound(ctx: Ctx, channel: Channel, person: Person, message: Message): void {
  const item: Record<string, unknown> = { from: person.phone, id: message.id, timestamp: String(epochSeconds(message.timestamp)) };
  if (message.replyTo) {
    const quoted = ctx.store.messages.get(message.replyTo);
    item.context = { from: quoted?.direction === 'out' ? channel.displayPhoneNumber : person.phone, id: message.replyTo };
  }
  const att = message.attachments[0];
  if (att?.mediaId) {
    const type = WA_MEDIA_TYPE[att.type] ?? 'document';
    const media = ctx.media.get(att.mediaId);
    const payload: Record<string, unknown> = { id: att.mediaId, mime_type: media?.mimeType ?? att.mimeType, sha256: media?.sha256 };
    if (type === 'audio') payload.voice = Boolean(att.voice);
    if (type === 'sticker') payload.animated = false;
    if (type === 'document') payload.filename = att.filename ?? media?.filename;
    if (att.caption && type !== 'audio' && type !== 'sticker') payload.caption = att.caption;
    if (ctx.config.media.whatsappWebhookUrl && media) {
      payload.url = ctx.media.whatsappUrl(ctx.mediaBaseUrl(), media, ctx.clock.now() + ctx.config.media.whatsappUrlTtlMs);
    }
    item.type = type;
    item[type] = payload;
  } else {
    item.type = 'text';
    item.text = { body: message.text ?? '' };
  }
  emitWhatsAppRaw(ctx, channel, person, item);
}

export type WhatsAppStatus = 'sent' | 'delivered' | 'read' | 'failed';

/** `statuses[] {id, status, timestamp, recipient_id, pricing?, errors?}` (§4.4). */
export function emitWhatsAppStatus(ctx: Ctx, channel: Channel, person: Person | undefined, message: Message, status: WhatsAppStatus, recipientId?: string): void {
  const item: Record<string, unknown> = {
    id: message.id,
    status,
    timestamp: String(epochSeconds(ctx.clock.now())),
    recipient_id: recipientId ?? person?.phone ?? '',
  };
  if (status === 'sent') {
    // v24+: `conversation` omitted; `pricing` on sent or delivered, not both (§4.4).
    item.pricing = message.template
      ? { billable: true, pricing_model: 'PMP', type: 'regular', category: message.template.category.toLowerCase() }
      : { billable: false, pricing_model: 'PMP', type: 'free_customer_service', category: 'service' };
  }
  if (status === 'failed' && message.error) {
    item.errors = [{ code: message.error.code, title: message.error.title, message: message.error.message, error_data: { details: message.error.details ?? message.error.message } }];
  }
  if (message.bizOpaqueCallbackData) item.biz_opaque_callback_data = message.bizOpaqueCallbackData;
  emitWhatsApp(ctx, channel, item, waGroup(channel, 'statuses'));
}

// --- Comments -------------------------------------------------------------------------------

/** Page `feed` change, `item: comment` (§2.8). */
export function emitFeedComment(ctx: Ctx, channel: Channel, post: Post, comment: Comment, verb: 'add' | 'edited' | 'remove', person?: Person): void {
  if (!wantsField(ctx, channel, 'feed')) return;
  const from =
    comment.from.kind === 'business'
      ? { id: channel.id, name: channel.name }
      : person && !person.hiddenProfile
        ? { id: scoped(person, channel), name: person.name }
        : { id: person ? scoped(person, channel) : '' };
  const value: Record<string, unknown> = {
    from,
    post: {
      status_type: 'added_photos',
      is_published: true,
      updated_time: new Date(post.createdAt).toISOString().replace(/\.\d{3}Z$/, '+0000'),
      permalink_url: `https://www.facebook.com/${post.id}`,
      promotion_status: 'inactive',
      id: post.id,
    },
    message: comment.text,
    post_id: post.id,
    comment_id: comment.id,
    created_time: epochSeconds(comment.createdAt),
    item: 'comment',
    // parent_id is the post for a top-level comment, else the parent comment (§2.8 ❓ observed).
    parent_id: comment.parentId ?? post.id,
    verb,
  };
  ctx.webhooks.enqueue({ object: 'page', entryId: channel.id, kind: 'change', field: 'feed', item: value, raisedAt: ctx.clock.now() });
}

/** Instagram `comments` change: {id, from{id, username}, text, media{id, media_product_type}, parent_id?} (§3.3). */
export function emitInstagramComment(ctx: Ctx, channel: Channel, post: Post, comment: Comment, person?: Person): void {
  if (!wantsField(ctx, channel, 'comments')) return;
  const from = comment.from.kind === 'business' ? { id: channel.id, username: channel.username } : { id: person ? scoped(person, channel) : '', username: person?.username };
  const value: Record<string, unknown> = {
    from,
    media: { id: post.id, media_product_type: post.mediaProductType ?? 'FEED' },
    id: comment.id,
    text: comment.text,
  };
  if (comment.parentId) value.parent_id = comment.parentId;
  ctx.webhooks.enqueue({ object: 'instagram', entryId: channel.id, kind: 'change', field: 'comments', item: value, raisedAt: ctx.clock.now() });
}
