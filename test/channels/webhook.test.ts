// The Meta webhook endpoint: handshake (§1.1, §10.2), ingest (§1.3–1.4, §10.3–10.7), body
// limit, duplicates (R2), ordering, and Redis/queue down (R6).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sql } from 'kysely';
import { defaultConfig, metaJsonStringify, signBody } from '../../emulator/index.ts';
import { encryptCredentials } from '../../src/channels/channels.service.ts';
import { insertChannel } from '../../src/channels/channels.repository.ts';
import { as, login, makeEmployee, type Session } from '../helpers.ts';
import { APP_SECRET, IG_ID, PAGE_ID, VERIFY_TOKEN, startMetaWorld, type MetaWorld } from '../support/meta-world.ts';

const PAGE2 = '204455667788991';
const PAGE2_TOKEN = 'EAAEMUpage204455667788991';
const UNKNOWN_PAGE = '999000111222333';

let w: MetaWorld;
let page2Id: number;
let agent: Session;
let seq = 0;
const mid = (p: string) => `m_${p}_${++seq}_${Date.now()}`;

beforeAll(async () => {
  w = await startMetaWorld({ emulator: { pages: [...defaultConfig().pages, { id: PAGE2, name: 'Second Shop', accessToken: PAGE2_TOKEN }] } });
  page2Id = await insertChannel(w.t.deps.db, {
    kind: 'messenger',
    name: 'Second Shop',
    externalId: PAGE2,
    credentialsEnc: encryptCredentials(w.t.deps.config.secretKey, { accessToken: PAGE2_TOKEN }),
    settings: { humanAgent: true },
    accessAll: true,
  });
  const e = await makeEmployee(w.t.deps, { role: 'agent' });
  agent = await login(w.t.app, e.email);
});
afterAll(async () => w?.close());

/** POSTs a delivery signed like Meta: escaped-unicode JSON, HMAC over those exact bytes. */
function post(payload: unknown, headers: Record<string, string> = {}) {
  const raw = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : metaJsonStringify(payload);
  return w.t.app.inject({
    method: 'POST',
    url: '/webhooks/meta',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(raw, APP_SECRET), ...headers },
    payload: raw,
  });
}

const psid = (person: string, channel = 'messenger') => w.emu.scopedId(person, channel);

function inbound(account: string, sender: string, m: string, text: string, timestamp = Date.now()) {
  return { sender: { id: sender }, recipient: { id: account }, timestamp, message: { mid: m, text } };
}

const db = () => w.t.deps.db;
const rowsByMid = (m: string) => db().selectFrom('messages').selectAll().where('external_id', '=', m).execute();
const counts = async () => {
  const [contacts, chats, messages] = await Promise.all(
    (['contacts', 'chats', 'messages'] as const).map(async (t) =>
      Number(
        (
          await db()
            .selectFrom(t)
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      ),
    ),
  );
  return { contacts, chats, messages };
};
const chatIdOf = async (channelId: number, externalId: string) =>
  (
    await db()
      .selectFrom('chats')
      .innerJoin('contacts', 'contacts.id', 'chats.contact_id')
      .select('chats.id')
      .where('contacts.channel_id', '=', channelId)
      .where('contacts.external_id', '=', externalId)
      .executeTakeFirstOrThrow()
  ).id;

describe('verification handshake (§1.1, §10.2)', () => {
  const get = (q: Record<string, string>) => w.t.app.inject({ method: 'GET', url: '/webhooks/meta?' + new URLSearchParams(q).toString() });

  it('the right token → 200 and the exact challenge as text/plain (numeric and not)', async () => {
    for (const challenge of ['1158201444', 'abc-XYZ_09.~', 'a b&c=d/é', '00042']) {
      const res = await get({ 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY_TOKEN, 'hub.challenge': challenge });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.body).toBe(challenge);
    }
  });

  it('the emulator’s own handshake succeeds', async () => {
    w.emu.ctx.config.webhooks.verifyToken = VERIFY_TOKEN;
    const [result] = await w.emu.verifyWebhooks();
    expect(result?.ok).toBe(true);
  });

  it('a wrong token or mode → 403; missing parameters → 400', async () => {
    expect((await get({ 'hub.mode': 'subscribe', 'hub.verify_token': 'nope', 'hub.challenge': '1' })).statusCode).toBe(403);
    expect((await get({ 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY_TOKEN + 'x', 'hub.challenge': '1' })).statusCode).toBe(403);
    expect((await get({ 'hub.mode': 'unsubscribe', 'hub.verify_token': VERIFY_TOKEN, 'hub.challenge': '1' })).statusCode).toBe(403);
    expect((await get({ 'hub.verify_token': VERIFY_TOKEN, 'hub.challenge': '1' })).statusCode).toBe(400);
    expect((await get({ 'hub.mode': 'subscribe', 'hub.challenge': '1' })).statusCode).toBe(400);
    expect((await get({ 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY_TOKEN })).statusCode).toBe(400);
    expect((await get({})).statusCode).toBe(400);
  });
});

describe('ingest (§1.3, §1.4, §10.3–10.6)', () => {
  it('an unknown Page → 200, logged, nothing created, the delivery marked processed', async () => {
    const before = await counts();
    const info = vi.spyOn(w.t.deps.logger, 'info');
    const res = await post({ object: 'page', entry: [{ id: UNKNOWN_PAGE, time: Date.now(), messaging: [inbound(UNKNOWN_PAGE, '7012345678901234', mid('unknown'), 'hello?')] }] });
    expect(res.statusCode).toBe(200);
    await w.settle();
    expect(info.mock.calls.some(([o, msg]) => (o as { account?: string })?.account === UNKNOWN_PAGE && /does not serve/.test(String(msg)))).toBe(true);
    info.mockRestore();
    expect(await counts()).toEqual(before);
    const last = await db().selectFrom('webhook_inbox').selectAll().orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(last.processed_at).not.toBeNull();
  });

  it('an object Parley does not handle, or a body that is not JSON → 200, nothing created', async () => {
    const before = await counts();
    expect((await post({ object: 'permissions', entry: [{ id: '1', time: 1, changes: [{ field: 'ads_management', value: 'granted' }] }] })).statusCode).toBe(200);
    expect((await post('this is not json {')).statusCode).toBe(200);
    expect((await post({ object: 'page' })).statusCode).toBe(200);
    await w.settle();
    expect(await counts()).toEqual(before);
    const pending = await db().selectFrom('webhook_inbox').select('id').where('processed_at', 'is', null).execute();
    expect(pending).toHaveLength(0);
  });

  it('several entries with several items in one POST → each applied to its own channel', async () => {
    const now = Date.now();
    const ids = { a1: mid('p1a'), m1: mid('p1m'), a2: mid('p2a'), m2: mid('p2m'), ia: mid('iga'), im: mid('igm') };
    const page = await post({
      object: 'page',
      entry: [
        { id: PAGE_ID, time: now, messaging: [inbound(PAGE_ID, psid('anna'), ids.a1, 'page one from anna', now - 5), inbound(PAGE_ID, psid('marc'), ids.m1, 'page one from marc', now - 4)] },
        { id: PAGE2, time: now, messaging: [inbound(PAGE2, psid('anna', PAGE2), ids.a2, 'page two from anna', now - 3), inbound(PAGE2, psid('marc', PAGE2), ids.m2, 'page two from marc', now - 2)] },
      ],
    });
    const ig = await post({
      object: 'instagram',
      entry: [
        { id: IG_ID, time: now, messaging: [inbound(IG_ID, psid('anna', 'instagram'), ids.ia, 'ig from anna', now - 1), inbound(IG_ID, psid('marc', 'instagram'), ids.im, 'ig from marc', now)] },
      ],
    });
    expect([page.statusCode, ig.statusCode]).toEqual([200, 200]);
    await w.settle();
    const expected: Array<[string, number]> = [
      [ids.a1, w.messengerId],
      [ids.m1, w.messengerId],
      [ids.a2, page2Id],
      [ids.m2, page2Id],
      [ids.ia, w.instagramId],
      [ids.im, w.instagramId],
    ];
    for (const [m, channel] of expected) {
      const rows = await rowsByMid(m);
      expect(rows, m).toHaveLength(1);
      expect(rows[0]!.channel_id).toBe(channel);
      expect(rows[0]!.direction).toBe('in');
    }
    // Each person is a different contact on each channel.
    const contacts = await db()
      .selectFrom('contacts')
      .select(['channel_id', 'external_id'])
      .where('external_id', 'in', [psid('anna'), psid('anna', PAGE2), psid('anna', 'instagram')])
      .execute();
    expect(new Set(contacts.map((c) => c.channel_id))).toEqual(new Set([w.messengerId, page2Id, w.instagramId]));
  });

  it('the same delivery 3× sequentially → one message (R2)', async () => {
    const m = w.emu.send('anna', 'messenger', 'sent three times');
    await w.settle();
    const delivery = w.emu.deliveries().find((d) => d.body.includes(m.id))!;
    expect(delivery).toBeTruthy();
    for (let i = 0; i < 2; i++) {
      const res = await w.t.app.inject({
        method: 'POST',
        url: '/webhooks/meta',
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': delivery.signature },
        payload: delivery.body,
      });
      expect(res.statusCode).toBe(200);
      await w.settle();
    }
    expect(await rowsByMid(m.id)).toHaveLength(1);
    const stored = await db().selectFrom('webhook_inbox').select(['processed_at']).where('body', '=', delivery.body).execute();
    expect(stored).toHaveLength(3);
    expect(stored.every((r) => r.processed_at !== null)).toBe(true);
  });

  it('the same delivery 3× concurrently → one message (R2)', async () => {
    const m = mid('concurrent');
    const body = metaJsonStringify({ object: 'page', entry: [{ id: PAGE_ID, time: Date.now(), messaging: [inbound(PAGE_ID, psid('marc'), m, 'concurrent ×3')] }] });
    const res = await Promise.all([post(body), post(body), post(body)]);
    expect(res.map((r) => r.statusCode)).toEqual([200, 200, 200]);
    await w.settle();
    expect(await rowsByMid(m)).toHaveLength(1);
  });

  it('the same message twice inside one batched POST (same entry, and a repeated entry) → one message (R2)', async () => {
    const m = mid('batched');
    const item = inbound(PAGE_ID, psid('marc'), m, 'twice in one body');
    const entry = { id: PAGE_ID, time: Date.now(), messaging: [item, item] };
    expect((await post({ object: 'page', entry: [entry, entry] })).statusCode).toBe(200);
    await w.settle();
    expect(await rowsByMid(m)).toHaveLength(1);
  });

  it('chaos (every event re-delivered, shuffled, split over POSTs) → each message exactly once, in platform order', async () => {
    w.emu.setChaos({ enabled: true, duplicateRate: 1, reorder: true, maxDelayMs: 10, seed: 7 });
    try {
      const t0 = Date.now() - 60_000;
      const sent = [0, 1, 2, 3, 4].map((i) => w.emu.send('marc', 'messenger', { text: `chaos ${i}`, timestamp: t0 + i * 1000 }));
      await w.settle();
      for (const m of sent) expect(await rowsByMid(m.id)).toHaveLength(1);
      const dupDeliveries = w.emu.deliveries().filter((d) => d.chaos && d.chaos.duplicates > 0);
      expect(dupDeliveries.length).toBeGreaterThan(0);
      const chatId = await chatIdOf(w.messengerId, psid('marc'));
      const thread = await db().selectFrom('messages').select('text').where('chat_id', '=', chatId).where('text', 'like', 'chaos %').orderBy('sort_at').orderBy('id').execute();
      expect(thread.map((r) => r.text)).toEqual(['chaos 0', 'chaos 1', 'chaos 2', 'chaos 3', 'chaos 4']);
    } finally {
      w.emu.setChaos({ enabled: false });
    }
  });
});

describe('message kinds (§2.2, §2.4, §10.14)', () => {
  it('an edit replaces the text and keeps what was written before', async () => {
    const m = w.emu.send('marc', 'messenger', 'Can I come at 5?');
    await w.settle();
    w.emu.edit('marc', m.id, 'Can I come at 6?');
    await w.settle();
    const [row] = await rowsByMid(m.id);
    expect(row!.text).toBe('Can I come at 6?');
    expect((row!.meta as { edits?: Array<{ text: string }> }).edits?.map((e) => e.text)).toEqual(['Can I come at 5?']);
    // It was the chat's last message: the list's preview shows the edited text too.
    const chat = await db().selectFrom('chats').select(['preview_text']).where('id', '=', row!.chat_id).executeTakeFirstOrThrow();
    expect(chat.preview_text).toBe('Can I come at 6?');
  });

  it('a sticker, a postback and a quick-reply phone number', async () => {
    const sticker = w.emu.send('marc', 'messenger', { sticker: true });
    const { mid: pb } = w.emu.postback('marc', 'messenger', 'Get Started', 'GET_STARTED');
    const phone = w.emu.send('marc', 'messenger', { text: '+33 6 12 34 56 78', quickReplyPayload: '+33 6 12 34 56 78' });
    await w.settle();
    const [s] = await rowsByMid(sticker.id);
    expect(s!.kind).toBe('sticker');
    const att = await db().selectFrom('attachments').select(['kind', 'status']).where('message_id', '=', s!.id).executeTakeFirstOrThrow();
    expect(att).toEqual({ kind: 'sticker', status: 'stored' });
    expect((await rowsByMid(pb))[0]).toMatchObject({ direction: 'in', text: 'Get Started' });
    expect(await rowsByMid(phone.id)).toHaveLength(1);
    const contact = await db().selectFrom('contacts').select(['phone', 'phone_normalized']).where('channel_id', '=', w.messengerId).where('external_id', '=', psid('marc')).executeTakeFirstOrThrow();
    expect(contact.phone).toBe('+33 6 12 34 56 78');
  });

  it('one malformed item does not hold back the rest of its delivery', async () => {
    const m = mid('after-null');
    const res = await post({ object: 'page', entry: [{ id: PAGE_ID, time: Date.now(), messaging: [null, 'junk', { sender: {} }, inbound(PAGE_ID, psid('marc'), m, 'still applied')] }] });
    expect(res.statusCode).toBe(200);
    await w.settle();
    expect(await rowsByMid(m)).toHaveLength(1);
    const row = await db().selectFrom('webhook_inbox').select(['processed_at', 'error']).orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(row.processed_at).not.toBeNull();
  });
});

describe('out-of-order events (§1.4, §10.5)', () => {
  it('a read watermark arriving before the echo it covers → the message ends read', async () => {
    const anna = psid('anna');
    const echoAt = Date.now() - 30_000;
    const echoMid = mid('echo-ooo');
    // The read (watermark after the echo's timestamp) comes first…
    await post({
      object: 'page',
      entry: [{ id: PAGE_ID, time: Date.now(), messaging: [{ sender: { id: anna }, recipient: { id: PAGE_ID }, timestamp: Date.now(), read: { watermark: echoAt + 1000 } }] }],
    });
    await w.settle();
    // …then the echo of a message typed in Meta's inbox.
    await post({
      object: 'page',
      entry: [
        {
          id: PAGE_ID,
          time: Date.now(),
          messaging: [{ sender: { id: PAGE_ID }, recipient: { id: anna }, timestamp: echoAt, message: { mid: echoMid, is_echo: true, app_id: 263902037430900, text: 'typed on the phone' } }],
        },
      ],
    });
    await w.settle();
    const [row] = await rowsByMid(echoMid);
    expect(row).toMatchObject({ direction: 'out', status: 'read' });

    // A late delivery report for it does not downgrade it.
    await post({
      object: 'page',
      entry: [{ id: PAGE_ID, time: Date.now(), messaging: [{ sender: { id: anna }, recipient: { id: PAGE_ID }, timestamp: Date.now(), delivery: { mids: [echoMid], watermark: echoAt } }] }],
    });
    await w.settle();
    expect((await rowsByMid(echoMid))[0]!.status).toBe('read');
  });

  it('Parley’s own message: delivered after read does not downgrade, in the thread either', async () => {
    const chatId = await chatIdOf(w.messengerId, psid('anna'));
    const res = await as(w.t.app, agent).post(`/chats/${chatId}/messages`, { text: 'Your phone is ready', idempotency_key: 'webhook-ooo-read-1' });
    expect(res.statusCode).toBe(303);
    await w.settle();
    const ours = await db().selectFrom('messages').selectAll().where('idempotency_key', '=', 'webhook-ooo-read-1').executeTakeFirstOrThrow();
    expect(ours.external_id).toBeTruthy();
    w.emu.read('anna', 'messenger');
    await w.settle();
    expect((await rowsByMid(ours.external_id!))[0]!.status).toBe('read');
    // The platform re-sends the old delivery report.
    const late = w.emu.deliveries().find((d) => d.body.includes('"delivery"') && d.body.includes(ours.external_id!))!;
    expect(late).toBeTruthy();
    await w.t.app.inject({ method: 'POST', url: '/webhooks/meta', headers: { 'content-type': 'application/json', 'x-hub-signature-256': late.signature }, payload: late.body });
    await w.settle();
    const after = await db().selectFrom('messages').select(['status', 'read_at']).where('id', '=', ours.id).executeTakeFirstOrThrow();
    expect(after.status).toBe('read');
    expect(after.read_at).not.toBeNull();
    const page = await as(w.t.app, agent).get(`/chats/${chatId}`);
    expect(page.body).toContain(`id="message-${ours.id}" class="message message--out message--read"`);
  });

  it('a read that overtakes Parley’s own send (read before the send is recorded) still ends read', async () => {
    const anna = psid('anna');
    const chatId = await chatIdOf(w.messengerId, anna);
    const adapter = w.t.deps.adapters.get('messenger')!;
    const realSend = adapter.send.bind(adapter);
    const spy = vi.spyOn(adapter, 'send').mockImplementationOnce(async (channel, msg) => {
      const result = await realSend(channel, msg);
      // The person has the conversation open and reads it at once: Meta's read webhook is
      // processed before the send job records its result.
      const body = metaJsonStringify({
        object: 'page',
        entry: [{ id: PAGE_ID, time: Date.now(), messaging: [{ sender: { id: anna }, recipient: { id: PAGE_ID }, timestamp: Date.now() + 1, read: { watermark: Date.now() + 1 } }] }],
      });
      expect((await post(body)).statusCode).toBe(200);
      for (let i = 0; i < 250; i++) {
        const row = await db().selectFrom('webhook_inbox').select('processed_at').where('body', '=', body).executeTakeFirst();
        if (row?.processed_at) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      return result;
    });
    const res = await as(w.t.app, agent).post(`/chats/${chatId}/messages`, { text: 'Read before recorded', idempotency_key: 'webhook-overtaken-1' });
    expect(res.statusCode).toBe(303);
    await w.settle();
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
    const row = await db().selectFrom('messages').select(['status', 'read_at', 'external_id']).where('idempotency_key', '=', 'webhook-overtaken-1').executeTakeFirstOrThrow();
    expect(row.external_id).toBeTruthy();
    expect(row.status).toBe('read');
    expect(row.read_at).not.toBeNull();
  });

  it('inbound messages are shown by platform timestamp, not arrival order', async () => {
    const marc = psid(w.emu.createPerson({ name: 'Olga Order' }).id, PAGE2);
    const t = Date.now() - 10 * 60_000;
    const later = mid('later');
    const earlier = mid('earlier');
    // The later message arrives first, in its own POST; the earlier one afterwards.
    await post({ object: 'page', entry: [{ id: PAGE2, time: Date.now(), messaging: [inbound(PAGE2, marc, later, 'ORDER-B second', t + 60_000)] }] });
    await w.settle();
    await post({ object: 'page', entry: [{ id: PAGE2, time: Date.now(), messaging: [inbound(PAGE2, marc, earlier, 'ORDER-A first', t)] }] });
    // And inside one POST, items listed newest first.
    const c = mid('c');
    const d = mid('d');
    await post({
      object: 'page',
      entry: [{ id: PAGE2, time: Date.now(), messaging: [inbound(PAGE2, marc, d, 'ORDER-D fourth', t + 180_000), inbound(PAGE2, marc, c, 'ORDER-C third', t + 120_000)] }],
    });
    await w.settle();
    const chatId = await chatIdOf(page2Id, marc);
    // The open chat's pane (the thread), not the list beside it whose preview shows the newest.
    const page = await as(w.t.app, agent).get(`/chats/${chatId}`, { 'hx-request': 'true' });
    const order = ['ORDER-A first', 'ORDER-B second', 'ORDER-C third', 'ORDER-D fourth'].map((s) => page.body.indexOf(s));
    expect(order.every((i) => i > 0)).toBe(true);
    expect([...order].sort((x, y) => x - y)).toEqual(order);
    // The chat's preview is the newest by platform time, whatever arrived last.
    const chat = await db().selectFrom('chats').select(['preview_text', 'last_inbound_at']).where('id', '=', chatId).executeTakeFirstOrThrow();
    expect(chat.preview_text).toBe('ORDER-D fourth');
    expect(chat.last_inbound_at?.getTime()).toBe(t + 180_000);
  });
});

describe('body limit (§1.2, §10.7)', () => {
  it('a 4 MB valid body is accepted; a 6 MB one is refused 413 and not stored', async () => {
    const item = (i: number) => inbound(UNKNOWN_PAGE, '7012345678901234', `m_big_${i}`, 'x'.repeat(4000));
    const big = metaJsonStringify({ object: 'page', entry: [{ id: UNKNOWN_PAGE, time: Date.now(), messaging: Array.from({ length: 1000 }, (_, i) => item(i)) }] });
    expect(big.length).toBeGreaterThan(4 * 1000 * 1000);
    expect(big.length).toBeLessThan(5 * 1024 * 1024);
    const before = (await db().selectFrom('webhook_inbox').select('id').execute()).length;
    const ok = await post(big);
    expect(ok.statusCode).toBe(200);
    const huge = metaJsonStringify({ object: 'page', entry: [{ id: UNKNOWN_PAGE, time: Date.now(), messaging: Array.from({ length: 1500 }, (_, i) => item(i)) }] });
    expect(huge.length).toBeGreaterThan(6 * 1000 * 1000);
    const refused = await post(huge);
    expect(refused.statusCode).toBe(413);
    await w.settle();
    const rows = await db().selectFrom('webhook_inbox').select(['body', 'processed_at']).where('id', '>', 0).orderBy('id').execute();
    expect(rows.length).toBe(before + 1);
    expect(rows[rows.length - 1]!.body.length).toBe(big.length);
    expect(rows[rows.length - 1]!.processed_at).not.toBeNull();
  });

  it('other routes keep the ~1 MB default', async () => {
    const body = JSON.stringify({ email: 'x@y.z', password: 'p'.repeat(1_100_000) });
    const res = await w.t.app.inject({ method: 'POST', url: '/login', headers: { 'content-type': 'application/json' }, payload: body });
    expect(res.statusCode).toBe(413);
    const small = await w.t.app.inject({ method: 'POST', url: '/login', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ email: 'x@y.z', password: 'p' }) });
    expect(small.statusCode).not.toBe(413);
  });
});

describe('queue down (R6)', () => {
  it('a queue that hangs does not hold the answer (§10.8): 200 at once, processed by the sweeper', async () => {
    const m = mid('hang');
    const spy = vi.spyOn(w.t.deps.queue, 'enqueue').mockImplementationOnce(() => new Promise<void>(() => undefined));
    const res = await post({ object: 'page', entry: [{ id: PAGE_ID, time: Date.now(), messaging: [inbound(PAGE_ID, psid('marc'), m, 'sent while the queue hung')] }] });
    expect(res.statusCode).toBe(200);
    expect(spy).toHaveBeenCalled();
    spy.mockRestore();
    const row = await db().selectFrom('webhook_inbox').select(['id', 'processed_at']).orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(row.processed_at).toBeNull();
    await db().updateTable('webhook_inbox').set({ received_at: sql`now() - interval '1 minute'` }).where('id', '=', row.id).execute();
    await w.t.deps.queue.enqueue(w.t.deps.jobs.outboxSweep, { slot: `hang-${Date.now()}` });
    await w.settle();
    expect(await rowsByMid(m)).toHaveLength(1);
  });

  it('enqueue fails → still 200 with the delivery stored; the sweeper processes it later', async () => {
    const m = mid('r6');
    const spy = vi.spyOn(w.t.deps.queue, 'enqueue').mockRejectedValueOnce(new Error('Redis is unavailable (end)'));
    const res = await post({ object: 'page', entry: [{ id: PAGE_ID, time: Date.now(), messaging: [inbound(PAGE_ID, psid('marc'), m, 'sent while Redis was down')] }] });
    expect(res.statusCode).toBe(200);
    expect(spy).toHaveBeenCalled();
    spy.mockRestore();
    await w.settle();
    const row = await db().selectFrom('webhook_inbox').selectAll().orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(row.body).toContain(m);
    expect(row.processed_at).toBeNull();
    expect(await rowsByMid(m)).toHaveLength(0);
    // The sweeper takes deliveries older than 10 s: age this one instead of waiting.
    await db().updateTable('webhook_inbox').set({ received_at: sql`now() - interval '1 minute'` }).where('id', '=', row.id).execute();
    await w.t.deps.queue.enqueue(w.t.deps.jobs.outboxSweep, { slot: `test-${Date.now()}` });
    await w.settle();
    expect(await rowsByMid(m)).toHaveLength(1);
    const after = await db().selectFrom('webhook_inbox').select('processed_at').where('id', '=', row.id).executeTakeFirstOrThrow();
    expect(after.processed_at).not.toBeNull();
  });
});
