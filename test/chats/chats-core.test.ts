import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, createTestApp, login, makeEmployee, type Session, type TestApp } from '../helpers.ts';
import { TestAdapter, PlatformError, leadWrites, makeTestChannel } from '../support/test-adapter.ts';

let t: TestApp;
const adapter = new TestAdapter();
let admin: Session;
let agent: Session;
let outsider: Session;
let channelId: number;
let otherChannelId: number;

beforeAll(async () => {
  t = await createTestApp({ adapters: [adapter] });
  const a = await makeEmployee(t.deps, { role: 'admin', email: 'admin@shop.test' });
  const b = await makeEmployee(t.deps, { role: 'agent', email: 'agent@shop.test' });
  const c = await makeEmployee(t.deps, { role: 'agent', email: 'outsider@shop.test' });
  channelId = await makeTestChannel(t.deps, { name: 'Shop Page', employees: [b.id] });
  otherChannelId = await makeTestChannel(t.deps, { name: 'Other Page', employees: [c.id] });
  admin = await login(t.app, a.email);
  agent = await login(t.app, b.email);
  outsider = await login(t.app, c.email);
});
afterAll(async () => t?.close());

const indicatorOf = (html: string, chatId: number) => new RegExp(`id="chat-${chatId}"[^>]*data-indicator="(\\w+)"`).exec(html)?.[1];
const redDotOf = (html: string) => /id="nav-chats" data-red-dot="(\w+)"/.exec(html)?.[1];

describe('chats core', () => {
  it('a first message creates an open, unread chat visible only to employees of its channel', async () => {
    const { chatId } = await leadWrites(t.deps, channelId, 'lead-1', 'Hello, is my phone ready?');
    const page = await as(t.app, agent).get('/chats');
    expect(page.statusCode).toBe(200);
    expect(indicatorOf(page.body, chatId!)).toBe('unread');
    expect(redDotOf(page.body)).toBe('true');
    expect(page.body).toContain('Hello, is my phone ready?');

    const other = await as(t.app, outsider).get('/chats');
    expect(other.body).not.toContain(`chat-${chatId}"`);
    expect(redDotOf(other.body)).toBe('false');
    expect((await as(t.app, outsider).get(`/chats/${chatId}`)).statusCode).toBe(404);
    expect((await as(t.app, outsider).post(`/chats/${chatId}/read`)).statusCode).toBe(404);
    // Not a chat id (beyond int4, not a number): 404 for pages and fragments, never a 500.
    for (const url of ['/chats/99999999999', '/chats/12abc', '/chats/0']) {
      expect((await as(t.app, agent).get(url)).statusCode).toBe(404);
      expect((await as(t.app, agent).get(url, { 'hx-request': 'true' })).statusCode).toBe(404);
    }
    // Admins see every channel.
    expect(indicatorOf((await as(t.app, admin).get('/chats')).body, chatId!)).toBe('unread');
  });

  it('opening marks it read for the team (blue → grey), answering clears it (grey → none)', async () => {
    const { chatId } = await leadWrites(t.deps, channelId, 'lead-2', 'Price for a screen?');
    const open = await as(t.app, agent).get(`/chats/${chatId}`);
    expect(open.body).toContain(`hx-post="/chats/${chatId}/read"`);
    expect((await as(t.app, agent).post(`/chats/${chatId}/read`, {}, { headers: { 'hx-request': 'true' } })).statusCode).toBe(204);
    expect(indicatorOf((await as(t.app, admin).get('/chats')).body, chatId!)).toBe('unanswered');
    await t.deps.queue.idle();
    expect(adapter.seen).toContain('lead-2');

    const res = await as(t.app, agent).post(`/chats/${chatId}/messages`, { text: 'It is 89 €.\nCome by today.', idempotency_key: 'key-answer-1' }, { headers: { 'hx-request': 'true' } });
    expect(res.statusCode).toBe(200);
    await t.deps.queue.idle();
    const list = await as(t.app, agent).get('/chats');
    expect(indicatorOf(list.body, chatId!)).toBe('none');
    const thread = await as(t.app, agent).get(`/chats/${chatId}`);
    expect(thread.body).toMatch(/data-direction="out" data-status="sent"/);
    expect(thread.body).toContain('It is 89 €.\nCome by today.');
    expect(adapter.sent.at(-1)).toMatchObject({ recipientExternalId: 'lead-2', text: 'It is 89 €.\nCome by today.' });
  });

  it('a double submit with one idempotency key creates one message', async () => {
    const { chatId } = await leadWrites(t.deps, channelId, 'lead-3', 'Hi');
    const before = adapter.sent.length;
    const post = () => as(t.app, agent).post(`/chats/${chatId}/messages`, { text: 'Once only', idempotency_key: 'same-key-123' });
    const [a, b] = await Promise.all([post(), post()]);
    expect([a.statusCode, b.statusCode]).toEqual([303, 303]);
    await t.deps.queue.idle();
    const rows = await t.deps.db.selectFrom('messages').select('id').where('chat_id', '=', chatId!).where('text', '=', 'Once only').execute();
    expect(rows).toHaveLength(1);
    expect(adapter.sent.length).toBe(before + 1);
  });

  it('refuses empty and over-long text with 422, keeping the text and sending nothing', async () => {
    const { chatId } = await leadWrites(t.deps, channelId, 'lead-4', 'Hi');
    const long = 'é'.repeat(1001);
    const res = await as(t.app, agent).post(`/chats/${chatId}/messages`, { text: long, idempotency_key: 'too-long-key' }, { headers: { 'hx-request': 'true' } });
    expect(res.statusCode).toBe(422);
    expect(res.body).toContain('1001');
    expect(res.body).toContain(long);
    const empty = await as(t.app, agent).post(`/chats/${chatId}/messages`, { text: '   ', idempotency_key: 'empty-key-1' }, { headers: { 'hx-request': 'true' } });
    expect(empty.statusCode).toBe(422);
    const ok = await as(t.app, agent).post(`/chats/${chatId}/messages`, { text: 'x'.repeat(1000), idempotency_key: 'exact-1000' }, { headers: { 'hx-request': 'true' } });
    expect(ok.statusCode).toBe(200);
    const count = await t.deps.db.selectFrom('messages').select('id').where('chat_id', '=', chatId!).where('direction', '=', 'out').execute();
    expect(count).toHaveLength(1);
  });

  it('a permanent platform error marks the message failed with the reason; Retry sends it', async () => {
    const { chatId } = await leadWrites(t.deps, channelId, 'lead-5', 'Hi');
    adapter.failures.push(new PlatformError('(#10) This message is sent outside of allowed window.', { retryable: false, code: 10 }));
    await as(t.app, agent).post(`/chats/${chatId}/messages`, { text: 'Late answer', idempotency_key: 'fail-key-1' });
    await t.deps.queue.idle();
    const page = await as(t.app, agent).get(`/chats/${chatId}`);
    expect(page.body).toMatch(/data-status="failed"/);
    expect(page.body).toContain('outside of allowed window');
    const m = await t.deps.db.selectFrom('messages').select('id').where('chat_id', '=', chatId!).where('text', '=', 'Late answer').executeTakeFirstOrThrow();
    expect((await as(t.app, agent).post(`/chats/${chatId}/messages/${m.id}/retry`)).statusCode).toBe(303);
    await t.deps.queue.idle();
    const row = await t.deps.db.selectFrom('messages').select('status').where('id', '=', m.id).executeTakeFirstOrThrow();
    expect(row.status).toBe('sent');
  });

  it('archive shows who and when; a new inbound message reopens; sending reopens', async () => {
    const { chatId } = await leadWrites(t.deps, channelId, 'lead-6', 'Thanks!');
    await as(t.app, agent).post(`/chats/${chatId}/archive`);
    let page = await as(t.app, agent).get(`/chats/${chatId}`);
    expect(page.body).toMatch(/Archived by agent at/);
    expect((await as(t.app, agent).get('/chats')).body).not.toContain(`id="chat-${chatId}"`);
    expect((await as(t.app, agent).get('/chats?status=archived')).body).toContain(`id="chat-${chatId}"`);
    await leadWrites(t.deps, channelId, 'lead-6', 'One more question');
    expect((await as(t.app, agent).get('/chats')).body).toContain(`id="chat-${chatId}"`);
    await as(t.app, agent).post(`/chats/${chatId}/archive`);
    await as(t.app, agent).post(`/chats/${chatId}/messages`, { text: 'Following up', idempotency_key: 'reopen-by-send' });
    page = await as(t.app, agent).get('/chats');
    expect(page.body).toContain(`id="chat-${chatId}"`);
  });

  it('search finds chats by name and by message text, within visible channels only', async () => {
    await leadWrites(t.deps, channelId, 'Zoé Martin', 'My iPhone 12 screen is cracked');
    await leadWrites(t.deps, otherChannelId, 'Secret Person', 'cracked too');
    const byName = await as(t.app, agent).get('/chats?q=zo%C3%A9');
    expect(byName.body).toContain('Zoé Martin');
    const byText = await as(t.app, agent).get('/chats?q=cracked');
    expect(byText.body).toContain('Zoé Martin');
    expect(byText.body).not.toContain('Secret Person');
  });

  it('search: @username and phone digits; message text from three characters (with a hint below); unsent messages never match', async () => {
    const { chatId } = await leadWrites(t.deps, channelId, 'Quentin Roux', 'ok', { contactUsername: 'qroux_repairs', contactPhone: '+33 6 98 76 54 32' });
    const unsent = await leadWrites(t.deps, channelId, 'Ulysse Blanc', 'my secret battery code 4711');
    await t.deps.db.updateTable('messages').set({ deleted_at: new Date() }).where('external_id', '=', unsent.externalId).execute();
    const ids = (body: string) => [...body.matchAll(/data-chat-id="(\d+)"/g)].map((m) => Number(m[1]));

    expect(ids((await as(t.app, agent).get('/chats?q=%40qroux')).body)).toContain(chatId);
    expect(ids((await as(t.app, agent).get('/chats?q=987654')).body)).toContain(chatId);
    // Two characters: names match at once, message text does not (and the page says why).
    const short = await as(t.app, agent).get('/chats?q=ok');
    expect(ids(short.body)).not.toContain(chatId);
    expect(short.body).toContain('id="chat-search-hint"');
    const fr = await as(t.app, agent).get('/chats?q=Qu', { 'accept-language': 'fr' });
    expect(ids(fr.body)).toContain(chatId);
    const long = await as(t.app, agent).get('/chats?q=battery');
    expect(long.body).not.toContain('id="chat-search-hint"');
    expect(ids(long.body)).not.toContain(unsent.chatId);
  });

  it('without the Chats permission the page is forbidden', async () => {
    const e = await makeEmployee(t.deps, { role: 'Bookkeeper', permissions: ['invoices'] });
    const s = await login(t.app, e.email);
    expect((await as(t.app, s).get('/chats')).statusCode).toBe(403);
  });
});
