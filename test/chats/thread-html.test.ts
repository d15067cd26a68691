import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, createTestApp, login, makeEmployee, type Session, type TestApp } from '../helpers.ts';
import { TestAdapter, PlatformError, leadWrites, makeTestChannel } from '../support/test-adapter.ts';
import * as repo from '../../src/chats/chats.repository.ts';
import { applyReceipt } from '../../src/chats/ingest.repository.ts';
import { ThreadHtmlCache, threadCacheOf } from '../../src/chats/thread-html.ts';

/**
 * `/chats/:id` keeps each chat's rendered thread and reuses it while the chat's thread version
 * (kept by triggers, migrations/0005) and the team's read mark are unchanged.
 */
let t: TestApp;
const adapter = new TestAdapter();
let agent: Session;
let admin: Session;
let agentId: number;
let channelId: number;

beforeAll(async () => {
  t = await createTestApp({ adapters: [adapter] });
  const a = await makeEmployee(t.deps, { role: 'agent', email: 'thread-agent@shop.test', name: 'Agent Smith' });
  const b = await makeEmployee(t.deps, { role: 'admin', email: 'thread-admin@shop.test' });
  agentId = a.id;
  channelId = await makeTestChannel(t.deps, { name: 'Thread Page', employees: [a.id] });
  agent = await login(t.app, a.email);
  admin = await login(t.app, b.email);
});
afterAll(async () => t?.close());

const versionOf = async (chatId: number) =>
  Number((await t.deps.db.selectFrom('thread_versions').select('version').where('chat_id', '=', chatId).executeTakeFirst())?.version ?? 0);

/** The thread's part of a page (the list shows previews of the same texts). */
const threadOf = (html: string) => html.slice(html.indexOf('class="thread"'), html.indexOf('<form id="composer-'));

/** Writes without the triggers: what a kept thread would not notice (proves it is reused). */
async function behindTheTriggers(statement: ReturnType<typeof sql>) {
  await t.deps.db.transaction().execute(async (trx) => {
    await sql`set local session_replication_role = replica`.execute(trx);
    await statement.execute(trx);
  });
}

describe('thread versions (triggers)', () => {
  it('move with every message, attachment and sender-name change, once per statement', async () => {
    const { chatId, messageId } = await leadWrites(t.deps, channelId, 'tv-lead-1', 'First');
    const v1 = await versionOf(chatId!);
    expect(v1).toBeGreaterThan(0);

    await leadWrites(t.deps, channelId, 'tv-lead-1', 'Second');
    const v2 = await versionOf(chatId!);
    expect(v2).toBeGreaterThan(v1);

    // Three outbound messages, then one receipt statement covering all of them: one bump.
    for (const text of ['a', 'b', 'c']) {
      await as(t.app, agent).post(`/chats/${chatId}/messages`, { text, idempotency_key: `thread-version-key-${text}` });
    }
    await t.deps.queue.idle();
    const v3 = await versionOf(chatId!);
    const changed = await t.deps.db.transaction().execute((trx) => applyReceipt(trx, chatId!, 'delivered', new Date(), { upTo: new Date(Date.now() + 60_000) }));
    expect(changed.length).toBe(3);
    expect(await versionOf(chatId!)).toBe(v3 + 1);

    const attachmentId = await repo.insertAttachment(t.deps.db, { messageId: messageId!, kind: 'image', mime: 'image/png', fileName: null, sizeBytes: null, sourceUrl: 'https://x.test/a.png' });
    const v4 = await versionOf(chatId!);
    expect(v4).toBe(v3 + 2);
    await repo.recordAttachmentDownload(t.deps.db, attachmentId, { status: 'failed', reason: 'gone' });
    expect(await versionOf(chatId!)).toBe(v4 + 1);

    // A rename of an employee who sent messages here (Parley has no rename form yet).
    await t.deps.db.updateTable('employees').set({ name: 'Agent Smythe' }).where('id', '=', agentId).execute();
    expect(await versionOf(chatId!)).toBe(v4 + 2);
    // The same name again changes nothing.
    await t.deps.db.updateTable('employees').set({ name: 'Agent Smythe' }).where('id', '=', agentId).execute();
    expect(await versionOf(chatId!)).toBe(v4 + 2);

    await t.deps.db.deleteFrom('messages').where('id', '=', messageId!).execute();
    expect(await versionOf(chatId!)).toBe(v4 + 3);
  });
});

describe('the kept thread of /chats/:id', () => {
  it('is reused while nothing changed, and re-rendered after any change', async () => {
    const { chatId, messageId } = await leadWrites(t.deps, channelId, 'tv-lead-2', 'Original words');
    expect((await as(t.app, agent).get(`/chats/${chatId}`)).body).toContain('Original words');

    // Changed behind the triggers: the version did not move, so the kept thread is served.
    await behindTheTriggers(sql`update messages set text = 'Quietly changed' where id = ${messageId}`);
    const kept = await as(t.app, agent).get(`/chats/${chatId}`);
    expect(threadOf(kept.body)).toContain('Original words');
    expect(threadOf(kept.body)).not.toContain('Quietly changed');

    // An ordinary write moves the version: the next page reads and renders the thread again.
    await repo.setMessageText(t.deps.db, messageId!, 'Edited words', {});
    const fresh = await as(t.app, agent).get(`/chats/${chatId}`);
    expect(threadOf(fresh.body)).toContain('Edited words');
    expect(threadOf(fresh.body)).not.toContain('Original words');
    // The htmx fragment and the compact window follow the same version.
    expect((await as(t.app, agent).get(`/chats/${chatId}`, { 'hx-request': 'true' })).body).toContain('Edited words');
    expect((await as(t.app, agent).get(`/chats/${chatId}/mini`, { 'hx-request': 'true' })).body).toContain('Edited words');
  });

  it('follows the team read mark (inbound ticks) and each language', async () => {
    const { chatId, messageId } = await leadWrites(t.deps, channelId, 'tv-lead-3', 'Unread yet');
    const before = await as(t.app, agent).get(`/chats/${chatId}`);
    expect(before.body).toMatch(new RegExp(`data-message-id="${messageId}" data-direction="in" data-status="delivered"`));
    await as(t.app, agent).post(`/chats/${chatId}/read`, {}, { headers: { 'hx-request': 'true' } });
    const after = await as(t.app, agent).get(`/chats/${chatId}`);
    expect(after.body).toMatch(new RegExp(`data-message-id="${messageId}" data-direction="in" data-status="read"`));

    const fr = await as(t.app, agent).get(`/chats/${chatId}`, { 'accept-language': 'fr-FR' });
    const en = await as(t.app, agent).get(`/chats/${chatId}`, { 'accept-language': 'en-GB' });
    const dayOf = (html: string) => /class="day-separator" role="separator"><span>([^<]+)</.exec(html)?.[1];
    expect(dayOf(fr.body)).not.toBe(dayOf(en.body));
  });

  it("fills each employee's own CSRF token into a kept Retry form", async () => {
    const { chatId } = await leadWrites(t.deps, channelId, 'tv-lead-4', 'Hello?');
    adapter.failures.push(new PlatformError('(#10) Outside the window.', { retryable: false, code: 10 }));
    await as(t.app, agent).post(`/chats/${chatId}/messages`, { text: 'Too late', idempotency_key: 'thread-version-fail-1' });
    await t.deps.queue.idle();
    const slot = threadCacheOf(t.deps).csrfSlot;
    for (const s of [agent, admin, agent, admin]) {
      const page = await as(t.app, s).get(`/chats/${chatId}`);
      expect(page.body).toMatch(/data-action="retry"/);
      expect(page.body).not.toContain(slot);
      const retryForm = /action="\/chats\/\d+\/messages\/\d+\/retry"[\s\S]*?name="_csrf" value="([^"]+)"/.exec(page.body);
      expect(retryForm?.[1]).toBe(s.csrf);
    }
  });
});

describe('ThreadHtmlCache', () => {
  it('answers only for the same version and read mark, and forgets the least recently used', () => {
    const c = new ThreadHtmlCache(2);
    c.set(1, 'en', 50, 3, 10, '<p>one</p>', '');
    expect(c.get(1, 'en', 50, 3, 10, '')).toBe('<p>one</p>');
    expect(c.get(1, 'en', 50, 4, 10, '')).toBeUndefined();
    expect(c.get(1, 'en', 50, 3, 11, '')).toBeUndefined();
    expect(c.get(1, 'fr', 50, 3, 10, '')).toBeUndefined();
    expect(c.get(1, 'en', 20, 3, 10, '')).toBeUndefined();
    c.set(2, 'en', 50, 1, null, '<p>two</p>', '');
    c.get(1, 'en', 50, 3, 10, ''); // 1 is now the most recently used
    c.set(3, 'en', 50, 1, null, `<input value="${c.csrfSlot}">`, 'tok-a');
    expect(c.size).toBe(2);
    expect(c.get(2, 'en', 50, 1, null, '')).toBeUndefined();
    expect(c.get(1, 'en', 50, 3, 10, '')).toBe('<p>one</p>');
    expect(c.get(3, 'en', 50, 1, null, 'tok-b')).toBe('<input value="tok-b">');
  });
});
