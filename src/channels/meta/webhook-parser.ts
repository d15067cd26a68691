import type { AttachmentKind, ChannelEvent, InboundAttachment } from '../adapter.ts';
import { isWhatsAppDelivery, parseWhatsAppEntries } from '../whatsapp/webhook-parser.ts';
import { cleanJson, externalId, type JsonObject, numeric, plausibleTime, props } from './clean.ts';

/** The webhook objects of `/webhooks/meta`: the Messenger Platform's two (§2, §3) and WhatsApp's (§4). */
export type MetaObject = 'page' | 'instagram' | 'whatsapp_business_account';

export interface ParsedEntry {
  /** Page id (object page), Instagram professional account id (object instagram) or WhatsApp phone number id. */
  accountId: string;
  events: ChannelEvent[];
  /** Items Parley does not handle (feed changes while comments are off, postbacks…). */
  ignored: number;
}

export interface ParsedDelivery {
  object: MetaObject;
  entries: ParsedEntry[];
}

const MEDIA: Record<string, AttachmentKind> = { image: 'image', audio: 'audio', video: 'video', file: 'file' };

type Json = JsonObject;

export interface ParseOptions {
  /** When the delivery was received: the time of an item whose own time is absent or absurd. */
  receivedAt?: Date;
}

/** Messenger times are epoch milliseconds; absent, not a number or out of range → the receipt time. */
const ts = (ms: unknown, now: Date): Date => plausibleTime(numeric(ms), now) ?? now;
/** A watermark out of range is no watermark (it would mark everything read). */
const watermarkOf = (ms: unknown, now: Date): Date | undefined => plausibleTime(numeric(ms), now);

function attachmentsOf(message: Json): { kind: ChannelEvent extends never ? never : string; list: InboundAttachment[]; unsupported: boolean } {
  const list: InboundAttachment[] = [];
  let unsupported = false;
  for (const a of Array.isArray(message.attachments) ? message.attachments : []) {
    const url = typeof a?.payload?.url === 'string' ? a.payload.url : undefined;
    if (a?.payload?.sticker_id !== undefined) {
      list.push({ kind: 'sticker', ...(url ? { url } : {}) });
      continue;
    }
    const kind = Object.hasOwn(MEDIA, a?.type) ? MEDIA[a.type] : undefined;
    if (kind && url) list.push({ kind, url, ...(typeof a?.payload?.name === 'string' ? { fileName: a.payload.name } : {}) });
    else unsupported = true; // shares, reels, story mentions, fallbacks: shown as a placeholder
  }
  const kind = list[0]?.kind ?? (unsupported || message.is_unsupported ? 'unsupported' : 'text');
  return { kind, list, unsupported };
}

/** A phone number the person shared through the quick reply (meta-platform.md §2.9). */
function sharedPhone(message: Json): string | undefined {
  const qr = props(message.quick_reply);
  if (typeof qr.payload === 'string' && /^\+?[\d\s().-]{5,20}$/.test(qr.payload)) return qr.payload;
  return undefined;
}

function messagingEvent(accountId: string, item: Json, now: Date): ChannelEvent | null {
  // A null (or non-object) item used to throw here, failing the whole delivery on every retry
  // and sweep; it is an item Parley does not understand like any other: skipped and counted.
  if (!item || typeof item !== 'object') return null;
  // Ids that are not strings or numbers of a sane length refuse their item (R9).
  const sender = externalId(props(item.sender).id);
  const recipient = externalId(props(item.recipient).id);
  const timestamp = ts(item?.timestamp, now);
  if (item.message && typeof item.message === 'object') {
    const m = item.message as Json;
    const echo = m.is_echo === true;
    // In an echo the roles are inverted: the Page is the sender (§2.3).
    const contact = echo ? recipient : sender;
    const mid = externalId(m.mid);
    if (!contact || !mid) return null;
    if (m.is_deleted === true) return { type: 'deleted', channelExternalId: accountId, contactExternalId: contact, externalId: mid, timestamp };
    const { kind, list } = attachmentsOf(m);
    const meta: Record<string, unknown> = {};
    if (echo && typeof m.metadata === 'string' && m.metadata.startsWith('parley:')) meta.parleyMessageId = Number(m.metadata.slice(7)) || undefined;
    if (echo && m.app_id !== undefined) meta.appId = String(m.app_id);
    const phone = echo ? undefined : sharedPhone(m);
    return {
      type: 'message',
      channelExternalId: accountId,
      contactExternalId: contact,
      direction: echo ? 'out' : 'in',
      externalId: mid,
      timestamp,
      kind: kind as 'text',
      ...(typeof m.text === 'string' ? { text: m.text } : {}),
      ...(list.length ? { attachments: list } : {}),
      ...(phone ? { contactPhone: phone } : {}),
      ...(externalId(props(m.reply_to).mid) ? { replyToExternalId: externalId(props(m.reply_to).mid) } : {}),
      meta,
    };
  }
  if (!sender) return null;
  if (item.delivery) {
    const d = item.delivery as Json;
    const mids = Array.isArray(d.mids) ? d.mids.map(externalId).filter((x: string | undefined): x is string => x !== undefined) : [];
    const watermark = watermarkOf(d.watermark, now);
    return {
      type: 'delivery',
      channelExternalId: accountId,
      contactExternalId: sender,
      ...(mids.length ? { externalIds: mids } : {}),
      ...(watermark ? { watermark } : {}),
      timestamp,
    };
  }
  if (item.read) {
    const r = item.read as Json;
    // Messenger: a watermark (every message sent at or before it); Instagram: the last mid.
    const watermark = watermarkOf(r.watermark, now);
    const mid = externalId(r.mid);
    return {
      type: 'read',
      channelExternalId: accountId,
      contactExternalId: sender,
      ...(watermark ? { watermark } : {}),
      ...(mid ? { externalId: mid } : {}),
      timestamp,
    };
  }
  if (item.reaction) {
    const r = item.reaction as Json;
    const target = externalId(r.mid);
    if (!target) return null;
    return {
      type: 'reaction',
      channelExternalId: accountId,
      contactExternalId: sender,
      targetExternalId: target,
      action: r.action === 'unreact' ? 'unreact' : 'react',
      ...(r.emoji ? { emoji: String(r.emoji) } : {}),
      timestamp,
    };
  }
  if (item.message_edit) {
    const e = item.message_edit as Json;
    const mid = externalId(e.mid);
    if (!mid) return null;
    return { type: 'edited', channelExternalId: accountId, contactExternalId: sender, externalId: mid, text: String(e.text ?? ''), timestamp };
  }
  if (item.postback) {
    const p = item.postback as Json;
    // A tapped button reads like the person wrote its title.
    return {
      type: 'message',
      channelExternalId: accountId,
      contactExternalId: sender,
      direction: 'in',
      externalId: externalId(p.mid) ?? `postback-${sender}-${timestamp.getTime()}`,
      timestamp,
      kind: 'text',
      text: String(p.title ?? p.payload ?? ''),
      meta: { postback: true },
    };
  }
  return null;
}

/** Graph times in comment webhooks: epoch seconds (or milliseconds on some entries). */
const epoch = (v: unknown, now: Date): Date | null => {
  const n = numeric(v);
  if (!Number.isFinite(n) || n <= 0) return null;
  return plausibleTime(n < 1e11 ? n * 1000 : n, now) ?? null;
};

/**
 * A comment change (meta-platform.md §2.8, §3.3) → a `message` of kind `comment` (the shop's own
 * comments: direction `out`, found a chat through their parent), an `edited`, a `deleted` or a
 * `moderated` event. Anything else in `feed` (posts, reactions, shares) is not a chat item.
 */
function commentEvent(object: string, accountId: string, change: Json, entryTime: unknown, now: Date): ChannelEvent | null {
  if (!change || typeof change !== 'object' || !change.value || typeof change.value !== 'object') return null;
  const v = change.value as Json;
  let id: string;
  let from: Json;
  let text: string | undefined;
  let postId: string;
  let parentCommentId: string | undefined;
  let verb = 'add';
  const meta: Record<string, unknown> = {};
  let timestamp: Date;
  if (object === 'page' && change.field === 'feed') {
    if (v.item !== 'comment' || !externalId(v.comment_id) || typeof v.post_id !== 'string' || !externalId(v.post_id)) return null;
    id = v.comment_id as string; // what externalId() accepted just above, as sent
    from = (v.from ?? {}) as Json;
    text = typeof v.message === 'string' ? v.message : undefined;
    postId = v.post_id;
    // parent_id is the post for a top-level comment, the parent comment for a reply (§2.8).
    if (typeof v.parent_id === 'string' && externalId(v.parent_id) && v.parent_id !== v.post_id) parentCommentId = v.parent_id;
    verb = String(v.verb ?? 'add');
    const post = props(v.post);
    if (typeof post.permalink_url === 'string' && /^https:\/\//i.test(post.permalink_url)) meta.postUrl = post.permalink_url;
    timestamp = epoch(v.created_time, now) ?? epoch(entryTime, now) ?? now;
  } else if (object === 'instagram' && (change.field === 'comments' || change.field === 'live_comments')) {
    const media = props(v.media);
    if (typeof v.id !== 'string' || !externalId(v.id) || typeof media.id !== 'string' || !externalId(media.id)) return null;
    id = v.id;
    from = (v.from ?? {}) as Json;
    text = typeof v.text === 'string' ? v.text : undefined;
    postId = media.id;
    if (typeof v.parent_id === 'string' && externalId(v.parent_id)) parentCommentId = v.parent_id;
    if (typeof media.media_product_type === 'string') meta.mediaType = media.media_product_type;
    if (v.ad_id) meta.adId = String(v.ad_id);
    timestamp = epoch(v.timestamp, now) ?? epoch(entryTime, now) ?? now;
  } else return null;
  const contact = externalId(from.id) ?? '';
  if (verb === 'edited' || verb === 'edit')
    return text !== undefined ? { type: 'edited', channelExternalId: accountId, contactExternalId: contact, externalId: id, text, timestamp, comment: true } : null;
  if (verb === 'remove' || verb === 'delete') return { type: 'deleted', channelExternalId: accountId, contactExternalId: contact, externalId: id, timestamp, comment: true };
  if (verb === 'hide' || verb === 'unhide') return { type: 'moderated', channelExternalId: accountId, externalId: id, hidden: verb === 'hide', timestamp };
  if (verb !== 'add') return null;
  meta.postId = postId;
  if (parentCommentId) meta.parentCommentId = parentCommentId;
  // The account's own comments (its replies, from Parley or from Meta's apps) are the shop's.
  const own = contact === accountId;
  if (!own && !contact) return null; // no author to put it under
  return {
    type: 'message',
    channelExternalId: accountId,
    contactExternalId: own ? '' : contact,
    direction: own ? 'out' : 'in',
    externalId: id,
    timestamp,
    kind: 'comment',
    ...(text !== undefined ? { text } : {}),
    ...(!own && typeof from.name === 'string' ? { contactName: from.name } : {}),
    ...(!own && typeof from.username === 'string' ? { contactUsername: from.username } : {}),
    ...(parentCommentId ? { replyToExternalId: parentCommentId } : {}),
    meta,
  };
}

/**
 * Turns one webhook delivery into normalized events per account. Tolerant by design: an item
 * it does not understand is counted and skipped, never an exception (the delivery is
 * acknowledged either way; §1.3).
 */
export function parseMetaWebhook(body: unknown, opts: ParseOptions = {}): ParsedDelivery | null {
  const now = opts.receivedAt ?? new Date();
  // Strings PostgreSQL would refuse are cleaned once, here, for every parser (R9).
  const b = cleanJson(body) as Json;
  if (isWhatsAppDelivery(b)) {
    const entries = parseWhatsAppEntries(b, now);
    return entries ? { object: 'whatsapp_business_account', entries } : null;
  }
  if (!b || (b.object !== 'page' && b.object !== 'instagram') || !Array.isArray(b.entry)) return null;
  const entries: ParsedEntry[] = [];
  for (const entry of b.entry as Json[]) {
    const accountId = externalId(entry?.id);
    if (!accountId) continue;
    const events: ChannelEvent[] = [];
    let ignored = 0;
    for (const item of Array.isArray(entry.messaging) ? entry.messaging : []) {
      const e = messagingEvent(accountId, item, now);
      if (e) events.push(e);
      else ignored++;
    }
    // Page `feed` and Instagram `comments` changes: post comments (F1).
    for (const change of Array.isArray(entry.changes) ? entry.changes : []) {
      const e = commentEvent(b.object, accountId, change, entry.time, now);
      if (e) events.push(e);
      else ignored++;
    }
    entries.push({ accountId, events, ignored });
  }
  return { object: b.object, entries };
}
