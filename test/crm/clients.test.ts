import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, createTestApp, login, makeEmployee, type Session, type TestApp } from '../helpers.ts';
import { findClientsByPhone } from '../../src/crm/clients.repository.ts';
import { createClient, getClient } from '../../src/crm/clients.service.ts';

let t: TestApp;
let admin: Session;

beforeAll(async () => {
  t = await createTestApp();
  const e = await makeEmployee(t.deps, { role: 'admin' });
  admin = await login(t.app, e.email);
});
afterAll(async () => t?.close());

const idFromLocation = (loc: unknown) => Number(/^\/clients\/(\d+)$/.exec(String(loc))![1]);

describe('clients: create and edit', () => {
  let id: number;

  it('creates a client with two phone numbers, kept as entered and normalized', async () => {
    const res = await as(t.app, admin).post('/clients', {
      name: 'Camille Durand',
      email: 'camille@example.fr',
      phones: '+33 6 12 34 56 78\r\n\r\n01 42 68 53 00\n',
      notes: 'iPhone 13\nécran fissuré',
    });
    expect(res.statusCode).toBe(303);
    id = idFromLocation(res.headers.location);
    const phones = await t.deps.db.selectFrom('client_phones').select(['raw', 'normalized', 'position']).where('client_id', '=', id).orderBy('position').execute();
    expect(phones).toEqual([
      { raw: '+33 6 12 34 56 78', normalized: '+33612345678', position: 0 },
      { raw: '01 42 68 53 00', normalized: '0142685300', position: 1 },
    ]);

    const card = await as(t.app, admin).get(`/clients/${id}`);
    expect(card.statusCode).toBe(200);
    expect(card.body).toContain('Camille Durand');
    expect(card.body).toContain(`<span class="phone" data-phone="+33612345678" data-client-id="${id}" tabindex="0">+33 6 12 34 56 78</span>`);
    expect(card.body).toContain('data-phone="0142685300"');
    expect(card.body).toContain('mailto:camille@example.fr');
    expect(card.body).toContain('id="client-documents-empty"');
  });

  it('edits name and phones', async () => {
    const form = await as(t.app, admin).get(`/clients/${id}/edit`);
    expect(form.statusCode).toBe(200);
    expect(form.body).toContain('+33 6 12 34 56 78\n01 42 68 53 00</textarea>');
    const res = await as(t.app, admin).post(`/clients/${id}`, { name: 'Camille Durand-Petit', email: '', phones: '06 99 88 77 66', notes: '' });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe(`/clients/${id}`);
    const c = await getClient(t.deps.db, id);
    expect(c).toMatchObject({ name: 'Camille Durand-Petit', email: null, notes: null, phones: [{ raw: '06 99 88 77 66', normalized: '0699887766' }] });
  });

  it('answers 422 with the errors and keeps the values', async () => {
    const res = await as(t.app, admin).post('/clients', { name: 'Kept Name', email: 'not-an-email', phones: '06 12 34 56 78\n12', notes: 'kept notes' });
    expect(res.statusCode).toBe(422);
    expect(res.body).toContain('value="Kept Name"');
    expect(res.body).toContain('06 12 34 56 78\n12</textarea>');
    expect(res.body).toContain('kept notes</textarea>');
    expect(res.body).toContain('Enter a phone number with at least 5 digits.');
    expect(res.body).toContain('Enter a valid email address.');
    expect(await t.deps.db.selectFrom('clients').select('id').where('name', '=', 'Kept Name').execute()).toEqual([]);

    const noName = await as(t.app, admin).post(`/clients/${id}`, { name: '  ', phones: '' });
    expect(noName.statusCode).toBe(422);
    expect(noName.body).toContain('This field is required.');
    expect((await getClient(t.deps.db, id))!.name).toBe('Camille Durand-Petit');
  });

  it('shows French labels to a French employee', async () => {
    const res = await as(t.app, admin).get('/clients/new', { 'accept-language': 'fr-FR,fr;q=0.9' });
    expect(res.body).toContain('Nouveau client');
    expect(res.body).toContain('Numéros de téléphone');
  });

  it('404s an unknown or malformed id', async () => {
    expect((await as(t.app, admin).get('/clients/999999')).statusCode).toBe(404);
    expect((await as(t.app, admin).get('/clients/abc')).statusCode).toBe(404);
    expect((await as(t.app, admin).get('/clients/99999999999')).statusCode).toBe(404);
    expect((await as(t.app, admin).get('/clients/1e3')).statusCode).toBe(404);
    expect((await as(t.app, admin).post('/clients/999999', { name: 'x' })).statusCode).toBe(404);
  });
});

describe('clients: search and paging', () => {
  beforeAll(async () => {
    await createClient(t.deps.db, { name: 'Oliver Smith', email: 'oliver@example.co.uk', phones: ['+44 7700 900123'] });
    await createClient(t.deps.db, { name: 'Léa Moreau', phones: ['07 66 54 32 10', '+33 1 45 23 67 89'] });
    for (let i = 1; i <= 30; i++) await createClient(t.deps.db, { name: `Zz Paging ${String(i).padStart(2, '0')}`, phones: [`06 00 00 00 ${String(i).padStart(2, '0')}`] });
  });

  it('finds by name (case-insensitive) and by email', async () => {
    const res = await as(t.app, admin).get('/clients?q=oliver');
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/id="client-\d+"[^]*Oliver Smith/);
    expect(res.body).not.toContain('Léa Moreau');
    const byEmail = await as(t.app, admin).get('/clients?q=example.co.uk');
    expect(byEmail.body).toContain('Oliver Smith');
  });

  it('finds by a differently formatted phone number', async () => {
    const national = await as(t.app, admin).get('/clients?q=' + encodeURIComponent('07700 900123'));
    expect(national.body).toContain('Oliver Smith');
    const intl = await as(t.app, admin).get('/clients?q=' + encodeURIComponent('+33 7 66 54 32 10'));
    expect(intl.body).toContain('Léa Moreau');
    expect(intl.body).not.toContain('Oliver Smith');
    const partial = await as(t.app, admin).get('/clients?q=' + encodeURIComponent('45 23 67'));
    expect(partial.body).toContain('Léa Moreau');
  });

  it('says when nothing matches, escaping the query', async () => {
    const res = await as(t.app, admin).get('/clients?q=' + encodeURIComponent('<b>nobody</b>'));
    expect(res.body).toContain('id="clients-empty"');
    expect(res.body).toContain('&lt;b&gt;nobody&lt;/b&gt;');
    expect(res.body).not.toContain('<b>nobody</b>');
  });

  it('answers the htmx search with the results fragment and the page otherwise', async () => {
    const frag = await as(t.app, admin).get('/clients?q=oliver', { 'hx-request': 'true' });
    expect(frag.statusCode).toBe(200);
    expect(frag.headers.vary).toContain('HX-Request');
    expect(frag.body).not.toContain('<html');
    expect(frag.body).toContain('id="clients-table"');
    const page = await as(t.app, admin).get('/clients?q=oliver');
    expect(page.headers.vary).toContain('HX-Request');
    expect(page.body).toContain('<html');
    expect(page.body).toContain('hx-trigger="input changed delay:300ms, search"');
    expect(page.body).toContain('id="clients-results"');
  });

  it('pages 25 at a time with Next/Previous links', async () => {
    const p1 = await as(t.app, admin).get('/clients?q=Zz+Paging');
    expect(p1.body.match(/id="client-\d+"/g)).toHaveLength(25);
    expect(p1.body).toContain('href="/clients?q=Zz+Paging&amp;page=2"');
    expect(p1.body).not.toContain('rel="prev"');
    const p2 = await as(t.app, admin).get('/clients?q=Zz+Paging&page=2');
    expect(p2.body.match(/id="client-\d+"/g)).toHaveLength(5);
    expect(p2.body).toContain('Zz Paging 30');
    expect(p2.body).not.toContain('Zz Paging 25<');
    expect(p2.body).toContain('href="/clients?q=Zz+Paging"');
    expect(p2.body).not.toContain('rel="next"');
    const bogus = await as(t.app, admin).get('/clients?page=-3');
    expect(bogus.statusCode).toBe(200);
  });

  it('finds clients by phone for other features', async () => {
    const matches = await findClientsByPhone(t.deps.db, '+44 7700 900123');
    expect(matches.map((m) => m.name)).toEqual(['Oliver Smith']);
    expect(matches[0]).toMatchObject({ exact: true, phone: { raw: '+44 7700 900123', normalized: '+447700900123' } });
    const byTail = await findClientsByPhone(t.deps.db, '447700900123'); // a WhatsApp id
    expect(byTail).toMatchObject([{ name: 'Oliver Smith', exact: false }]);
    expect(await findClientsByPhone(t.deps.db, '+33 1 45 23 67 89')).toMatchObject([{ name: 'Léa Moreau', exact: true }]);
    expect(await findClientsByPhone(t.deps.db, '01 45 23 67 89')).toMatchObject([{ name: 'Léa Moreau', exact: false }]);
    expect(await findClientsByPhone(t.deps.db, '+33 1 45 23 67 80')).toEqual([]);
    expect(await findClientsByPhone(t.deps.db, 'hello')).toEqual([]);
  });
});
