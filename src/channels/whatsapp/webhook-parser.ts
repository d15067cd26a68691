/**
 * WhatsApp Cloud API webhooks (meta-platform.md §4.1–§4.4) → normalized channel events.
 *
 * One delivery (`object: whatsapp_business_account`) holds entries per WABA, each with
 * `changes[]`; a `messages` change's `value` belongs to one phone number
 * (`metadata.phone_number_id`, which is what Parley routes by) and carries `contacts[]`,
 * `messages[]`, `statuses[]` and/or `errors[]`. Tolerant like the Messenger parser: an item it
 * does not understand is counted and skipped, never an exception.
 */
import type { AttachmentKind, ChannelEvent, InboundAttachment } from '../adapter.ts';
import { whatsappFailureReason } from './errors.ts';
import { cleanJson, externalId, type JsonObject, numeric, plausibleTime, props } from '../meta/clean.ts';

type Json = JsonObject;

export interface WhatsAppEntry {
  /** The phone number id (the channel's external id). */
  accountId: string;
  events: ChannelEvent[];
  ignored: number;
}

const MEDIA: Record<string, AttachmentKind> = { image: 'image', audio: 'audio', video: 'video', document: 'file', sticker: 'sticker' };

/** `timestamp` is a string of epoch seconds (§4.1); absent, not a number or out of range → the receipt time (R9). */
const seconds = (v: unknown, now: Date): Date => plausibleTime(numeric(v) * 1000, now) ?? now;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);

/** `biz_opaque_callback_data` Parley sets on its sends: `parley:<message id>`. */
export function parleyIdOf(opaque: unknown): number | undefined {
  if (typeof opaque !== 'string' || !/^parley:\d{1,15}$/.test(opaque)) return undefined;
  const n = Number(opaque.slice(7));
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** The person's key: `wa_id` (their number) or, for username users without one, the BSUID (§4.1, §10.16). */
const personOf = (m: Json): string | undefined => externalId(m?.from) ?? externalId(m?.from_user_id) ?? externalId(m?.user_id);

function firstError(errors: unknown): Json | undefined {
  return Array.isArray(errors) && errors[0] && typeof errors[0] === 'object' ? (errors[0] as Json) : undefined;
}

function errorText(e: Json | undefined): string | undefined {
  if (!e) return undefined;
  return [str(e.title) ?? str(e.message), str(props(e.error_data).details)].filter(Boolean).join(': ') || undefined;
}

function message(accountId: string, m: Json, profiles: Map<string, string>, now: Date): ChannelEvent | null {
  if (!m || typeof m !== 'object') return null;
  const contact = personOf(m);
  const id = externalId(m.id);
  if (!contact || !id) return null;
  const timestamp = seconds(m.timestamp, now);
  const type = str(m.type) ?? 'unknown';
  if (type === 'reaction') {
    const r = (m.reaction ?? {}) as Json;
    const target = externalId(r.message_id);
    if (!target) return null;
    // Removing a reaction sends the same webhook without `emoji` (§4.3).
    const emoji = str(r.emoji);
    return { type: 'reaction', channelExternalId: accountId, contactExternalId: contact, targetExternalId: target, action: emoji ? 'react' : 'unreact', ...(emoji ? { emoji } : {}), timestamp };
  }
  const meta: Record<string, unknown> = {};
  let kind: Extract<ChannelEvent, { type: 'message' }>['kind'] = 'text';
  let text: string | undefined;
  const attachments: InboundAttachment[] = [];
  const mediaKind = Object.hasOwn(MEDIA, type) ? MEDIA[type] : undefined;
  if (type === 'text') text = str(props(m.text).body);
  else if (mediaKind) {
    const media = (m[type] ?? {}) as Json;
    const mediaId = str(media.id);
    text = str(media.caption);
    if (mediaId) {
      attachments.push({
        kind: mediaKind,
        mediaId,
        ...(str(media.mime_type) ? { mime: str(media.mime_type)!.split(';')[0]!.trim() } : {}),
        ...(str(media.filename) ? { fileName: str(media.filename)! } : {}),
      });
      kind = mediaKind;
    } else kind = 'unsupported';
    if (type === 'audio' && media.voice === true) meta.voice = true;
  } else if (type === 'location') {
    const l = (m.location ?? {}) as Json;
    const lat = Number(l.latitude);
    const lon = Number(l.longitude);
    if (!Number.isFinite(lat) || !Number.isFinite(lon)) kind = 'unsupported';
    else {
      kind = 'location';
      meta.location = { latitude: lat, longitude: lon, ...(str(l.name) ? { name: str(l.name) } : {}), ...(str(l.address) ? { address: str(l.address) } : {}) };
      text = [str(l.name), str(l.address)].filter(Boolean).join(', ') || undefined;
    }
  } else if (type === 'contacts') {
    const cards = (Array.isArray(m.contacts) ? m.contacts : []).slice(0, 20).map((c: Json) => ({
      name: str(props(c?.name).formatted_name) ?? ([str(props(c?.name).first_name), str(props(c?.name).last_name)].filter(Boolean).join(' ') || '?'),
      phones: (Array.isArray(c?.phones) ? c.phones : [])
        .map((p: Json) => str(p?.phone) ?? str(p?.wa_id))
        .filter((p: string | undefined): p is string => Boolean(p))
        .slice(0, 5),
    }));
    kind = 'contacts';
    meta.contacts = cards;
    text = cards.map((c: { name: string; phones: string[] }) => [c.name, ...c.phones].join(' ')).join('\n') || undefined;
  } else if (type === 'button') {
    // A template's quick-reply button: reads like the person wrote its label.
    text = str(props(m.button).text) ?? str(props(m.button).payload);
    meta.button = true;
  } else if (type === 'interactive') {
    const i = (m.interactive ?? {}) as Json;
    const reply = (i.button_reply ?? i.list_reply ?? i.nfm_reply ?? {}) as Json;
    text = [str(reply.title) ?? str(reply.body), str(reply.description)].filter(Boolean).join(' — ') || undefined;
    meta.interactive = str(i.type) ?? true;
    if (!text) kind = 'unsupported';
  } else {
    // `unsupported` (an edit, a poll, a view-once…), `system`, `errors`, or a type added later:
    // shown plainly as something WhatsApp did not pass on (§4.3).
    kind = 'unsupported';
    const sub = str(props(m.unsupported).type) ?? (type !== 'unsupported' ? type : undefined);
    if (sub) meta.unsupportedType = sub;
    if (type === 'system') text = str(props(m.system).body);
  }
  const err = firstError(m.errors);
  if (err) {
    meta.platformError = { code: Number(err.code) || undefined, text: errorText(err) };
    if (kind === 'text' && !text) kind = 'unsupported';
  }
  if (kind === 'text' && !text) kind = 'unsupported';
  if (m.context && typeof m.context === 'object') {
    const context = props(m.context);
    if (context.forwarded === true || context.frequently_forwarded === true) meta.forwarded = true;
  }
  const replyTo = externalId(props(m.context).id);
  const name = profiles.get(contact);
  const phone = str(m.from) && /^\d{5,20}$/.test(String(m.from)) ? '+' + String(m.from) : undefined;
  return {
    type: 'message',
    channelExternalId: accountId,
    contactExternalId: contact,
    direction: 'in',
    externalId: id,
    timestamp,
    kind,
    ...(text ? { text } : {}),
    ...(attachments.length ? { attachments } : {}),
    ...(name ? { contactName: name } : {}),
    ...(phone ? { contactPhone: phone } : {}),
    ...(replyTo ? { replyToExternalId: replyTo } : {}),
    meta,
  };
}

const STATUSES = { sent: 'sent', delivered: 'delivered', read: 'read', played: 'read', failed: 'failed' } as const;

function status(accountId: string, s: Json, now: Date): ChannelEvent | null {
  if (!s || typeof s !== 'object') return null;
  const id = externalId(s.id);
  const raw = str(s.status);
  const mapped = raw && Object.hasOwn(STATUSES, raw) ? STATUSES[raw as keyof typeof STATUSES] : undefined;
  if (!id || !mapped) return null;
  const parleyMessageId = parleyIdOf(s.biz_opaque_callback_data);
  const err = firstError(s.errors);
  return {
    type: 'status',
    channelExternalId: accountId,
    externalId: id,
    status: mapped,
    ...(mapped === 'failed' ? { reason: whatsappFailureReason(err ? Number(err.code) || undefined : undefined, str(err?.title) ?? str(err?.message), str(props(err?.error_data).details)) } : {}),
    ...(parleyMessageId ? { parleyMessageId } : {}),
    timestamp: seconds(s.timestamp, now),
  };
}

export function isWhatsAppDelivery(body: unknown): boolean {
  return Boolean(body && typeof body === 'object' && (body as Json).object === 'whatsapp_business_account');
}

/**
 * One delivery → events per phone number; null when it is not a WhatsApp delivery. Strings are
 * cleaned of what PostgreSQL refuses; `receivedAt` is the time of an item whose own is absurd.
 */
export function parseWhatsAppWebhook(body: unknown, opts: { receivedAt?: Date } = {}): WhatsAppEntry[] | null {
  return parseWhatsAppEntries(cleanJson(body), opts.receivedAt ?? new Date());
}

/** parseWhatsAppWebhook for a body already cleaned (parseMetaWebhook cleans every delivery). */
export function parseWhatsAppEntries(body: unknown, now: Date): WhatsAppEntry[] | null {
  const b = body as Json;
  if (!isWhatsAppDelivery(b) || !Array.isArray(b.entry)) return null;
  const byNumber = new Map<string, WhatsAppEntry>();
  for (const entry of b.entry as Json[]) {
    for (const change of Array.isArray(entry?.changes) ? entry.changes : []) {
      const value = change?.value as Json | undefined;
      // Account-level changes without a number (template status, account updates) are not
      // routed anywhere: nothing in them belongs to a chat.
      const accountId = externalId(props(value?.metadata).phone_number_id);
      if (!accountId) continue;
      let out = byNumber.get(accountId);
      if (!out) byNumber.set(accountId, (out = { accountId, events: [], ignored: 0 }));
      // Other fields of a number (quality, name updates…) are not chat items.
      if (change.field !== 'messages') {
        out.ignored++;
        continue;
      }
      // The latest profile name in this value wins (§4.8: names change).
      const profiles = new Map<string, string>();
      for (const c of Array.isArray(value!.contacts) ? value!.contacts : []) {
        const key = externalId(c?.wa_id) ?? externalId(c?.user_id);
        const name = str(c?.profile?.name);
        if (key && name) profiles.set(key, name);
      }
      for (const m of Array.isArray(value!.messages) ? value!.messages : []) {
        const e = message(accountId, m, profiles, now);
        if (e) out.events.push(e);
        else out.ignored++;
      }
      for (const s of Array.isArray(value!.statuses) ? value!.statuses : []) {
        const e = status(accountId, s, now);
        if (e) out.events.push(e);
        else out.ignored++;
      }
      // Value-level `errors[]` are system errors about the number, not about one message.
      out.ignored += Array.isArray(value!.errors) ? value!.errors.length : 0;
    }
  }
  return [...byNumber.values()];
}
