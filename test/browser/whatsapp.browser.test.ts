import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromiumAvailable, launchBrowser, logInAs, watchPage, type PageProblems } from '../browser-helpers.ts';
import { makeEmployee } from '../helpers.ts';
import { startMetaWorld, WA_PHONE_ID, type MetaWorld } from '../support/meta-world.ts';
import { refreshTemplates } from '../../src/channels/whatsapp/templates.service.ts';

/**
 * The WhatsApp scenario of the issue, in Chromium with the real CSP: a customer writes in the
 * Meta emulator's customer UI, the employee sees the chat appear live and answers in Parley,
 * the customer reads it in the emulator and the two blue ticks appear without a reload. Then,
 * 25 hours later (on both clocks), the composer only offers the approved templates, and one,
 * filled in with a live preview, is delivered to the customer.
 */
describe.skipIf(!chromiumAvailable)('WhatsApp through the emulator, in Chromium', () => {
  let w: MetaWorld;
  let browser: Browser;
  let context: BrowserContext;
  let shop: Page;
  let customer: Page;
  let problems: PageProblems;
  const customerErrors: string[] = [];

  beforeAll(async () => {
    [w, browser] = await Promise.all([startMetaWorld({ whatsapp: true }), launchBrowser()]);
    await makeEmployee(w.t.deps, { role: 'agent', email: 'wa-agent@shop.test', name: 'Shop Agent' });
    context = await browser.newContext({ locale: 'en-GB' });
    shop = await context.newPage();
    customer = await context.newPage();
    for (const p of [shop, customer]) p.setDefaultTimeout(15_000);
    problems = await watchPage(shop);
    customer.on('pageerror', (err) => customerErrors.push(err.message));
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await w?.close();
  });

  it('write in the emulator, answer in Parley, read in the emulator; 25 h later send a template', { timeout: 120_000 }, async () => {
    await logInAs(shop, w.parleyUrl, 'wa-agent@shop.test', '/chats', { live: true });

    // Marc writes on WhatsApp from the emulator's UI.
    await customer.goto(`${w.emu.url}/ui/chat?channel=${WA_PHONE_ID}&person=marc`);
    await expect(customer.locator('h1').innerText()).resolves.toContain('WhatsApp');
    await customer.fill('form[action="/ui/chat/send"] textarea[name="text"]', 'Bonjour, mon téléphone est-il réparé ?');
    await customer.click('form[action="/ui/chat/send"] button');
    await customer.waitForURL((u) => u.pathname === '/ui/chat');
    await w.settle();

    // The chat appears live in the list, unread, with the profile name.
    const item = shop.locator('.chat-item', { hasText: 'Marc Dubois' });
    await item.waitFor();
    expect(await item.getAttribute('data-indicator')).toBe('unread');
    const chatId = await item.getAttribute('data-chat-id');
    expect(Number(chatId)).toBeGreaterThan(0);
    const chatRow = await w.t.deps.db.selectFrom('chats').select(['channel_id']).where('id', '=', Number(chatId)).executeTakeFirstOrThrow();
    expect(chatRow.channel_id).toBe(w.whatsappId);
    await item.locator('a').click();
    const thread = `#thread-messages-${chatId}`;
    await shop.waitForSelector(`${thread} [data-direction="in"]`);
    await expect(shop.locator(`${thread} [data-direction="in"]`).last().innerText()).resolves.toContain('Bonjour, mon téléphone est-il réparé ?');

    // The employee answers: type, Enter.
    const composer = shop.locator(`#composer-${chatId} textarea`);
    await composer.fill('Bonjour Marc, oui, il est prêt.');
    await composer.press('Enter');
    await w.settle();
    const out = `${thread} [data-direction="out"]`;
    await shop.locator(out).last().waitFor();
    await expect(shop.locator(out).last().innerText()).resolves.toContain('Bonjour Marc, oui, il est prêt.');
    await shop.waitForFunction((sel) => ['sent', 'delivered'].includes(document.querySelector(sel)?.getAttribute('data-status') ?? ''), out);

    // Marc sees the answer in the emulator and reads it.
    await customer.reload();
    await expect(customer.locator('.chat').innerText()).resolves.toContain('Bonjour Marc, oui, il est prêt.');
    await customer.click('#read-form button');
    await customer.waitForURL((u) => u.pathname === '/ui/chat');
    await w.settle();

    // Without a reload: two blue ticks.
    await shop.waitForSelector(`${out}[data-status="read"]`);
    await shop.locator(`${out}[data-status="read"] .ticks--read`).waitFor();
    expect(await shop.locator(out).count()).toBe(1);

    // 25 hours pass, on both sides; the template cache is filled.
    w.emu.advanceClock('25h');
    await w.t.deps.db
      .updateTable('chats')
      .set({ last_inbound_at: new Date(Date.now() - 25 * 3600_000) })
      .where('id', '=', Number(chatId))
      .execute();
    await refreshTemplates(w.t.deps, w.whatsappId);
    await shop.reload();
    await shop.waitForFunction(() => (window as unknown as { parleyLive?: EventSource }).parleyLive?.readyState === 1);

    // The window is closed: free text is disabled, only the approved templates are offered.
    const form = shop.locator(`form#composer-${chatId}`);
    await expect(form.getAttribute('data-policy')).resolves.toBe('template-required');
    await shop.locator(`form#composer-${chatId}[data-policy="template-required"] .composer__blocked`).waitFor();
    expect(await form.locator('textarea[name="text"]').isDisabled()).toBe(true);
    expect(await form.locator('.composer__row button[type="submit"]').isDisabled()).toBe(true);
    expect(await form.locator('details.template-picker').getAttribute('open')).not.toBeNull();
    expect(await form.locator('a[data-template="order_ready:fr"]').count()).toBe(1);
    expect(await form.locator('a[data-template="hello_world:en_US"]').count()).toBe(1);
    expect(await form.locator('a[data-template^="spring_promo"]').count()).toBe(0);
    await expect(form.innerText()).resolves.not.toContain('spring_promo');

    // Choose order_ready in French (htmx swaps the composer), fill the two values.
    await form.locator('a[data-template="order_ready:fr"]').click();
    const tplForm = shop.locator(`form#composer-${chatId} [data-template-form]`);
    await tplForm.waitFor();
    await expect(tplForm.locator('input[name="template"]').inputValue()).resolves.toBe('order_ready:fr');
    expect(shop.url()).toBe(`${w.parleyUrl}/chats/${chatId}`); // swapped in place, not navigated
    await expect(tplForm.locator('[data-template-preview]').innerText()).resolves.toContain('{{1}}');
    await tplForm.locator('input[name="param_1"]').fill('Marc');
    await tplForm.locator('input[name="param_2"]').fill('A-42');
    const expected = 'Bonjour Marc, votre commande A-42 est prête.';
    await expect(tplForm.locator('[data-template-preview]').innerText()).resolves.toBe(expected);

    await tplForm.locator('[data-action="send-template"]').click();
    await shop.locator(`${out}`).nth(1).waitFor();
    await w.settle();

    // The template shows in the thread with its rendered text, and reaches "delivered".
    const sent = shop.locator(out).last();
    await expect(sent.locator('.message__text').innerText()).resolves.toBe(expected);
    await expect(sent.locator('.message__label').innerText()).resolves.toContain('order_ready');
    await shop.waitForFunction((sel) => {
      const all = document.querySelectorAll(sel);
      const last = all[all.length - 1];
      return ['delivered', 'read'].includes(last?.getAttribute('data-status') ?? '');
    }, out);
    expect(await shop.locator(out).count()).toBe(2);

    // The composer is back to the template-only picker, with no template chosen.
    expect(shop.url()).toBe(`${w.parleyUrl}/chats/${chatId}`);
    expect(await shop.locator(`form#composer-${chatId} [data-template-form]`).count()).toBe(0);
    await expect(shop.locator(`form#composer-${chatId}`).getAttribute('data-policy')).resolves.toBe('template-required');

    // The customer received exactly that text.
    const emuThread = w.emu.thread('whatsapp', 'marc')!;
    expect(emuThread.messages.at(-1)).toMatchObject({ direction: 'out', text: expected });
    await customer.reload();
    await expect(customer.locator('.chat').innerText()).resolves.toContain(expected);

    expect(problems.cspViolations).toEqual([]);
    expect(problems.errors).toEqual([]);
    expect(problems.failedRequests).toEqual([]);
    expect(customerErrors).toEqual([]);
  });
});
