// The WhatsApp channel's guarantees against the emulator (meta-platform.md §4, §6, §10):
// statuses applied exactly once and never backwards, duplicate deliveries, 131047 as a
// `failed` webhook and synchronously, a revoked token, media URL expiry, templates refused by
// the platform, starting a chat from a client's number, and an employee without the channel
// seeing nothing of it (list, thread, media, live events).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metaJsonStringify, signBody, startEmulator } from '../../emulator/index.ts';
import { as, login, makeEmployee, type Session } from '../helpers.ts';
import { APP_SECRET, startMetaWorld, WA_PHONE_ID, WA_TOKEN, WA_WABA_ID, type MetaWorld } from '../support/meta-world.ts';
import { LiveStreams } from '../platform/sse.ts';
import { setChannelAccess, updateChannel, findChannel } from '../../src/channels/channels.repository.ts';
import { refreshTemplates } from '../../src/channels/whatsapp/templates.service.ts';
import { downloadByMediaId } from '../../src/chats/ingest/media.jobs.ts';
import { createClient } from '../../src/crm/clients.service.ts';
import { WhatsAppAdapter } from '../../src/channels/whatsapp/whatsapp.adapter.ts';
import { GraphClient } from '../../src/channels/meta/graph-client.ts';

let w: MetaWorld;
let agent: Session;
let outsider: Session;
let agentId: number;
const live = new LiveStreams(() => w.parleyUrl);

beforeAll(async () => {
  w = await startMetaWorld({ whatsapp: true });
  const a = await makeEmployee(w.t.deps, { role: 'agent', email: 'wa-agent@shop.test', name: 'Wanda Agent' });
  const b = await makeEmployee(w.t.deps, { role: 'agent', email: 'no-wa@shop.test', name: 'Otto Outsider' });
  agentId = a.id;
  // Only Wanda may use the WhatsApp number; Otto sees Messenger and Instagram only.
  await updateChannel(w.t.deps.db, w.whatsappId, { accessAll: false });
  await setChannelAccess(w.t.deps.db, w.whatsappId, [a.id]);
  agent = await login(w.t.app, a.email);
  outsider = await login(w.t.app, b.email);
});
afterAll(async () => {
  live.closeAll();
  await w?.close();
});

const db = () => w.t.deps.db;
const chatOf = async (waId: string) =>
  (await db()
    .selectFrom('chats')
    .innerJoin('contacts', 'contacts.id', 'chats.contact_id')
    .select(['chats.id', 'chats.client_id'])
    .where('chats.channel_id', '=', w.whatsappId)
    .where('contacts.external_id', '=', waId)
    .executeTakeFirst())!;
const lastOut = (chatId: number) => db().selectFrom('messages').selectAll().where('chat_id', '=', chatId).where('direction', '=', 'out').orderBy('id', 'desc').executeTakeFirstOrThrow();

/** A delivery signed as Meta signs it (escaped-unicode JSON, HMAC over those bytes). */
function post(payload: unknown) {
  const raw = metaJsonStringify(payload);
  return w.t.app.inject({ method: 'POST', url: '/webhooks/meta', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(raw, APP_SECRET) }, payload: raw });
}
const value = (v: Record<string, unknown>) => ({
  object: 'whatsapp_business_account',
  entry: [{ id: WA_WABA_ID, changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '15550001234', phone_number_id: WA_PHONE_ID }, ...v } }] }],
});
const status = (id: string, s: string, at: number, extra: Record<string, unknown> = {}) => ({ id, status: s, timestamp: String(at), recipient_id: '79161234567', ...extra });

describe('statuses and duplicates', () => {
  it('the same delivery posted three times (two at once) is one message', async () => {
    const body = value({
      contacts: [{ profile: { name: 'Anna Petrova' }, wa_id: '79161234567' }],
      messages: [{ from: '79161234567', id: 'wamid.DUPLICATE-1', timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: 'Один раз, пожалуйста' } }],
    });
    const answers = await Promise.all([post(body), post(body)]);
    answers.push(await post(body));
    expect(answers.map((r) => r.statusCode)).toEqual([200, 200, 200]);
    await w.settle();
    const rows = await db().selectFrom('messages').select('id').where('external_id', '=', 'wamid.DUPLICATE-1').execute();
    expect(rows).toHaveLength(1);
  });

  it('statuses out of order and repeated end at read, never lowered, each applied once', async () => {
    w.emu.send('anna', 'whatsapp', 'Можно ответить?');
    await w.settle();
    const chat = await chatOf('79161234567');
    const res = await as(w.t.app, agent).post(`/chats/${chat.id}/messages`, { text: 'Принято', idempotency_key: 'wa-status-0001' });
    expect(res.statusCode).toBe(303);
    await w.settle();
    const m = await lastOut(chat.id);
    expect(m.external_id).toMatch(/^wamid\./);
    const t0 = Math.floor(Date.now() / 1000) + 10;
    // read before delivered (the delivered webhook may be skipped or late, §4.4), then repeats.
    await post(value({ statuses: [status(m.external_id!, 'read', t0 + 3)] }));
    await post(value({ statuses: [status(m.external_id!, 'delivered', t0 + 2), status(m.external_id!, 'sent', t0 + 1)] }));
    await post(value({ statuses: [status(m.external_id!, 'read', t0 + 3)] }));
    await w.settle();
    const after = await lastOut(chat.id);
    expect(after.status).toBe('read');
    expect(after.read_at?.getTime()).toBe((t0 + 3) * 1000);
    // A "failed" after "read" changes nothing either (failed only ends a message not yet read).
    await post(value({ statuses: [status(m.external_id!, 'failed', t0 + 4, { errors: [{ code: 131026, title: 'Message undeliverable' }] })] }));
    await w.settle();
    expect((await lastOut(chat.id)).status).toBe('read');
  });

  it('a status for a message Parley has not recorded yet finds it by biz_opaque_callback_data', async () => {
    const chat = await chatOf('79161234567');
    const queued = await db()
      .insertInto('messages')
      .values({ chat_id: chat.id, channel_id: w.whatsappId, direction: 'out', kind: 'text', text: 'в пути', status: 'queued', sort_at: new Date(), meta: '{}', idempotency_key: 'wa-opaque-001' })
      .returning('id')
      .executeTakeFirstOrThrow();
    await post(value({ statuses: [status('wamid.OPAQUE-1', 'delivered', Math.floor(Date.now() / 1000), { biz_opaque_callback_data: `parley:${queued.id}` })] }));
    await w.settle();
    const row = await db().selectFrom('messages').select(['status', 'external_id']).where('id', '=', queued.id).executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'delivered', external_id: 'wamid.OPAQUE-1' });
    // The outbox job that later runs for it finds it no longer queued and sends nothing twice.
    const before = w.emu.calls({ pathIncludes: `/${WA_PHONE_ID}/messages` }).length;
    await w.t.deps.queue.enqueue(w.t.deps.jobs.sendMessage, { messageId: queued.id });
    await w.settle();
    expect(w.emu.calls({ pathIncludes: `/${WA_PHONE_ID}/messages` }).length).toBe(before);
  });
});

describe('131047 and other failures', () => {
  it('the window closed on the platform: accepted, then a failed webhook; the reason is shown, Retry is not offered', async () => {
    w.emu.send('marc', 'whatsapp', 'Merci !');
    await w.settle();
    const chat = await chatOf('33612345678');
    w.emu.advanceClock('24h1m');
    try {
      await as(w.t.app, agent).post(`/chats/${chat.id}/messages`, { text: 'Encore une question ?', idempotency_key: 'wa-131047-async' });
      await w.settle();
      const m = await lastOut(chat.id);
      expect(m).toMatchObject({ status: 'failed', status_reason: 'i18n:chats.error.wa_window' });
      const page = await as(w.t.app, agent).get(`/chats/${chat.id}`);
      expect(page.body).toContain('Send an approved template instead');
      expect(page.body).not.toContain(`/messages/${m.id}/retry`);
    } finally {
      w.emu.advanceClock('-24h1m');
    }
  });

  it('a token that stops working (401 / 190) marks the channel needs reconnecting', async () => {
    const chat = await chatOf('79161234567');
    w.emu.revokeToken({ token: WA_TOKEN });
    await as(w.t.app, agent).post(`/chats/${chat.id}/messages`, { text: 'Вы здесь?', idempotency_key: 'wa-revoked-001' });
    await w.settle();
    expect((await lastOut(chat.id)).status).toBe('failed');
    const channel = await findChannel(db(), w.whatsappId);
    expect(channel!.state).toBe('needs_reconnect');
    // Back to normal for the rest of the file: a fresh emulator token is the same string.
    await w.emu.reset();
    w.emu.setCallbackUrl(`${w.parleyUrl}/webhooks/meta`);
    await updateChannel(db(), w.whatsappId, { state: 'connected', stateReason: null });
  });

  it('a template the cache still lists but the platform no longer knows fails with 132001 in plain words', async () => {
    await refreshTemplates(w.t.deps, w.whatsappId);
    await db()
      .insertInto('whatsapp_templates')
      .values({
        channel_id: w.whatsappId,
        name: 'deleted_on_meta',
        language: 'en_US',
        status: 'APPROVED',
        category: 'UTILITY',
        components: JSON.stringify([{ type: 'BODY', text: 'Gone' }]),
        fetched_at: new Date(),
      })
      .execute();
    w.emu.send('anna', 'whatsapp', 'template please');
    await w.settle();
    const chat = await chatOf('79161234567');
    const res = await as(w.t.app, agent).post(`/chats/${chat.id}/messages`, { template: 'deleted_on_meta:en_US', idempotency_key: 'wa-tpl-gone-01' });
    expect(res.statusCode).toBe(303);
    await w.settle();
    expect(await lastOut(chat.id)).toMatchObject({ status: 'failed', status_reason: 'i18n:chats.error.wa_template_missing', text: 'Gone' });
    // A PENDING template is kept in the cache (the settings page lists it) but never offered.
    const pending = await db().selectFrom('whatsapp_templates').select('status').where('name', '=', 'spring_promo').executeTakeFirstOrThrow();
    expect(pending.status).toBe('PENDING');
    const refused = await as(w.t.app, agent).post(`/chats/${chat.id}/messages`, { template: 'spring_promo:en_US', idempotency_key: 'wa-tpl-pend-01' });
    expect(refused.statusCode).toBe(422);
  });
});

describe('131047 synchronously', () => {
  it('HTTP 400 from the send is the same failure, in the same words', async () => {
    const w2 = await startMetaWorld({ whatsapp: true, emulator: { whatsappWindowError: 'sync' } });
    try {
      const e = await makeEmployee(w2.t.deps, { role: 'agent', email: 'sync@shop.test' });
      const s = await login(w2.t.app, e.email);
      w2.emu.send('anna', 'whatsapp', 'hello');
      await w2.settle();
      const chat = (await w2.t.deps.db.selectFrom('chats').select('id').where('channel_id', '=', w2.whatsappId).executeTakeFirst())!;
      w2.emu.advanceClock('24h1m');
      await as(w2.t.app, s).post(`/chats/${chat.id}/messages`, { text: 'late', idempotency_key: 'wa-sync-00001' });
      await w2.settle();
      const m = await w2.t.deps.db.selectFrom('messages').select(['status', 'status_reason']).where('chat_id', '=', chat.id).where('direction', '=', 'out').executeTakeFirstOrThrow();
      expect(m).toEqual({ status: 'failed', status_reason: 'i18n:chats.error.wa_window' });
    } finally {
      await w2.close();
    }
  });
});

describe('media', () => {
  it('a media URL used after its 5 minutes (404) is asked for again with GET /{media-id}', async () => {
    w.emu.send('anna', 'whatsapp', { attachment: { sample: 'photo.jpg' } });
    await w.settle();
    // The media id as the webhook carried it (Parley keeps the file, not the id, once stored).
    const bodies = await db().selectFrom('webhook_inbox').select('body').orderBy('id', 'desc').execute();
    const image = bodies
      .map((b) => JSON.parse(b.body))
      .flatMap((b) => b.entry?.[0]?.changes?.[0]?.value?.messages ?? [])
      .find((m: { type?: string }) => m.type === 'image');
    const mediaId: string | undefined = image?.image?.id;
    expect(mediaId).toBeTruthy();
    const graph = new GraphClient({ baseUrl: w.emu.url, version: 'v25.0' });
    const stale = (await graph.get<{ url: string }>(mediaId!, WA_TOKEN)).url;
    w.emu.advanceClock('6m');
    try {
      const before = w.emu.calls({ all: true, method: 'GET' }).filter((c) => c.path.endsWith('/' + mediaId)).length;
      const policy = { allowedHosts: w.t.deps.config.media.allowedHosts, trustedPrivateHosts: w.t.deps.config.media.trustedPrivateHosts, maxBytes: 5_000_000, timeoutMs: 5000 };
      const file = await downloadByMediaId(w.t.deps, w.whatsappId, mediaId!, policy, async () => stale);
      expect(file.body.length).toBeGreaterThan(100);
      expect(file.contentType).toBe('image/jpeg');
      const after = w.emu.calls({ all: true, method: 'GET' }).filter((c) => c.path.endsWith('/' + mediaId)).length;
      expect(after - before).toBe(2);
    } finally {
      w.emu.advanceClock('-6m');
    }
  });
});

describe('an employee without the WhatsApp channel sees nothing of it', () => {
  it('not in the list, not the thread, not the media, not a live event', async () => {
    const [a, b] = [await live.open(agent), await live.open(outsider)];
    w.emu.send('anna', 'whatsapp', 'Секретный вопрос про ремонт');
    await w.settle();
    await a.waitFor('ui', 'Секретный вопрос про ремонт');
    expect(b.events.some((e) => e.data.includes('Секретный вопрос'))).toBe(false);
    const chat = await chatOf('79161234567');
    const list = await as(w.t.app, outsider).get('/chats');
    expect(list.statusCode).toBe(200);
    expect(list.body).not.toContain(`id="chat-${chat.id}"`);
    expect(list.body).not.toContain('Anna Petrova');
    expect((await as(w.t.app, outsider).get(`/chats/${chat.id}`)).statusCode).toBe(404);
    expect((await as(w.t.app, outsider).get(`/chats/${chat.id}/composer`, { 'hx-request': 'true' })).statusCode).toBe(404);
    expect((await as(w.t.app, outsider).post(`/chats/${chat.id}/messages`, { text: 'x', idempotency_key: 'wa-outsider-01' })).statusCode).toBe(404);
    const search = await as(w.t.app, outsider).get('/chats?q=' + encodeURIComponent('Секретный'));
    expect(search.body).not.toContain('Секретный вопрос про ремонт');
    expect(search.body).not.toContain(`id="chat-${chat.id}"`);
    const att = await db()
      .selectFrom('attachments')
      .innerJoin('messages', 'messages.id', 'attachments.message_id')
      .select('attachments.id')
      .where('messages.chat_id', '=', chat.id)
      .executeTakeFirstOrThrow();
    expect((await as(w.t.app, agent).get(`/media/${att.id}`)).statusCode).toBe(200);
    expect((await as(w.t.app, outsider).get(`/media/${att.id}`)).statusCode).toBe(404);
  });
});

describe('starting a chat with a client who never wrote (E5, J3)', () => {
  it('from the client card: a WhatsApp chat by phone, linked, whose composer offers templates', async () => {
    const client = { id: await createClient(db(), { name: 'Priya Private', phones: ['+1 555 123 0000'] }) };
    const card = await as(w.t.app, agent).get(`/chats/for-client/${client.id}`, { 'hx-request': 'true' });
    expect(card.body).toContain(`name="channel_id" value="${w.whatsappId}"`);
    const res = await as(w.t.app, agent).post(`/chats/for-client/${client.id}`, { channel_id: String(w.whatsappId) });
    expect(res.statusCode).toBe(303);
    const chatId = Number(/\/chats\/(\d+)/.exec(String(res.headers.location))![1]);
    const chat = await db()
      .selectFrom('chats')
      .innerJoin('contacts', 'contacts.id', 'chats.contact_id')
      .select(['chats.client_id', 'contacts.external_id', 'contacts.phone'])
      .where('chats.id', '=', chatId)
      .executeTakeFirstOrThrow();
    expect(chat).toEqual({ client_id: client.id, external_id: '15551230000', phone: '+15551230000' });
    const page = await as(w.t.app, agent).get(`/chats/${chatId}`);
    expect(page.body).toContain('data-policy="template-required"');
    expect(page.body).toContain('data-template="hello_world:en_US"');
    await as(w.t.app, agent).post(`/chats/${chatId}/messages`, { template: 'hello_world:en_US', idempotency_key: 'wa-first-tpl-1' });
    await w.settle();
    expect(await lastOut(chatId)).toMatchObject({ status: 'delivered', text: expect.stringContaining('Hello') });
    // Starting again opens the same chat.
    const again = await as(w.t.app, agent).post(`/chats/for-client/${client.id}`, { channel_id: String(w.whatsappId) });
    expect(again.headers.location).toBe(`/chats/${chatId}`);
    // Otto may not use the channel: he is not offered it and cannot start it.
    const refused = await as(w.t.app, outsider).post(`/chats/for-client/${client.id}`, { channel_id: String(w.whatsappId) });
    expect(refused.statusCode).toBe(422);
    // An employee with Chats but not Clients may not read the client's number to start one.
    const chatsOnly = await makeEmployee(w.t.deps, { role: 'ChatsOnly', permissions: ['chats'], email: 'chats-only@shop.test' });
    const s = await login(w.t.app, chatsOnly.email);
    const other = { id: await createClient(db(), { name: 'Nora Numbers', phones: ['+33 6 11 22 33 44'] }) };
    const offered = await as(w.t.app, s).get(`/chats/for-client/${other.id}`, { 'hx-request': 'true' });
    expect(offered.body).not.toContain(`name="channel_id" value="${w.whatsappId}"`);
    expect((await as(w.t.app, s).post(`/chats/for-client/${other.id}`, { channel_id: String(w.whatsappId) })).statusCode).toBe(422);
    expect(await db().selectFrom('contacts').select('id').where('external_id', '=', '33611223344').executeTakeFirst()).toBeUndefined();
    void agentId;
  });
});

describe('the 24-hour window (H3, §10.10)', () => {
  const adapter = new WhatsAppAdapter(new GraphClient({ baseUrl: 'http://127.0.0.1:9', version: 'v25.0' }));
  const channel = { id: 1, kind: 'whatsapp', settings: {} };
  const last = new Date('2026-06-01T10:00:00Z');
  const at = (ms: number) => adapter.sendPolicy({ channel, lastInboundAt: last, now: new Date(last.getTime() + ms) });
  it('at 23 h 59 min free text, and the composer says when the window closes', () => {
    expect(at((23 * 60 + 59) * 60_000)).toEqual({ action: 'send', messagingType: 'RESPONSE', closesAt: new Date('2026-06-02T10:00:00Z') });
  });
  it('at 24 h 01 min only a template (no 7-day exception on WhatsApp)', () => {
    expect(at((24 * 60 + 1) * 60_000)).toEqual({ action: 'template-required', reasonKey: 'chats.policy.wa_window_closed', closedAt: new Date('2026-06-02T10:00:00Z') });
    expect(at(6 * 24 * 3600_000)).toMatchObject({ action: 'template-required' });
  });
  it('before the person ever wrote: a template', () => {
    expect(adapter.sendPolicy({ channel, lastInboundAt: null, now: last })).toEqual({ action: 'template-required', reasonKey: 'chats.policy.wa_no_inbound' });
  });
});

void startEmulator;
