// R9: a signed-payload fuzzer over the three webhook parsers (Messenger, Instagram and its
// comments, WhatsApp). Arbitrary and mutated payloads around the real shapes — hostile strings
// (U+0000, lone surrogates, huge ids), absurd timestamps, wrong types, nulls, nesting — are
// signed properly and posted to /webhooks/meta, each with one known-good change placed among
// them; the jobs are then settled. Properties: no answer but 200, every stored delivery
// processed (none stuck), the known-good neighbour stored, nothing set aside. Raw byte mutations of a valid body
// (a NUL byte, a broken UTF-8 sequence) must be acknowledged and processed too.
//
// FUZZ_RUNS sets the number of generated deliveries per shape (`npm run fuzz`).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metaJsonStringify, signBody } from '../../emulator/index.ts';
import { APP_SECRET, IG_ID, PAGE_ID, WA_PHONE_ID, WA_WABA_ID, startMetaWorld, type MetaWorld } from '../support/meta-world.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 30);
const TIMEOUT = 60_000 + RUNS * 1500;

let w: MetaWorld;
beforeAll(async () => {
  // Comments on, so the comment parsers' output reaches ingest too.
  w = await startMetaWorld({ whatsapp: true, settings: { humanAgent: true, comments: true } });
});
afterAll(async () => w?.close());

let seq = 0;
const goodId = (p: string) => `${p}.good.${process.pid}.${++seq}`;

// -- Values ----------------------------------------------------------------------------------

const nasty = fc.constantFrom('\u0000', 'a\u0000b', '\uD800', 'x\uDFFFy', '\uDBFF\u0000\uDC00', '\r\n', '\u2028', '<script>alert(1)</script>', '%%%', '', ' ', 'x'.repeat(3000));
const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), nasty, fc.string({ maxLength: 20 }));
const absurdTime = fc.constantFrom<unknown>('1e30', 1e30, -1, 0, 'soon', 8.64e15, 1e308, '17000000000000', null, {}, [], true, 1.5, '-0');
const hostile: fc.Arbitrary<unknown> = fc.oneof(text, absurdTime, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.anything({ maxDepth: 2, maxKeys: 3 }));
/** A field: its plausible value most of the time, something hostile otherwise; sometimes absent. */
const field = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ weight: 3, arbitrary: valid }, { weight: 2, arbitrary: hostile }, { weight: 1, arbitrary: fc.constant(undefined) });
const nowMs = () => Date.now();
const id = fc.oneof(fc.stringMatching(/^[0-9]{5,17}$/), fc.stringMatching(/^m_[A-Za-z0-9_-]{4,30}$/));
/**
 * People come from a small pool: each new contact starts follow-up jobs (profile, history) that
 * would queue ahead of the webhook jobs this test waits for; the parsers see hostile ids anyway.
 */
const person = fc.constantFrom('7000000000000001', '7000000000000002', '7000000000000003');
const waPerson = fc.constantFrom('491700000001', '491700000002', '491700000003');

// -- Messenger / Instagram items --------------------------------------------------------------

const messagingItem = (account: string) =>
  fc.record(
    {
      sender: field(fc.record({ id: field(person) })),
      recipient: field(fc.constant({ id: account })),
      timestamp: field(fc.constant(nowMs())),
      message: field(
        fc.record(
          {
            mid: field(id),
            text: field(text),
            is_echo: field(fc.boolean()),
            is_deleted: field(fc.boolean()),
            metadata: field(fc.constantFrom('parley:1', 'parley:x', 'parley:99999999999999999')),
            attachments: field(
              fc.array(
                fc.record(
                  {
                    type: field(fc.constantFrom('image', 'audio', 'video', 'file', 'fallback')),
                    payload: field(fc.record({ url: field(fc.constantFrom('https://cdn.example/x.jpg', 'javascript:alert(1)')), sticker_id: field(fc.integer()) }, { requiredKeys: [] })),
                  },
                  { requiredKeys: [] },
                ),
                { maxLength: 3 },
              ),
            ),
            reply_to: field(fc.record({ mid: field(id) }, { requiredKeys: [] })),
            quick_reply: field(fc.record({ payload: field(fc.constantFrom('+33 6 12 34 56 78', '\u0000123456')) })),
          },
          { requiredKeys: [] },
        ),
      ),
      delivery: field(fc.record({ mids: field(fc.array(field(id), { maxLength: 3 })), watermark: field(fc.oneof(fc.constant(nowMs()), absurdTime)) }, { requiredKeys: [] })),
      read: field(fc.record({ watermark: field(fc.oneof(fc.constant(nowMs()), absurdTime)), mid: field(id) }, { requiredKeys: [] })),
      reaction: field(fc.record({ mid: field(id), action: field(fc.constantFrom('react', 'unreact')), emoji: field(text) }, { requiredKeys: [] })),
      message_edit: field(fc.record({ mid: field(id), text: field(text) }, { requiredKeys: [] })),
      postback: field(fc.record({ mid: field(id), title: field(text), payload: field(text) }, { requiredKeys: [] })),
    },
    { requiredKeys: [] },
  );

const feedChange = fc.record(
  {
    field: field(fc.constant('feed')),
    value: field(
      fc.record(
        {
          item: field(fc.constant('comment')),
          verb: field(fc.constantFrom('add', 'edited', 'remove', 'hide', 'unhide')),
          comment_id: field(id),
          post_id: field(fc.constant(`${PAGE_ID}_1`)),
          parent_id: field(id),
          message: field(text),
          from: field(fc.record({ id: field(person), name: field(text) }, { requiredKeys: [] })),
          created_time: field(fc.oneof(fc.constant(Math.floor(nowMs() / 1000)), absurdTime)),
        },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: [] },
);

const igCommentChange = fc.record(
  {
    field: field(fc.constantFrom('comments', 'live_comments')),
    value: field(
      fc.record(
        {
          id: field(id),
          text: field(text),
          parent_id: field(id),
          media: field(fc.record({ id: field(id), media_product_type: field(text) }, { requiredKeys: [] })),
          from: field(fc.record({ id: field(person), username: field(text) }, { requiredKeys: [] })),
          timestamp: field(fc.oneof(fc.constant(Math.floor(nowMs() / 1000)), absurdTime)),
        },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: [] },
);

// -- WhatsApp ------------------------------------------------------------------------------

const waMessage = fc.record(
  {
    from: field(waPerson),
    id: field(id),
    timestamp: field(fc.oneof(fc.constant(String(Math.floor(nowMs() / 1000))), absurdTime)),
    type: field(fc.constantFrom('text', 'image', 'audio', 'document', 'sticker', 'location', 'contacts', 'button', 'interactive', 'reaction', 'unsupported', 'system')),
    text: field(fc.record({ body: field(text) }, { requiredKeys: [] })),
    image: field(fc.record({ id: field(id), caption: field(text), mime_type: field(text) }, { requiredKeys: [] })),
    location: field(fc.record({ latitude: field(fc.double()), longitude: field(fc.double()), name: field(text) }, { requiredKeys: [] })),
    contacts: field(
      fc.array(fc.record({ name: field(fc.record({ formatted_name: field(text) })), phones: field(fc.array(fc.record({ phone: field(text) }), { maxLength: 2 })) }, { requiredKeys: [] }), {
        maxLength: 2,
      }),
    ),
    reaction: field(fc.record({ message_id: field(id), emoji: field(text) }, { requiredKeys: [] })),
    context: field(fc.record({ id: field(id), forwarded: field(fc.boolean()) }, { requiredKeys: [] })),
    errors: field(fc.array(fc.record({ code: field(fc.integer()), title: field(text) }, { requiredKeys: [] }), { maxLength: 2 })),
  },
  { requiredKeys: [] },
);
const waStatus = fc.record(
  {
    id: field(id),
    status: field(fc.constantFrom('sent', 'delivered', 'read', 'played', 'failed', 'deleted')),
    timestamp: field(fc.oneof(fc.constant(String(Math.floor(nowMs() / 1000))), absurdTime)),
    biz_opaque_callback_data: field(fc.constantFrom('parley:1', 'parley:abc')),
    errors: field(fc.array(fc.record({ code: field(fc.integer()), title: field(text) }, { requiredKeys: [] }), { maxLength: 2 })),
  },
  { requiredKeys: [] },
);
const waContact = fc.record({ wa_id: field(waPerson), profile: field(fc.record({ name: field(text) }, { requiredKeys: [] })) }, { requiredKeys: [] });

// -- Deliveries, each with one known-good change at a random place ---------------------------

type Built = { body: unknown; good: string };

const insertAt = <T>(list: T[], at: number, item: T): T[] => [...list.slice(0, at % (list.length + 1)), item, ...list.slice(at % (list.length + 1))];

const messengerDelivery = (object: 'page' | 'instagram', account: string) =>
  fc
    .record({
      items: fc.array(messagingItem(account), { maxLength: 5 }),
      changes: fc.array(object === 'page' ? feedChange : igCommentChange, { maxLength: 3 }),
      at: fc.nat(),
      entryTime: field(fc.oneof(fc.constant(nowMs()), absurdTime)),
      strayEntries: fc.array(fc.record({ id: hostile, messaging: field(fc.array(messagingItem('0'), { maxLength: 2 })) }, { requiredKeys: [] }), { maxLength: 2 }),
    })
    .map(({ items, changes, at, entryTime, strayEntries }): Built => {
      const good = goodId('m');
      const item = { sender: { id: '7000000000000009' }, recipient: { id: account }, timestamp: nowMs(), message: { mid: good, text: 'a good neighbour' } };
      return { good, body: { object, entry: [...strayEntries, { id: account, time: entryTime, messaging: insertAt(items, at, item), changes }] } };
    });

const whatsappDelivery = fc
  .record({
    messages: fc.array(waMessage, { maxLength: 5 }),
    statuses: fc.array(waStatus, { maxLength: 3 }),
    contacts: fc.array(waContact, { maxLength: 3 }),
    at: fc.nat(),
    extraValue: fc.record({ errors: field(fc.array(hostile, { maxLength: 2 })), metadata: field(fc.record({ phone_number_id: hostile })) }, { requiredKeys: [] }),
  })
  .map(({ messages, statuses, contacts, at, extraValue }): Built => {
    const good = goodId('wamid');
    const from = '491700000009';
    const goodMessage = { from, id: good, timestamp: String(Math.floor(nowMs() / 1000)), type: 'text', text: { body: 'a good neighbour' } };
    const metadata = { display_phone_number: '15550001234', phone_number_id: WA_PHONE_ID };
    return {
      good,
      body: {
        object: 'whatsapp_business_account',
        entry: [
          {
            id: WA_WABA_ID,
            changes: [
              {
                field: 'messages',
                value: { messaging_product: 'whatsapp', metadata, contacts: [...contacts, { wa_id: from, profile: { name: 'Good' } }], messages: insertAt(messages, at, goodMessage), statuses },
              },
              { field: 'messages', value: { messaging_product: 'whatsapp', metadata, ...extraValue } },
            ],
          },
        ],
      },
    };
  });

// -- The property ---------------------------------------------------------------------------

const db = () => w.t.deps.db;

async function postSigned(raw: string | Buffer) {
  return w.t.app.inject({ method: 'POST', url: '/webhooks/meta', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(raw, APP_SECRET) }, payload: raw });
}

/**
 * Waits until the delivery just posted is processed (or 15 s pass). Only the webhook job is
 * waited for: follow-up jobs (profiles of invented people, media at invented URLs) may retry
 * in the background without delaying the property.
 */
async function settle() {
  const last = await db().selectFrom('webhook_inbox').select('id').orderBy('id', 'desc').executeTakeFirstOrThrow();
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const row = await db().selectFrom('webhook_inbox').select('processed_at').where('id', '=', last.id).executeTakeFirstOrThrow();
    if (row.processed_at) return;
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function expectNothingStuck() {
  const stuck = await db().selectFrom('webhook_inbox').select(['id', 'error', 'attempts']).where('processed_at', 'is', null).execute();
  expect(stuck).toEqual([]);
}

async function checkDelivery({ body, good }: Built) {
  const res = await postSigned(metaJsonStringify(body));
  expect(res.statusCode).toBe(200);
  await settle();
  await expectNothingStuck();
  const stored = await db().selectFrom('messages').select(['text']).where('external_id', '=', good).execute();
  expect(stored, `the good neighbour ${good} was lost`).toEqual([{ text: 'a good neighbour' }]);
  // Parse-time cleaning leaves ingest nothing to refuse: no generated change is set aside
  // (set-aside is for causes the parser cannot see, test/channels/poison.test.ts).
  expect(await db().selectFrom('webhook_failures').select(['error', 'change']).execute()).toEqual([]);
}

describe('signed-payload fuzzer over the webhook parsers (R9)', () => {
  it('Messenger: no 500, nothing stuck, no neighbour lost', { timeout: TIMEOUT }, async () => {
    await fc.assert(fc.asyncProperty(messengerDelivery('page', PAGE_ID), checkDelivery), { numRuns: RUNS });
  });

  it('Instagram (messages and comments): no 500, nothing stuck, no neighbour lost', { timeout: TIMEOUT }, async () => {
    await fc.assert(fc.asyncProperty(messengerDelivery('instagram', IG_ID), checkDelivery), { numRuns: RUNS });
  });

  it('WhatsApp: no 500, nothing stuck, no neighbour lost', { timeout: TIMEOUT }, async () => {
    await fc.assert(fc.asyncProperty(whatsappDelivery, checkDelivery), { numRuns: RUNS });
  });

  it('raw byte mutations of a signed body (NUL, broken UTF-8, truncation) are acknowledged and processed', { timeout: TIMEOUT }, async () => {
    const base = Buffer.from(
      metaJsonStringify({
        object: 'page',
        entry: [{ id: PAGE_ID, time: nowMs(), messaging: [{ sender: { id: '7001' }, recipient: { id: PAGE_ID }, timestamp: nowMs(), message: { mid: 'm_raw', text: 'héllo' } }] }],
      }),
    );
    const mutation = fc.record({
      at: fc.nat(),
      bytes: fc.oneof(fc.constantFrom([0], [0xff], [0xc3], [0xed, 0xa0, 0x80], [0x22], [0x5c]), fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 4 })),
      cut: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(mutation, async ({ at, bytes, cut }) => {
        const i = at % (base.length + 1);
        const raw = Buffer.concat([base.subarray(0, i), Buffer.from(bytes), cut ? Buffer.alloc(0) : base.subarray(i)]);
        const res = await postSigned(raw);
        expect(res.statusCode).toBe(200);
        await settle();
        await expectNothingStuck();
      }),
      { numRuns: RUNS },
    );
  });
});
