import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { as, createTestApp, login, makeEmployee, usingPostgres, type Session, type TestApp } from '../../helpers.ts';
import { TestAdapter, leadWrites, makeTestChannel } from '../../support/test-adapter.ts';
import { searchChats } from '../../../src/chats/inbox/inbox.service.ts';

/**
 * Issue #21 finding 8: chat search is bounded. Message text is searched only for a term with
 * three real characters (letters or digits: `%%%` once scanned every message), the text is cut
 * at 100 characters and says so, and PostgreSQL gives a search SEARCH_TIMEOUT_MS before the
 * list says "refine it" instead of a 500.
 */
const ids = (body: string) => [...body.matchAll(/data-chat-id="(\d+)"/g)].map((m) => Number(m[1]));
const HX = { 'hx-request': 'true' };

describe('what a search term must hold', () => {
  let t: TestApp;
  let agent: Session;
  let wild: number;
  let plain: number;
  let channel: number;

  beforeAll(async () => {
    t = await createTestApp({ adapters: [new TestAdapter()] });
    const e = await makeEmployee(t.deps, { role: 'agent' });
    channel = await makeTestChannel(t.deps, { employees: [e.id] });
    wild = (await leadWrites(t.deps, channel, 'Wilma Wild', 'discount 100%%% off, code ___ ok \\\\ done'))!.chatId!;
    plain = (await leadWrites(t.deps, channel, 'Paul Plain', 'my screen is cracked'))!.chatId!;
    agent = await login(t.app, e.email);
  });
  afterAll(async () => t?.close());

  it('punctuation-only terms (`%%%`, `___`, `\\\\\\`) never search message text, and the page says why', async () => {
    for (const q of ['%%%', '___', '\\\\\\', '%_%_', '...', '@@@']) {
      for (const headers of [{}, HX]) {
        const res = await as(t.app, agent).get(`/chats?q=${encodeURIComponent(q)}`, headers);
        expect(res.statusCode, q).toBe(200);
        expect(ids(res.body), q).not.toContain(wild);
        expect(ids(res.body), q).not.toContain(plain);
        expect(res.body, q).toContain('id="chat-search-hint"');
      }
    }
  });

  it('wildcards in a real term are literal characters', async () => {
    expect(ids((await as(t.app, agent).get(`/chats?q=${encodeURIComponent('100%%%')}`, HX)).body)).toEqual([wild]);
    // `%` is no wildcard: "cr%ked" is not "cracked".
    expect(ids((await as(t.app, agent).get(`/chats?q=${encodeURIComponent('cr%ked')}`, HX)).body)).toEqual([]);
    expect(ids((await as(t.app, agent).get(`/chats?q=${encodeURIComponent('cr_cked')}`, HX)).body)).toEqual([]);
    expect(ids((await as(t.app, agent).get('/chats?q=cracked', HX)).body)).toEqual([plain]);
    // Unicode letters count as real characters.
    const e = await leadWrites(t.deps, (await t.deps.db.selectFrom('channels').select('id').executeTakeFirstOrThrow()).id, 'Émile', 'réparé à Montréal');
    expect(ids((await as(t.app, agent).get(`/chats?q=${encodeURIComponent('éparé')}`, HX)).body)).toContain(e.chatId);
  });

  it('one employee runs at most two searches at once: a third is refused with a note, a colleague’s is not', async () => {
    const run = (me: number) => searchChats(t.deps, [channel], { status: 'open', me, q: 'cracked', limit: 31 });
    const [a, b, c, colleague] = await Promise.all([run(1), run(1), run(1), run(2)]);
    for (const ok of [a, b, colleague]) {
      expect(ok.rows.map((r) => r.id)).toEqual([plain]);
      expect(ok.notes).toEqual([]);
    }
    expect(c.rows).toEqual([]);
    expect(c.notes.map((n) => n.key)).toEqual(['chats.search_busy']);
    // Finished searches free their place.
    expect((await run(1)).rows.map((r) => r.id)).toEqual([plain]);
  });

  it('a 10,000-character term is cut at 100 characters, visibly, and answered (no 500)', async () => {
    const q = 'cracked' + 'x'.repeat(9_993);
    for (const headers of [{}, HX]) {
      const res = await as(t.app, agent).get(`/chats?q=${q}`, headers);
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain(`value="${q.slice(0, 100)}"`);
      expect(res.body).not.toContain(q.slice(0, 101));
      expect(res.body).toContain('id="chat-search-hint"');
      expect(res.body).toMatch(/first 100 characters/);
    }
    // The box itself takes no more.
    expect((await as(t.app, agent).get('/chats')).body).toMatch(/<input type="search" name="q"[^>]* maxlength="100"/);
  });
});

describe.skipIf(!usingPostgres)('a search PostgreSQL cannot finish in time', () => {
  let t: TestApp;
  let agent: Session;
  let chatId: number;

  beforeAll(async () => {
    t = await createTestApp({ adapters: [new TestAdapter()], env: { SEARCH_TIMEOUT_MS: '1' } });
    const e = await makeEmployee(t.deps, { role: 'agent' });
    const channel = await makeTestChannel(t.deps, { employees: [e.id] });
    chatId = (await leadWrites(t.deps, channel, 'Busy Bee', 'first words'))!.chatId!;
    // Enough matching messages that reading them takes more than a millisecond.
    await sql`insert into messages (chat_id, channel_id, direction, kind, text, status, created_at)
              select ${chatId}, ${channel}, 'in', 'text', 'repair number ' || g, 'received', now() from generate_series(1, 100000) g`.execute(t.deps.db);
    agent = await login(t.app, e.email);
  });
  afterAll(async () => t?.close());

  it('is cancelled, and the list says to refine it (no 500), as a fragment and as a page', async () => {
    for (const headers of [HX, {}]) {
      const res = await as(t.app, agent).get('/chats?q=number', headers);
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('id="chat-search-hint"');
      expect(res.body).toMatch(/took too long/);
    }
    // The list without a search is not limited.
    expect(ids((await as(t.app, agent).get('/chats', HX)).body)).toContain(chatId);
  });
});
