import { gunzipSync } from 'node:zlib';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, createTestApp, login, makeEmployee, type Session, type TestApp } from '../../helpers.ts';
import { TestAdapter, PlatformError, leadWrites, makeTestChannel } from '../../support/test-adapter.ts';
import * as repo from '../../../src/chats/chats.repository.ts';
import * as ingestRepo from '../../../src/chats/ingest/ingest.repository.ts';
import { applyReceipt } from '../../../src/chats/ingest/ingest.repository.ts';
import { updateChannel } from '../../../src/channels/channels.repository.ts';
import { KeptHtml, keptHtmlOf, textOf } from '../../../src/chats/inbox/kept-html.ts';
import type { BodyPiece } from '../../../src/platform/page-body.ts';

/**
 * The Chats page keeps each chat's rendered thread, reused while the chat's thread version
 * (kept by triggers, migrations/0005) and the team's read mark are unchanged, and the rendered
 * first page of the list, reused while the digest of its rows is unchanged.
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
  // Only admins see this one: the admin's list is another set of channels than the agent's.
  await makeTestChannel(t.deps, { name: 'Admins Page', employees: [] });
  agent = await login(t.app, a.email);
  admin = await login(t.app, b.email);
});
afterAll(async () => t?.close());

const versionOf = async (chatId: number) => Number((await t.deps.db.selectFrom('thread_versions').select('version').where('chat_id', '=', chatId).executeTakeFirst())?.version ?? 0);

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
    await ingestRepo.recordAttachmentDownload(t.deps.db, attachmentId, { status: 'failed', reason: 'gone' });
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
    const slot = keptHtmlOf(t.deps).csrfSlot;
    for (const s of [agent, admin, agent, admin]) {
      const page = await as(t.app, s).get(`/chats/${chatId}`);
      expect(page.body).toMatch(/data-action="retry"/);
      expect(page.body).not.toContain(slot);
      const retryForm = /action="\/chats\/\d+\/messages\/\d+\/retry"[\s\S]*?name="_csrf" value="([^"]+)"/.exec(page.body);
      expect(retryForm?.[1]).toBe(s.csrf);
    }
  });

  it('sends the page gzipped to a client that takes it: the same HTML, kept parts and CSRF slot included', async () => {
    const { chatId } = await leadWrites(t.deps, channelId, 'tv-lead-gz', 'Ça coûte 30 € ? 👍 «devis»');
    adapter.failures.push(new PlatformError('(#10) Outside the window.', { retryable: false, code: 10 }));
    await as(t.app, agent).post(`/chats/${chatId}/messages`, { text: 'Réponse trop tard', idempotency_key: 'thread-version-gz-1' });
    await t.deps.queue.idle();
    // The composer's idempotency key is new on every response.
    const same = (html: string) => html.replace(/name="idempotency_key" value="[^"]*"/g, '');
    for (const url of [`/chats/${chatId}`, `/chats/${chatId}`, '/chats', '/chats']) {
      const plain = await as(t.app, agent).get(url);
      expect(plain.headers['content-encoding']).toBeUndefined();
      const zipped = await as(t.app, agent).get(url, { 'accept-encoding': 'gzip, deflate, br' });
      expect(zipped.headers['content-encoding']).toBe('gzip');
      expect(zipped.headers.vary).toMatch(/Accept-Encoding/);
      expect(zipped.rawPayload.length).toBeLessThan(plain.rawPayload.length);
      const html = gunzipSync(zipped.rawPayload).toString('utf8');
      expect(same(html)).toBe(same(plain.body));
      expect(html).not.toMatch(/kept-part-|csrf-slot-/);
      // The session's CSRF token goes out uncompressed (BREACH: see platform/page-body.ts).
      expect(zipped.rawPayload.includes(Buffer.from(agent.csrf))).toBe(true);
      if (url === '/chats') continue;
      expect(html).toContain('Ça coûte 30 € ? 👍 «devis»');
      const retryForm = /action="\/chats\/\d+\/messages\/\d+\/retry"[\s\S]*?name="_csrf" value="([^"]+)"/.exec(html);
      expect(retryForm?.[1]).toBe(agent.csrf);
    }
  });
});

describe('the kept list', () => {
  it('is rendered once while its rows are unchanged, again after any change, and per set of channels', async () => {
    const rendered: string[] = [];
    const render = t.deps.eta.render.bind(t.deps.eta);
    t.deps.eta.render = ((template: string, data: object) => {
      rendered.push(template);
      return render(template, data);
    }) as typeof t.deps.eta.render;
    try {
      const lists = () => rendered.filter((x) => x === '/chats/inbox/_list').length;
      const { chatId } = await leadWrites(t.deps, channelId, 'tv-lead-5', 'List me');
      const first = await as(t.app, agent).get('/chats');
      expect(first.body).toContain(`id="chat-${chatId}"`);
      const n = lists();
      expect(n).toBe(1);
      // Unchanged rows: the same HTML, nothing rendered (on the deep link as well).
      expect((await as(t.app, agent).get('/chats')).body).toBe(first.body);
      await as(t.app, agent).get(`/chats/${chatId}`);
      expect(lists()).toBe(n);
      // Another employee sees every channel (admin): a list of their own.
      await as(t.app, admin).get('/chats');
      expect(lists()).toBe(n + 1);
      // A new message changes a row: rendered again, with the new preview on top.
      const { chatId: other } = await leadWrites(t.deps, channelId, 'tv-lead-6', 'Newest words');
      const after = await as(t.app, agent).get('/chats');
      expect(lists()).toBe(n + 2);
      expect(after.body.indexOf(`id="chat-${other}"`)).toBeLessThan(after.body.indexOf(`id="chat-${chatId}"`));
      expect(after.body).toContain('Newest words');
      // The contact's and the channel's rows count too (the name, the page name).
      const { contactId } = await t.deps.db.selectFrom('chats').select('contact_id as contactId').where('id', '=', other!).executeTakeFirstOrThrow();
      await ingestRepo.updateContactProfile(t.deps.db, contactId, { name: 'Renamed Lead', hidden: false });
      expect((await as(t.app, agent).get('/chats')).body).toContain('Renamed Lead');
      await updateChannel(t.deps.db, channelId, { name: 'Renamed Page' });
      expect((await as(t.app, agent).get('/chats')).body).toContain('Renamed Page');
      expect(lists()).toBe(n + 4);
      // The kept thread too: a second view renders no thread.
      const threads = () => rendered.filter((x) => x === '/chats/thread/_thread').length;
      await as(t.app, agent).get(`/chats/${other}`);
      const m = threads();
      await as(t.app, agent).get(`/chats/${other}`);
      expect(threads()).toBe(m);
      // A search is never kept.
      await as(t.app, agent).get('/chats?q=Newest');
      await as(t.app, agent).get('/chats?q=Newest');
      expect(lists()).toBe(n + 6);
    } finally {
      t.deps.eta.render = render;
    }
  });
});

const text = (pieces: BodyPiece[] | undefined) => (pieces === undefined ? undefined : textOf(pieces));

describe('KeptHtml', () => {
  it('answers only for the same stamp, fills the CSRF slot, and forgets the least recently used', () => {
    const c = new KeptHtml(2);
    c.set('one', 'v3', '<p>one</p>', '');
    expect(text(c.get('one', 'v3', ''))).toBe('<p>one</p>');
    expect(c.get('one', 'v4', '')).toBeUndefined();
    expect(c.get('two', 'v3', '')).toBeUndefined();
    c.set('two', 'v1', '<p>two</p>', '');
    c.get('one', 'v3', ''); // "one" is now the most recently used
    expect(text(c.set('three', 'v1', `<input value="${c.csrfSlot}">`, 'tok-a'))).toBe('<input value="tok-a">');
    expect(c.size).toBe(2);
    expect(c.get('two', 'v1', '')).toBeUndefined();
    expect(text(c.get('one', 'v3', ''))).toBe('<p>one</p>');
    expect(text(c.get('three', 'v1', 'tok-b'))).toBe('<input value="tok-b">');
  });

  it('lets an entry go after its maximum age', () => {
    const c = new KeptHtml(10, 1000);
    c.set('k', 's', '<p>x</p>', '', 5000);
    expect(text(c.get('k', 's', '', 5900))).toBe('<p>x</p>');
    expect(c.get('k', 's', '', 6001)).toBeUndefined();
  });
});
