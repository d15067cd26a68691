import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromiumAvailable, launchBrowser, logInAs, watchPage, type PageProblems } from '../browser-helpers.ts';
import { makeEmployee } from '../helpers.ts';
import { PAGE_ID, startMetaWorld, type MetaWorld } from '../support/meta-world.ts';

/**
 * Issue #5's scenario: a person writes in the Meta emulator's customer UI, the employee answers
 * in Parley, the person reads it in the emulator, and the employee sees two ticks and the read
 * time without a reload.
 */
describe.skipIf(!chromiumAvailable)('Messenger through the emulator, in Chromium', () => {
  let w: MetaWorld;
  let browser: Browser;
  let context: BrowserContext;
  let shop: Page;
  let customer: Page;
  let problems: PageProblems;

  beforeAll(async () => {
    [w, browser] = await Promise.all([startMetaWorld(), launchBrowser()]);
    await makeEmployee(w.t.deps, { role: 'agent', email: 'agent@shop.test', name: 'Shop Agent' });
    context = await browser.newContext({ locale: 'en-GB' });
    shop = await context.newPage();
    customer = await context.newPage();
    for (const p of [shop, customer]) p.setDefaultTimeout(15_000);
    problems = await watchPage(shop);
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await w?.close();
  });

  it('write in the emulator, answer in Parley, read in the emulator, see the read receipt live', { timeout: 90_000 }, async () => {
    await logInAs(shop, w.parleyUrl, 'agent@shop.test', '/chats', { live: true });

    // The customer writes from the emulator's UI.
    await customer.goto(`${w.emu.url}/ui/chat?channel=${PAGE_ID}&person=marc`);
    await customer.fill('form[action="/ui/chat/send"] textarea[name="text"]', 'Bonjour, mon MacBook ne charge plus');
    await customer.click('form[action="/ui/chat/send"] button');
    await w.settle();

    const item = shop.locator('.chat-item', { hasText: 'Marc Dubois' });
    await item.waitFor();
    expect(await item.getAttribute('data-indicator')).toBe('unread');
    await item.locator('a').click();
    const chatId = await item.getAttribute('data-chat-id');
    await shop.waitForSelector(`#thread-messages-${chatId} [data-direction="in"]`);

    const composer = shop.locator(`#composer-${chatId} textarea`);
    await composer.fill('Bonjour Marc, apportez-le ce matin.');
    await composer.press('Enter');
    await w.settle();
    const out = shop.locator(`#thread-messages-${chatId} [data-direction="out"]`).last();
    await out.waitFor();
    await shop.waitForFunction((sel) => ['sent', 'delivered'].includes(document.querySelector(sel)?.getAttribute('data-status') ?? ''), `#thread-messages-${chatId} [data-direction="out"]`);

    // The customer sees the shop's reply in the emulator and reads it.
    await customer.reload();
    await expect(customer.locator('body').innerText()).resolves.toContain('Bonjour Marc, apportez-le ce matin.');
    await customer.click('#read-form button');
    await w.settle();

    // Without a reload: two blue ticks and "Read HH:MM" under the message.
    await shop.waitForSelector(`#thread-messages-${chatId} [data-direction="out"][data-status="read"]`);
    await expect(shop.locator(`#thread-messages-${chatId} .message__read-at`).innerText()).resolves.toMatch(/^Read /);
    expect(problems.cspViolations).toEqual([]);
    expect(problems.errors).toEqual([]);
  });
});
