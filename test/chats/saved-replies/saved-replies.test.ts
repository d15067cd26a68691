import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, createTestApp, login, makeEmployee, type Session, type TestApp } from '../../helpers.ts';
import { TestAdapter, leadWrites, makeTestChannel } from '../../support/test-adapter.ts';
import { createClient } from '../../../src/crm/clients.service.ts';
import { createDocument } from '../../../src/crm/documents.service.ts';
import { fillPlaceholders } from '../../../src/chats/saved-replies/saved-replies.service.ts';

/**
 * Saved replies (#16 item 3): Settings › Saved replies (own for everyone, shared for admins),
 * and the composer's list for a chat with its placeholders filled, through the visible channels.
 */
let t: TestApp;
let admin: Session;
let agent: Session;
let other: Session;
let outsider: Session;
let agentId: number;
let channelA: number;
let channelB: number;
const HX = { 'hx-request': 'true' };

beforeAll(async () => {
  t = await createTestApp({ adapters: [new TestAdapter()] });
  const a = await makeEmployee(t.deps, { role: 'admin', email: 'admin@shop.test' });
  const b = await makeEmployee(t.deps, { role: 'agent', email: 'agent@shop.test' });
  const c = await makeEmployee(t.deps, { role: 'agent', email: 'other@shop.test' });
  const d = await makeEmployee(t.deps, { role: 'agent', email: 'outsider@shop.test' });
  agentId = b.id;
  channelA = await makeTestChannel(t.deps, { name: 'Shop Page', employees: [b.id, c.id] });
  channelB = await makeTestChannel(t.deps, { name: 'Other Page', employees: [d.id] });
  [admin, agent, other, outsider] = await Promise.all([login(t.app, a.email), login(t.app, b.email), login(t.app, c.email), login(t.app, d.email)]);
});
afterAll(async () => t?.close());

const rows = () => t.deps.db.selectFrom('saved_replies').selectAll().orderBy('id').execute();
const idOf = async (shortcut: string) => (await t.deps.db.selectFrom('saved_replies').select('id').where('shortcut', '=', shortcut).executeTakeFirstOrThrow()).id;

describe('Settings › Saved replies', () => {
  it('an employee adds, edits and deletes their own; the shortcut and text are validated, keeping the input', async () => {
    const page = await as(t.app, agent).get('/settings/saved-replies');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('href="/settings/saved-replies" aria-current="page"');
    expect(page.body).not.toContain('name="scope"'); // only admins choose shared

    const bad = await as(t.app, agent).post('/settings/saved-replies', { shortcut: 'no spaces!', text: 'Kept text' });
    expect(bad.statusCode).toBe(422);
    expect(bad.body).toContain('Use 1 to 30 letters, digits, - or _.');
    expect(bad.body).toContain('value="no spaces!"');
    expect(bad.body).toContain('>Kept text</textarea>');
    const long = await as(t.app, agent).post('/settings/saved-replies', { shortcut: 'long', text: 'x'.repeat(1001) });
    expect(long.statusCode).toBe(422);
    expect(long.body).toContain('at most 1000 characters');
    const empty = await as(t.app, agent).post('/settings/saved-replies', { shortcut: '', text: '' });
    expect(empty.statusCode).toBe(422);

    const ok = await as(t.app, agent).post('/settings/saved-replies', { shortcut: '/hours', text: 'We are open 9–18.' });
    expect(ok.statusCode).toBe(303);
    expect(ok.headers.location).toBe('/settings/saved-replies?saved=1');
    const mine = (await rows()).find((r) => r.shortcut === 'hours')!;
    expect(mine.owner_employee_id).toBe(agentId);

    // Unique per owner, whatever the case.
    const dup = await as(t.app, agent).post('/settings/saved-replies', { shortcut: 'HOURS', text: 'Again' });
    expect(dup.statusCode).toBe(422);
    expect(dup.body).toContain('This shortcut is already used.');
    // Another employee may use the same shortcut for their own.
    expect((await as(t.app, other).post('/settings/saved-replies', { shortcut: 'hours', text: 'Mine too' })).statusCode).toBe(303);

    const edit = await as(t.app, agent).get(`/settings/saved-replies/${mine.id}/edit`);
    expect(edit.statusCode).toBe(200);
    expect(edit.body).toContain(`action="/settings/saved-replies/${mine.id}"`);
    const badEdit = await as(t.app, agent).post(`/settings/saved-replies/${mine.id}`, { shortcut: 'hours', text: '' });
    expect(badEdit.statusCode).toBe(422);
    expect(badEdit.body).toContain(`action="/settings/saved-replies/${mine.id}"`);
    expect((await as(t.app, agent).post(`/settings/saved-replies/${mine.id}`, { shortcut: 'opening', text: 'Open 9–19.' })).statusCode).toBe(303);
    expect((await rows()).find((r) => r.id === mine.id)).toMatchObject({ shortcut: 'opening', text: 'Open 9–19.' });

    expect((await as(t.app, agent).post(`/settings/saved-replies/${mine.id}/delete`)).statusCode).toBe(303);
    expect((await rows()).some((r) => r.id === mine.id)).toBe(false);
  });

  it('an employee cannot edit another’s or a shared one; an admin manages the shared ones', async () => {
    // Only admins may make a shared one.
    expect((await as(t.app, agent).post('/settings/saved-replies', { shortcut: 'sneaky', text: 'x', scope: 'shared' })).statusCode).toBe(422);

    const adminPage = await as(t.app, admin).get('/settings/saved-replies');
    expect(adminPage.body).toContain('name="scope" value="shared"');
    expect((await as(t.app, admin).post('/settings/saved-replies', { shortcut: 'thanks', text: 'Thank you {client_name}!', scope: 'shared' })).statusCode).toBe(303);
    const shared = await idOf('thanks');
    expect((await rows()).find((r) => r.id === shared)!.owner_employee_id).toBeNull();
    await as(t.app, other).post('/settings/saved-replies', { shortcut: 'private', text: 'Other’s own' });
    const othersOwn = await idOf('private');

    // The agent sees the shared one (no Edit), not the other employee's.
    const list = await as(t.app, agent).get('/settings/saved-replies');
    expect(list.body).toContain(`id="saved-reply-${shared}" data-shared="true"`);
    expect(list.body).not.toContain(`/settings/saved-replies/${shared}/edit`);
    expect(list.body).not.toContain(`id="saved-reply-${othersOwn}"`);

    for (const id of [shared, othersOwn]) {
      expect((await as(t.app, agent).get(`/settings/saved-replies/${id}/edit`)).statusCode).toBe(404);
      expect((await as(t.app, agent).post(`/settings/saved-replies/${id}`, { shortcut: 'hacked', text: 'hacked' })).statusCode).toBe(404);
      expect((await as(t.app, agent).post(`/settings/saved-replies/${id}/delete`)).statusCode).toBe(404);
    }
    // The admin may not edit another employee's own one either.
    expect((await as(t.app, admin).get(`/settings/saved-replies/${othersOwn}/edit`)).statusCode).toBe(404);
    expect((await rows()).filter((r) => r.text === 'hacked')).toEqual([]);

    // The admin edits the shared one; it stays shared.
    expect((await as(t.app, admin).get(`/settings/saved-replies/${shared}/edit`)).body).toContain('Everyone (shared by the shop)');
    expect((await as(t.app, admin).post(`/settings/saved-replies/${shared}`, { shortcut: 'thanks', text: 'Thanks {client_name}!' })).statusCode).toBe(303);
    expect((await rows()).find((r) => r.id === shared)).toMatchObject({ owner_employee_id: null, text: 'Thanks {client_name}!' });
  });

  it('a NUL character in a field (which PostgreSQL text cannot hold) is dropped, not a 500', async () => {
    const res = await as(t.app, agent).post('/settings/saved-replies', { shortcut: 'nul', text: 'a\u0000b' });
    expect(res.statusCode).toBe(303);
    const row = await t.deps.db.selectFrom('saved_replies').select('text').where('shortcut', '=', 'nul').executeTakeFirstOrThrow();
    expect(row.text).toBe('ab');
    expect((await as(t.app, agent).get('/settings/saved-replies?x=%00')).statusCode).toBe(200);
  });

  it('the tab shows to employees with Chats; the page in French', async () => {
    const settings = await as(t.app, agent).get('/settings/profile');
    expect(settings.body).toContain('href="/settings/saved-replies"');
    const fr = await as(t.app, agent).get('/settings/saved-replies', { 'accept-language': 'fr' });
    expect(fr.body).toContain('Réponses enregistrées');
    expect(fr.body).toContain('Nouvelle réponse enregistrée');
    expect(fr.body).toContain('Partagée');
    const frBad = await as(t.app, agent).post('/settings/saved-replies', { shortcut: 'a b', text: 'x' }, { headers: { 'accept-language': 'fr' } });
    expect(frBad.body).toContain('Utilisez 1 à 30 lettres, chiffres, - ou _.');
  });
});

describe('the composer’s saved replies', () => {
  it('fills {client_name} and {order_number} from the linked client and their latest open order', async () => {
    await as(t.app, agent).post('/settings/saved-replies', { shortcut: 'price', text: 'Hello {client_name}, order {order_number} costs 40 €. {unknown}' });
    const client = await createClient(t.deps.db, { name: 'Nadia Leroy', phones: [] });
    await createDocument(t.deps.db, { kind: 'order', clientId: client, number: 'O-OLD', issuedOn: '2024-01-01' });
    await createDocument(t.deps.db, { kind: 'order', clientId: client, number: 'O-OPEN', issuedOn: '2024-02-01', status: 'in_progress' });
    await createDocument(t.deps.db, { kind: 'order', clientId: client, number: 'O-DONE', issuedOn: '2024-03-01', status: 'done' });
    await createDocument(t.deps.db, { kind: 'invoice', clientId: client, number: 'I-NEW', issuedOn: '2024-04-01' });
    const { chatId } = await leadWrites(t.deps, channelA, 'nadia', 'Combien ?');
    await t.deps.db.updateTable('chats').set({ client_id: client }).where('id', '=', chatId!).execute();

    const res = await as(t.app, agent).get(`/chats/${chatId}/saved-replies?q=pri`, HX);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('role="listbox"');
    expect(res.body).toContain('role="option"');
    expect(res.body).toContain('data-text="Hello Nadia Leroy, order O-OPEN costs 40 €. {unknown}"');
    // Matching by text too, and own + shared.
    const byText = await as(t.app, agent).get(`/chats/${chatId}/saved-replies?q=THANKS`, HX);
    expect(byText.body).toContain('data-text="Thanks Nadia Leroy!"');
    const all = await as(t.app, agent).get(`/chats/${chatId}/saved-replies?q=`, HX);
    expect(all.body).toContain('data-shortcut="price"');
    expect(all.body).toContain('data-shortcut="thanks"');
    expect(all.body).not.toContain('data-shortcut="private"'); // another employee's
    // Nothing matches: no option, a line saying so.
    const none = await as(t.app, agent).get(`/chats/${chatId}/saved-replies?q=zzz`, HX);
    expect(none.body).not.toContain('role="option"');
    expect(none.body).toContain('No saved reply matches.');
    // Opened without htmx: the chat itself.
    const cold = await as(t.app, agent).get(`/chats/${chatId}/saved-replies?q=pri`);
    expect(cold.statusCode).toBe(303);
    expect(cold.headers.location).toBe(`/chats/${chatId}`);
  });

  it('leaves the placeholders visible without a linked client or open order', async () => {
    const { chatId } = await leadWrites(t.deps, channelA, 'stranger', 'Hi');
    const res = await as(t.app, agent).get(`/chats/${chatId}/saved-replies?q=price`, HX);
    expect(res.body).toContain('data-text="Hello {client_name}, order {order_number} costs 40 €. {unknown}"');
    const client = await createClient(t.deps.db, { name: 'No Orders', phones: [] });
    await createDocument(t.deps.db, { kind: 'order', clientId: client, number: 'O-CANC', status: 'cancelled' });
    await t.deps.db.updateTable('chats').set({ client_id: client }).where('id', '=', chatId!).execute();
    const linked = await as(t.app, agent).get(`/chats/${chatId}/saved-replies?q=price`, HX);
    expect(linked.body).toContain('data-text="Hello No Orders, order {order_number} costs 40 €. {unknown}"');
    expect(fillPlaceholders('{client_name}{client_name} {order_number}', { client_name: 'A', order_number: null })).toBe('AA {order_number}');
  });

  it('is a 404 for a chat of a channel the employee may not use', async () => {
    const { chatId } = await leadWrites(t.deps, channelB, 'elsewhere', 'Hi');
    expect((await as(t.app, agent).get(`/chats/${chatId}/saved-replies?q=`, HX)).statusCode).toBe(404);
    expect((await as(t.app, agent).get(`/chats/${chatId}/saved-replies?q=`)).statusCode).toBe(404);
    expect((await as(t.app, outsider).get(`/chats/${chatId}/saved-replies?q=`, HX)).statusCode).toBe(200);
    expect((await as(t.app, agent).get('/chats/999999/saved-replies', HX)).statusCode).toBe(404);
  });

  it('renders in French', async () => {
    const { chatId } = await leadWrites(t.deps, channelA, 'francophone', 'Salut');
    const res = await as(t.app, agent).get(`/chats/${chatId}/saved-replies?q=zzz`, { ...HX, 'accept-language': 'fr' });
    expect(res.body).toContain('Aucune réponse enregistrée ne correspond.');
    const list = await as(t.app, agent).get(`/chats/${chatId}/saved-replies?q=thanks`, { ...HX, 'accept-language': 'fr' });
    expect(list.body).toContain('aria-label="Réponses enregistrées"');
    expect(list.body).toContain('>Partagée</span>');
  });
});
