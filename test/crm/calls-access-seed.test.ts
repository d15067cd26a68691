import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, createTestApp, login, makeEmployee, type Session, type TestApp } from '../helpers.ts';
import { insertCall } from '../../src/crm/calls.repository.ts';
import { createClient } from '../../src/crm/clients.service.ts';
import { createDocument } from '../../src/crm/documents.service.ts';
import { normalizePhone } from '../../src/crm/phone.ts';
import { seedDemo } from '../../src/crm/seed.ts';

let t: TestApp;
let admin: Session;
let counter: Session; // a role without orders, estimates, invoices or calls

const XSS_NAME = '<script>alert(1)</script>';
const XSS_NOTES = '"><img src=x onerror=alert(1)>';

beforeAll(async () => {
  t = await createTestApp();
  admin = await login(t.app, (await makeEmployee(t.deps, { role: 'admin' })).email);
  counter = await login(t.app, (await makeEmployee(t.deps, { role: 'Counter', permissions: ['clients', 'leads'] })).email);
});
afterAll(async () => t?.close());

const count = async (table: 'clients' | 'documents' | 'calls') =>
  Number(
    (
      await t.deps.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

describe('seed', () => {
  it('fills an empty database, deterministically', async () => {
    const now = new Date('2025-06-15T10:00:00Z');
    const summary = await seedDemo(t.deps.db, { force: false, now });
    expect(summary).toMatch(/^Demo data added: 25 clients, 40 documents \(8 leads, 14 orders, 9 estimates, 9 invoices\), 30 calls \(\d+ from unknown numbers\)\.$/);
    expect(summary.split('\n')).toHaveLength(1);
    expect(await count('clients')).toBe(25);
    expect(await count('documents')).toBe(40);
    expect(await count('calls')).toBe(30);
    const twoPhones = await t.deps.db
      .selectFrom('client_phones')
      .select('client_id')
      .groupBy('client_id')
      .having((eb) => eb.fn.countAll(), '>=', 2)
      .execute();
    expect(twoPhones.length).toBeGreaterThanOrEqual(5);
    const unknown = await t.deps.db.selectFrom('calls').select('id').where('client_id', 'is', null).execute();
    expect(unknown.length).toBeGreaterThan(0);
    const orphanDocs = await t.deps.db.selectFrom('documents').select('id').where('client_id', 'is', null).execute();
    expect(orphanDocs.length).toBeLessThan(5);
    // Every stored phone is the normalization of its raw form.
    for (const p of await t.deps.db.selectFrom('client_phones').select(['raw', 'normalized']).execute()) expect(normalizePhone(p.raw)).toBe(p.normalized);
    for (const c of await t.deps.db.selectFrom('calls').select(['phone', 'phone_normalized']).execute()) expect(normalizePhone(c.phone)).toBe(c.phone_normalized);
  });

  it('refuses a database that already has CRM data, and adds next to it with force', async () => {
    await expect(seedDemo(t.deps.db, { force: false })).rejects.toThrow(/already has CRM data.*--force/);
    expect(await count('clients')).toBe(25);
    const snapshot = await t.deps.db.selectFrom('documents').select(['number', 'status', 'amount_cents', 'notes']).orderBy('id').execute();
    const summary = await seedDemo(t.deps.db, { force: true, now: new Date('2025-06-15T10:00:00Z') });
    expect(summary).toContain('25 clients');
    expect(await count('clients')).toBe(50);
    expect(await count('documents')).toBe(80);
    expect(await count('calls')).toBe(60);
    // Same generator, same data: the second batch repeats the first, numbered after it.
    const second = await t.deps.db.selectFrom('documents').select(['number', 'status', 'amount_cents', 'notes']).orderBy('id').offset(40).limit(40).execute();
    expect(second.map((d) => [d.status, d.amount_cents, d.notes])).toEqual(snapshot.map((d) => [d.status, d.amount_cents, d.notes]));
    expect(second[0]!.number).toBe('L-0009');
  });
});

describe('calls', () => {
  it('lists calls newest first with direction, phone partial, linked client and duration', async () => {
    const client = await createClient(t.deps.db, { name: 'Zoé Caller', phones: ['06 98 98 98 98'] });
    const late = new Date(Date.now() + 60_000); // newer than every seeded call
    const known = await insertCall(t.deps.db, { direction: 'in', phone: '+33 6 98 98 98 98', phoneNormalized: '+33698989898', clientId: client, startedAt: late, durationSeconds: 125 });
    const unknown = await insertCall(t.deps.db, {
      direction: 'missed',
      phone: '01 02 03 04 05',
      phoneNormalized: '0102030405',
      clientId: null,
      startedAt: new Date(late.getTime() + 1000),
      durationSeconds: 0,
    });
    const res = await as(t.app, admin).get('/calls');
    expect(res.statusCode).toBe(200);
    expect(res.body.match(/id="call-\d+"/g)).toHaveLength(25);
    expect(res.body.indexOf(`id="call-${unknown}"`)).toBeLessThan(res.body.indexOf(`id="call-${known}"`));
    expect(res.body).toContain(`<span class="phone" data-phone="+33698989898" data-client-id="${client}" tabindex="0">+33 6 98 98 98 98</span>`);
    expect(res.body).toContain('<span class="phone" data-phone="0102030405" tabindex="0">01 02 03 04 05</span>');
    expect(res.body).toContain(`<a href="/clients/${client}">Zoé Caller</a>`);
    expect(res.body).toContain('Unknown number');
    expect(res.body).toContain('Missed');
    expect(res.body).toContain('2:05');
    expect(res.body).toContain('href="/calls?page=2"');
    const fr = await as(t.app, admin).get('/calls', { 'accept-language': 'fr' });
    expect(fr.body).toContain('Manqué');
    expect(fr.body).toContain('Numéro inconnu');
    const card = await as(t.app, admin).get(`/clients/${client}`);
    expect(card.body).toContain(`id="call-${known}"`);
    expect(card.body).not.toContain(`id="call-${unknown}"`);
  });
});

describe('access', () => {
  it('sends anonymous visitors to the login page', async () => {
    for (const url of ['/clients', '/clients/1', '/clients/new', '/orders', '/orders/new', '/leads', '/estimates', '/invoices', '/calls']) {
      const res = await as(t.app, null).get(url);
      expect(res.statusCode, url).toBe(303);
      expect(res.headers.location, url).toBe(`/login?next=${encodeURIComponent(url)}`);
    }
  });

  it('forbids kinds the role does not grant (403), pages and forms alike', async () => {
    for (const url of ['/orders', '/orders/new', '/orders/client-options', '/estimates', '/invoices', '/calls']) {
      expect((await as(t.app, counter).get(url)).statusCode, url).toBe(403);
    }
    const before = await count('documents');
    expect((await as(t.app, counter).post('/orders', { amount: '10' })).statusCode).toBe(403);
    expect(await count('documents')).toBe(before);
    expect((await as(t.app, counter).get('/leads')).statusCode).toBe(200);
    expect((await as(t.app, counter).get('/clients')).statusCode).toBe(200);
  });

  it('shows on the card only the document kinds the role may see, and no calls', async () => {
    const c = await createClient(t.deps.db, { name: 'Access Card', phones: ['06 77 77 77 77'] });
    const order = await createDocument(t.deps.db, { kind: 'order', clientId: c, amountCents: 100 });
    const lead = await createDocument(t.deps.db, { kind: 'lead', clientId: c });
    const asCounter = await as(t.app, counter).get(`/clients/${c}`);
    expect(asCounter.statusCode).toBe(200);
    expect(asCounter.body).toContain(`id="document-${lead.id}"`);
    expect(asCounter.body).not.toContain(`id="document-${order.id}"`);
    expect(asCounter.body).not.toContain('/orders/new');
    expect(asCounter.body).not.toContain('id="client-calls"');
    const asAdmin = await as(t.app, admin).get(`/clients/${c}`);
    expect(asAdmin.body).toContain(`id="document-${order.id}"`);
    expect(asAdmin.body).toContain('id="client-calls"');
  });

  it('refuses a POST without the CSRF token and creates nothing', async () => {
    const before = await count('clients');
    const res = await as(t.app, admin).post('/clients', { name: 'No Token', phones: '06 12 12 12 12' }, { csrf: false });
    expect(res.statusCode).toBe(403);
    const wrong = await as(t.app, admin).post('/clients', { name: 'No Token', _csrf: 'forged' }, { csrf: false });
    expect(wrong.statusCode).toBe(403);
    const doc = await as(t.app, admin).post('/orders', { amount: '1' }, { csrf: false });
    expect(doc.statusCode).toBe(403);
    expect(await count('clients')).toBe(before);
  });

  it('declares an access rule on every CRM route', () => {
    const crm = t.app.routeTable.filter((r) => /^\/(clients|leads|orders|estimates|invoices|calls)(\/|$)/.test(r.url));
    expect(crm.length).toBeGreaterThanOrEqual(6 + 4 * 6 + 1);
    for (const r of crm) {
      const section = r.url.split('/')[1];
      expect(r.access, `${r.method} ${r.url}`).toBe(section);
    }
  });
});

describe('hostile text is escaped everywhere', () => {
  it('renders names, notes and numbers as text', async () => {
    const res = await as(t.app, admin).post('/clients', { name: XSS_NAME, phones: '+33 6 55 55 55 55', notes: XSS_NOTES, email: '' });
    expect(res.statusCode).toBe(303);
    const id = Number(String(res.headers.location).split('/').pop());
    await as(t.app, admin).post('/orders', { number: XSS_NOTES.slice(0, 30), client_id: String(id), amount: '1', notes: XSS_NOTES });
    await insertCall(t.deps.db, { direction: 'in', phone: XSS_NAME + ' 0655555555', phoneNormalized: '0655555555', clientId: id, startedAt: new Date(Date.now() + 3_600_000), durationSeconds: 1 });
    const pages = [
      await as(t.app, admin).get(`/clients/${id}`),
      await as(t.app, admin).get('/clients?q=' + encodeURIComponent('<script>')),
      await as(t.app, admin).get('/orders'),
      await as(t.app, admin).get('/calls'),
      await as(t.app, admin).get(`/clients/${id}/edit`),
      await as(t.app, admin).get(`/orders/new?client_id=${id}`),
      await as(t.app, admin).post('/clients', { name: XSS_NAME, phones: XSS_NOTES }),
    ];
    for (const page of pages) {
      expect(page.body).not.toContain('<script>alert(1)</script>');
      expect(page.body).not.toContain('<img src=x');
      expect(page.body).toMatch(/&lt;script&gt;alert\(1\)&lt;\/script&gt;|&quot;&gt;&lt;img src=x onerror=alert\(1\)&gt;/);
    }
    expect(pages[0]!.body).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
    expect(pages[2]!.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });
});
