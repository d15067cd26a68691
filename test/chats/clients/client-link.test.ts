import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, createTestApp, login, makeEmployee, type Session, type TestApp } from '../../helpers.ts';
import { TestAdapter, leadWrites, makeTestChannel } from '../../support/test-adapter.ts';
import { SseStream } from '../../platform/sse.ts';
import { createClient } from '../../../src/crm/clients.service.ts';
import { createDocument } from '../../../src/crm/documents.service.ts';
import { phonesInText } from '../../../src/chats/clients/client-link.service.ts';

/**
 * D3 and E5 (issue #6): the chat's client panel (link, unlink, suggestions, create the client
 * from the lead, documents from the chat), the client card's chats and "start a chat", the
 * compact chat window, all through the employee's visible channels.
 */
let t: TestApp;
const adapter = new TestAdapter();
let admin: Session;
let agent: Session;
let outsider: Session;
let clerk: Session;
let chatter: Session;
let ordersOnly: Session;
let channelA: number;
let channelB: number;
const HX = { 'hx-request': 'true' };

beforeAll(async () => {
  t = await createTestApp({ adapters: [adapter] });
  const a = await makeEmployee(t.deps, { role: 'admin', email: 'admin@shop.test' });
  const b = await makeEmployee(t.deps, { role: 'agent', email: 'agent@shop.test' });
  const c = await makeEmployee(t.deps, { role: 'agent', email: 'outsider@shop.test' });
  const d = await makeEmployee(t.deps, { role: 'Clerk', permissions: ['clients', 'leads', 'orders', 'estimates', 'invoices', 'calls'], email: 'clerk@shop.test' });
  const e = await makeEmployee(t.deps, { role: 'Chatter', permissions: ['chats'], email: 'chatter@shop.test' });
  const f = await makeEmployee(t.deps, { role: 'ChatOrders', permissions: ['chats', 'clients', 'orders'], email: 'orders@shop.test' });
  channelA = await makeTestChannel(t.deps, { name: 'Shop Page', employees: [b.id, e.id, f.id] });
  channelB = await makeTestChannel(t.deps, { name: 'Other Page', employees: [c.id] });
  admin = await login(t.app, a.email);
  agent = await login(t.app, b.email);
  outsider = await login(t.app, c.email);
  clerk = await login(t.app, d.email);
  chatter = await login(t.app, e.email);
  ordersOnly = await login(t.app, f.email);
});
afterAll(async () => t?.close());

/** The app on a real port (for live streams), started once for the file. */
let listening: Promise<string> | undefined;
const baseUrl = () => (listening ??= t.app.listen({ port: 0, host: '127.0.0.1' }));

const clientOf = async (chatId: number) => (await t.deps.db.selectFrom('chats').select('client_id').where('id', '=', chatId).executeTakeFirstOrThrow()).client_id;
const reasonsIn = (html: string) => [...html.matchAll(/data-client-id="(\d+)"[\s\S]*?data-reason="(\w+)"/g)].map((m) => [Number(m[1]), m[2]]);

describe('phone numbers written in a chat', () => {
  it('finds numbers in free text, normalized, and ignores prices and short codes', () => {
    expect(phonesInText('call me on +33 6 12 34 56 78, or 06.98.76.54.32.')).toEqual(['+33612345678', '0698765432']);
    expect(phonesInText('it costs 89 €, code 1234, ref 2024')).toEqual([]);
    expect(phonesInText('(0)20 7946 0958')).toEqual(['02079460958']);
  });
});

describe('linking a chat to a client (D3)', () => {
  it('the details panel loads the client panel lazily, with a real link', async () => {
    const { chatId } = await leadWrites(t.deps, channelA, 'lazy-1', 'Hello');
    const page = await as(t.app, agent).get(`/chats/${chatId}`);
    expect(page.body).toContain(`id="chat-client-${chatId}"`);
    expect(page.body).toContain(`hx-get="/chats/${chatId}/client" hx-trigger="load"`);
    expect(page.body).toContain(`href="/chats/${chatId}/client"`);
    // Opened without htmx: a page of its own.
    const cold = await as(t.app, agent).get(`/chats/${chatId}/client`);
    expect(cold.statusCode).toBe(200);
    expect(cold.body).toContain('<!doctype html>');
    expect(cold.body).toContain(`id="chat-client-${chatId}"`);
  });

  it('suggests the same phone, a number written in the chat, and the same name', async () => {
    const anna = await createClient(t.deps.db, { name: 'Anna Petrova', phones: ['+33 6 12 34 56 78'] });
    const bob = await createClient(t.deps.db, { name: 'Bob Martin', phones: ['07700 900123'] });
    const carla = await createClient(t.deps.db, { name: 'Carla Diaz', phones: [] });
    await createClient(t.deps.db, { name: 'Dan Nobody', phones: ['01 23 45 67 89'] });

    const byPhone = await leadWrites(t.deps, channelA, 'sugg-1', 'Is my phone ready?', { contactName: 'A. P.', contactPhone: '06 12 34 56 78' });
    let res = await as(t.app, agent).get(`/chats/${byPhone.chatId}/client`, HX);
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toContain('<!doctype html>');
    expect(reasonsIn(res.body)).toEqual([[anna, 'phone']]);
    // The create form is prefilled from the lead: name, phone, channel in the notes.
    expect(res.body).toMatch(/name="name"[^>]*value="A. P."/);
    expect(res.body).toMatch(/name="phone"[^>]*value="06 12 34 56 78"/);
    expect(res.body).toContain('Test channel (Shop Page): A. P.');

    const written = await leadWrites(t.deps, channelA, 'sugg-2', 'Hi! You can call me back on +44 7700 900123 after 5pm.', { contactName: 'Robert' });
    res = await as(t.app, agent).get(`/chats/${written.chatId}/client`, HX);
    expect(reasonsIn(res.body)).toEqual([[bob, 'message_phone']]);
    expect(res.body).toMatch(/name="phone"[^>]*value="\+447700900123"/);

    const sameName = await leadWrites(t.deps, channelA, 'sugg-3', 'Bonjour', { contactName: 'carla diaz' });
    res = await as(t.app, agent).get(`/chats/${sameName.chatId}/client`, HX);
    expect(reasonsIn(res.body)).toEqual([[carla, 'name']]);
  });

  it('searches clients by name or by phone in any format', async () => {
    const { chatId } = await leadWrites(t.deps, channelA, 'search-1', 'Hi');
    const byPhone = await as(t.app, agent).get(`/chats/${chatId}/client/search?q=${encodeURIComponent('+33 612 345')}`, HX);
    expect(byPhone.statusCode).toBe(200);
    expect(byPhone.body).toContain(`id="chat-client-results-${chatId}"`);
    expect(byPhone.body).toContain('Anna Petrova');
    expect(byPhone.body).not.toContain('Bob Martin');
    const byName = await as(t.app, agent).get(`/chats/${chatId}/client/search?q=bob`, HX);
    expect(byName.body).toContain('Bob Martin');
    const none = await as(t.app, agent).get(`/chats/${chatId}/client/search?q=zzzz`, HX);
    expect(none.body).toContain('No client matches');
    // Without htmx the search lands on the panel's page with the results.
    const cold = await as(t.app, agent).get(`/chats/${chatId}/client/search?q=bob`);
    expect(cold.statusCode).toBe(303);
    expect((await as(t.app, agent).get(cold.headers.location as string)).body).toContain('Bob Martin');
  });

  it('links, shows the client card, and unlinks', async () => {
    const { chatId } = await leadWrites(t.deps, channelA, 'link-1', 'Hi');
    const eve = await createClient(t.deps.db, { name: 'Eve Link', email: 'eve@example.test', phones: ['0611111111'] });
    let res = await as(t.app, agent).post(`/chats/${chatId}/client`, { client_id: String(eve) }, { headers: HX });
    expect(res.statusCode).toBe(200);
    expect(await clientOf(chatId!)).toBe(eve);
    expect(res.body).toContain(`data-linked-client="${eve}"`);
    expect(res.body).toContain('Eve Link');
    expect(res.body).toContain('eve@example.test');
    // Phones in the Chats page carry no hover card (its compact window would clash with the pane).
    expect(res.body).toMatch(/class="phone" data-phone="0611111111" data-client-id="\d+" tabindex="0">0611111111</);
    expect(res.body).toContain(`action="/chats/${chatId}/client/unlink"`);

    res = await as(t.app, agent).post(`/chats/${chatId}/client/unlink`, {}, { headers: HX });
    expect(res.statusCode).toBe(200);
    expect(await clientOf(chatId!)).toBeNull();
    expect(res.body).toContain('data-linked-client=""');

    // Without htmx: a 303 to the panel's page.
    res = await as(t.app, agent).post(`/chats/${chatId}/client`, { client_id: String(eve) });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe(`/chats/${chatId}/client`);
    expect(await clientOf(chatId!)).toBe(eve);
  });

  it('another employee’s open panel reloads itself live, with its own permissions; other channels hear nothing', async () => {
    const base = await baseUrl();
    const { chatId } = await leadWrites(t.deps, channelA, 'link-live', 'Hello');
    const zed = await createClient(t.deps.db, { name: 'Zed Secretive', phones: ['0622222222'] });
    await t.deps.live.settle();
    const seen = await SseStream.open(`${base}/events?after=${t.deps.live.lastEventId}`, { cookie: chatter.cookie });
    const other = await SseStream.open(`${base}/events?after=${t.deps.live.lastEventId}`, { cookie: outsider.cookie });
    try {
      expect((await as(t.app, agent).post(`/chats/${chatId}/client`, { client_id: String(zed) }, { headers: HX })).statusCode).toBe(200);
      const ev = await seen.waitFor('ui', `id="chat-client-${chatId}"`);
      // A placeholder that fetches the panel for whoever receives it: no client data inside.
      expect(ev.data).toContain(`hx-get="/chats/${chatId}/client" hx-trigger="load"`);
      expect(ev.data).toContain('hx-swap-oob="true"');
      expect(ev.data).toMatch(/data-refresh-by="\d+"/);
      expect(ev.data).not.toContain('Zed Secretive');
      // Unlinking and creating a document announce it the same way.
      const before = seen.events.length;
      expect((await as(t.app, agent).post(`/chats/${chatId}/client/unlink`, {}, { headers: HX })).statusCode).toBe(200);
      await seen.until((evs) => evs.slice(before).some((e) => e.data.includes(`id="chat-client-${chatId}"`)), 'the unlink announcement');
      await leadWrites(t.deps, channelB, 'marker-link', 'marker for the outsider');
      await other.waitFor('ui', 'marker for the outsider');
      expect(other.events.some((e) => e.data.includes(`chat-client-${chatId}`))).toBe(false);
    } finally {
      seen.close();
      other.close();
    }
  });

  it('refuses an unknown client with 422 and no change', async () => {
    const { chatId } = await leadWrites(t.deps, channelA, 'link-2', 'Hi');
    for (const client_id of ['999999', 'abc', '']) {
      const res = await as(t.app, agent).post(`/chats/${chatId}/client`, { client_id }, { headers: HX });
      expect(res.statusCode).toBe(422);
      expect(res.body).toContain('Choose an existing client.');
    }
    expect(await clientOf(chatId!)).toBeNull();
  });

  it('creates the client from the lead and links the chat in one step', async () => {
    const { chatId } = await leadWrites(t.deps, channelA, 'create-1', 'Hi', { contactName: 'Fiona Lead', contactPhone: '+33 7 00 00 00 01' });
    const bad = await as(t.app, agent).post(`/chats/${chatId}/client/new`, { name: '  ', phone: '12', notes: 'x' }, { headers: HX });
    expect(bad.statusCode).toBe(422);
    expect(bad.body).toContain('This field is required.');
    expect(bad.body).toContain('Enter a phone number with at least 5 digits.');
    expect(bad.body).toMatch(/name="notes"[^>]*>x</);
    expect(await clientOf(chatId!)).toBeNull();

    const res = await as(t.app, agent).post(`/chats/${chatId}/client/new`, { name: 'Fiona Lead', phone: '+33 7 00 00 00 01', notes: '@fiona on Instagram' }, { headers: HX });
    expect(res.statusCode).toBe(200);
    const id = await clientOf(chatId!);
    expect(id).toBeTruthy();
    const client = await t.deps.db.selectFrom('clients').selectAll().where('id', '=', id!).executeTakeFirstOrThrow();
    expect(client).toMatchObject({ name: 'Fiona Lead', notes: '@fiona on Instagram' });
    const phones = await t.deps.db.selectFrom('client_phones').select(['raw', 'normalized']).where('client_id', '=', id!).execute();
    expect(phones).toEqual([{ raw: '+33 7 00 00 00 01', normalized: '+33700000001' }]);
    expect(res.body).toContain(`data-linked-client="${id}"`);
  });

  it('every chat with the client across channels, only those the employee may see', async () => {
    const gina = await createClient(t.deps.db, { name: 'Gina Multi', phones: ['0622222222'] });
    const onA = await leadWrites(t.deps, channelA, 'multi-a', 'Hello from A');
    const onB = await leadWrites(t.deps, channelB, 'multi-b', 'Hello from B');
    await as(t.app, admin).post(`/chats/${onA.chatId}/client`, { client_id: String(gina) });
    await as(t.app, admin).post(`/chats/${onB.chatId}/client`, { client_id: String(gina) });

    const forAgent = await as(t.app, agent).get(`/chats/${onA.chatId}/client`, HX);
    expect(forAgent.body).toContain(`data-chat-id="${onA.chatId}" data-indicator="unread" aria-current="true"`);
    expect(forAgent.body).not.toContain(`data-chat-id="${onB.chatId}"`);
    expect(forAgent.body).not.toContain('Hello from B');

    const forAdmin = await as(t.app, admin).get(`/chats/${onA.chatId}/client`, HX);
    expect(forAdmin.body).toContain(`data-chat-id="${onB.chatId}"`);
    expect(forAdmin.body).toContain('Hello from B');
    expect(forAdmin.body).toContain(`hx-get="/chats/${onB.chatId}" hx-target="#chat-pane"`);
  });

  it('is a 404 for a chat on a channel the employee may not use, 403 without Chats, login for anonymous', async () => {
    const { chatId } = await leadWrites(t.deps, channelA, 'access-1', 'Hi');
    const eve = await createClient(t.deps.db, { name: 'Access Client', phones: [] });
    const routes: Array<[string, string, Record<string, string>?]> = [
      ['GET', `/chats/${chatId}/client`],
      ['GET', `/chats/${chatId}/client/search?q=a`],
      ['GET', `/chats/${chatId}/mini`],
      ['POST', `/chats/${chatId}/client`, { client_id: String(eve) }],
      ['POST', `/chats/${chatId}/client/unlink`],
      ['POST', `/chats/${chatId}/client/new`, { name: 'X' }],
      ['POST', `/chats/${chatId}/client/documents`, { kind: 'order' }],
    ];
    for (const [method, url, body] of routes) {
      const call = (s: Session | null) => (method === 'GET' ? as(t.app, s).get(url, HX) : as(t.app, s).post(url, body ?? {}, { headers: HX }));
      expect((await call(outsider)).statusCode, `${method} ${url} outsider`).toBe(404);
      expect((await call(clerk)).statusCode, `${method} ${url} clerk`).toBe(403);
      expect((await call(null)).statusCode, `${method} ${url} anonymous`).toBe(401);
    }
    expect(await clientOf(chatId!)).toBeNull();
    // Anonymous page loads go to the login form.
    const cold = await as(t.app, null).get(`/chats/${chatId}/client`);
    expect(cold.statusCode).toBe(303);
    expect(cold.headers.location).toMatch(/^\/login\?next=/);
  });

  it('a role with Chats but not Clients sees the linked client but cannot search, link or create', async () => {
    const { chatId } = await leadWrites(t.deps, channelA, 'chatter-1', 'Hi');
    const panel = await as(t.app, chatter).get(`/chats/${chatId}/client`, HX);
    expect(panel.statusCode).toBe(200);
    expect(panel.body).toContain('cannot link this chat');
    expect(panel.body).not.toContain(`/chats/${chatId}/client/search`);
    expect((await as(t.app, chatter).get(`/chats/${chatId}/client/search?q=Anna`, HX)).statusCode).toBe(403);
    const hana = await createClient(t.deps.db, { name: 'Hana Linked', phones: [] });
    expect((await as(t.app, chatter).post(`/chats/${chatId}/client`, { client_id: String(hana) }, { headers: HX })).statusCode).toBe(403);
    expect((await as(t.app, chatter).post(`/chats/${chatId}/client/new`, { name: 'Nope' }, { headers: HX })).statusCode).toBe(403);
    await as(t.app, agent).post(`/chats/${chatId}/client`, { client_id: String(hana) });
    const linked = await as(t.app, chatter).get(`/chats/${chatId}/client`, HX);
    expect(linked.body).toContain('<strong hx-disable>Hana Linked</strong>');
    expect(linked.body).not.toContain('/client/unlink');
    expect((await as(t.app, chatter).post(`/chats/${chatId}/client/unlink`, {}, { headers: HX })).statusCode).toBe(403);
    expect(await clientOf(chatId!)).toBe(hana);
  });
});

describe('documents from the chat (D3)', () => {
  let chatId: number;
  let ivan: number;
  beforeAll(async () => {
    ivan = await createClient(t.deps.db, { name: 'Ivan Docs', phones: ['0633333333'] });
    chatId = (await leadWrites(t.deps, channelA, 'docs-1', 'Can you replace the screen of my iPhone 12?')).chatId!;
    await as(t.app, agent).post(`/chats/${chatId}/client`, { client_id: String(ivan) });
    await createDocument(t.deps.db, { kind: 'lead', clientId: ivan, number: 'L-OLD', issuedOn: '2024-01-10' });
    await createDocument(t.deps.db, { kind: 'invoice', clientId: ivan, number: 'I-MID', issuedOn: '2024-03-10' });
    await createDocument(t.deps.db, { kind: 'order', clientId: ivan, number: 'O-NEW', issuedOn: '2024-06-10' });
  });

  it('lists every document of the client, newest first, with links; only kinds the role opens', async () => {
    const res = await as(t.app, agent).get(`/chats/${chatId}/client`, HX);
    const numbers = [...res.body.matchAll(/id="chat-doc-\d+" data-kind="\w+">\s*<a href="([^"]+)" hx-disable>([^<]+)</g)].map((m) => m[2]);
    expect(numbers).toEqual(['O-NEW', 'I-MID', 'L-OLD']);
    expect(res.body).toMatch(/href="\/orders\/\d+\/edit" hx-disable>O-NEW/);
    const buttons = [...res.body.matchAll(/name="kind" value="(\w+)"/g)].map((m) => m[1]);
    expect(buttons).toEqual(['lead', 'order', 'estimate']);
    // The notes are prefilled with what the lead asked.
    expect(res.body).toContain('Can you replace the screen of my iPhone 12?</textarea>');

    const limited = await as(t.app, ordersOnly).get(`/chats/${chatId}/client`, HX);
    const limitedNumbers = [...limited.body.matchAll(/id="chat-doc-\d+" data-kind="(\w+)"/g)].map((m) => m[1]);
    expect(limitedNumbers).toEqual(['order']);
    expect([...limited.body.matchAll(/name="kind" value="(\w+)"/g)].map((m) => m[1])).toEqual(['order']);
  });

  it('creates an order for the client from the chat; it appears in the panel at once', async () => {
    const res = await as(t.app, agent).post(`/chats/${chatId}/client/documents`, { kind: 'order', amount: '120,50', notes: 'iPhone 12 screen' }, { headers: HX });
    expect(res.statusCode).toBe(200);
    const doc = await t.deps.db.selectFrom('documents').selectAll().where('client_id', '=', ivan).where('notes', '=', 'iPhone 12 screen').executeTakeFirstOrThrow();
    expect(doc).toMatchObject({ kind: 'order', status: 'new' });
    expect(Number(doc.amount_cents)).toBe(12050);
    expect(res.body).toContain(`Order ${doc.number} created.`);
    expect(res.body).toContain(`href="/orders/${doc.id}/edit"`);
    const first = /id="chat-doc-(\d+)"/.exec(res.body)?.[1];
    expect(Number(first)).toBe(doc.id);
    // Also estimates and leads.
    for (const kind of ['lead', 'estimate']) {
      const r = await as(t.app, agent).post(`/chats/${chatId}/client/documents`, { kind, amount: '', notes: '' }, { headers: HX });
      expect(r.statusCode).toBe(200);
    }
    const kinds = await t.deps.db.selectFrom('documents').select('kind').where('client_id', '=', ivan).execute();
    expect(kinds.map((k) => k.kind).sort()).toEqual(['estimate', 'invoice', 'lead', 'lead', 'order', 'order']);
  });

  it('keeps the typed values on a bad amount (422) and refuses kinds and roles that do not apply', async () => {
    const before = await t.deps.db.selectFrom('documents').select('id').where('client_id', '=', ivan).execute();
    const bad = await as(t.app, agent).post(`/chats/${chatId}/client/documents`, { kind: 'order', amount: '12abc', notes: 'keep me' }, { headers: HX });
    expect(bad.statusCode).toBe(422);
    expect(bad.body).toContain('Enter an amount such as 120 or 120.50.');
    expect(bad.body).toMatch(/name="amount"[^>]*value="12abc"/);
    expect(bad.body).toContain('keep me</textarea>');
    expect((await as(t.app, agent).post(`/chats/${chatId}/client/documents`, { kind: 'invoice' }, { headers: HX })).statusCode).toBe(422);
    expect((await as(t.app, ordersOnly).post(`/chats/${chatId}/client/documents`, { kind: 'lead' }, { headers: HX })).statusCode).toBe(403);
    const unlinked = await leadWrites(t.deps, channelA, 'docs-2', 'Hi');
    expect((await as(t.app, agent).post(`/chats/${unlinked.chatId}/client/documents`, { kind: 'order' }, { headers: HX })).statusCode).toBe(422);
    const after = await t.deps.db.selectFrom('documents').select('id').where('client_id', '=', ivan).execute();
    expect(after.length).toBe(before.length);
  });
});

describe('the client card: chats and starting a chat (E5)', () => {
  let jo: number;
  let onA: number;
  let onB: number;
  beforeAll(async () => {
    jo = await createClient(t.deps.db, { name: 'Jo Card', phones: ['0644444444'] });
    onA = (await leadWrites(t.deps, channelA, 'card-a', 'Card A'))!.chatId!;
    onB = (await leadWrites(t.deps, channelB, 'card-b', 'Card B'))!.chatId!;
    await as(t.app, admin).post(`/chats/${onA}/client`, { client_id: String(jo) });
    await as(t.app, admin).post(`/chats/${onB}/client`, { client_id: String(jo) });
  });

  it('the card loads its chats section lazily for employees with Chats only', async () => {
    const card = await as(t.app, agent).get(`/clients/${jo}`);
    expect(card.body).toContain(`hx-get="/chats/for-client/${jo}" hx-trigger="load"`);
    const forClerk = await as(t.app, clerk).get(`/clients/${jo}`);
    expect(forClerk.statusCode).toBe(200);
    expect(forClerk.body).not.toContain(`/chats/for-client/${jo}`);
    expect((await as(t.app, clerk).get(`/chats/for-client/${jo}`, HX)).statusCode).toBe(403);
  });

  it('lists the chats on the employee’s channels and offers to write on them', async () => {
    const res = await as(t.app, agent).get(`/chats/for-client/${jo}`, HX);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain(`data-chat-id="${onA}"`);
    expect(res.body).not.toContain(`data-chat-id="${onB}"`);
    expect(res.body).toContain(`hx-get="/chats/${onA}/mini"`);
    expect(res.body).toContain(`name="channel_id" value="${channelA}"`);
    expect(res.body).not.toContain(`value="${channelB}"`);
    const forAdmin = await as(t.app, admin).get(`/chats/for-client/${jo}`, HX);
    expect(forAdmin.body).toContain(`data-chat-id="${onB}"`);
    // Cold: a page.
    const cold = await as(t.app, agent).get(`/chats/for-client/${jo}`);
    expect(cold.body).toContain('<!doctype html>');
    expect((await as(t.app, agent).get(`/chats/for-client/999999`, HX)).statusCode).toBe(404);
  });

  it('starting a chat opens the client’s chat on that channel; elsewhere it says why', async () => {
    const res = await as(t.app, agent).post(`/chats/for-client/${jo}`, { channel_id: String(channelA) });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe(`/chats/${onA}`);
    const mini = await as(t.app, agent).post(`/chats/for-client/${jo}`, { channel_id: String(channelA), mini: '1' }, { headers: HX });
    expect(mini.statusCode).toBe(200);
    expect(mini.body).toContain(`id="mini-chat-${onA}"`);
    // A channel the agent may not use is not a way to reach anyone (and says nothing of B's chat).
    expect((await as(t.app, agent).post(`/chats/for-client/${jo}`, { channel_id: String(channelB) })).statusCode).toBe(422);

    const never = await createClient(t.deps.db, { name: 'Never Wrote', phones: ['0655555555'] });
    const section = await as(t.app, agent).get(`/chats/for-client/${never}`, HX);
    expect(section.body).toContain('No chats with this client on the channels you use.');
    expect(section.body).toContain('data-reason="clientchats.unreachable"');
    expect(section.body).toContain('has not written to the shop on Messenger or Instagram yet');
    expect((await as(t.app, agent).post(`/chats/for-client/${never}`, { channel_id: String(channelA) })).statusCode).toBe(422);
    expect((await as(t.app, clerk).post(`/chats/for-client/${never}`, { channel_id: String(channelA) })).statusCode).toBe(403);
  });
});

describe('the compact chat window (J2)', () => {
  it('shows the thread and the composer, posting to the chat; 404 for other channels', async () => {
    const { chatId } = await leadWrites(t.deps, channelA, 'mini-1', 'Mini hello');
    const res = await as(t.app, agent).get(`/chats/${chatId}/mini`, HX);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain(`id="mini-chat-${chatId}"`);
    expect(res.body).toContain(`id="thread-messages-${chatId}"`);
    expect(res.body).toContain(`id="composer-${chatId}"`);
    expect(res.body).toContain(`hx-post="/chats/${chatId}/messages"`);
    expect(res.body).toContain('Mini hello');
    expect(res.body).toContain(`hx-post="/chats/${chatId}/read" hx-trigger="load"`);
    const cold = await as(t.app, agent).get(`/chats/${chatId}/mini`);
    expect(cold.statusCode).toBe(303);
    expect(cold.headers.location).toBe(`/chats/${chatId}`);
    expect((await as(t.app, outsider).get(`/chats/${chatId}/mini`, HX)).statusCode).toBe(404);
    expect((await as(t.app, outsider).get(`/chats/${chatId}/mini`)).statusCode).toBe(404);
  });

  it('receives the lead’s new messages live, and only employees of the channel do', async () => {
    const base = await baseUrl();
    const { chatId } = await leadWrites(t.deps, channelA, 'mini-live', 'first');
    await t.deps.live.settle();
    const mine = await SseStream.open(`${base}/events?after=${t.deps.live.lastEventId}`, { cookie: agent.cookie });
    const theirs = await SseStream.open(`${base}/events?after=${t.deps.live.lastEventId}`, { cookie: outsider.cookie });
    try {
      await leadWrites(t.deps, channelA, 'mini-live', 'Are you open on Saturday?');
      const ev = await mine.waitFor('ui', 'Are you open on Saturday?');
      expect(ev.data).toContain(`hx-swap-oob="beforeend:#thread-messages-${chatId}"`);
      // The outsider's stream carries nothing of it.
      await leadWrites(t.deps, channelB, 'marker-b', 'marker for outsider');
      await theirs.waitFor('ui', 'marker for outsider');
      expect(theirs.events.some((e) => e.data.includes('Are you open on Saturday?'))).toBe(false);
    } finally {
      mine.close();
      theirs.close();
    }
  });
});

describe('hostile strings (S2)', () => {
  it('client names, contact names and messages render escaped in the panel and the window', async () => {
    const evil = '<script>alert(1)</script><img src=x onerror=alert(2)>"\'';
    const client = await createClient(t.deps.db, { name: evil, phones: ['0666666666'], email: 'x@y.zz' });
    const { chatId } = await leadWrites(t.deps, channelA, 'evil-1', `${evil} call 06 66 66 66 66`, { contactName: evil });
    const unlinked = await as(t.app, agent).get(`/chats/${chatId}/client`, HX);
    await as(t.app, agent).post(`/chats/${chatId}/client`, { client_id: String(client) });
    await createDocument(t.deps.db, { kind: 'order', clientId: client, notes: evil });
    const linked = await as(t.app, agent).get(`/chats/${chatId}/client`, HX);
    const search = await as(t.app, agent).get(`/chats/${chatId}/client/search?q=${encodeURIComponent('<script>')}`, HX);
    const mini = await as(t.app, agent).get(`/chats/${chatId}/mini`, HX);
    const card = await as(t.app, agent).get(`/chats/for-client/${client}`, HX);
    for (const body of [unlinked.body, linked.body, search.body, mini.body, card.body]) {
      expect(body).not.toContain('<script>alert');
      expect(body).not.toMatch(/<img[^>]*onerror/i);
      expect(body).not.toMatch(/javascript:/i);
    }
    expect(unlinked.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(linked.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(search.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });
});
