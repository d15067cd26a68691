import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { chromiumAvailable, launchBrowser, logInAs, watchPage, type PageProblems } from '../browser-helpers.ts';
import { makeEmployee } from '../helpers.ts';
import { startMetaWorld, type MetaWorld } from '../support/meta-world.ts';

const FB_POST = '104455667788990_122134455667788';

/**
 * The post-comments scenario of the issue, in Chromium with the real CSP, at 1280 px: Marc
 * comments under the Facebook post in the emulator's customer UI; the employee sees the chat
 * appear live and, opening it, the comment with its post. The reply arrow shows on hover and on
 * keyboard focus; clicking it puts the composer in public-reply mode without a reload, Esc leaves
 * that mode, and a reply typed and sent with Enter shows in the thread quoting the comment and,
 * on the emulator's post page, nested under Marc's comment as the Page's reply.
 */
describe.skipIf(!chromiumAvailable)('Post comments through the emulator, in Chromium', () => {
  let w: MetaWorld;
  let browser: Browser;
  let context: BrowserContext;
  let shop: Page;
  let customer: Page;
  let problems: PageProblems;
  const customerErrors: string[] = [];

  beforeAll(async () => {
    [w, browser] = await Promise.all([startMetaWorld({ settings: { comments: true, humanAgent: true } }), launchBrowser()]);
    await makeEmployee(w.t.deps, { role: 'agent', email: 'comments-agent@shop.test', name: 'Cora Agent' });
    context = await browser.newContext({ locale: 'en-GB', viewport: { width: 1280, height: 800 } });
    shop = await context.newPage();
    customer = await context.newPage();
    for (const p of [shop, customer]) p.setDefaultTimeout(15_000);
    problems = await watchPage(shop);
    customer.on('pageerror', (err) => customerErrors.push(err.message));
    // The shop's tab in front (the customer's, opened last, would be): Chromium throttles a
    // background tab's frames, which slows every hover and click down to seconds.
    await shop.bringToFront();
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await w?.close();
  });

  const opacity = (l: Locator) => l.evaluate((el) => getComputedStyle(el).opacity);
  const activeIs = (l: Locator) => l.evaluate((el) => el === document.activeElement);
  /** Somewhere on the page that hovers no message. */
  const mouseAway = () => shop.mouse.move(640, 5);

  it('comment in the emulator, see it live, reply publicly from the thread, see the reply under the comment on the post', { timeout: 120_000 }, async () => {
    await logInAs(shop, w.parleyUrl, 'comments-agent@shop.test', '/chats', { live: true });
    expect(shop.viewportSize()?.width).toBe(1280);

    // Marc comments under the Facebook post, from the emulator's customer UI.
    await customer.goto(`${w.emu.url}/ui/posts?person=marc`);
    const postCard = customer.locator('section.card', { hasText: `post ${FB_POST}` });
    await expect(postCard.innerText()).resolves.toContain('Spring prices');
    const commentForm = postCard.locator(`form[action="/ui/posts/comment"]:has(input[name="postId"][value="${FB_POST}"]):not(:has(input[name="parentId"]))`);
    expect(await commentForm.count()).toBe(1);
    await commentForm.locator('input[name="text"]').fill('Combien pour changer un écran ?');
    await commentForm.locator('button').click();
    await customer.waitForURL((u) => u.pathname === '/ui/posts');
    await w.settle();

    // The chat appears live in the list, unread.
    const item = shop.locator('.chat-item', { hasText: 'Marc Dubois' });
    await item.waitFor();
    expect(await item.getAttribute('data-indicator')).toBe('unread');
    await expect(item.innerText()).resolves.toContain('Combien pour changer un écran ?');
    const chatId = await item.getAttribute('data-chat-id');
    expect(Number(chatId)).toBeGreaterThan(0);
    const row = await w.t.deps.db.selectFrom('messages').select(['id', 'kind', 'channel_id']).where('text', '=', 'Combien pour changer un écran ?').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ kind: 'comment', channel_id: w.messengerId });

    // Opening the chat: the comment, with its post.
    await item.locator('a').click();
    const thread = `#thread-messages-${chatId}`;
    const comment = shop.locator(`${thread} article.message--comment[data-direction="in"]`);
    await comment.waitFor();
    expect(await comment.count()).toBe(1);
    expect(await comment.getAttribute('id')).toBe(`message-${row.id}`);
    await expect(comment.locator('.message__text').innerText()).resolves.toBe('Combien pour changer un écran ?');
    const postLine = comment.locator('.message__post');
    await expect(postLine.innerText()).resolves.toContain('Spring prices');
    expect(await postLine.locator('a').getAttribute('href')).toContain(FB_POST);

    // The reply arrow (and the private reply / hide actions) only show on hover...
    const arrow = comment.locator('a.message__reply');
    const privateLink = comment.locator('a.message__reply-private');
    const hide = comment.locator('form.message__moderate:has([data-action="hide"])'); // opacity is on the form
    await mouseAway();
    await shop.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    expect(await opacity(arrow)).toBe('0');
    expect(await opacity(privateLink)).toBe('0');
    expect(await opacity(hide)).toBe('0');
    await comment.hover();
    expect(await opacity(arrow)).toBe('1');
    expect(await opacity(privateLink)).toBe('1');
    expect(await opacity(hide)).toBe('1');
    await mouseAway();
    expect(await opacity(arrow)).toBe('0');

    // ... and on keyboard focus: Tab from the post link reaches the arrow, which shows.
    await postLine.locator('a').focus();
    expect(await opacity(arrow)).toBe('1'); // focus within the comment
    await shop.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    expect(await opacity(arrow)).toBe('0');
    await postLine.locator('a').focus();
    for (let i = 0; i < 5 && !(await activeIs(arrow)); i++) await shop.keyboard.press('Tab');
    expect(await activeIs(arrow)).toBe(true);
    expect(await opacity(arrow)).toBe('1');
    await shop.keyboard.press('Tab');
    await shop.keyboard.press('Shift+Tab');
    expect(await activeIs(arrow)).toBe(true);
    await shop.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    expect(await opacity(arrow)).toBe('0');

    // Clicking the arrow puts the composer in public-reply mode, in place (no page load).
    await shop.evaluate(() => ((window as unknown as { __samePage?: boolean }).__samePage = true));
    const form = shop.locator(`form#composer-${chatId}`);
    const replyMode = form.locator('.composer__reply[data-comment-reply="public"]');
    expect(await replyMode.count()).toBe(0);
    await comment.hover();
    await arrow.click();
    await replyMode.waitFor();
    await expect(replyMode.innerText()).resolves.toContain('Replying publicly to Marc Dubois’s comment on “Spring prices');
    await expect(replyMode.locator('q').innerText()).resolves.toBe('Combien pour changer un écran ?');
    expect(await replyMode.locator('input[name="reply_to"]').inputValue()).toBe(String(row.id));
    expect(await replyMode.locator('input[name="comment_reply"]').inputValue()).toBe('public');
    expect(shop.url()).toBe(`${w.parleyUrl}/chats/${chatId}`);
    expect(await shop.evaluate(() => (window as unknown as { __samePage?: boolean }).__samePage)).toBe(true);
    const textarea = form.locator('textarea[name="text"]');
    await shop.waitForFunction((sel) => document.activeElement === document.querySelector(sel), `form#composer-${chatId} textarea[name="text"]`);
    expect(await textarea.isDisabled()).toBe(false);

    // Esc leaves reply mode.
    await textarea.press('Escape');
    await shop.waitForFunction((sel) => document.querySelector(sel) === null, `form#composer-${chatId} .composer__reply`);
    expect(await form.locator('input[name="reply_to"]').count()).toBe(0);
    expect(shop.url()).toBe(`${w.parleyUrl}/chats/${chatId}`);
    expect(await shop.evaluate(() => (window as unknown as { __samePage?: boolean }).__samePage)).toBe(true);

    // The arrow again; type the reply; Enter.
    await comment.hover();
    await arrow.click();
    await replyMode.waitFor();
    await shop.waitForFunction((sel) => document.activeElement === document.querySelector(sel), `form#composer-${chatId} textarea[name="text"]`);
    const replyText = '89 € l’écran, comptez 40 minutes.';
    await textarea.fill(replyText);
    await textarea.press('Enter');
    await w.settle();

    // The reply shows in the thread, after the comment, quoting it; it was sent.
    const reply = shop.locator(`${thread} article.message--comment[data-direction="out"]`);
    await reply.waitFor();
    expect(await reply.count()).toBe(1);
    await expect(reply.locator('.message__text').innerText()).resolves.toBe(replyText);
    const quote = reply.locator('.message__quote');
    await expect(quote.innerText()).resolves.toContain('Combien pour changer un écran ?');
    expect(await quote.locator('a').getAttribute('href')).toBe(`#message-${row.id}`);
    expect(await reply.evaluate((el, id) => Boolean(document.getElementById(id)!.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING), `message-${row.id}`)).toBe(true);
    await shop.waitForFunction(
      (sel) => ['sent', 'delivered', 'read'].includes(document.querySelector(sel)?.getAttribute('data-status') ?? ''),
      `${thread} article.message--comment[data-direction="out"]`,
    );
    // The comment and the reply (the record that the answer took the chat is internal).
    expect(await shop.locator(`${thread} article.message:not(.message--internal)`).count()).toBe(2);
    // The composer is back to normal, empty.
    await shop.waitForFunction((sel) => document.querySelector(sel) === null, `form#composer-${chatId} .composer__reply`);
    expect(await form.locator('textarea[name="text"]').inputValue()).toBe('');
    expect(await shop.evaluate(() => (window as unknown as { __samePage?: boolean }).__samePage)).toBe(true);

    // On the emulator's post page: the Page's reply, nested under Marc's comment.
    const calls = w.emu.calls({ pathIncludes: '/comments', method: 'POST' });
    expect(calls).toHaveLength(1);
    await customer.goto(`${w.emu.url}/ui/posts?person=marc`);
    const card = customer.locator('section.card', { hasText: `post ${FB_POST}` });
    const marcs = card.locator('div.comment:not(.business)', { hasText: 'Combien pour changer un écran ?' });
    expect(await marcs.count()).toBe(1);
    await expect(marcs.locator(':scope > strong').innerText()).resolves.toBe('Marc Dubois');
    const pageReply = marcs.locator(':scope > div.comment.business');
    expect(await pageReply.count()).toBe(1);
    await expect(pageReply.innerText()).resolves.toContain(replyText);
    await expect(pageReply.locator(':scope > strong').innerText()).resolves.toBe('Demo Repair Shop');

    expect(problems.cspViolations).toEqual([]);
    expect(problems.errors).toEqual([]);
    expect(problems.failedRequests).toEqual([]);
    expect(customerErrors).toEqual([]);
  });
});
