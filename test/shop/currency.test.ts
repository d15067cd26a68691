import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, createTestApp, login, makeEmployee, tempDir, type Session, type TestApp } from '../helpers.ts';
import { loadConfig } from '../../src/config.ts';
import { createClient } from '../../src/crm/clients.service.ts';
import { createDocument } from '../../src/crm/documents.service.ts';
import { readSetting } from '../../src/platform/app-settings.repository.ts';
import { renderPartial } from '../../src/platform/views.ts';
import { currencyForLocale, SHOP_SETTINGS_KEY, ShopCurrency } from '../../src/shop/currency.ts';
import type { Db } from '../../src/db/database.ts';

/** Settings › Shop: the currency every amount is shown in (issue 16, item 6). */
// French separates thousands with U+202F and puts U+00A0 before the symbol.
const FR = (s: string) => s.replaceAll(' ', '\u202f').replace(/\u202f(\S+)$/, '\u00a0$1');

describe('the default currency follows the locale', () => {
  it.each([
    ['fr', 'EUR'],
    ['fr-FR', 'EUR'],
    ['fr-CH', 'CHF'],
    ['fr-CA', 'CAD'],
    ['de-AT', 'EUR'],
    ['en', 'USD'],
    ['en-US', 'USD'],
    ['en-GB', 'GBP'],
    ['uk', 'UAH'],
    ['pl-PL', 'PLN'],
    ['pt-BR', 'USD'], // a currency not offered
  ])('%s → %s', (tag, code) => expect(currencyForLocale(tag)).toBe(code));

  it('reads the server locale from LC_ALL, LC_MONETARY, then LANG', () => {
    const dir = tempDir('parley-locale-');
    const cfg = (env: Record<string, string>) => loadConfig({ DATA_DIR: dir, SECRET_KEY: 'k'.repeat(40), ...env }).locale;
    try {
      expect(cfg({})).toBe('en-US');
      expect(cfg({ LANG: 'fr_FR.UTF-8' })).toBe('fr-FR');
      expect(cfg({ LANG: 'fr_FR.UTF-8', LC_MONETARY: 'de_CH.UTF-8' })).toBe('de-CH');
      expect(cfg({ LANG: 'fr_FR.UTF-8', LC_MONETARY: 'de_CH.UTF-8', LC_ALL: 'en_GB.UTF-8' })).toBe('en-GB');
      expect(cfg({ LANG: 'C.UTF-8' })).toBe('en-US');
      expect(cfg({ LANG: 'fr_FR.ISO-8859-15@euro' })).toBe('fr-FR');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Settings › Shop', () => {
  let t: TestApp;
  let admin: Session;
  let agent: Session;
  let clientId: number;

  beforeAll(async () => {
    // The server's locale says France: euros until an admin chooses otherwise.
    t = await createTestApp({ env: { LANG: 'fr_FR.UTF-8' } });
    admin = await login(t.app, (await makeEmployee(t.deps, { role: 'admin' })).email);
    agent = await login(t.app, (await makeEmployee(t.deps, { role: 'agent' })).email);
    clientId = await createClient(t.deps.db, { name: 'Camille Durand', phones: ['+33 6 12 34 56 78'] });
    await createDocument(t.deps.db, { kind: 'order', clientId, amountCents: 123450, issuedOn: '2025-03-04' });
  });
  afterAll(async () => t?.close());

  const orders = async (lang: 'en' | 'fr') => (await as(t.app, admin).get('/orders', { 'accept-language': lang })).body;
  const saved = () => readSetting<{ currency?: string | null }>(t.deps.db, SHOP_SETTINGS_KEY);

  it('shows amounts in the default currency and says where it comes from', async () => {
    expect(await orders('fr')).toContain(FR('1 234,50 €'));
    expect(await orders('en')).toContain('€1,234.50');
    const page = await as(t.app, admin).get('/settings/shop');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('data-currency="EUR" data-source="default"');
    expect(page.body).toContain('the default, from the server’s locale (fr-FR)');
    expect(page.body).toContain('<option value="">Default: Euro (EUR), from the server’s locale (fr-FR)</option>');
    const fr = await as(t.app, admin).get('/settings/shop', { 'accept-language': 'fr' });
    expect(fr.body).toContain('par défaut, d’après les paramètres régionaux du serveur (fr-FR)');
    expect(fr.body).toContain('href="/settings/shop" aria-current="page"');
  });

  it('saving a currency changes every amount at once, in both languages', async () => {
    const res = await as(t.app, admin).post('/settings/shop', { currency: 'USD' });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/settings/shop?saved=1');
    expect(await saved()).toEqual({ currency: 'USD' });
    expect(await orders('en')).toContain('$1,234.50');
    expect(await orders('fr')).toContain(FR('1 234,50 $'));
    expect((await as(t.app, admin).get('/orders/new')).body).toContain('Amount (USD)');
    const card = await as(t.app, admin).get(`/clients/${clientId}`, { 'accept-language': 'fr' });
    expect(card.body).toContain(FR('1 234,50 $'));
    // The chat's details panel renders its documents outside a request too (live pushes).
    const doc = { id: 1, kind: 'order', number: 'O-0001', editUrl: '/orders/1/edit', kindKey: 'doc.kind.order', statusKey: 'doc.status.new', issuedOn: '2025-03-04', amountCents: 123450 };
    expect(renderPartial(t.deps.eta, '/chats/clients/_client_documents', 'en', { documents: [doc], chatId: 1 })).toContain('$1,234.50');
    const page = await as(t.app, admin).get('/settings/shop?saved=1');
    expect(page.body).toContain('Shop settings saved.');
    expect(page.body).toContain('data-currency="USD" data-source="settings"');
    expect(page.body).toContain('<option value="USD" selected>');

    await as(t.app, admin).post('/settings/shop', { currency: 'GBP' });
    expect(await orders('en')).toContain('£1,234.50');
  });

  it('refuses a code that is not offered with a 422, the form kept and nothing saved', async () => {
    const before = await saved();
    for (const currency of ['XYZ', 'eur<script>', 'BTC']) {
      const res = await as(t.app, admin).post('/settings/shop', { currency });
      expect(res.statusCode).toBe(422);
      expect(res.body).toContain('id="shop-form"');
      expect(res.body).toContain('Choose a currency from the list.');
      expect(res.body).not.toContain('<script>');
    }
    const fr = await as(t.app, admin).post('/settings/shop', { currency: 'XYZ' }, { headers: { 'accept-language': 'fr' } });
    expect(fr.body).toContain('Choisissez une devise dans la liste.');
    expect(await saved()).toEqual(before);
    expect(await orders('en')).toContain('£1,234.50');
  });

  it('is for admins only', async () => {
    const before = await saved();
    expect((await as(t.app, agent).get('/settings/shop')).statusCode).toBe(403);
    expect((await as(t.app, agent).post('/settings/shop', { currency: 'CHF' })).statusCode).toBe(403);
    expect((await as(t.app, null).get('/settings/shop')).statusCode).toBe(303);
    expect(await saved()).toEqual(before);
    expect((await as(t.app, agent).get('/settings/profile')).body).not.toContain('href="/settings/shop"');
  });

  it('the empty choice goes back to the default', async () => {
    await as(t.app, admin).post('/settings/shop', { currency: '' });
    expect(await saved()).toEqual({ currency: null });
    expect(await orders('fr')).toContain(FR('1 234,50 €'));
  });

  it('is read from memory; another process sees a save within the TTL', async () => {
    let now = 1_000_000;
    let reads = 0;
    // Counts the statements the cache runs (readSetting goes through selectFrom).
    const counted = new Proxy(t.deps.db, {
      get(target, prop) {
        if (prop === 'selectFrom') reads++;
        const v = Reflect.get(target, prop) as unknown;
        return typeof v === 'function' ? v.bind(target) : v;
      },
    }) as Db;
    const other = new ShopCurrency(counted, 'fr-FR', t.deps.logger, 30_000, () => now);
    await other.refresh();
    expect(reads).toBe(1);
    expect(other.current()).toBe('EUR');
    const after = reads;
    for (let i = 0; i < 100; i++) other.current();
    expect(reads).toBe(after); // no statement per render

    await t.deps.currency.save('CHF'); // "this" process: applies at once
    expect(t.deps.currency.current()).toBe('CHF');
    expect(other.current()).toBe('EUR'); // the other process, within its TTL
    now += 30_001;
    expect(other.current()).toBe('EUR'); // stale: answered at once, refreshed in the background
    await other.settle();
    expect(other.current()).toBe('CHF');
    expect(reads).toBe(after + 1);
  });
});
