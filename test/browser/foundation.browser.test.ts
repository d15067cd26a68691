import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromiumAvailable, launchBrowser, startBrowserApp, watchPage, type BrowserApp, type PageProblems } from '../browser-helpers.ts';

/**
 * The foundation through a real browser under the real CSP: first-run setup, logout, login,
 * creating clients, finding one with the search box, logout; with no CSP violation and no
 * console error anywhere on the way.
 */
describe.skipIf(!chromiumAvailable)('foundation in Chromium', () => {
  let app: BrowserApp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: PageProblems;

  beforeAll(async () => {
    [app, browser] = await Promise.all([startBrowserApp(), launchBrowser()]);
    context = await browser.newContext({ locale: 'en-GB' });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    problems = await watchPage(page);
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await app?.close();
  });

  const path = () => new URL(page.url()).pathname;
  const logOut = async () => {
    await page.locator('nav.sidenav form[action="/logout"] button[type="submit"]').click();
    await page.waitForURL((u) => u.pathname === '/login');
  };

  it('setup, logout, login, create clients, find one by search, logout', { timeout: 90_000 }, async () => {
    // First run: the root sends a fresh install to the setup page.
    await page.goto(app.baseUrl + '/');
    expect(path()).toBe('/setup');
    await page.fill('input[name="name"]', 'Olga Owner');
    await page.fill('input[name="email"]', 'olga@shop.test');
    await page.fill('input[name="password"]', 'supersecret-1');
    await page.click('form[action="/setup"] button[type="submit"]');
    await page.waitForURL((u) => u.pathname !== '/setup');
    await expect(page.locator('nav.sidenav').innerText()).resolves.toContain('Olga Owner');
    // The live stream is connected on every page with the side menu.
    await page.waitForFunction(() => (window as unknown as { parleyLive?: EventSource }).parleyLive?.readyState === 1);

    await logOut();
    await page.fill('input[name="email"]', 'olga@shop.test');
    await page.fill('input[name="password"]', 'supersecret-1');
    await page.click('form[action="/login"] button[type="submit"]');
    await page.waitForURL((u) => u.pathname !== '/login');
    await expect(page.locator('nav.sidenav').innerText()).resolves.toContain('Olga Owner');

    // Clients: through the side menu, then the list's New button.
    await page.click('nav.sidenav a[href="/clients"]');
    await page.waitForURL((u) => u.pathname === '/clients');
    for (const c of [
      { name: 'Zoé Lambert', phones: '+33 6 12 34 56 78\n01 23 45 67 89', email: 'zoe@example.test', notes: 'Prefers WhatsApp' },
      { name: 'Marc Dupont', phones: '+33 7 00 00 00 01', email: 'marc@example.test', notes: '' },
    ]) {
      await page.goto(app.baseUrl + '/clients');
      await page.click('a[href="/clients/new"]');
      await page.waitForURL((u) => u.pathname === '/clients/new');
      const form = page.locator('form[action="/clients"]');
      await form.locator('input[name="name"]').fill(c.name);
      await form.locator('textarea[name="phones"]').fill(c.phones);
      await form.locator('input[name="email"]').fill(c.email);
      await form.locator('textarea[name="notes"]').fill(c.notes);
      await form.locator('button[type="submit"]').click();
      await page.waitForURL((u) => u.pathname !== '/clients/new');
      expect(path()).toMatch(/^\/clients\/\d+$/);
      await expect(page.locator('main').innerText()).resolves.toContain(c.name);
    }

    // The list shows both; the search box narrows it as one types (htmx, URL pushed).
    await page.goto(app.baseUrl + '/clients');
    const results = page.locator('main');
    await results.getByText('Zoé Lambert').waitFor();
    await results.getByText('Marc Dupont').waitFor();
    await page.locator('form[role="search"] input[name="q"]').fill('Lambert');
    await results.getByText('Marc Dupont').waitFor({ state: 'detached' });
    await results.getByText('Zoé Lambert').waitFor();
    await page.waitForURL((u) => u.searchParams.get('q') === 'Lambert');
    // The pushed URL renders the same result cold.
    await page.reload();
    await results.getByText('Zoé Lambert').waitFor();
    expect(await results.getByText('Marc Dupont').count()).toBe(0);
    // By phone number too, as typed in another format.
    await page.locator('form[role="search"] input[name="q"]').fill('06 12 34 56 78');
    await results.getByText('Zoé Lambert').waitFor();

    await logOut();
    // Logged out for real: a protected page sends back to login.
    await page.goto(app.baseUrl + '/clients');
    expect(path()).toBe('/login');

    expect(problems.cspViolations).toEqual([]);
    expect(problems.errors).toEqual([]);
    expect(problems.failedRequests).toEqual([]);
  });
});
