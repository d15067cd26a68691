import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromiumAvailable, launchBrowser, logInAs, startBrowserApp, watchPage, type BrowserApp, type PageProblems } from '../browser-helpers.ts';
import { makeEmployee } from '../helpers.ts';
import { TestAdapter, leadWrites, makeTestChannel } from '../support/test-adapter.ts';
import { createClient } from '../../src/crm/clients.service.ts';

/**
 * Saved replies (#16 item 3) in Chromium under the real CSP: the employee saves a reply in
 * Settings › Saved replies, types `/pri` in a chat's composer, the list shows the matching reply,
 * and ArrowDown + Enter puts its text, `{client_name}` filled, in place of `/pri` (nothing sent).
 */
describe.skipIf(!chromiumAvailable)('saved replies in the composer', () => {
  let app: BrowserApp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: PageProblems;
  const adapter = new TestAdapter();
  let chatId: number;

  beforeAll(async () => {
    [app, browser] = await Promise.all([startBrowserApp({ adapters: [adapter] }), launchBrowser()]);
    const e = await makeEmployee(app.deps, { role: 'agent', email: 'agent@shop.test', name: 'Alice Agent' });
    const channel = await makeTestChannel(app.deps, { name: 'Shop Page', employees: [e.id] });
    const lead = await leadWrites(app.deps, channel, 'nadia', 'How much for a new screen?');
    chatId = lead.chatId!;
    const client = await createClient(app.deps.db, { name: 'Nadia Leroy', phones: [] });
    await app.deps.db.updateTable('chats').set({ client_id: client }).where('id', '=', chatId).execute();

    context = await browser.newContext({ locale: 'en-GB', viewport: { width: 1400, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    problems = await watchPage(page);
    await logInAs(page, app.baseUrl, e.email, '/settings/saved-replies');
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await app?.close();
  });

  it('types /pri, picks the reply with the keyboard, and gets its text filled for the chat', async () => {
    for (const [shortcut, text] of [
      ['price', 'Hello {client_name}, a new screen is 89 €.'],
      ['hours', 'We are open 9–18.'],
    ]) {
      await page.fill('#saved-reply-form input[name="shortcut"]', shortcut!);
      await page.fill('#saved-reply-form textarea[name="text"]', text!);
      await page.click('#saved-reply-form button[type="submit"]');
      await page.waitForSelector(`#saved-replies code:text("/${shortcut}")`);
    }

    await page.goto(`${app.baseUrl}/chats/${chatId}`);
    const box = page.locator(`#composer-${chatId} textarea`);
    await box.click();
    await box.type('Hi! /pri');
    const options = page.locator(`#saved-replies-${chatId} [role="option"]`);
    await options.first().waitFor();
    await expect(options.count()).resolves.toBe(1);
    await expect(options.first().innerText()).resolves.toContain('/price');
    await expect(box.getAttribute('aria-expanded')).resolves.toBe('true');

    await box.press('ArrowDown');
    await expect(options.first().getAttribute('aria-selected')).resolves.toBe('true');
    await box.press('Enter');
    await expect(box.inputValue()).resolves.toBe('Hi! Hello Nadia Leroy, a new screen is 89 €.');
    await expect(page.locator(`#saved-replies-${chatId}`).count()).resolves.toBe(0);
    expect(adapter.sent).toEqual([]); // Enter inserted, it did not send

    // Esc closes the list and keeps the text; a click inserts too.
    await box.type(' /ho');
    await options.first().waitFor();
    await box.press('Escape');
    await expect(page.locator(`#saved-replies-${chatId}`).count()).resolves.toBe(0);
    await expect(box.inputValue()).resolves.toBe('Hi! Hello Nadia Leroy, a new screen is 89 €. /ho');
    await box.type('u');
    await options.first().waitFor();
    await options.first().click();
    await expect(box.inputValue()).resolves.toBe('Hi! Hello Nadia Leroy, a new screen is 89 €. We are open 9–18.');
    await expect(box.evaluate((el) => el === document.activeElement)).resolves.toBe(true);

    // Enter, with the list closed, sends as before.
    await box.press('Enter');
    await page.waitForSelector(`#thread-messages-${chatId} [data-direction="out"][data-status="sent"]`);
    expect(adapter.sent.at(-1)?.text).toBe('Hi! Hello Nadia Leroy, a new screen is 89 €. We are open 9–18.');

    expect(problems.cspViolations).toEqual([]);
    expect(problems.errors).toEqual([]);
  });
});
