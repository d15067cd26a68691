// R9 (issue #21, finding 4): poison deliveries. A signed delivery whose text or name holds
// U+0000, whose timestamp is absurd, or one of whose changes fails for any other reason must
// never take its neighbours with it nor stay stuck: strings are cleaned and timestamps
// range-checked at parse time, each change is applied on its own, and a change that still fails
// is set aside for the admins (Settings › Chats: Retry / Discard).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { metaJsonStringify, signBody } from '../../emulator/index.ts';
import { parseMetaWebhook } from '../../src/channels/meta/webhook-parser.ts';
import { retryable } from '../../src/chats/ingest/webhook.jobs.ts';
import { as, login, makeEmployee, type Session } from '../helpers.ts';
import { APP_SECRET, IG_ID, PAGE_ID, WA_PHONE_ID, WA_WABA_ID, startMetaWorld, type MetaWorld } from '../support/meta-world.ts';

let w: MetaWorld;
let admin: Session;
let agent: Session;
let seq = 0;
const uid = (p: string) => `${p}_${++seq}_${Date.now()}`;
const nowSeconds = () => String(Math.floor(Date.now() / 1000));

beforeAll(async () => {
  w = await startMetaWorld({ whatsapp: true });
  admin = await login(w.t.app, (await makeEmployee(w.t.deps, { role: 'admin' })).email);
  agent = await login(w.t.app, (await makeEmployee(w.t.deps, { role: 'agent' })).email);
});
afterAll(async () => w?.close());

const db = () => w.t.deps.db;

function post(payload: unknown) {
  const raw = metaJsonStringify(payload);
  return w.t.app.inject({
    method: 'POST',
    url: '/webhooks/meta',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(raw, APP_SECRET) },
    payload: raw,
  });
}

interface WaMessage {
  from: string;
  id: string;
  name: string;
  text: string;
  timestamp?: string;
}

/** One WhatsApp delivery: one `messages` change holding the messages of several customers. */
function waDelivery(messages: WaMessage[]) {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: WA_WABA_ID,
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550001234', phone_number_id: WA_PHONE_ID },
              contacts: messages.map((m) => ({ wa_id: m.from, profile: { name: m.name } })),
              messages: messages.map((m) => ({ from: m.from, id: m.id, timestamp: m.timestamp ?? nowSeconds(), type: 'text', text: { body: m.text } })),
            },
          },
        ],
      },
    ],
  };
}

const customer = () => `4915${String(100000000 + ((Date.now() + ++seq * 7919) % 899999999))}`;
const message = (externalId: string) => db().selectFrom('messages').selectAll().where('external_id', '=', externalId).executeTakeFirst();
const contactOf = (id: number) => db().selectFrom('contacts').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const contactOfMessage = async (externalId: string) => {
  const m = await db().selectFrom('messages').innerJoin('chats', 'chats.id', 'messages.chat_id').select('chats.contact_id').where('messages.external_id', '=', externalId).executeTakeFirstOrThrow();
  return contactOf(m.contact_id);
};
const lastInbox = () => db().selectFrom('webhook_inbox').selectAll().orderBy('id', 'desc').executeTakeFirstOrThrow();
const failures = () =>
  sql<{ id: number; inbox_id: number; state: string; attempts: number; error: string; channel_id: number | null; resolved_by: number | null }>`select * from webhook_failures order by id`
    .execute(db())
    .then((r) => r.rows);

describe('parse-time cleaning (all three parsers)', () => {
  it('NUL is removed and lone surrogates become U+FFFD in Messenger, Instagram, comments and WhatsApp strings', () => {
    const m = parseMetaWebhook({
      object: 'page',
      entry: [
        {
          id: PAGE_ID,
          time: Date.now(),
          messaging: [{ sender: { id: '7001' }, recipient: { id: PAGE_ID }, timestamp: Date.now(), message: { mid: 'm\u0000x', text: 'a\u0000b\uD800c' } }],
          changes: [
            {
              field: 'feed',
              value: {
                item: 'comment',
                verb: 'add',
                comment_id: 'c1',
                post_id: 'p1',
                message: 'hi\u0000!',
                from: { id: '7002', name: 'Jo\u0000e\uDFFF' },
                created_time: Math.floor(Date.now() / 1000),
              },
            },
          ],
        },
      ],
    })!;
    const [msg, comment] = m.entries[0]!.events as Array<Record<string, unknown>>;
    expect(msg).toMatchObject({ type: 'message', externalId: 'mx', text: 'ab\uFFFDc' });
    expect(comment).toMatchObject({ type: 'message', kind: 'comment', text: 'hi!', contactName: 'Joe\uFFFD' });

    const ig = parseMetaWebhook({
      object: 'instagram',
      entry: [{ id: IG_ID, time: Date.now(), messaging: [{ sender: { id: '9001' }, recipient: { id: IG_ID }, timestamp: Date.now(), message: { mid: 'ig1', text: '\u0000\u0000ok' } }] }],
    })!;
    expect(ig.entries[0]!.events[0]).toMatchObject({ text: 'ok' });

    const wa = parseMetaWebhook(waDelivery([{ from: '491511', id: 'wamid.1', name: 'A\u0000na', text: 'x\u0000y' }]))!;
    expect(wa.entries[0]!.events[0]).toMatchObject({ text: 'xy', contactName: 'Ana' });
  });

  it('an absurd or non-numeric timestamp falls back to the delivery’s receipt time', () => {
    const receivedAt = new Date('2026-03-01T10:00:00Z');
    const sane = new Date('2026-03-01T09:59:00Z');
    const wa = parseMetaWebhook(
      waDelivery([
        { from: '491511', id: 'w1', name: 'A', text: 'a', timestamp: '1e30' },
        { from: '491512', id: 'w2', name: 'B', text: 'b', timestamp: 'soon' },
        { from: '491513', id: 'w3', name: 'C', text: 'c', timestamp: '-5' },
        { from: '491514', id: 'w4', name: 'D', text: 'd', timestamp: String(sane.getTime() / 1000) },
        // Year 2400: far in the future.
        { from: '491515', id: 'w5', name: 'E', text: 'e', timestamp: '13569465600' },
      ]),
      { receivedAt },
    )!;
    expect(wa.entries[0]!.events.map((e) => e.timestamp.toISOString())).toEqual([receivedAt, receivedAt, receivedAt, sane, receivedAt].map((d) => d.toISOString()));

    const page = parseMetaWebhook(
      {
        object: 'page',
        entry: [
          {
            id: PAGE_ID,
            time: 1e300,
            messaging: [
              { sender: { id: '7001' }, recipient: { id: PAGE_ID }, timestamp: 1e30, message: { mid: 'p1', text: 'a' } },
              { sender: { id: '7001' }, recipient: { id: PAGE_ID }, timestamp: '1e30', read: { watermark: 1e30 } },
            ],
          },
        ],
      },
      { receivedAt },
    )!;
    const [msg, read] = page.entries[0]!.events as Array<{ timestamp: Date; watermark?: Date }>;
    expect(msg!.timestamp.toISOString()).toBe(receivedAt.toISOString());
    expect(read!.timestamp.toISOString()).toBe(receivedAt.toISOString());
    expect(read!.watermark).toBeUndefined();
  });

  it('ids that are not strings or numbers of a sane length refuse their item only', () => {
    const parsed = parseMetaWebhook({
      object: 'page',
      entry: [
        {
          id: PAGE_ID,
          time: Date.now(),
          messaging: [
            { sender: { id: { nested: true } }, recipient: { id: PAGE_ID }, timestamp: Date.now(), message: { mid: 'bad-sender', text: 'a' } },
            { sender: { id: '7001' }, recipient: { id: PAGE_ID }, timestamp: Date.now(), message: { mid: 'x'.repeat(5000), text: 'a' } },
            { sender: { id: '7001' }, recipient: { id: PAGE_ID }, timestamp: Date.now(), message: { text: 'no mid' } },
            { sender: { id: '7001' }, recipient: { id: PAGE_ID }, timestamp: Date.now(), message: { mid: 'good', text: 'a' } },
          ],
        },
      ],
    })!;
    expect(parsed.entries[0]!.events.map((e) => (e as { externalId?: string }).externalId)).toEqual(['good']);
    expect(parsed.entries[0]!.ignored).toBe(3);
  });
});

describe('which failures are the change’s own (set aside) and which a later run fixes (retried)', () => {
  it('a busy or restarting database is retried: timeouts, cancels, shutdowns, lost connections, lost races', () => {
    for (const code of ['57014', '25P03', '57P01', '57P03', '08006', '40001', '40P01', '55P03', '53300']) expect(retryable(Object.assign(new Error('x'), { code })), code).toBe(true);
  });
  it('the change’s own errors are set aside: bad values, constraints', () => {
    for (const code of ['22P02', '22003', '23502', '23514', '42703']) expect(retryable(Object.assign(new Error('x'), { code })), code).toBe(false);
    expect(retryable(new TypeError('Cannot read properties of undefined'))).toBe(false);
  });
});

describe('poison deliveries through /webhooks/meta (R9)', () => {
  it('U+0000 in one customer’s text and name: both customers’ messages are stored, NUL stripped', async () => {
    const [bad, good] = [uid('wamid.nul'), uid('wamid.ok')];
    const res = await post(
      waDelivery([
        { from: customer(), id: bad, name: 'Ni\u0000na', text: 'broken\u0000 screen' },
        { from: customer(), id: good, name: 'Otto', text: 'is my phone ready?' },
      ]),
    );
    expect(res.statusCode).toBe(200);
    await w.settle();
    expect((await message(bad))?.text).toBe('broken screen');
    expect((await contactOfMessage(bad)).name).toBe('Nina');
    expect((await message(good))?.text).toBe('is my phone ready?');
    expect((await lastInbox()).processed_at).not.toBeNull();
  });

  it('a timestamp of "1e30": the message lands at the receipt time and its neighbour is stored', async () => {
    const [bad, good] = [uid('wamid.time'), uid('wamid.ok')];
    const before = Date.now();
    expect(
      (
        await post(
          waDelivery([
            { from: customer(), id: bad, name: 'T', text: 'when?', timestamp: '1e30' },
            { from: customer(), id: good, name: 'U', text: 'hello' },
          ]),
        )
      ).statusCode,
    ).toBe(200);
    await w.settle();
    const stored = await message(bad);
    expect(stored).toBeTruthy();
    const inbox = await lastInbox();
    expect(Math.abs(stored!.sort_at.getTime() - new Date(inbox.received_at).getTime())).toBeLessThan(1000);
    expect(stored!.sort_at.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(await message(good)).toBeTruthy();
    expect(inbox.processed_at).not.toBeNull();
  });

  it('a change that fails for another reason is set aside, shown to admins, retried and discarded; its neighbour is stored and the delivery is not stuck', async () => {
    // A real constraint the database enforces (standing for any cause the parser cannot see).
    await sql`alter table messages add constraint poison_test check (text is null or text not like '%poison-pill%')`.execute(db());
    const [bad, good] = [uid('wamid.pill'), uid('wamid.ok')];
    const payload = waDelivery([
      { from: customer(), id: bad, name: 'Pat', text: 'a poison-pill here' },
      { from: customer(), id: good, name: 'Quinn', text: 'the neighbour' },
    ]);
    try {
      expect((await post(payload)).statusCode).toBe(200);
      await w.settle();
      expect(await message(good)).toBeTruthy();
      expect(await message(bad)).toBeUndefined();
      const inbox = await lastInbox();
      expect(inbox.processed_at).not.toBeNull();
      let rows = (await failures()).filter((f) => Number(f.inbox_id) === Number(inbox.id));
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ state: 'open', attempts: 1, channel_id: w.whatsappId });
      expect(rows[0]!.error).toMatch(/poison_test/);

      // Re-processing the same delivery (a retried job): nothing applied twice, the failure
      // recorded once (its attempts counted).
      await db().updateTable('webhook_inbox').set({ processed_at: null }).where('id', '=', inbox.id).execute();
      await w.t.deps.queue.enqueue(w.t.deps.jobs.processWebhook, { inboxId: Number(inbox.id) });
      await w.settle();
      expect(await db().selectFrom('messages').select('id').where('external_id', '=', good).execute()).toHaveLength(1);
      rows = (await failures()).filter((f) => Number(f.inbox_id) === Number(inbox.id));
      expect(rows).toHaveLength(1);
      expect(rows[0]!.attempts).toBe(2);
      expect((await lastInbox()).processed_at).not.toBeNull();

      // Admins see it in Settings › Chats; employees cannot reach the page.
      const page = await as(w.t.app, admin).get('/settings/chats');
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain(`id="failed-delivery-${rows[0]!.id}"`);
      expect(page.body).toContain('a poison-pill here');
      expect(page.body).toContain('poison_test');
      expect((await as(w.t.app, agent).get('/settings/chats')).statusCode).toBe(403);
      expect((await as(w.t.app, agent).post(`/settings/chats/deliveries/${rows[0]!.id}/retry`)).statusCode).toBe(403);

      // Retry while the cause is still there: still listed, with the error.
      const again = await as(w.t.app, admin).post(`/settings/chats/deliveries/${rows[0]!.id}/retry`);
      expect(again.statusCode).toBe(303);
      expect(await message(bad)).toBeUndefined();
      expect((await failures()).find((f) => f.id === rows[0]!.id)).toMatchObject({ state: 'open', attempts: 3 });
    } finally {
      await sql`alter table messages drop constraint if exists poison_test`.execute(db());
    }

    // The cause fixed, Retry applies the change through the same path and removes it from the list.
    const retried = await as(w.t.app, admin).post(`/settings/chats/deliveries/${(await failures()).at(-1)!.id}/retry`);
    expect(retried.statusCode).toBe(303);
    await w.settle();
    expect((await message(bad))?.text).toBe('a poison-pill here');
    expect((await failures()).at(-1)!.state).toBe('resolved');
    const after = await as(w.t.app, admin).get('/settings/chats');
    expect(after.body).not.toContain('a poison-pill here');
  });

  it('Discard hides a set-aside change and records who discarded it', async () => {
    await sql`alter table messages add constraint poison_test2 check (text is null or text <> 'discard me')`.execute(db());
    const bad = uid('wamid.discard');
    try {
      await post(waDelivery([{ from: customer(), id: bad, name: 'Dee', text: 'discard me' }]));
      await w.settle();
    } finally {
      await sql`alter table messages drop constraint if exists poison_test2`.execute(db());
    }
    const row = (await failures()).at(-1)!;
    expect(row.state).toBe('open');
    expect((await as(w.t.app, admin).get('/settings/chats')).body).toContain(`id="failed-delivery-${row.id}"`);
    expect((await as(w.t.app, agent).post(`/settings/chats/deliveries/${row.id}/discard`)).statusCode).toBe(403);
    const res = await as(w.t.app, admin).post(`/settings/chats/deliveries/${row.id}/discard`);
    expect(res.statusCode).toBe(303);
    const after = (await failures()).find((f) => f.id === row.id)!;
    expect(after.state).toBe('discarded');
    expect(after.resolved_by).not.toBeNull();
    expect((await as(w.t.app, admin).get('/settings/chats')).body).not.toContain(`id="failed-delivery-${row.id}"`);
    // A discarded change is not retried.
    expect((await as(w.t.app, admin).post(`/settings/chats/deliveries/${row.id}/retry`)).statusCode).toBe(404);
    expect(await message(bad)).toBeUndefined();
  });

  it('PostgreSQL unavailable is not set aside: the job is retried and the change applied once it is back', async () => {
    // A trigger raising admin_shutdown (57P01), what a restarting server answers.
    await sql
      .raw(
        `create function poison_unavailable() returns trigger language plpgsql as $$
         begin if new.text = 'server restarting' then raise exception 'terminating connection due to administrator command' using errcode = 'admin_shutdown'; end if; return new; end $$`,
      )
      .execute(db());
    await sql.raw(`create trigger poison_unavailable before insert on messages for each row execute function poison_unavailable()`).execute(db());
    const [bad, good] = [uid('wamid.down'), uid('wamid.ok')];
    const before = (await failures()).length;
    try {
      await post(
        waDelivery([
          { from: customer(), id: bad, name: 'R', text: 'server restarting' },
          { from: customer(), id: good, name: 'S', text: 'fine' },
        ]),
      );
      // Wait for a first failed attempt.
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && (await lastInbox()).attempts < 1) await new Promise((r) => setTimeout(r, 50));
      expect((await lastInbox()).processed_at).toBeNull();
    } finally {
      await sql.raw('drop trigger if exists poison_unavailable on messages').execute(db());
      await sql.raw('drop function if exists poison_unavailable()').execute(db());
    }
    await w.settle();
    expect((await message(bad))?.text).toBe('server restarting');
    expect(await message(good)).toBeTruthy();
    expect((await lastInbox()).processed_at).not.toBeNull();
    expect((await failures()).length).toBe(before);
  }, 30_000);
});
