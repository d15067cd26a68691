import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, createTestApp, login, makeEmployee, type Session, type TestApp } from '../helpers.ts';
import { TestAdapter, leadWrites, makeTestChannel } from '../support/test-adapter.ts';

/**
 * Issue #21 finding 9 on the Chats page: opening a chat is a GET and changes nothing (S5), the
 * mention is marked seen by a POST the opened chat makes; stored media keep their own
 * sandboxing CSP (S9), not the pages' one.
 */
let t: TestApp;
let anna: Session;
let marc: Session;
let marcId: number;
let channel: number;
const HX = { 'hx-request': 'true' };

beforeAll(async () => {
  t = await createTestApp({ adapters: [new TestAdapter()] });
  const a = await makeEmployee(t.deps, { role: 'agent', name: 'Anna Martin', email: 'anna@shop.test' });
  const m = await makeEmployee(t.deps, { role: 'agent', name: 'Marc Dubois', email: 'marc@shop.test' });
  marcId = m.id;
  channel = await makeTestChannel(t.deps, { employees: [a.id, m.id] });
  anna = await login(t.app, a.email);
  marc = await login(t.app, m.email);
});
afterAll(async () => t?.close());

const mentionsOfMarc = async () => (await t.deps.db.selectFrom('chat_mentions').select('chat_id').where('employee_id', '=', marcId).execute()).map((r) => r.chat_id);
let k = 0;
async function mentionMarc(chatId: number) {
  const res = await as(t.app, anna).post(`/chats/${chatId}/notes`, { text: '@Marc Dubois please call', idempotency_key: `hardening-note-${++k}-abcdef` }, { headers: HX });
  expect(res.statusCode).toBe(200);
  expect(await mentionsOfMarc()).toContain(chatId);
}

describe('a mention is seen by a POST, never by opening the chat (S5)', () => {
  it('GET /chats/:id, as a page and as a fragment, leaves chat_mentions as it was; the page asks for the POST', async () => {
    const chatId = (await leadWrites(t.deps, channel, 'lead-get', 'Hello'))!.chatId!;
    await mentionMarc(chatId);
    for (const headers of [{}, HX]) {
      const res = await as(t.app, marc).get(`/chats/${chatId}`, headers);
      expect(res.statusCode).toBe(200);
      expect(await mentionsOfMarc()).toContain(chatId);
      expect(res.body).toContain(`hx-post="/chats/${chatId}/mentions/seen" hx-trigger="load"`);
    }
    // Someone not mentioned there is not asked to post anything.
    expect((await as(t.app, anna).get(`/chats/${chatId}`)).body).not.toContain('/mentions/seen');
  });

  it('POST /chats/:id/mentions/seen clears it (with the CSRF token only), and only for a chat one may see', async () => {
    const chatId = (await leadWrites(t.deps, channel, 'lead-post', 'Hello'))!.chatId!;
    await mentionMarc(chatId);
    const noCsrf = await as(t.app, marc).post(`/chats/${chatId}/mentions/seen`, {}, { csrf: false, headers: HX });
    expect(noCsrf.statusCode).toBe(403);
    expect(await mentionsOfMarc()).toContain(chatId);
    const res = await as(t.app, marc).post(`/chats/${chatId}/mentions/seen`, {}, { headers: HX });
    expect(res.statusCode).toBe(204);
    expect(await mentionsOfMarc()).not.toContain(chatId);
    expect((await as(t.app, marc).post('/chats/999999/mentions/seen', {}, { headers: HX })).statusCode).toBe(404);
    // Without JavaScript the form answer goes back to the chat.
    const cold = await as(t.app, marc).post(`/chats/${chatId}/mentions/seen`);
    expect(cold.statusCode).toBe(303);
    expect(cold.headers.location).toBe(`/chats/${chatId}`);
  });
});

describe('stored media keep their sandbox CSP (S9)', () => {
  it('an attachment and an avatar are served with "sandbox", not the pages’ policy', async () => {
    const { chatId } = (await leadWrites(t.deps, channel, 'lead-media', 'a file'))!;
    const m = await t.deps.db.selectFrom('messages').select('id').where('chat_id', '=', chatId!).executeTakeFirstOrThrow();
    await t.deps.storage.put('test/hostile.html', Buffer.from('<script>alert(1)</script>'));
    const a = await t.deps.db
      .insertInto('attachments')
      .values({ message_id: m.id, kind: 'file', mime: 'text/html', file_name: 'x.html', storage_key: 'test/hostile.html', status: 'stored' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const res = await as(t.app, anna).get(`/media/${a.id}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-security-policy']).toBe("default-src 'none'; sandbox");
    expect(res.headers['x-content-type-options']).toBe('nosniff');

    const chat = await t.deps.db.selectFrom('chats').select('contact_id').where('id', '=', chatId!).executeTakeFirstOrThrow();
    await t.deps.storage.put('test/avatar.jpg', Buffer.from([0xff, 0xd8, 0xff]));
    await t.deps.db.updateTable('contacts').set({ avatar_key: 'test/avatar.jpg' }).where('id', '=', chat.contact_id).execute();
    const avatar = await as(t.app, anna).get(`/media/avatars/${chat.contact_id}`);
    expect(avatar.statusCode).toBe(200);
    expect(avatar.headers['content-security-policy']).toBe("default-src 'none'; sandbox");
    // Pages keep theirs.
    expect((await as(t.app, anna).get('/chats')).headers['content-security-policy']).toContain("script-src 'self'");
  });
});
