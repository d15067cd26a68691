import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { as, login, makeEmployee, type Session } from '../../helpers.ts';
import { startMetaWorld, type MetaWorld } from '../../support/meta-world.ts';
import { LiveStreams } from '../../platform/sse.ts';
import { leadWrites } from '../../support/test-adapter.ts';
import { setChannelAccess, updateChannel } from '../../../src/channels/channels.repository.ts';
import { refreshRedDots } from '../../../src/chats/access.repository.ts';

/**
 * #16 items 1–2, the team side of a chat: assignment (header menu, auto-take on first answer,
 * the list's Mine / Unassigned filters, thread records, live) and internal notes with @mentions
 * (never sent to the platform, never an answer, a mention lights that colleague's red dot until
 * they open the chat). Parley runs against the Meta emulator, so "never sent" is checked on
 * what the Graph double received.
 */
let w: MetaWorld;
const live = new LiveStreams(() => w.parleyUrl);
const HX = { 'hx-request': 'true' };
const FR = { 'accept-language': 'fr' };
const DAY = 24 * 3600_000;

type Person = { id: number; s: Session };
let anna: Person; // Messenger + Instagram
let marc: Person; // Messenger + Instagram (the same channels as Anna)
let marcP: Person; // Messenger only; shares Marc's first name
let zoe: Person; // Messenger only; a name with markup in it
let otto: Person; // Chats, but neither channel

beforeAll(async () => {
  w = await startMetaWorld();
  const mk = async (name: string, email: string) => {
    const e = await makeEmployee(w.t.deps, { role: 'agent', name, email });
    return { id: e.id, email };
  };
  const [a, m, mp, z, o] = [
    await mk('Anna Martin', 'anna@shop.test'),
    await mk('Marc Dubois', 'marc@shop.test'),
    await mk('Marc Petit', 'marcp@shop.test'),
    await mk('Zoé <b>Roy</b>', 'zoe@shop.test'),
    await mk('Otto Outsider', 'otto@shop.test'),
  ];
  await updateChannel(w.t.deps.db, w.messengerId, { accessAll: false });
  await updateChannel(w.t.deps.db, w.instagramId, { accessAll: false });
  await setChannelAccess(w.t.deps.db, w.messengerId, [a.id, m.id, mp.id, z.id]);
  await setChannelAccess(w.t.deps.db, w.instagramId, [a.id, m.id]);
  const [sa, sm, smp, sz, so] = await Promise.all([a, m, mp, z, o].map((e) => login(w.t.app, e.email)));
  anna = { id: a.id, s: sa! };
  marc = { id: m.id, s: sm! };
  marcP = { id: mp.id, s: smp! };
  zoe = { id: z.id, s: sz! };
  otto = { id: o.id, s: so! };
});
afterAll(async () => {
  live.closeAll();
  await w?.close();
});

const db = () => w.t.deps.db;
const by = (p: Person) => as(w.t.app, p.s);
let n = 0;

/** A new person writes on `channel` (`ageMs` ago, as the platform dates it); returns the chat. */
async function leadChat(channel: 'messenger' | 'instagram', text: string, ageMs = 0): Promise<number> {
  const person = w.emu.createPerson({ name: `Team Lead ${++n}` });
  w.emu.send(person.id, channel, ageMs ? { text, timestamp: Date.now() - ageMs } : text);
  await w.settle();
  const chat = await db()
    .selectFrom('chats')
    .innerJoin('contacts', 'contacts.id', 'chats.contact_id')
    .select('chats.id')
    .where('contacts.external_id', '=', w.emu.scopedId(person.id, channel))
    .executeTakeFirstOrThrow();
  return chat.id;
}

const chatRow = (id: number) => db().selectFrom('chats').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const internals = (chatId: number) => db().selectFrom('messages').selectAll().where('chat_id', '=', chatId).where('direction', '=', 'internal').orderBy('sort_at').orderBy('id').execute();
const headerOf = (html: string, id: number) => new RegExp(`<header class="chat-header" id="chat-header-${id}"[\\s\\S]*?</header>`).exec(html)?.[0];
const itemOf = (html: string, id: number) => new RegExp(`<li id="chat-${id}"[\\s\\S]*?</li>`).exec(html)?.[0];
const idsIn = (html: string) => [...html.matchAll(/<li id="chat-(\d+)"/g)].map((m) => Number(m[1]));
const assigneesIn = (html: string) => [...html.matchAll(/<li id="chat-\d+"[^>]*data-assignee="(\d*)"/g)].map((m) => m[1]);
const redDotOf = (html: string) => /id="nav-chats" data-red-dot="(\w+)"/.exec(html)?.[1];
const dotInDb = async (p: Person) => (await db().selectFrom('employees').select('red_dot').where('id', '=', p.id).executeTakeFirstOrThrow()).red_dot;
const assign = (p: Person, chatId: number, assignee: string, headers: Record<string, string> = HX) => by(p).post(`/chats/${chatId}/assign`, { assignee }, { headers });
let k = 0;
const note = (p: Person, chatId: number, text: string, key = `note-key-${++k}-abcdef`) => by(p).post(`/chats/${chatId}/notes`, { text, idempotency_key: key }, { headers: HX });
/** What the opened chat posts once shown (#21: opening, a GET, changes nothing). */
const seen = async (p: Person, chatId: number) => expect((await by(p).post(`/chats/${chatId}/mentions/seen`, {}, { headers: HX })).statusCode).toBe(204);

/** Nothing needs attention any more (as if every chat had been answered), and every dot is off. */
async function quiet() {
  await db().updateTable('chats').set({ indicator: 'none' }).execute();
  const all = await db().selectFrom('employees').select('id').execute();
  await refreshRedDots(
    db(),
    all.map((e) => e.id),
  );
}

/** Every Graph call the emulator recorded (reads too), as text. */
const graphCalls = () => JSON.stringify(w.emu.calls({ all: true }));

describe('assignment', () => {
  it('the header menu assigns to me, to a colleague and to nobody: header, list item and a thread record (EN, FR); unchanged records nothing', async () => {
    const chatId = await leadChat('messenger', 'Is my phone ready?');
    // Rendered once first, so the kept thread and list must notice the change.
    expect((await by(anna).get(`/chats/${chatId}`)).statusCode).toBe(200);
    expect((await by(anna).get('/chats')).statusCode).toBe(200);

    const menu = await by(anna).get(`/chats/${chatId}/assign`, HX);
    expect(menu.statusCode).toBe(200);
    expect(menu.body).toContain(`action="/chats/${chatId}/assign"`);
    expect(menu.body).toContain('data-assign="me"');
    for (const p of [anna, marc, marcP, zoe]) expect(menu.body).toContain(`data-assign="${p.id}"`);
    expect(menu.body).not.toContain(`data-assign="${otto.id}"`);
    expect(menu.body).toContain('Zoé &lt;b&gt;Roy&lt;/b&gt;');
    expect(menu.body).not.toContain('<b>Roy</b>');
    expect(menu.body).not.toContain('data-assign="none"'); // nobody has it yet
    const menuPage = await by(anna).get(`/chats/${chatId}/assign`);
    expect(menuPage.statusCode).toBe(200);
    expect(menuPage.body).toContain('Assign this chat');
    expect(menuPage.body).toContain('<html');

    // To me: "took this chat".
    let res = await assign(anna, chatId, 'me');
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toContain('<html');
    let header = headerOf(res.body, chatId)!;
    expect(header).toBeDefined();
    expect(header).not.toContain('hx-swap-oob');
    expect(header).toContain(`data-assignee="${anna.id}"`);
    expect(header).toContain('Assigned to Anna Martin');
    expect((await chatRow(chatId)).assignee_id).toBe(anna.id);

    // To a colleague: "(was …)".
    res = await assign(anna, chatId, String(marc.id));
    expect(res.statusCode).toBe(200);
    header = headerOf(res.body, chatId)!;
    expect(header).toContain(`data-assignee="${marc.id}"`);
    expect(header).toContain('Assigned to Marc Dubois');
    expect((await chatRow(chatId)).assignee_id).toBe(marc.id);
    const list = await by(anna).get('/chats');
    const item = itemOf(list.body, chatId)!;
    expect(item).toContain(`data-assignee="${marc.id}"`);
    expect(item).toMatch(/class="chat-item__assignee"[^>]*>Marc Dubois</);
    // The menu now marks who has it and offers to unassign.
    const menu2 = await by(anna).get(`/chats/${chatId}/assign`, HX);
    expect(menu2.body).toMatch(new RegExp(`data-assign="${marc.id}" aria-current="true"`));
    expect(menu2.body).toContain('data-assign="none"');

    // The same again, without JavaScript: a redirect, and nothing recorded.
    const before = (await internals(chatId)).length;
    res = await assign(anna, chatId, String(marc.id), {});
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe(`/chats/${chatId}`);
    expect(await internals(chatId)).toHaveLength(before);

    // To nobody.
    res = await assign(anna, chatId, '');
    expect(res.statusCode).toBe(200);
    header = headerOf(res.body, chatId)!;
    expect(header).toContain('data-assignee=""');
    expect(header).toContain('Unassigned');
    expect((await chatRow(chatId)).assignee_id).toBeNull();
    expect(itemOf((await by(marc).get('/chats')).body, chatId)).toContain('data-assignee=""');
    // Unassigning an unassigned chat records nothing either.
    await assign(anna, chatId, '');

    const records = await internals(chatId);
    expect(records.map((r) => [r.kind, r.sender_employee_id, r.status])).toEqual([
      ['assignment', anna.id, 'sent'],
      ['assignment', anna.id, 'sent'],
      ['assignment', anna.id, 'sent'],
    ]);
    // Never sent, never an answer: the lead still has the last word.
    expect((await chatRow(chatId)).last_direction).toBe('in');

    const en = (await by(marc).get(`/chats/${chatId}`)).body;
    const texts = ['Anna Martin took this chat', 'Anna Martin assigned this chat to Marc Dubois (was Anna Martin)', 'Anna Martin unassigned this chat (was Marc Dubois)'];
    for (const text of texts) expect(en).toContain(text);
    expect(en.indexOf(texts[0]!)).toBeLessThan(en.indexOf(texts[1]!));
    expect(en.indexOf(texts[1]!)).toBeLessThan(en.indexOf(texts[2]!));
    expect(en.match(/class="message message--internal message--assignment"/g)).toHaveLength(3);
    expect(en).toMatch(/data-direction="internal" data-kind="assignment"/);
    const fr = (await by(marc).get(`/chats/${chatId}`, FR)).body;
    expect(fr).toContain('Anna Martin a pris cette conversation');
    expect(fr).toContain('Anna Martin a attribué cette conversation à Marc Dubois (avant : Anna Martin)');
    expect(fr).toContain('Anna Martin a retiré l’attribution de cette conversation (avant : Marc Dubois)');
    expect(fr).toContain('Non attribuée');

    // Taking a colleague's chat says whose it was.
    await assign(anna, chatId, String(anna.id));
    await assign(marc, chatId, 'me');
    const taken = (await by(anna).get(`/chats/${chatId}`)).body;
    expect(taken).toContain('Marc Dubois took this chat (was Anna Martin)');
    expect((await by(anna).get(`/chats/${chatId}`, FR)).body).toContain('Marc Dubois a pris cette conversation (avant : Anna Martin)');
  });

  it('a colleague without the channel cannot be assigned (422, nothing changes); an employee without it gets 404 everywhere', async () => {
    const chatId = await leadChat('messenger', 'Secret question from Olga');
    await assign(anna, chatId, String(zoe.id));
    const before = await internals(chatId);

    for (const assignee of [String(otto.id), '999999', 'abc', '99999999999']) {
      const res = await assign(anna, chatId, assignee);
      expect(res.statusCode, assignee).toBe(422);
      expect(res.body).toContain('This employee may not use the chat’s channel');
      expect(res.body).toContain('class="assign__form"');
    }
    const page = await assign(anna, chatId, String(otto.id), {});
    expect(page.statusCode).toBe(422);
    expect(page.body).toContain('<html');
    expect(page.body).toContain('This employee may not use the chat’s channel');
    const fr = await assign(anna, chatId, String(otto.id), { ...HX, ...FR });
    expect(fr.statusCode).toBe(422);
    expect(fr.body).toContain('Cet employé n’a pas accès au canal de la conversation');
    expect((await chatRow(chatId)).assignee_id).toBe(zoe.id);
    expect(await internals(chatId)).toHaveLength(before.length);
    // Her name (with markup in it) is escaped in the header, the list item and the record.
    const shown = (await by(marc).get(`/chats/${chatId}`)).body;
    expect(headerOf(shown, chatId)).toContain('Assigned to Zoé &lt;b&gt;Roy&lt;/b&gt;');
    expect(itemOf(shown, chatId)).toMatch(/class="chat-item__assignee"[^>]*>Zoé &lt;b&gt;Roy&lt;\/b&gt;</);
    expect(shown).toContain('Anna Martin assigned this chat to Zoé &lt;b&gt;Roy&lt;/b&gt;');
    expect(shown).not.toContain('<b>Roy</b>');

    // Otto has Chats but not this channel: the same 404 as for a chat that does not exist.
    const answers = [
      await by(otto).get(`/chats/${chatId}/assign`),
      await by(otto).get(`/chats/${chatId}/assign`, HX),
      await assign(otto, chatId, 'me'),
      await assign(otto, chatId, String(otto.id)),
      await assign(otto, chatId, 'abc'),
      await assign(otto, chatId, ''),
      await note(otto, chatId, 'Let me in'),
      await note(otto, chatId, ''),
      await by(otto).post(`/chats/${chatId}/notes`, { text: 'no js' }),
      await by(otto).get(`/chats/${chatId}/composer?mode=note`, HX),
      await by(otto).get(`/chats/${chatId}?mode=note`),
    ];
    for (const [i, r] of answers.entries()) {
      expect(r.statusCode, `request ${i}`).toBe(404);
      for (const secret of ['Olga', 'Team Lead', 'Anna Martin', 'Marc Dubois', 'Zoé']) expect(r.body).not.toContain(secret);
    }
    expect((await chatRow(chatId)).assignee_id).toBe(zoe.id);
    expect(await internals(chatId)).toHaveLength(before.length);
  });
});

describe('the first answer takes the chat', () => {
  it('the first employee who answers takes an unassigned chat (recorded before the answer); a later answer by someone else does not', async () => {
    const chatId = await leadChat('messenger', 'Do you fix tablets?');
    const res = await by(marc).post(`/chats/${chatId}/messages`, { text: 'Yes we do, bring it in.', idempotency_key: 'first-answer-0001' });
    expect(res.statusCode).toBe(303);
    await w.settle();
    expect((await chatRow(chatId)).assignee_id).toBe(marc.id);
    const [taken, ...rest] = await internals(chatId);
    expect(rest).toHaveLength(0);
    expect(taken).toMatchObject({ kind: 'assignment', sender_employee_id: marc.id });
    expect(taken!.meta).toMatchObject({ auto: true, to: { id: marc.id, name: 'Marc Dubois' }, from: null });
    const answer = await db().selectFrom('messages').selectAll().where('chat_id', '=', chatId).where('direction', '=', 'out').executeTakeFirstOrThrow();
    expect(taken!.sort_at.getTime()).toBeLessThan(answer.sort_at.getTime());

    const page = (await by(anna).get(`/chats/${chatId}`)).body;
    const thread = page.slice(page.indexOf(`id="thread-messages-${chatId}"`));
    expect(thread).toContain('Marc Dubois answered first and took this chat');
    expect(thread.indexOf('answered first and took this chat')).toBeLessThan(thread.indexOf('Yes we do, bring it in.'));
    expect(headerOf(page, chatId)).toContain('Assigned to Marc Dubois');
    expect((await by(anna).get(`/chats/${chatId}`, FR)).body).toContain('Marc Dubois a répondu en premier et a pris cette conversation');

    // Anna answers too: it stays Marc's, nothing more is recorded.
    await by(anna).post(`/chats/${chatId}/messages`, { text: 'Anna here as well.', idempotency_key: 'second-answer-001' });
    await w.settle();
    expect((await chatRow(chatId)).assignee_id).toBe(marc.id);
    expect(await internals(chatId)).toHaveLength(1);
    // The platform got both answers, and nothing of the record.
    expect(graphCalls()).toContain('Yes we do, bring it in.');
    expect(graphCalls()).not.toContain('answered first');
  });

  it('an already assigned chat stays with its assignee when someone else answers first', async () => {
    const chatId = await leadChat('messenger', 'Screen price?');
    await assign(anna, chatId, String(zoe.id));
    await by(marc).post(`/chats/${chatId}/messages`, { text: 'It is 89 €.', idempotency_key: 'assigned-answer-01' });
    await w.settle();
    expect((await chatRow(chatId)).assignee_id).toBe(zoe.id);
    const records = await internals(chatId);
    expect(records).toHaveLength(1);
    expect(records[0]!.meta).not.toHaveProperty('auto');
  });
});

describe('the list: Mine, Unassigned, All', () => {
  let mineA: number;
  let mineM: number;
  let nobody: number;
  beforeAll(async () => {
    mineA = await leadChat('messenger', 'Anna’s lead');
    mineM = await leadChat('instagram', 'Marc’s lead');
    nobody = await leadChat('messenger', 'Nobody’s lead');
    await assign(anna, mineA, 'me');
    await assign(anna, mineM, String(marc.id));
  });

  it('filters by assignee, open and archived, full page and fragment; the switches, the search and Load more keep the filter', async () => {
    const all = (await by(anna).get('/chats')).body;
    expect(idsIn(all)).toEqual(expect.arrayContaining([mineA, mineM, nobody]));
    expect(all).toMatch(/data-filter="all" aria-current="page"/);

    for (const headers of [{}, HX]) {
      const mine = await by(anna).get('/chats?filter=mine', headers);
      expect(mine.statusCode).toBe(200);
      expect(idsIn(mine.body)).toContain(mineA);
      expect(idsIn(mine.body)).not.toContain(mineM);
      expect(idsIn(mine.body)).not.toContain(nobody);
      expect(new Set(assigneesIn(mine.body))).toEqual(new Set([String(anna.id)]));
      expect(mine.body).toMatch(new RegExp(`<ul class="chat-list" id="chat-list-open" data-search="" data-filter="mine" data-me="${anna.id}"`));
      expect(mine.body).toMatch(/data-filter="mine" aria-current="page"/);
      // Open / Archived keep the filter; so does the search form.
      expect(mine.body).toContain('href="/chats?filter=mine"');
      expect(mine.body).toContain('href="/chats?status=archived&amp;filter=mine"');
      expect(mine.body).toContain('<input type="hidden" name="filter" value="mine">');
      // The other filters are offered with the status kept.
      expect(mine.body).toContain('href="/chats?filter=unassigned"');
      expect(mine.body).toMatch(/href="\/chats"[^>]*data-filter="all"/);

      const un = await by(anna).get('/chats?filter=unassigned', headers);
      expect(idsIn(un.body)).toContain(nobody);
      expect(idsIn(un.body)).not.toContain(mineA);
      expect(idsIn(un.body)).not.toContain(mineM);
      expect(new Set(assigneesIn(un.body))).toEqual(new Set(['']));
      expect(un.body).toMatch(/data-filter="unassigned" aria-current="page"/);
    }
    // A fragment is the list alone.
    expect((await by(anna).get('/chats?filter=mine', HX)).body).not.toContain('<html');
    // Unknown filters mean All.
    expect(idsIn((await by(anna).get('/chats?filter=bogus')).body)).toEqual(expect.arrayContaining([mineA, mineM, nobody]));

    // Searching within Mine.
    const searched = await by(anna).get(`/chats?filter=mine&q=${encodeURIComponent('Team Lead')}`);
    expect(idsIn(searched.body)).toContain(mineA);
    expect(idsIn(searched.body)).not.toContain(nobody);
    expect(searched.body).toContain('<input type="hidden" name="filter" value="mine">');

    // Archived.
    await by(anna).post(`/chats/${mineA}/archive`);
    const archivedMine = await by(anna).get('/chats?status=archived&filter=mine');
    expect(idsIn(archivedMine.body)).toContain(mineA);
    expect(new Set(assigneesIn(archivedMine.body))).toEqual(new Set([String(anna.id)]));
    expect(archivedMine.body).toContain('href="/chats?status=archived&amp;filter=mine"');
    expect(archivedMine.body).toContain('<input type="hidden" name="status" value="archived">');
    expect(archivedMine.body).toContain('<input type="hidden" name="filter" value="mine">');
    expect(idsIn((await by(anna).get('/chats?status=archived&filter=mine', HX)).body)).toContain(mineA);
    expect(idsIn((await by(anna).get('/chats?status=archived&filter=unassigned')).body)).not.toContain(mineA);
    expect(idsIn((await by(anna).get('/chats?filter=mine')).body)).not.toContain(mineA);
    await by(anna).post(`/chats/${mineA}/reopen`);
  });

  it('two employees with the same channels each get their own Mine list (also when kept, also when both are empty)', async () => {
    for (let round = 0; round < 2; round++) {
      const a = (await by(anna).get('/chats?filter=mine')).body;
      const m = (await by(marc).get('/chats?filter=mine')).body;
      expect(idsIn(a)).toContain(mineA);
      expect(idsIn(a)).not.toContain(mineM);
      expect(idsIn(m)).toContain(mineM);
      expect(idsIn(m)).not.toContain(mineA);
      expect(a).toContain(`data-me="${anna.id}"`);
      expect(m).toContain(`data-me="${marc.id}"`);
      // Empty for both: the same rows (none), still each their own page.
      const ea = (await by(anna).get('/chats?status=archived&filter=mine')).body;
      const em = (await by(marc).get('/chats?status=archived&filter=mine')).body;
      expect(ea).toContain(`data-me="${anna.id}"`);
      expect(em).toContain(`data-me="${marc.id}"`);
      expect(em).not.toContain(`data-me="${anna.id}"`);
      expect(em).toContain('No chats are assigned to you here.');
    }
    // A chat page opened from Mine shows Mine beside it, the employee's own.
    const deep = (await by(marc).get(`/chats/${mineM}?filter=mine`)).body;
    expect(idsIn(deep)).toContain(mineM);
    expect(idsIn(deep)).not.toContain(mineA);
  });

  it('Load more keeps the filter and its next page is still the employee’s only', async () => {
    // 31 chats for Marc Petit (written through the ingest directly: the emulator adds nothing here).
    const bulk: Array<{ id: number }> = [];
    for (let i = 0; i < 31; i++) bulk.push({ id: (await leadWrites(w.t.deps, w.messengerId, `bulk-lead-${i}`, `bulk ${i}`)).chatId! });
    expect(bulk).toHaveLength(31);
    await db()
      .updateTable('chats')
      .set({ assignee_id: marcP.id })
      .where(
        'id',
        'in',
        bulk.map((c) => c.id),
      )
      .execute();

    const first = (await by(marcP).get('/chats?filter=mine')).body;
    expect(idsIn(first)).toHaveLength(30);
    const more = /<li class="chat-list__more"><a href="([^"]+)"/.exec(first)?.[1]?.replace(/&amp;/g, '&');
    expect(more).toMatch(/^\/chats\?status=open&filter=mine&after=\d+_\d+$/);
    const next = await by(marcP).get(more!, HX);
    expect(next.statusCode).toBe(200);
    const rest = idsIn(next.body);
    expect(rest).toHaveLength(1);
    expect(new Set([...idsIn(first), ...rest])).toEqual(new Set(bulk.map((c) => c.id)));
    expect(new Set(assigneesIn(next.body))).toEqual(new Set([String(marcP.id)]));
    // All has more than Mine, and its own next link has no filter.
    const everything = (await by(marcP).get('/chats')).body;
    expect(/<li class="chat-list__more"><a href="([^"]+)"/.exec(everything)?.[1]).toMatch(/^\/chats\?status=open&amp;after=/);
    // A later page of Unassigned never holds Marc Petit's chats either.
    const un = await by(marcP).get(`/chats?status=open&filter=unassigned&after=${Date.now() + DAY}_1`, HX);
    expect(un.statusCode).toBe(200);
    expect(idsIn(un.body).length).toBeGreaterThan(0);
    expect(new Set(assigneesIn(un.body))).toEqual(new Set(['']));
  });
});

describe('live', () => {
  it('an assignment reaches everyone who sees the chat (list item, header, thread record); a note is appended to their thread', async () => {
    const chatId = await leadChat('messenger', 'Live lead question');
    const [m, z, o] = [await live.open(marc.s), await live.open(zoe.s), await live.open(otto.s)];
    await assign(anna, chatId, String(marc.id));
    await w.t.deps.live.settle();
    for (const s of [m, z]) {
      const ev = await s.waitFor('ui', `Anna Martin assigned this chat to Marc Dubois`);
      expect(ev.data).toMatch(new RegExp(`<li id="chat-${chatId}"[^>]*data-assignee="${marc.id}"[^>]*hx-swap-oob="true"`));
      expect(ev.data).toMatch(new RegExp(`<header class="chat-header" id="chat-header-${chatId}"[^>]*hx-swap-oob="true"`));
      expect(headerOf(ev.data, chatId)).toContain('Assigned to Marc Dubois');
      expect(ev.data).toContain(`beforeend:#thread-messages-${chatId}`);
    }

    await note(anna, chatId, 'Live note: the client prefers calls');
    await w.t.deps.live.settle();
    for (const s of [m, z]) {
      const ev = await s.waitFor('ui', 'Live note: the client prefers calls');
      expect(ev.data).toContain(`beforeend:#thread-messages-${chatId}`);
      expect(ev.data).toContain('message--note');
      // Only the thread changes: not the list item, not the header.
      expect(ev.data).not.toContain(`<li id="chat-${chatId}"`);
      expect(ev.data).not.toContain(`id="chat-header-${chatId}"`);
    }
    // Taken by answering first: the same, for everyone.
    const taken = await leadChat('messenger', 'Live first answer');
    await by(marcP).post(`/chats/${taken}/messages`, { text: 'Marc Petit answering', idempotency_key: 'live-first-answer-1' });
    await w.settle();
    for (const s of [m, z]) {
      const ev = await s.waitFor('ui', 'Marc Petit answered first and took this chat');
      expect(headerOf(ev.data, taken)).toContain('Assigned to Marc Petit');
      const appended = ev.data.slice(ev.data.indexOf(`beforeend:#thread-messages-${taken}`));
      expect(appended.indexOf('answered first')).toBeGreaterThan(0);
      expect(appended.indexOf('answered first')).toBeLessThan(appended.indexOf('Marc Petit answering'));
    }
    // Otto sees nothing of it.
    for (const e of o.events) expect(e.data).not.toContain(`chat-${taken}`);
    for (const e of o.events) expect(e.data).not.toContain(`chat-${chatId}`);
    expect(o.events.some((e) => e.data.includes('Live note'))).toBe(false);
  });
});

describe('notes', () => {
  it('a note is shown only to employees and never sent: no Graph call, no outbox job, not an answer, not the preview', async () => {
    const chatId = await leadChat('messenger', 'Can you call me back?');
    await by(anna).post(`/chats/${chatId}/read`);
    await w.settle();
    const before = await chatRow(chatId);
    expect(before.indicator).toBe('unanswered');
    // Rendered and kept before the note.
    expect(itemOf((await by(anna).get('/chats')).body, chatId)).toContain('data-indicator="unanswered"');
    await by(anna).get(`/chats/${chatId}`);
    const callsBefore = w.emu.calls({ all: true }).length;
    const enqueue = vi.spyOn(w.t.deps.queue, 'enqueue');
    try {
      const text = 'Internal: VIP client, <i>be nice</i> & quick';
      const res = await note(anna, chatId, text, 'note-once-key-001');
      expect(res.statusCode).toBe(200);
      // A fresh note composer (a new key), and the note out of band.
      expect(res.body).toContain(`action="/chats/${chatId}/notes"`);
      expect(res.body).toContain('data-mode="note"');
      expect(res.body).not.toContain('value="note-once-key-001"');
      expect(res.body).toContain(`beforeend:#thread-messages-${chatId}`);
      expect(res.body).toContain('message--note');
      expect(res.body).toContain('Internal: VIP client, &lt;i&gt;be nice&lt;/i&gt; &amp; quick');
      // The same submit twice: one note.
      expect((await note(anna, chatId, text, 'note-once-key-001')).statusCode).toBe(200);
      await w.settle();

      const notes = await internals(chatId);
      expect(notes).toHaveLength(1);
      expect(notes[0]).toMatchObject({ kind: 'note', text, sender_employee_id: anna.id, status: 'sent', external_id: null });
      // Nothing reached the platform, nothing was queued to send.
      expect(
        w.emu
          .calls({ all: true })
          .slice(callsBefore)
          .filter((c) => JSON.stringify(c).includes('VIP client')),
      ).toHaveLength(0);
      expect(w.emu.calls({ pathIncludes: '/messages' }).filter((c) => JSON.stringify(c.body ?? '').includes('VIP'))).toHaveLength(0);
      expect(graphCalls()).not.toContain('VIP client');
      expect(enqueue.mock.calls.filter(([job, payload]) => job.name === 'send-message' || (payload as { messageId?: number })?.messageId === notes[0]!.id)).toHaveLength(0);
      const queued = await db()
        .selectFrom('messages')
        .select('id')
        .where('chat_id', '=', chatId)
        .where((eb) => eb.or([eb('status', '=', 'queued'), eb('direction', '=', 'out')]))
        .execute();
      expect(queued).toHaveLength(0);
    } finally {
      enqueue.mockRestore();
    }

    // Not an answer: still grey, the lead's message still the preview, not taken by the note's author.
    const after = await chatRow(chatId);
    expect(after).toMatchObject({ indicator: 'unanswered', last_direction: 'in', last_message_id: before.last_message_id, preview_text: 'Can you call me back?', assignee_id: null });
    const item = itemOf((await by(marc).get('/chats')).body, chatId)!;
    expect(item).toContain('data-indicator="unanswered"');
    expect(item).toContain('Can you call me back?');
    expect(item).not.toContain('VIP');
    expect(redDotOf((await by(anna).get('/chats')).body)).toBe('true');

    // In the thread (the kept one was rendered before the note), distinct from messages.
    for (const p of [anna, marc]) {
      const thread = (await by(p).get(`/chats/${chatId}`)).body;
      expect(thread).toMatch(/<article id="message-\d+" class="message message--internal message--note"[^>]*data-direction="internal" data-kind="note"/);
      expect(thread).toContain('Internal note');
      expect(thread).toMatch(/class="message__sender"[^>]*>Anna Martin</);
      expect(thread).toContain('&lt;i&gt;be nice&lt;/i&gt;');
      expect(thread).not.toContain('<i>be nice</i>');
    }
    expect((await by(marc).get(`/chats/${chatId}`, FR)).body).toContain('Note interne');

    // Without JavaScript: back to the chat, in note mode.
    const plain = await by(anna).post(`/chats/${chatId}/notes`, { text: 'Plain form note', idempotency_key: 'plain-note-key-01' });
    expect(plain.statusCode).toBe(303);
    expect(plain.headers.location).toBe(`/chats/${chatId}?mode=note`);
    expect(await internals(chatId)).toHaveLength(2);
  });

  it('an empty or over-long note is refused with 422, keeping the note composer and the text', async () => {
    const chatId = await leadChat('messenger', 'Short question');
    const empty = await note(anna, chatId, '   ', 'empty-note-key-01');
    expect(empty.statusCode).toBe(422);
    expect(empty.body).toContain('data-mode="note"');
    expect(empty.body).toContain(`action="/chats/${chatId}/notes"`);
    expect(empty.body).toContain('Write something before sending.');
    expect(empty.body).toContain('value="empty-note-key-01"');

    const long = 'é'.repeat(1001);
    const tooLong = await note(anna, chatId, long, 'long-note-key-001');
    expect(tooLong.statusCode).toBe(422);
    expect(tooLong.body).toContain('data-mode="note"');
    expect(tooLong.body).toContain('The message is 1001 characters long; the limit is 1000.');
    expect(tooLong.body).toContain(`>${long}</textarea>`);
    expect(tooLong.body).toContain('aria-invalid="true"');

    // Without JavaScript: the whole page, with the note composer in it.
    const page = await by(anna).post(`/chats/${chatId}/notes`, { text: long, idempotency_key: 'long-note-key-002' });
    expect(page.statusCode).toBe(422);
    expect(page.body).toContain('<html');
    expect(page.body).toContain('class="composer composer--note"');
    expect(page.body).toContain(`>${long}</textarea>`);

    expect((await note(anna, chatId, 'x'.repeat(1000), 'exact-note-1000k')).statusCode).toBe(200);
    expect(await internals(chatId)).toHaveLength(1);
  });
});

describe('mentions', () => {
  it('@Full Name lights that colleague’s red dot (never the author’s, never someone without the channel) until they open the chat', async () => {
    const chatId = await leadChat('messenger', 'Where is my order?');
    const other = await leadChat('messenger', 'Another chat');
    await quiet();
    for (const p of [anna, marc, zoe, otto]) expect(await dotInDb(p)).toBe(false);
    const [m, z, o] = [await live.open(marc.s), await live.open(zoe.s), await live.open(otto.s)];

    const res = await note(anna, chatId, '@marc dubois can you call them? cc @Anna Martin @Otto Outsider');
    expect(res.statusCode).toBe(200);
    await w.t.deps.live.settle();
    const mentions = await db().selectFrom('chat_mentions').select(['employee_id', 'chat_id']).execute();
    expect(mentions).toEqual([{ employee_id: marc.id, chat_id: chatId }]);
    expect(await dotInDb(marc)).toBe(true);
    for (const p of [anna, zoe, otto, marcP]) expect(await dotInDb(p)).toBe(false);
    const on = await m.waitFor('red-dot');
    expect(JSON.parse(on.data)).toEqual({ on: true });
    expect(z.named('red-dot')).toHaveLength(0);
    expect(o.named('red-dot')).toHaveLength(0);

    // Rendered marked, as typed; names that are not mentions are not.
    const thread = (await by(anna).get(`/chats/${chatId}`)).body;
    expect(thread).toContain('<mark class="mention">@marc dubois</mark>');
    expect(thread).not.toContain('<mark class="mention">@Anna Martin</mark>');
    expect(thread).not.toContain('<mark class="mention">@Otto Outsider</mark>');

    // Pages elsewhere show Marc's dot on and leave the mention.
    expect(redDotOf((await by(marc).get('/chats')).body)).toBe('true');
    expect(redDotOf((await by(marc).get(`/chats/${other}`)).body)).toBe('true');
    expect(redDotOf((await by(anna).get('/chats')).body)).toBe('false');
    expect(await dotInDb(marc)).toBe(true);

    // Marc opens the chat (a GET: nothing changes yet); the chat shown posts that the mention
    // is seen, and his stream says the dot is off.
    const opened = await by(marc).get(`/chats/${chatId}`);
    expect(opened.statusCode).toBe(200);
    expect(opened.body).toContain(`hx-post="/chats/${chatId}/mentions/seen" hx-trigger="load"`);
    expect(await dotInDb(marc)).toBe(true);
    await seen(marc, chatId);
    await w.t.deps.live.settle();
    await m.until((ev) => ev.some((e) => e.event === 'red-dot' && JSON.parse(e.data).on === false), 'the red dot going off');
    expect(await dotInDb(marc)).toBe(false);
    expect(await db().selectFrom('chat_mentions').selectAll().execute()).toHaveLength(0);
    expect(redDotOf((await by(marc).get('/chats')).body)).toBe('false');
  });

  it('@FirstName mentions a colleague whose first name is unique on the channel; the chat opened as a fragment posts that it is seen; names are escaped', async () => {
    const chatId = await leadChat('messenger', 'First name question');
    const ig = await leadChat('instagram', 'Instagram question');
    await quiet();

    // Two Marcs on Messenger: "@Marc" is nobody; "@Zoé" is Zoé.
    await note(anna, chatId, 'Hey @Zoé and @Marc, look at this');
    let mentions = await db().selectFrom('chat_mentions').select(['employee_id']).where('chat_id', '=', chatId).execute();
    expect(mentions).toEqual([{ employee_id: zoe.id }]);
    expect(await dotInDb(zoe)).toBe(true);
    expect(await dotInDb(marc)).toBe(false);
    expect(await dotInDb(marcP)).toBe(false);
    // On Instagram, Zoé has no access, and Marc Dubois is the only Marc.
    await note(anna, ig, '@Zoé please, and @Marc');
    mentions = await db().selectFrom('chat_mentions').select(['employee_id']).where('chat_id', '=', ig).execute();
    expect(mentions).toEqual([{ employee_id: marc.id }]);

    // The full name with markup in it: matched, shown escaped.
    await note(anna, chatId, 'Again @Zoé <b>Roy</b>!');
    const thread = (await by(anna).get(`/chats/${chatId}`)).body;
    expect(thread).toContain('<mark class="mention">@Zoé &lt;b&gt;Roy&lt;/b&gt;</mark>');
    expect(thread).toContain('<mark class="mention">@Zoé</mark>');
    expect(thread).not.toContain('<b>Roy</b>');
    const note3 = (await internals(chatId)).at(-1)!;
    expect(note3.meta).toMatchObject({ mentions: [{ id: zoe.id, name: 'Zoé <b>Roy</b>' }] });

    // Zoé opens it through htmx: cleared, her dot off (and said live).
    const zs = await live.open(zoe.s);
    const frag = await by(zoe).get(`/chats/${chatId}`, HX);
    expect(frag.statusCode).toBe(200);
    expect(frag.body).not.toContain('<html');
    expect(frag.body).toContain(`hx-post="/chats/${chatId}/mentions/seen"`);
    await seen(zoe, chatId);
    await w.t.deps.live.settle();
    await zs.until((ev) => ev.some((e) => e.event === 'red-dot' && JSON.parse(e.data).on === false), 'Zoé’s red dot going off');
    expect(await dotInDb(zoe)).toBe(false);
    expect(await db().selectFrom('chat_mentions').selectAll().where('employee_id', '=', zoe.id).execute()).toHaveLength(0);

    // Marc's Instagram mention stays until he opens that one.
    expect(await dotInDb(marc)).toBe(true);
    await seen(marc, chatId);
    expect(await dotInDb(marc)).toBe(true);
    await seen(marc, ig);
    expect(await dotInDb(marc)).toBe(false);
  });

  // The thread marks exactly the `@token`s the note was read with (chats.view.ts `noteParts`).
  it('the thread marks only what mentioned someone: not an ambiguous first name, not part of a word', async () => {
    const chatId = await leadChat('messenger', 'Rendering of mentions');
    await note(anna, chatId, '@Marc Dubois and @Marc, also @Zoéline and @Zoé');
    const page = (await by(anna).get(`/chats/${chatId}`)).body;
    const text = /<p class="message__text">([\s\S]*?)<\/p>/.exec(page.slice(page.indexOf('message--note')))?.[1];
    // The mentioned see it, so the other tests start without their mentions.
    await seen(marc, chatId);
    await seen(zoe, chatId);
    expect(text).toBe('<mark class="mention">@Marc Dubois</mark> and @Marc, also @Zoéline and <mark class="mention">@Zoé</mark>');
  });

  it('opening the mentioned chat keeps the dot on while another chat needs attention', async () => {
    const chatId = await leadChat('messenger', 'Mention while busy');
    await quiet();
    await note(anna, chatId, '@Marc Dubois have a look');
    expect(await dotInDb(marc)).toBe(true);
    // A lead writes elsewhere: that chat needs attention, for the whole team.
    await leadChat('messenger', 'A new unread message');
    await seen(marc, chatId);
    expect(redDotOf((await by(marc).get(`/chats/${chatId}`)).body)).toBe('true');
    expect(await db().selectFrom('chat_mentions').selectAll().where('employee_id', '=', marc.id).execute()).toHaveLength(0);
    expect(await db().selectFrom('chats').select('id').where('indicator', '<>', 'none').where('status', '=', 'open').execute()).toHaveLength(1);
    expect(await dotInDb(marc)).toBe(true);
  });
});

describe('the composer in Note mode', () => {
  it('the fragment and the page render the note composer posting to /notes with the colleagues to mention', async () => {
    const chatId = await leadChat('messenger', 'Composer question');
    const frag = await by(anna).get(`/chats/${chatId}/composer?mode=note`, HX);
    expect(frag.statusCode).toBe(200);
    expect(frag.body).not.toContain('<html');
    expect(frag.body).toContain(`<form id="composer-${chatId}" class="composer composer--note" method="post" action="/chats/${chatId}/notes"`);
    expect(frag.body).toContain(`hx-post="/chats/${chatId}/notes"`);
    expect(frag.body).toContain('name="idempotency_key"');
    expect(frag.body).toMatch(/data-mode="note" aria-current="page"/);
    for (const name of ['Marc Dubois', 'Marc Petit', 'Zoé &lt;b&gt;Roy&lt;/b&gt;']) expect(frag.body).toContain(`data-name="${name}"`);
    // Not the author (a note never mentions them), not a colleague without the channel.
    expect(frag.body).not.toContain('data-name="Anna Martin"');
    expect(frag.body).not.toContain('Otto Outsider');
    expect(frag.body).not.toContain('<b>Roy</b>');
    expect(frag.body).not.toContain(`action="/chats/${chatId}/messages"`);
    expect((await by(anna).get(`/chats/${chatId}/composer?mode=note`, { ...HX, ...FR })).body).toContain('Ajouter la note');

    // Back to Reply.
    const replyMode = await by(anna).get(`/chats/${chatId}/composer`, HX);
    expect(replyMode.body).toContain(`action="/chats/${chatId}/messages"`);
    expect(replyMode.body).toMatch(/data-mode="reply" aria-current="page"/);

    // Without JavaScript: the composer link is the chat page in note mode.
    const redirect = await by(anna).get(`/chats/${chatId}/composer?mode=note`);
    expect(redirect.statusCode).toBe(303);
    expect(redirect.headers.location).toBe(`/chats/${chatId}?mode=note`);
    const page = await by(anna).get(`/chats/${chatId}?mode=note`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<html');
    expect(page.body).toContain(`action="/chats/${chatId}/notes"`);
    expect(page.body).toContain('data-name="Marc Dubois"');
    expect((await by(anna).get(`/chats/${chatId}?mode=note`, HX)).body).toContain(`action="/chats/${chatId}/notes"`);
  });

  it('note mode works when the reply window is closed (Instagram after 7 days), and sends nothing', async () => {
    const chatId = await leadChat('instagram', 'Old Instagram question', 8 * DAY);
    const reply = await by(marc).get(`/chats/${chatId}`);
    expect(reply.body).toContain('data-policy="refuse"');
    expect(reply.body).toContain('Instagram no longer accepts replies');

    const frag = await by(marc).get(`/chats/${chatId}/composer?mode=note`, HX);
    expect(frag.statusCode).toBe(200);
    expect(frag.body).toContain('composer--note');
    expect(frag.body).not.toContain('composer--blocked');
    expect(frag.body).not.toMatch(/\sdisabled[\s>]/);
    expect(frag.body).not.toContain('Instagram no longer accepts replies');
    const page = await by(marc).get(`/chats/${chatId}?mode=note`);
    expect(page.body).toContain(`action="/chats/${chatId}/notes"`);

    const res = await note(marc, chatId, 'Window closed, call them instead');
    expect(res.statusCode).toBe(200);
    await w.settle();
    expect(await internals(chatId)).toHaveLength(1);
    expect(graphCalls()).not.toContain('Window closed, call them instead');
  });
});
