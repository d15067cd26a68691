import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromiumAvailable, launchBrowser, watchPage, type PageProblems } from '../browser-helpers.ts';
import { makeEmployee } from '../helpers.ts';
import { startMetaWorld, type MetaWorld } from '../support/meta-world.ts';
import { createClient } from '../../src/crm/clients.service.ts';

/**
 * Issue #6 end to end, in Chromium under the real CSP, with a Messenger channel on the Meta
 * emulator: a lead writes; the employee links the chat to the suggested client and creates an
 * order from the chat; in Orders, hovering the client's phone shows the card with the chat; the
 * compact window sends a message the person receives, and which is then in /chats; the
 * person's reply arrives live in the compact window.
 */
describe.skipIf(!chromiumAvailable)('chats in the CRM, in Chromium', () => {
  let w: MetaWorld;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: PageProblems;
  let chatId: number;
  let clientId: number;

  beforeAll(async () => {
    [w, browser] = await Promise.all([startMetaWorld(), launchBrowser()]);
    const e = await makeEmployee(w.t.deps, { role: 'agent', email: 'agent@shop.test', name: 'Alice Agent' });
    clientId = await createClient(w.t.deps.db, { name: 'Anna Petrova', phones: ['+33 6 12 34 56 78'], email: 'anna@example.test' });
    w.emu.send('anna', 'messenger', 'Hello! Is my phone ready? Call me on 06 12 34 56 78');
    await w.settle();
    const chat = await w.t.deps.db.selectFrom('chats').select('id').orderBy('id', 'desc').executeTakeFirstOrThrow();
    chatId = chat.id;

    context = await browser.newContext({ locale: 'en-GB', viewport: { width: 1400, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    problems = await watchPage(page);
    await page.goto(w.parleyUrl + '/login');
    await page.fill('input[name="email"]', e.email);
    await page.fill('input[name="password"]', e.password);
    await page.click('form[action="/login"] button[type="submit"]');
    await page.waitForURL((u) => u.pathname !== '/login');
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await w?.close();
  });

  const waitLive = () => page.waitForFunction(() => (window as unknown as { parleyLive?: EventSource }).parleyLive?.readyState === 1);

  it('links the chat to the suggested client and creates an order from the chat', { timeout: 60_000 }, async () => {
    await page.goto(`${w.parleyUrl}/chats/${chatId}`);
    const panel = page.locator(`#chat-client-${chatId}`);
    // The panel loads by itself and suggests the client whose number the lead wrote.
    const suggestion = panel.locator(`form.client-option[data-client-id="${clientId}"]`).first();
    await expect(suggestion.locator('[data-reason]').getAttribute('data-reason')).resolves.toBe('message_phone');
    await suggestion.locator('button[data-action="link"]').click();
    await page.waitForSelector(`#chat-client-${chatId}[data-linked-client="${clientId}"]`);
    await expect(panel.innerText()).resolves.toContain('anna@example.test');

    await panel.locator('.client-newdoc summary').click();
    await panel.locator('input[name="amount"]').fill('89');
    await panel.locator('button[data-action="new-order"]').click();
    await page.waitForSelector(`#chat-client-${chatId} .client-docs__item[data-kind="order"]`);
    await expect(panel.locator('.client-panel__flash').innerText()).resolves.toMatch(/Order O-\d+ created/);
    const order = await w.t.deps.db.selectFrom('documents').selectAll().where('client_id', '=', clientId).executeTakeFirstOrThrow();
    expect(order.kind).toBe('order');
    expect(Number(order.amount_cents)).toBe(8900);
  });

  it('a colleague’s open panel follows a link change live; the actor’s own answer stays', { timeout: 60_000 }, async () => {
    const other = await makeEmployee(w.t.deps, { role: 'admin', email: 'boss@shop.test', name: 'Boss' });
    const ctx2 = await browser.newContext({ locale: 'en-GB', viewport: { width: 1400, height: 900 } });
    try {
      const page2 = await ctx2.newPage();
      page2.setDefaultTimeout(10_000);
      await page2.goto(w.parleyUrl + '/login');
      await page2.fill('input[name="email"]', other.email);
      await page2.fill('input[name="password"]', other.password);
      await page2.click('form[action="/login"] button[type="submit"]');
      await page2.waitForURL((u) => u.pathname !== '/login');
      await page2.goto(`${w.parleyUrl}/chats/${chatId}`);
      await page2.waitForSelector(`#chat-client-${chatId}[data-linked-client="${clientId}"]`);
      await page2.waitForFunction(() => (window as unknown as { parleyLive?: EventSource }).parleyLive?.readyState === 1);

      await page.goto(`${w.parleyUrl}/chats/${chatId}`);
      await page.waitForSelector(`#chat-client-${chatId}[data-linked-client="${clientId}"]`);
      await waitLive();
      // The actor's page must not reload the panel it just got as an answer.
      let actorReloads = 0;
      const onRequest = (r: { method(): string; url(): string }) => {
        if (r.method() === 'GET' && r.url().endsWith(`/chats/${chatId}/client`)) actorReloads++;
      };
      page.on('request', onRequest);
      await page.locator(`#chat-client-${chatId} button[data-action="unlink"]`).click();
      await page.waitForSelector(`#chat-client-${chatId}[data-linked-client=""]`);
      // The colleague's panel reloads itself; the actor's stays the answer they got.
      await page2.waitForSelector(`#chat-client-${chatId}[data-linked-client=""]`);
      await page.locator(`#chat-client-${chatId} form.client-option[data-client-id="${clientId}"] button[data-action="link"]`).first().click();
      await page.waitForSelector(`#chat-client-${chatId}[data-linked-client="${clientId}"]`);
      await page2.waitForSelector(`#chat-client-${chatId}[data-linked-client="${clientId}"]`);
      await page.evaluate(() => new Promise((r) => setTimeout(r, 300)));
      page.off('request', onRequest);
      expect(actorReloads).toBe(0);
    } finally {
      await ctx2.close();
    }
  });

  it('hovering the phone in Orders shows the card; the compact window sends; the message is in /chats', { timeout: 60_000 }, async () => {
    await page.goto(`${w.parleyUrl}/orders`);
    await waitLive();
    const phone = page.locator(`#documents-results .phone[data-client-id="${clientId}"]`).first();
    await phone.hover();
    const card = page.locator(`.phone[data-client-id="${clientId}"] + .hovercard`).first();
    await card.waitFor({ state: 'visible' });
    await expect(card.innerText()).resolves.toContain('Anna Petrova');
    await expect(card.innerText()).resolves.toContain('Demo Repair Shop');
    await expect(card.innerText()).resolves.toContain('Call me on 06 12 34 56 78');

    await card.locator(`a[data-mini-open="${chatId}"]`).click();
    const mini = page.locator(`#mini-chat-${chatId}`);
    await mini.waitFor({ state: 'visible' });
    await expect(page.locator('.hovercard').first().isVisible()).resolves.toBe(false);
    await expect(mini.locator(`#thread-messages-${chatId}`).innerText()).resolves.toContain('Is my phone ready?');
    // The page did not change: still Orders.
    expect(new URL(page.url()).pathname).toBe('/orders');

    const textarea = mini.locator('textarea[name="text"]');
    // Focus moves to the composer once the window has settled (not necessarily in the same frame).
    await page.waitForFunction((id) => document.activeElement?.matches(`#mini-chat-${id} textarea[name="text"]`) ?? false, chatId);
    await textarea.fill('Yes, it is ready: 89 €, see you soon!');
    await textarea.press('Enter');
    await mini.locator('.message--out', { hasText: 'Yes, it is ready: 89 €, see you soon!' }).waitFor();
    await w.settle();
    const sent = w.emu.calls({ pathIncludes: '/messages' }).filter((c) => JSON.stringify(c.body ?? '').includes('see you soon'));
    expect(sent).toHaveLength(1);

    // Back in the Chats section, the message is in the list and in the thread.
    await page.goto(`${w.parleyUrl}/chats`);
    await expect(page.locator(`#chat-${chatId} .chat-item__preview`).innerText()).resolves.toContain('see you soon');
    await page.locator(`#chat-${chatId} a`).click();
    await page.locator(`#thread-messages-${chatId} .message--out`, { hasText: 'see you soon' }).waitFor();
    // The pane swapped in by htmx loads its client panel too, with the order made from the chat.
    await page.locator(`#chat-client-${chatId}[data-linked-client="${clientId}"] .client-docs__item[data-kind="order"]`).waitFor();
  });

  it('the person’s reply arrives live in the compact window; Escape hides the card; the window closes', { timeout: 60_000 }, async () => {
    await page.goto(`${w.parleyUrl}/orders`);
    await waitLive();
    const phone = page.locator(`#documents-results .phone[data-client-id="${clientId}"]`).first();
    // From the keyboard: focusing the number shows the card too.
    await phone.focus();
    const card = page.locator(`.phone[data-client-id="${clientId}"] + .hovercard`).first();
    await card.waitFor({ state: 'visible' });
    await page.keyboard.press('Escape');
    await card.waitFor({ state: 'hidden' });
    await phone.hover();
    await card.waitFor({ state: 'visible' });
    await card.locator(`a[data-mini-open="${chatId}"]`).click();
    const mini = page.locator(`#mini-chat-${chatId}`);
    await mini.waitFor({ state: 'visible' });

    w.emu.send('anna', 'messenger', 'Great, thanks! I come at 5pm.');
    await w.settle();
    await mini.locator('.message--in', { hasText: 'Great, thanks! I come at 5pm.' }).waitFor();

    await mini.locator('button[data-mini-close]').click();
    await mini.waitFor({ state: 'detached' });
    expect(await page.locator(`#thread-messages-${chatId}`).count()).toBe(0);
  });

  it('nothing broke the CSP or threw on the way', () => {
    expect(problems.cspViolations).toEqual([]);
    // Live events for the Chats page (list items, the red dot's list) reach every page; on a
    // CRM page their out-of-band targets are absent and htmx logs that. Not from this feature.
    expect(problems.errors.filter((e) => !e.includes('htmx:oobErrorNoTarget'))).toEqual([]);
    // An avatar still loading when the window is closed or the page navigates is aborted by
    // the browser; anything else failing is a bug.
    expect(problems.failedRequests.filter((r) => !/\/media\/avatars\/\d+: net::ERR_ABORTED$/.test(r))).toEqual([]);
  });

  it('the avatar the window shows is served', async () => {
    const contact = await w.t.deps.db.selectFrom('chats').select('contact_id').where('id', '=', chatId).executeTakeFirstOrThrow();
    const res = await page.request.get(`${w.parleyUrl}/media/avatars/${contact.contact_id}`);
    expect(res.status()).toBe(200);
  });
});
