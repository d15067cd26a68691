import { createHash } from 'node:crypto';
import { metaJsonStringify, signBody } from '../../emulator/signature.ts';
import type { ChannelEvent } from '../../src/channels/adapter.ts';
import { httpRequest } from './loadgen.ts';

/** What people write to a repair shop, in the languages its customers use (non-ASCII on purpose). */
export const TEXTS = [
  'Здравствуйте! Сколько стоит замена экрана на iPhone 13? 📱',
  'Bonjour, mon téléphone ne s’allume plus depuis hier soir, vous pouvez regarder ?',
  'Hi! Do you repair iPads? The glass is cracked 😢',
  'Hallo, wie lange dauert ein Akkutausch? Grüße aus München',
  '¿Tienen la pantalla para Samsung A52 en stock? Gracias 🙏',
  'こんにちは、修理の予約はできますか？',
  "OK, I'll come by at 5 pm. Thanks!",
  'Merci beaucoup, à demain 👍',
];

export function textFor(n: number): string {
  return TEXTS[n % TEXTS.length]!;
}

export function psidFor(n: number): string {
  return String(7_100_000_000_000_000 + n);
}

export function midFor(tag: string, n: number): string {
  return `m_bench-${tag}-${n}-${'x'.repeat(48)}`;
}

/** WhatsApp profile names (`contacts[].profile.name`), non-ASCII on purpose like the texts. */
export const NAMES = ['Анна Петрова', 'Marc Dubois', 'Jürgen Müller', 'María García', '佐藤 花子', 'Chloé Martin', 'Ahmed Hassan', 'Ольга 🌸'];

export function nameFor(n: number): string {
  return NAMES[n % NAMES.length]!;
}

/** A WhatsApp user's number (`wa_id` / `from`): digits only, 11 of them, distinct per n. */
export function waIdFor(n: number): string {
  return String(79_160_000_000 + n);
}

/**
 * A wamid shaped like Meta's (§4.1): `wamid.` + base64 of a small binary record holding the
 * sender's number and a 20-character message id (base64 brings `+` and `/`, which Meta's
 * serialization escapes as `\/`). Distinct per (tag, n).
 */
export function wamidFor(tag: string, n: number, waId: string): string {
  const unique = createHash('sha1').update(`${tag}-${n}`).digest('hex').slice(0, 20).toUpperCase();
  const record = Buffer.concat([
    Buffer.from([0x1c, 0x18, waId.length]),
    Buffer.from(waId, 'latin1'),
    Buffer.from([0x15, 0x02, 0x00, 0x12, 0x18, unique.length]),
    Buffer.from(unique, 'latin1'),
    Buffer.from([0x00]),
  ]);
  return `wamid.${record.toString('base64')}`;
}

/**
 * A WhatsApp Cloud API inbound text exactly as Meta sends it (§4.1): one entry (the WABA), one
 * `messages` change for one phone number, the sender's profile in `contacts[]`, `timestamp` a
 * string of epoch seconds.
 */
export function whatsappPayload(o: {
  wabaId: string;
  phoneNumberId: string;
  displayPhoneNumber: string;
  waId: string;
  name: string;
  wamid: string;
  text: string;
  /** Milliseconds; sent as whole seconds. */
  timestamp: number;
}) {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: o.wabaId,
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: o.displayPhoneNumber, phone_number_id: o.phoneNumberId },
              contacts: [{ profile: { name: o.name }, wa_id: o.waId }],
              messages: [{ from: o.waId, id: o.wamid, timestamp: String(Math.floor(o.timestamp / 1000)), type: 'text', text: { body: o.text } }],
            },
          },
        ],
      },
    ],
  };
}

/**
 * A Messenger `messages` delivery exactly as Meta sends it (one entry, one messaging item).
 * Instagram's (`object: 'instagram'`, entry id = the professional account, sender = IGSID) has
 * the same shape.
 */
export function messengerPayload(o: { pageId: string; psid: string; mid: string; text: string; timestamp: number; object?: 'page' | 'instagram' }) {
  return {
    object: o.object ?? 'page',
    entry: [
      {
        id: o.pageId,
        time: o.timestamp + 40,
        messaging: [{ sender: { id: o.psid }, recipient: { id: o.pageId }, timestamp: o.timestamp, message: { mid: o.mid, text: o.text } }],
      },
    ],
  };
}

/**
 * The signed POST bytes: the body serialized the way Meta does (non-ASCII as \uXXXX escapes,
 * `/` as `\/`), signed over those exact bytes.
 */
export function signedWebhookRequest(payload: unknown, appSecret: string): Buffer {
  const { body, headers } = signedWebhook(payload, appSecret);
  return httpRequest('POST', '/webhooks/meta', headers, body);
}

/** The same delivery as a body and its headers (for a client that writes its own request). */
export function signedWebhook(payload: unknown, appSecret: string): { body: Buffer; headers: Record<string, string> } {
  const body = Buffer.from(metaJsonStringify(payload), 'utf8');
  return { body, headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': signBody(body, appSecret), 'User-Agent': 'facebookexternalua' } };
}

/** The normalized event the Messenger parser makes of such a payload (seeding in-process). */
export function inboundEvent(o: { pageId: string; psid: string; mid: string; text: string; at: Date; direction?: 'in' | 'out' }): ChannelEvent {
  return {
    type: 'message',
    channelExternalId: o.pageId,
    contactExternalId: o.psid,
    direction: o.direction ?? 'in',
    externalId: o.mid,
    timestamp: o.at,
    kind: 'text',
    text: o.text,
    meta: {},
  };
}
