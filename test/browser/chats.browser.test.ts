import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromiumAvailable, launchBrowser, logInAs, startBrowserApp, watchPage, type BrowserApp, type PageProblems } from '../browser-helpers.ts';
import { makeEmployee } from '../helpers.ts';
import { TestAdapter, leadWrites, makeTestChannel } from '../support/test-adapter.ts';

/**
 * Issue #4's scenario in a real browser under the real CSP: two employees are logged in; a
 * lead writes; the second employee sees the red dot and the new message without a reload and
 * opens it (blue turns grey for both; the dot stays while unanswered), answers with Enter (the
 * dot clears for both), and a Shift+Enter line break survives.
 */
describe.skipIf(!chromiumAvailable)('the Chats page, live, for two employees', () => {
  let app: BrowserApp;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const problems: PageProblems[] = [];
  const adapter = new TestAdapter();
  let channelId: number;

  beforeAll(async () => {
    [app, browser] = await Promise.all([startBrowserApp({ adapters: [adapter] }), launchBrowser()]);
    await makeEmployee(app.deps, { role: 'agent', email: 'first@shop.test', name: 'First Agent' });
    await makeEmployee(app.deps, { role: 'agent', email: 'second@shop.test', name: 'Second Agent' });
    channelId = await makeTestChannel(app.deps, { name: 'Shop Page' });
  });
  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await app?.close();
  });

  async function loggedIn(email: string, path: string): Promise<Page> {
    const context = await browser.newContext({ locale: 'en-GB' });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    problems.push(await watchPage(page));
    await logInAs(page, app.baseUrl, email, path, { live: true });
    return page;
  }

  const dot = (page: Page) => page.locator('#nav-chats').getAttribute('data-red-dot');

  it('red dot, live message, blue → grey → answered, Enter and Shift+Enter', { timeout: 60_000 }, async () => {
    const first = await loggedIn('first@shop.test', '/chats');
    const second = await loggedIn('second@shop.test', '/clients'); // on another page of the CRM
    expect(await dot(first)).toBe('false');
    expect(await dot(second)).toBe('false');

    const { chatId } = await leadWrites(app.deps, channelId, 'Nadia Leroy', 'Bonjour, mon écran est cassé');
    const item = `#chat-${chatId}`;
    // Live, without a reload: the dot on every page, the chat at the top of the list.
    await second.waitForFunction(() => document.getElementById('nav-chats')?.getAttribute('data-red-dot') === 'true');
    await first.waitForSelector(`${item}[data-indicator="unread"]`);
    await expect(first.locator(`${item} .chat-item__preview`).innerText()).resolves.toContain('mon écran est cassé');

    // The second employee goes to Chats and opens it: grey for both, the dot stays.
    await second.click('nav.sidenav a[href="/chats"]');
    await second.waitForURL((u) => u.pathname === '/chats');
    await second.click(`${item} a`);
    await second.waitForSelector(`#thread-messages-${chatId} [data-direction="in"]`);
    await first.waitForSelector(`${item}[data-indicator="unanswered"]`);
    await second.waitForSelector(`${item}[data-indicator="unanswered"]`);
    expect(await dot(first)).toBe('true');
    expect(await dot(second)).toBe('true');

    // Answer with Enter; Shift+Enter makes a line break that survives.
    const composer = second.locator(`#composer-${chatId} textarea`);
    await composer.click();
    await composer.type('Bonjour Nadia !');
    await composer.press('Shift+Enter');
    await composer.type('Passez cet après-midi.');
    await expect(second.locator(`#composer-${chatId} [data-counter]`).innerText()).resolves.toContain('38 / 1000');
    await composer.press('Enter');
    await second.waitForSelector(`#thread-messages-${chatId} [data-direction="out"]`);
    await second.waitForSelector(`#thread-messages-${chatId} [data-direction="out"][data-status="sent"]`);
    const text = await second.locator(`#thread-messages-${chatId} [data-direction="out"] .message__text`).innerText();
    expect(text).toBe('Bonjour Nadia !\nPassez cet après-midi.');
    expect(adapter.sent.at(-1)?.text).toBe('Bonjour Nadia !\nPassez cet après-midi.');
    // The composer is fresh and ready for the next message.
    await expect(second.locator(`#composer-${chatId} textarea`).inputValue()).resolves.toBe('');

    // Answered: no indicator, the dot clears for both, live.
    await first.waitForSelector(`${item}[data-indicator="none"]`);
    await first.waitForFunction(() => document.getElementById('nav-chats')?.getAttribute('data-red-dot') === 'false');
    await second.waitForFunction(() => document.getElementById('nav-chats')?.getAttribute('data-red-dot') === 'false');

    // The first employee sees the answer in the thread too when opening it.
    await first.click(`${item} a`);
    await first.waitForSelector(`#thread-messages-${chatId} [data-direction="out"]`);

    // Archive from the header; the lead writes again and it comes back open.
    await first.click(`#chat-header-${chatId} [data-action="archive"]`);
    await first.waitForSelector(`#chat-header-${chatId}[data-chat-status="archived"]`);
    await expect(first.locator(`#chat-header-${chatId}`).innerText()).resolves.toContain('Archived by First Agent');
    await leadWrites(app.deps, channelId, 'Nadia Leroy', 'Merci !');
    await first.waitForSelector(`#chat-header-${chatId}[data-chat-status="open"]`);

    for (const p of problems) {
      expect(p.cspViolations).toEqual([]);
      expect(p.errors).toEqual([]);
    }
  });

  it('an over-long message is refused with the reason and stays in the composer', { timeout: 30_000 }, async () => {
    const page = await loggedIn('first@shop.test', '/chats');
    const { chatId } = await leadWrites(app.deps, channelId, 'Long Writer', 'Hi');
    await page.click(`#chat-${chatId} a`);
    const box = page.locator(`#composer-${chatId} textarea`);
    await box.fill('x'.repeat(1001));
    await expect(page.locator(`#composer-${chatId} [data-counter]`).innerText()).resolves.toContain('1001 / 1000');
    await box.press('Enter');
    await page.waitForSelector(`#composer-${chatId} .composer__error`);
    await expect(page.locator(`#composer-${chatId} .composer__error`).innerText()).resolves.toContain('1001');
    expect(await page.locator(`#composer-${chatId} textarea`).inputValue()).toHaveLength(1001);
    expect(await page.locator(`#thread-messages-${chatId} [data-direction="out"]`).count()).toBe(0);
  });

  it('a hostile message is shown as text under the real CSP', { timeout: 30_000 }, async () => {
    const page = await loggedIn('first@shop.test', '/chats');
    const { chatId } = await leadWrites(app.deps, channelId, '<img src=x onerror=alert(1)>', '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">');
    await page.waitForSelector(`#chat-${chatId}`);
    await page.click(`#chat-${chatId} a`);
    await page.waitForSelector(`#thread-messages-${chatId} [data-direction="in"]`);
    await expect(page.locator(`#thread-messages-${chatId} .message__text`).first().innerText()).resolves.toContain('<script>window.pwned=1</script>');
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    expect(await page.locator('#chats img[src="x"]').count()).toBe(0);
  });
});
