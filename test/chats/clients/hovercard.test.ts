import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, createTestApp, login, makeEmployee, type Session, type TestApp } from '../../helpers.ts';
import { TestAdapter, leadWrites, makeTestChannel } from '../../support/test-adapter.ts';
import { createClient } from '../../../src/crm/clients.service.ts';
import { createDocument } from '../../../src/crm/documents.service.ts';
import { insertCall } from '../../../src/crm/calls.repository.ts';
import { setChatClient } from '../../../src/chats/clients/client-link.repository.ts';

/**
 * The phone hover card (J1–J4, issue #6): lists only carry the phone's attributes; the card
 * shows the client's contacts to everyone who may open a list, and the client's chats only on
 * the channels the employee may use (none without Chats).
 */
let t: TestApp;
let admin: Session;
let agent: Session;
let outsider: Session;
let clerk: Session;
let chatter: Session;
let caller: Session;
let callChatter: Session;
let kim: number;
let mia: number;
let lou: number;
let kimOnA: number;
let kimOnB: number;
let miaOnA: number;
const HX = { 'hx-request': 'true' };

beforeAll(async () => {
  t = await createTestApp({ adapters: [new TestAdapter()] });
  const a = await makeEmployee(t.deps, { role: 'admin', email: 'admin@shop.test' });
  const b = await makeEmployee(t.deps, { role: 'agent', email: 'agent@shop.test' });
  const c = await makeEmployee(t.deps, { role: 'agent', email: 'outsider@shop.test' });
  const d = await makeEmployee(t.deps, { role: 'Clerk', permissions: ['clients', 'leads', 'orders', 'estimates', 'invoices', 'calls'], email: 'clerk@shop.test' });
  const e = await makeEmployee(t.deps, { role: 'Chatter', permissions: ['chats'], email: 'chatter@shop.test' });
  const f = await makeEmployee(t.deps, { role: 'Caller', permissions: ['calls'], email: 'caller@shop.test' });
  const g = await makeEmployee(t.deps, { role: 'CallChatter', permissions: ['calls', 'chats'], email: 'callchatter@shop.test' });
  const channelA = await makeTestChannel(t.deps, { name: 'Shop Page', employees: [b.id, g.id] });
  const channelB = await makeTestChannel(t.deps, { name: 'Second Page', employees: [c.id] });
  admin = await login(t.app, a.email);
  agent = await login(t.app, b.email);
  outsider = await login(t.app, c.email);
  clerk = await login(t.app, d.email);
  chatter = await login(t.app, e.email);
  caller = await login(t.app, f.email);
  callChatter = await login(t.app, g.email);

  kim = await createClient(t.deps.db, { name: 'Kim Hover', email: 'kim@example.test', phones: ['+33 6 77 77 77 77', '01 40 00 00 00'] });
  mia = await createClient(t.deps.db, { name: 'Mia Only-A', phones: ['06 88 88 88 88'] });
  lou = await createClient(t.deps.db, { name: 'Lou Never', phones: ['06 99 99 99 99'] });
  kimOnA = (await leadWrites(t.deps, channelA, 'kim-a', 'Kim on the shop page'))!.chatId!;
  kimOnB = (await leadWrites(t.deps, channelB, 'kim-b', 'Kim on the second page'))!.chatId!;
  miaOnA = (await leadWrites(t.deps, channelA, 'mia-a', 'Mia writes'))!.chatId!;
  await setChatClient(t.deps.db, kimOnA, kim);
  await setChatClient(t.deps.db, kimOnB, kim);
  await setChatClient(t.deps.db, miaOnA, mia);
  for (const kind of ['lead', 'order', 'invoice'] as const) await createDocument(t.deps.db, { kind, clientId: kim });
  await insertCall(t.deps.db, { direction: 'in', phone: '+33 6 77 77 77 77', phoneNormalized: '+33677777777', clientId: kim, startedAt: new Date(), durationSeconds: 60 });
});
afterAll(async () => t?.close());

const card = (s: Session | null, query: string, headers: Record<string, string> = HX) => as(t.app, s).get(`/hovercard?${query}`, headers);
const chatIdsIn = (html: string) => [...html.matchAll(/data-chat-id="(\d+)"/g)].map((m) => Number(m[1]));

describe('phones in the CRM lists (J1, P5)', () => {
  it('Leads, Orders, Invoices, Clients and Calls render each phone with what the card needs, and no card', async () => {
    for (const path of ['/leads', '/orders', '/invoices', '/clients', '/calls']) {
      const res = await as(t.app, clerk).get(path);
      expect(res.statusCode, path).toBe(200);
      // The script finds the card from the number and the client id; the list adds nothing.
      expect(res.body, path).toContain(`<span class="phone" data-phone="+33677777777" data-client-id="${kim}" tabindex="0">+33 6 77 77 77 77</span>`);
      // The list itself renders no card (nothing is read for it until a phone is hovered).
      expect(res.body, path).not.toContain('class="hovercard"');
    }
    // The page loads the script that fetches the card after a short rest or on focus.
    const page = await as(t.app, clerk).get('/orders');
    expect(page.body).toMatch(/<script src="\/static\/js\/hovercard\.js\?v=\w+" defer><\/script>/);
  });
});

describe('the hover card for each permission (J1–J4)', () => {
  it('admin: contacts and the client’s chats on every channel, opening in the compact window', async () => {
    const res = await card(admin, `phone=%2B33677777777&client_id=${kim}`);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('class="hovercard"');
    expect(res.body).toContain('Kim Hover');
    expect(res.body).toContain('href="tel:+33677777777"');
    expect(res.body).toContain('01 40 00 00 00');
    expect(res.body).toContain('kim@example.test');
    expect(chatIdsIn(res.body).sort()).toEqual([kimOnA, kimOnB].sort());
    expect(res.body).toContain(`hx-get="/chats/${kimOnA}/mini" hx-target="#mini-chat-dock"`);
    expect(res.body).toContain('Kim on the second page');
    expect(res.body).toContain('data-indicator="unread"');
  });

  it('speaks the employee’s language', async () => {
    const res = await card(agent, `client_id=${lou}`, { ...HX, 'accept-language': 'fr-FR,fr;q=0.9' });
    expect(res.body).toContain('aria-label="Fiche client"');
    expect(res.body).toContain('Numéros de téléphone');
    expect(res.body).toContain('n’a pas encore écrit à la boutique');
  });

  it('agent with the channel: only the chats on channels they use', async () => {
    const res = await card(agent, `phone=%2B33677777777&client_id=${kim}`);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('Kim Hover');
    expect(chatIdsIn(res.body)).toEqual([kimOnA]);
    expect(res.body).not.toContain('Kim on the second page');
    expect(res.body).not.toContain('Second Page');
  });

  it('agent without the channel: contacts only, and nothing of the chat they may not see', async () => {
    const res = await card(outsider, `phone=0688888888&client_id=${mia}`);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('Mia Only-A');
    expect(res.body).toContain('06 88 88 88 88');
    expect(chatIdsIn(res.body)).toEqual([]);
    expect(res.body).not.toContain('Mia writes');
    expect(res.body).not.toContain('Shop Page');
    expect(res.body).not.toContain(`/chats/${miaOnA}`);
  });

  it('role without Chats: contacts only, no chats section at all', async () => {
    const res = await card(clerk, `phone=%2B33677777777&client_id=${kim}`);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('Kim Hover');
    expect(res.body).toContain('kim@example.test');
    expect(res.body).toContain(`href="/clients/${kim}"`);
    expect(res.body).not.toContain('hovercard__chats');
    expect(chatIdsIn(res.body)).toEqual([]);
    expect(res.body).not.toContain('/mini');
    expect(res.body).not.toContain('Kim on the shop page');
  });

  it('a role that opens no list with phones gets 403; anonymous visitors are sent to log in', async () => {
    expect((await card(chatter, `client_id=${kim}`)).statusCode).toBe(403);
    expect((await card(null, `client_id=${kim}`)).statusCode).toBe(401);
    const cold = await card(null, `client_id=${kim}`, {});
    expect(cold.statusCode).toBe(303);
    expect(cold.headers.location).toMatch(/^\/login\?next=/);
  });

  it('+Chat says why when the client cannot be reached on any channel the employee uses', async () => {
    const res = await card(agent, `phone=0699999999&client_id=${lou}`);
    expect(res.body).toContain('Lou Never');
    expect(res.body).toMatch(/<button class="btn btn--small" type="button" disabled data-action="start-chat">\+Chat<\/button>/);
    expect(res.body).toContain('has not written to the shop on Messenger or Instagram yet');
    // The outsider sees the same explanation for Mia (whose only chat is on a channel they do not use).
    const other = await card(outsider, `phone=0688888888&client_id=${mia}`);
    expect(other.body).toContain('data-reason="clientchats.unreachable"');
  });
});

describe('without the Clients permission (issue #21, finding 3)', () => {
  it('Calls only: the number hovered and nothing else of the client, by client_id or by phone', async () => {
    for (const query of [`client_id=${kim}`, `phone=%2B33677777777&client_id=${kim}`, 'phone=0677777777', `phone=0699999999&client_id=${kim}`]) {
      const res = await card(caller, query);
      expect(res.statusCode, query).toBe(200);
      expect(res.body, query).toContain('class="hovercard"');
      expect(res.body, query).not.toContain('Kim Hover');
      expect(res.body, query).not.toContain('kim@example.test');
      expect(res.body, query).not.toContain('01 40 00 00 00');
      expect(res.body, query).not.toContain(`/clients/${kim}`);
      expect(res.body, query).not.toContain(`data-client-id="${kim}"`);
      expect(res.body, query).not.toContain('hovercard__chats');
    }
    // Only the number they hovered, as their list shows it.
    expect((await card(caller, 'phone=0677777777')).body).toContain('0677777777');
    // Opened as a page, nothing to go to: the card itself (no redirect to a client).
    const cold = await card(caller, `phone=0677777777&client_id=${kim}`, {});
    expect(cold.statusCode).toBe(200);
    expect(cold.body).not.toContain('Kim Hover');
  });

  it('Calls and Chats: the number and the chats on their channels, still no name, e-mail or other numbers', async () => {
    const res = await card(callChatter, 'phone=%2B33677777777');
    expect(res.statusCode).toBe(200);
    expect(chatIdsIn(res.body)).toEqual([kimOnA]);
    expect(res.body).not.toContain('Kim Hover');
    expect(res.body).not.toContain('kim@example.test');
    expect(res.body).not.toContain('01 40 00 00 00');
    expect(res.body).not.toContain('Kim on the second page');
    // The client id alone finds nothing: the number is what their list shows.
    const byId = await card(callChatter, `client_id=${kim}`);
    expect(chatIdsIn(byId.body)).toEqual([]);
    expect(byId.body).not.toContain('Kim Hover');
  });

  it('with Clients the same requests show the client in full', async () => {
    const res = await card(clerk, `client_id=${kim}`);
    expect(res.body).toContain('Kim Hover');
    expect(res.body).toContain('kim@example.test');
    expect(res.body).toContain('01 40 00 00 00');
  });
});

describe('finding the client', () => {
  it('by the number when the row has no client id, in any format; unknown numbers say so', async () => {
    const byPhone = await card(agent, 'phone=0677777777');
    expect(byPhone.body).toContain('Kim Hover');
    expect(chatIdsIn(byPhone.body)).toEqual([kimOnA]);
    const unknown = await card(clerk, 'phone=%2B15550001111');
    expect(unknown.statusCode).toBe(200);
    expect(unknown.body).toContain('No client has this number.');
    expect(unknown.body).toContain('href="/clients?q=%2B15550001111"');
    // An unknown client id falls back to the number.
    expect((await card(agent, 'phone=0677777777&client_id=999999')).body).toContain('Kim Hover');
  });

  it('opened as a page, goes to the client card (or the clients with this number)', async () => {
    const res = await card(agent, `phone=0677777777&client_id=${kim}`, {});
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe(`/clients/${kim}`);
    const unknown = await card(agent, 'phone=0123', {});
    expect(unknown.headers.location).toBe('/clients?q=0123');
  });

  it('renders hostile client names and numbers escaped (S2)', async () => {
    const evil = '<script>alert(1)</script><img src=x onerror=alert(2)>';
    const id = await createClient(t.deps.db, { name: evil, phones: ['0612121212'], email: 'e@x.yz' });
    const res = await card(admin, `phone=0612121212&client_id=${id}`);
    expect(res.body).not.toContain('<script>alert');
    expect(res.body).not.toMatch(/<img[^>]*onerror/i);
    expect(res.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    const hostilePhone = await card(clerk, `phone=${encodeURIComponent('"><script>alert(3)</script>')}`);
    expect(hostilePhone.body).not.toContain('<script>alert(3)');
    expect(hostilePhone.body).not.toMatch(/javascript:/i);
  });
});
