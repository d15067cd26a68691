import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import * as OTPAuth from 'otpauth';
import { makeEmployee } from '../helpers.ts';
import { chromiumAvailable, launchBrowser, logInAs, startBrowserApp, watchPage, type BrowserApp, type PageProblems } from '../browser-helpers.ts';

/**
 * Two-factor sign-in in Chromium under the real CSP: the QR code (an SVG data: URI drawn on the
 * server) loads, the set-up is confirmed with a code computed from the key shown, the recovery
 * codes appear once, and the next login asks for a code; no CSP violation or console error.
 */
describe.skipIf(!chromiumAvailable)('two-factor sign-in in Chromium', () => {
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

  it('turn on with the QR code page, then log in with a code', { timeout: 90_000 }, async () => {
    const e = await makeEmployee(app.deps, { email: 'browser-2fa@shop.test' });
    await logInAs(page, app.baseUrl, e.email, '/settings/profile');
    await page.click('nav.tabs a[href="/settings/two-factor"]');
    await page.waitForURL((u) => u.pathname === '/settings/two-factor');
    await page.click('#two-factor-start button[type="submit"]');
    await page.waitForSelector('#two-factor-qr');
    // The image decoded under the page's CSP (img-src data:).
    const width = await page.locator('#two-factor-qr').evaluate((img: HTMLImageElement) => (img.complete ? img.naturalWidth : 0));
    expect(width).toBeGreaterThan(0);

    const secret = (await page.locator('#two-factor-secret').innerText()).trim();
    const totp = new OTPAuth.TOTP({ algorithm: 'SHA1', digits: 6, period: 30, secret: OTPAuth.Secret.fromBase32(secret) });
    await page.fill('#two-factor-confirm input[name="code"]', totp.generate());
    await page.click('#two-factor-confirm button[type="submit"]');
    await page.waitForSelector('#two-factor-codes');
    expect(await page.locator('[data-recovery-code]').count()).toBe(10);

    await page.locator('nav.sidenav form[action="/logout"] button[type="submit"]').click();
    await page.waitForURL((u) => u.pathname === '/login');
    await page.fill('input[name="email"]', e.email);
    await page.fill('input[name="password"]', e.password);
    await page.click('form[action="/login"] button[type="submit"]');
    await page.waitForURL((u) => u.pathname === '/login/two-factor');
    // The set-up spent this step's code: the next step's is accepted too (one step either side).
    await page.fill('#two-factor-login-form input[name="code"]', totp.generate({ timestamp: Date.now() + 30_000 }));
    await page.click('#two-factor-login-form button[type="submit"]');
    await page.waitForURL((u) => u.pathname !== '/login/two-factor');
    await expect(page.locator('nav.sidenav').innerText()).resolves.toContain('browser-2fa');

    expect(problems.cspViolations).toEqual([]);
    expect(problems.errors).toEqual([]);
    expect(problems.failedRequests).toEqual([]);
  });
});
