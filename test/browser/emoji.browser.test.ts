import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromiumAvailable, launchBrowser, logInAs, startBrowserApp, watchPage, type BrowserApp, type PageProblems } from '../browser-helpers.ts';
import { makeEmployee } from '../helpers.ts';
import { TestAdapter, leadWrites, makeTestChannel } from '../support/test-adapter.ts';

/**
 * Issue 16: the composer's emoji picker, by keyboard only, under the real CSP: Tab to the
 * button, Enter opens, Tab into the grid, arrows to 🔧, Enter inserts it at the caret (the
 * counter follows), Esc closes and gives focus back; the message is sent and shown.
 */
describe.skipIf(!chromiumAvailable)('the emoji picker, in Chromium', () => {
  let app: BrowserApp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: PageProblems;
  const adapter = new TestAdapter();
  let channelId: number;

  beforeAll(async () => {
    [app, browser] = await Promise.all([startBrowserApp({ adapters: [adapter] }), launchBrowser()]);
    await makeEmployee(app.deps, { role: 'agent', email: 'emoji@shop.test', name: 'Emma Emoji' });
    channelId = await makeTestChannel(app.deps, { name: 'Emoji Page' });
    context = await browser.newContext({ locale: 'en-GB' });
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    problems = await watchPage(page);
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await app?.close();
  });

  it('inserts 🔧 at the caret with the keyboard, closes with Esc, and sends it', { timeout: 60_000 }, async () => {
    const { chatId } = await leadWrites(app.deps, channelId, 'Paul Repair', 'Is my phone fixed?');
    await logInAs(page, app.baseUrl, 'emoji@shop.test', `/chats/${chatId}`);

    const form = `#composer-${chatId}`;
    const box = page.locator(`${form} textarea`);
    const toggle = page.locator(`${form} [data-emoji-toggle]`);
    await toggle.waitFor({ state: 'visible' }); // shown by emoji.js
    await expect(toggle.getAttribute('title')).resolves.toBe('Insert an emoji');

    await box.click();
    await box.type('Yes, merci');
    for (let i = 0; i < 'merci'.length; i++) await box.press('ArrowLeft'); // caret before "merci"

    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.hasAttribute('data-emoji-toggle'))).toBe(true);
    await page.keyboard.press('Enter');
    await expect(toggle.getAttribute('aria-expanded')).resolves.toBe('true');
    const picker = page.locator(`${form} .emoji-picker`);
    await picker.waitFor({ state: 'visible' });
    await expect(picker.locator('.emoji-picker__heading').allInnerTexts()).resolves.toEqual(['Smileys', 'Hands', 'Hearts', 'Devices and repairs', 'Symbols']);
    expect(await picker.locator('[data-emoji]').count()).toBe(120);

    await page.keyboard.press('Tab'); // into the grid: its first emoji
    const focused = () => page.evaluate(() => document.activeElement?.textContent);
    expect(await focused()).toBe('😀');
    // 🔧 is the 15th of "Devices and repairs", which starts on row 9 of 8 columns.
    for (let i = 0; i < 9; i++) await page.keyboard.press('ArrowDown');
    for (let i = 0; i < 6; i++) await page.keyboard.press('ArrowRight');
    expect(await focused()).toBe('🔧');
    await page.keyboard.press('Enter');

    await expect(box.inputValue()).resolves.toBe('Yes, 🔧merci');
    expect(await box.evaluate((el: HTMLTextAreaElement) => el.selectionStart)).toBe('Yes, 🔧'.length);
    await expect(page.locator(`${form} [data-counter]`).innerText()).resolves.toBe('11 / 1000');
    expect(await focused()).toBe('🔧'); // still in the grid: more can follow

    await page.keyboard.press('Escape');
    await picker.waitFor({ state: 'hidden' });
    await expect(toggle.getAttribute('aria-expanded')).resolves.toBe('false');
    expect(await page.evaluate(() => document.activeElement?.hasAttribute('data-emoji-toggle'))).toBe(true);

    await box.press('Enter');
    await page.waitForSelector(`#thread-messages-${chatId} [data-direction="out"][data-status="sent"]`);
    await expect(page.locator(`#thread-messages-${chatId} [data-direction="out"] .message__text`).innerText()).resolves.toBe('Yes, 🔧merci');
    expect(adapter.sent.at(-1)?.text).toBe('Yes, 🔧merci');

    expect(problems.cspViolations).toEqual([]);
    expect(problems.errors).toEqual([]);
  });
});
