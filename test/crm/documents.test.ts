import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, createTestApp, login, makeEmployee, usingPostgres, type Session, type TestApp } from '../helpers.ts';
import { createClient } from '../../src/crm/clients.service.ts';
import { createDocument, listClientDocuments, parseAmount } from '../../src/crm/documents.service.ts';

let t: TestApp;
let admin: Session;
let camille: number;
let oliver: number;

beforeAll(async () => {
  t = await createTestApp();
  const e = await makeEmployee(t.deps, { role: 'admin' });
  admin = await login(t.app, e.email);
  camille = await createClient(t.deps.db, { name: 'Camille Durand', phones: ['+33 6 12 34 56 78', '01 42 68 53 00'] });
  oliver = await createClient(t.deps.db, { name: 'Oliver Smith', phones: ['+44 7700 900123'] });
});
afterAll(async () => t?.close());

const docs = (kind: string) =>
  t.deps.db
    .selectFrom('documents')
    .select(['id', 'number', 'client_id', 'status', 'amount_cents', 'issued_on', 'due_on', 'notes'])
    .where('kind', '=', kind as never)
    .orderBy('id')
    .execute();

describe('amounts', () => {
  it.each([
    ['120', 12000],
    ['120.50', 12050],
    ['120,50', 12050],
    ['120,5', 12050],
    ['1 200,50', 120050],
    ['1\u202f200,50', 120050],
    ['€ 9.99', 999],
    ['0', 0],
  ])('%j → %d cents', (text, cents) => expect(parseAmount(text)).toBe(cents));

  it.each([['12.345'], ['-5'], ['abc'], ['1,200.50'], ['.5'], ['']])('%j is refused', (text) => expect(parseAmount(text)).toBeNull());
});

describe('orders: create, edit, list', () => {
  it('creates with an automatic number and parses the amount', async () => {
    const res = await as(t.app, admin).post('/orders', {
      number: '',
      client_id: String(camille),
      status: 'in_progress',
      amount: '120,50',
      issued_on: '2025-03-04',
      due_on: '',
      notes: 'Écran iPhone 13',
    });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/orders');
    const second = await as(t.app, admin).post('/orders', { client_id: String(oliver), amount: '99', issued_on: '2025-03-05' });
    expect(second.statusCode).toBe(303);
    expect(await docs('order')).toMatchObject([
      { number: 'O-0001', client_id: camille, status: 'in_progress', amount_cents: 12050, issued_on: '2025-03-04', due_on: null, notes: 'Écran iPhone 13' },
      { number: 'O-0002', client_id: oliver, status: 'new', amount_cents: 9900, issued_on: '2025-03-05' },
    ]);
    // Numbering is per kind.
    await as(t.app, admin).post('/invoices', { client_id: String(camille), amount: '10' });
    expect((await docs('invoice')).map((d) => d.number)).toEqual(['I-0001']);
  });

  it('lists newest first with the client name and phone partial, status translated', async () => {
    const res = await as(t.app, admin).get('/orders');
    expect(res.statusCode).toBe(200);
    const [o1, o2] = await docs('order');
    expect(res.body.indexOf(`id="document-${o2!.id}"`)).toBeLessThan(res.body.indexOf(`id="document-${o1!.id}"`));
    expect(res.body).toContain(`<a href="/clients/${camille}">Camille Durand</a>`);
    expect(res.body).toContain(`class="phone" data-phone="+33612345678" data-client-id="${camille}" tabindex="0">+33 6 12 34 56 78</span>`);
    expect(res.body).toContain('data-phone="+447700900123"');
    expect(res.body).not.toContain('data-phone="0142685300"'); // the first number only
    expect(res.body).toContain('In progress');
    expect(res.body).toContain('120.50');
    const fr = await as(t.app, admin).get('/orders', { 'accept-language': 'fr' });
    expect(fr.body).toContain('En cours');
    expect(fr.body).toMatch(/120,50/);
  });

  it('searches by number, client name and phone', async () => {
    const byNumber = await as(t.app, admin).get('/orders?q=O-0002');
    expect(byNumber.body).toContain('Oliver Smith');
    expect(byNumber.body).not.toContain('Camille Durand');
    const byName = await as(t.app, admin).get('/orders?q=camille');
    expect(byName.body).toContain('O-0001');
    expect(byName.body).not.toContain('O-0002');
    const byPhone = await as(t.app, admin).get('/orders?q=' + encodeURIComponent('06 12 34 56 78'));
    expect(byPhone.body).toContain('O-0001');
    expect(byPhone.body).not.toContain('O-0002');
    const frag = await as(t.app, admin).get('/orders?q=nobody', { 'hx-request': 'true' });
    expect(frag.body).not.toContain('<html');
    expect(frag.body).toContain('id="documents-empty"');
  });

  it('edits a document; a blank number keeps the current one', async () => {
    const [o1] = await docs('order');
    const form = await as(t.app, admin).get(`/orders/${o1!.id}/edit`);
    expect(form.statusCode).toBe(200);
    expect(form.body).toContain('value="O-0001"');
    expect(form.body).toContain('value="120.50"');
    expect(form.body).toContain(`<option value="${camille}" selected>Camille Durand</option>`);
    const res = await as(t.app, admin).post(`/orders/${o1!.id}`, {
      number: '',
      client_id: String(oliver),
      status: 'ready',
      amount: '130',
      issued_on: '2025-03-04',
      due_on: '2025-04-01',
      notes: '',
    });
    expect(res.statusCode).toBe(303);
    expect((await docs('order'))[0]).toMatchObject({ number: 'O-0001', client_id: oliver, status: 'ready', amount_cents: 13000, due_on: '2025-04-01', notes: null });
    // Renumbering onto a taken number is refused.
    const clash = await as(t.app, admin).post(`/orders/${o1!.id}`, { number: 'O-0002', status: 'ready', amount: '130', issued_on: '2025-03-04' });
    expect(clash.statusCode).toBe(422);
    expect(clash.body).toContain('This number is already used.');
    // An order is not reachable under another kind's URL.
    expect((await as(t.app, admin).get(`/invoices/${o1!.id}/edit`)).statusCode).toBe(404);
  });

  it('answers 422 for bad input and keeps the values', async () => {
    const before = (await docs('order')).length;
    const res = await as(t.app, admin).post('/orders', {
      number: 'O-0001',
      client_id: String(camille),
      status: 'won',
      amount: '12.345',
      issued_on: '2025-02-30',
      notes: 'kept <notes>',
    });
    expect(res.statusCode).toBe(422);
    expect(res.body).toContain('Enter an amount such as 120 or 120.50.');
    expect(res.body).toContain('Enter a date as YYYY-MM-DD.');
    expect(res.body).toContain('Choose one of the options.');
    expect(res.body).toContain('value="12.345"');
    expect(res.body).toContain('kept &lt;notes&gt;</textarea>');
    expect(res.body).toContain(`<option value="${camille}" selected>`);
    const taken = await as(t.app, admin).post('/orders', { number: 'O-0001', amount: '1' });
    expect(taken.statusCode).toBe(422);
    expect(taken.body).toContain('This number is already used.');
    const ghost = await as(t.app, admin).post('/orders', { client_id: '999999', amount: '1' });
    expect(ghost.statusCode).toBe(422);
    expect(ghost.body).toContain('Choose an existing client.');
    const huge = await as(t.app, admin).post('/orders', { client_id: '99999999999', amount: '1' });
    expect(huge.statusCode).toBe(422);
    expect(huge.body).toContain('Choose an existing client.');
    expect((await docs('order')).length).toBe(before);
  });

  it('prefills the client from ?client_id= and filters the picker', async () => {
    const res = await as(t.app, admin).get(`/orders/new?client_id=${oliver}`);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain(`<option value="${oliver}" selected>Oliver Smith</option>`);
    expect(res.body).toContain(`<option value="${camille}">Camille Durand</option>`);
    expect(res.body).toMatch(/<option value="new" selected>New<\/option>/);
    const opts = await as(t.app, admin).get(`/orders/client-options?client_q=camille&client_id=${oliver}`, { 'hx-request': 'true' });
    expect(opts.statusCode).toBe(200);
    expect(opts.body).toContain(`<option value="${camille}">Camille Durand</option>`);
    expect(opts.body).toContain(`<option value="${oliver}" selected>Oliver Smith</option>`); // the current choice stays
    // Without JS, Enter in the filter reloads the form with the list narrowed.
    const noJs = await as(t.app, admin).get('/orders/new?client_q=oliver');
    expect(noJs.body).toContain('value="oliver"');
    expect(noJs.body).toContain('Oliver Smith</option>');
    expect(noJs.body).not.toContain('Camille Durand</option>');
    const byPhone = await as(t.app, admin).get('/orders/client-options?client_q=' + encodeURIComponent('07700 900123'));
    expect(byPhone.body).toContain('Oliver Smith');
    expect(byPhone.body).not.toContain('Camille');
  });

  it('lists a client’s documents on the card, newest first, with links', async () => {
    await createDocument(t.deps.db, { kind: 'estimate', clientId: oliver, amountCents: 5000, issuedOn: '2025-05-01' });
    const list = await listClientDocuments(t.deps.db, oliver);
    expect(list.map((d) => d.number)).toEqual(['E-0001', 'O-0002', 'O-0001']);
    const card = await as(t.app, admin).get(`/clients/${oliver}`);
    expect(card.body).toContain(`href="/estimates/${list[0]!.id}/edit">E-0001</a>`);
    expect(card.body).toContain(`href="/orders/new?client_id=${oliver}"`);
  });
});

describe('createDocument (service for other features)', () => {
  it('numbers concurrent creations without clashes', async () => {
    const created = await Promise.all(Array.from({ length: 8 }, () => createDocument(t.deps.db, { kind: 'lead', clientId: camille })));
    expect(created.map((c) => c.number).sort()).toEqual(['L-0001', 'L-0002', 'L-0003', 'L-0004', 'L-0005', 'L-0006', 'L-0007', 'L-0008']);
    const rows = await docs('lead');
    expect(rows.every((r) => r.status === 'new' && r.amount_cents === 0)).toBe(true);
  });

  it('skips hand-typed numbers of another shape and continues after the highest', async () => {
    await createDocument(t.deps.db, { kind: 'estimate', number: 'E-0041' });
    await createDocument(t.deps.db, { kind: 'estimate', number: 'devis 2025/7' });
    expect((await createDocument(t.deps.db, { kind: 'estimate' })).number).toBe('E-0042');
  });

  it('works inside the caller’s transaction, even after a number clash', async () => {
    const r = await t.deps.db.transaction().execute(async (trx) => {
      await createDocument(trx, { kind: 'invoice', number: 'I-0001' }).catch((e: Error) => e.name);
      return createDocument(trx, { kind: 'invoice', clientId: oliver, amountCents: 100 });
    });
    expect(r.number).toBe('I-0002');
  });

  it.runIf(usingPostgres)('retries when a concurrent transaction takes the number first', async () => {
    // The transaction takes the next order number and holds it uncommitted; a second creator
    // computes the same number, waits on the unique index, finds it taken, and moves on.
    const { first, other } = await t.deps.db.transaction().execute(async (trx) => {
      const first = await createDocument(trx, { kind: 'order' });
      const other = createDocument(t.deps.db, { kind: 'order' });
      await new Promise((r) => setTimeout(r, 150));
      return { first, other };
    });
    const second = await other;
    expect(first.number).toBe('O-0003');
    expect(second.number).toBe('O-0004');
  });
});
