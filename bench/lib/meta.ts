import { metaJsonStringify, signBody } from '../../src/emulator/signature.ts';
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

/** A Messenger `messages` delivery exactly as Meta sends it (one entry, one messaging item). */
export function messengerPayload(o: { pageId: string; psid: string; mid: string; text: string; timestamp: number }) {
  return {
    object: 'page',
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
  const body = Buffer.from(metaJsonStringify(payload), 'utf8');
  return httpRequest(
    'POST',
    '/webhooks/meta',
    { 'Content-Type': 'application/json', 'X-Hub-Signature-256': signBody(body, appSecret), 'User-Agent': 'facebookexternalua' },
    body,
  );
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
