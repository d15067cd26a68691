import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromiumAvailable, launchBrowser, logInAs, startBrowserApp, watchPage, type BrowserApp, type PageProblems } from '../browser-helpers.ts';
import { makeEmployee } from '../helpers.ts';
import { TestAdapter, leadWrites, makeTestChannel } from '../support/test-adapter.ts';
import { createClient } from '../../src/crm/clients.service.ts';

/**
 * #16 in Chromium under the real CSP, with two employees on the same chat:
 * - Anna assigns the chat to Marc from the header; Marc's open page shows it live (header and
 *   the thread's record);
 * - Anna writes a note in Note mode, picks Marc after `@` with the keyboard and an emoji from the
 *   picker; Marc sees the note live, marked, and his red dot lights; nothing reaches the platform;
 * - the Chats page at 1280 and 1440 px, in English and French: no control or placeholder of the
 *   list, the header, the composer or the details panel is cut off (screenshots are written to
 *   $PARLEY_SHOTS, by default a temporary folder, for a person to look at too).
 */
describe.skipIf(!chromiumAvailable)('assignment and notes between two employees', () => {
  let app: BrowserApp;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  let anna: Page;
  let marc: Page;
  const problems: PageProblems[] = [];
  const adapter = new TestAdapter();
  let chatId: number;
  let marcId: number;
  const emails = { anna: 'anna@shop.test', marc: 'marc@shop.test' };

  async function pageFor(locale: string, width: number): Promise<Page> {
    const context = await browser.newContext({ locale, viewport: { width, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    problems.push(await watchPage(page));
    return page;
  }

  beforeAll(async () => {
    [app, browser] = await Promise.all([startBrowserApp({ adapters: [adapter] }), launchBrowser()]);
    const a = await makeEmployee(app.deps, { role: 'agent', email: emails.anna, name: 'Anna Martin' });
    const m = await makeEmployee(app.deps, { role: 'agent', email: emails.marc, name: 'Marc Dubois' });
    marcId = m.id;
    const channel = await makeTestChannel(app.deps, { name: 'Atelier Réparation Centre-Ville', employees: [a.id, m.id] });
    const lead = await leadWrites(app.deps, channel, 'nadia', 'Bonjour, combien pour un écran ?');
    chatId = lead.chatId!;
    const client = await createClient(app.deps.db, { name: 'Nadia Leroy-Fontaine', phones: [] });
    await app.deps.db.updateTable('chats').set({ client_id: client }).where('id', '=', chatId).execute();
    anna = await pageFor('en-GB', 1400);
    marc = await pageFor('en-GB', 1400);
    await logInAs(anna, app.baseUrl, emails.anna, `/chats/${chatId}`, { live: true });
    await logInAs(marc, app.baseUrl, emails.marc, `/chats/${chatId}`, { live: true });
  });
  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await app?.close();
  });

  it('the first answer takes the chat; then it is assigned from the header, live on both pages', async () => {
    const reply = anna.locator(`#composer-${chatId} textarea`);
    await reply.click();
    await reply.type('Bonjour ! 89 € pour un écran.');
    await reply.press('Enter');
    for (const p of [anna, marc]) {
      await p.waitForSelector(`#thread-messages-${chatId} .message--assignment:has-text("Anna Martin answered first and took this chat")`);
      await p.waitForSelector(`#assign-${chatId} summary:has-text("Assigned to Anna Martin")`);
    }
    await expect.poll(() => adapter.sent.length).toBe(1);

    await anna.click(`#assign-${chatId} summary`);
    await anna.locator(`#assign-${chatId} button[data-assign="${marcId}"]`).click();
    await anna.waitForSelector(`#assign-${chatId} summary:has-text("Assigned to Marc Dubois")`);
    for (const p of [anna, marc]) {
      await p.waitForSelector(`#thread-messages-${chatId} .message--assignment:has-text("Anna Martin assigned this chat to Marc Dubois (was Anna Martin)")`);
      await p.waitForSelector(`#chat-${chatId} .chat-item__assignee:text("Marc Dubois")`);
    }
    await marc.waitForSelector(`#assign-${chatId} summary:has-text("Assigned to Marc Dubois")`);
  });

  it('writes a note with an @mention and an emoji: live for Marc, his red dot on, nothing sent', async () => {
    // The chat is answered and read: nothing lights Marc's dot but the mention to come.
    await expect(marc.locator('#nav-chats').getAttribute('data-red-dot')).resolves.toBe('false');
    await anna.click(`#composer-${chatId} [data-mode="note"]`);
    const box = anna.locator(`#composer-${chatId}.composer--note textarea`);
    await box.waitFor();
    await box.click();
    await box.type('Can you call her back? @Ma');
    // Marc Dubois only: "Martin" is a word of Anna's own name, and nobody mentions themselves.
    const option = anna.locator(`#mentions-${chatId}-open [role="option"]`);
    await option.first().waitFor();
    await expect(option.count()).resolves.toBe(1);
    await box.press('ArrowDown');
    await box.press('Enter');
    await expect(box.inputValue()).resolves.toBe('Can you call her back? @Marc Dubois ');
    // The emoji picker works in Note mode as in Reply mode.
    await anna.click(`#composer-${chatId} [data-emoji-toggle]`);
    await anna.locator('.emoji-picker button').first().click();
    expect((await box.inputValue()).length).toBeGreaterThan('Can you call her back? @Marc Dubois '.length);
    await box.press('Enter');
    for (const p of [anna, marc]) {
      await p.waitForSelector(`#thread-messages-${chatId} .message--note mark.mention:text("@Marc Dubois")`);
    }
    await marc.waitForFunction(() => document.getElementById('nav-chats')?.getAttribute('data-red-dot') === 'true');
    // The composer stays in Note mode for the next note, emptied.
    await expect(anna.locator(`#composer-${chatId}.composer--note textarea`).inputValue()).resolves.toBe('');
    expect(adapter.sent).toHaveLength(1); // the answer only: a note never reaches the platform
    // Opening the chat again sees the mention (the chat shown posts it): the dot goes off, live.
    await marc.goto(`${app.baseUrl}/chats/${chatId}`);
    await marc.waitForFunction(() => document.getElementById('nav-chats')?.getAttribute('data-red-dot') === 'false');
  });

  it('Mine and Unassigned filter the list, in the URL; Mine gains a chat assigned to me live', async () => {
    await marc.goto(`${app.baseUrl}/chats`);
    await marc.click('.switch--filter a[data-filter="mine"]');
    await marc.waitForURL((u) => u.search.includes('filter=mine'));
    await marc.waitForSelector(`#chat-${chatId}`);
    // Another lead writes (unassigned: not in Marc's Mine); Anna assigns it to him: it joins his list.
    const other = (await leadWrites(app.deps, (await app.deps.db.selectFrom('chats').select('channel_id').where('id', '=', chatId).executeTakeFirstOrThrow()).channel_id, 'hugo', 'Is my phone ready?'))
      .chatId!;
    await marc.waitForFunction(() => (window as unknown as { parleyLive?: EventSource }).parleyLive?.readyState === 1);
    await anna.goto(`${app.baseUrl}/chats/${other}`);
    await anna.click(`#assign-${other} summary`);
    await anna.locator(`#assign-${other} button[data-assign="${marcId}"]`).click();
    await marc.waitForSelector(`#chat-list-open #chat-${other}`);
    // Newest activity first: Hugo wrote last.
    await expect(marc.locator('#chat-list-open li.chat-item').first().getAttribute('id')).resolves.toBe(`chat-${other}`);
    await marc.click('.switch--filter a[data-filter="unassigned"]');
    await marc.waitForURL((u) => u.search.includes('filter=unassigned'));
    await marc.waitForSelector('#chat-list-empty');
    await expect(marc.locator(`#chat-${chatId}`).count()).resolves.toBe(0);
    await expect(marc.locator(`#chat-${other}`).count()).resolves.toBe(0);
  });

  it('nothing is cut off at 1280 and 1440 px, in English and French', async () => {
    const dir = process.env.PARLEY_SHOTS ?? join(process.env.TMPDIR ?? '/tmp', 'parley-shots');
    mkdirSync(dir, { recursive: true });
    const cut: string[] = [];
    for (const [locale, lang] of [
      ['en-GB', 'en'],
      ['fr-FR', 'fr'],
    ] as const) {
      for (const width of [1280, 1440]) {
        const page = await pageFor(locale, width);
        await logInAs(page, app.baseUrl, emails.anna, `/chats/${chatId}`);
        await page.click(`#assign-${chatId} summary`);
        await page.locator(`#assign-${chatId} button[data-assign]`).first().waitFor();
        await page.screenshot({ path: join(dir, `chats-${lang}-${width}.png`) });
        await page.click(`#assign-${chatId} summary`);
        cut.push(...(await cutOff(page)).map((c) => `${lang} ${width}px, reply: ${c}`));
        await page.click(`#composer-${chatId} [data-mode="note"]`);
        await page.locator(`#composer-${chatId}.composer--note`).waitFor();
        await page.screenshot({ path: join(dir, `chats-note-${lang}-${width}.png`) });
        cut.push(...(await cutOff(page)).map((c) => `${lang} ${width}px, note: ${c}`));
        await page.close();
      }
    }
    expect(cut).toEqual([]);
  });

  it('caused no CSP violation, script error or failed request', () => {
    for (const p of problems) {
      expect(p.cspViolations).toEqual([]);
      expect(p.errors).toEqual([]);
      expect(p.failedRequests).toEqual([]);
    }
  });
});

/**
 * Controls and placeholders of the list head, the chat header, the composer and the details
 * panel whose text does not fit: an input's placeholder wider than its box, or a label, link or
 * button whose content overflows it (clipped or ellipsised). Text meant to be ellipsised (names,
 * previews, an assignee chip) is not a control and is not checked.
 */
function cutOff(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    const scope = '.chat-list-head, .chat-header, .composer, .chat-details';
    const canvas = document.createElement('canvas').getContext('2d')!;
    for (const el of Array.from(document.querySelectorAll<HTMLElement>(`:is(${scope}) :is(input, textarea)[placeholder]`))) {
      const s = getComputedStyle(el);
      canvas.font = `${s.fontStyle} ${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
      const room = el.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
      const text = (el as HTMLInputElement).placeholder;
      if (el.tagName === 'TEXTAREA') {
        // A textarea wraps its placeholder: lay it out in a box of the same width and font.
        const probe = document.createElement('div');
        Object.assign(probe.style, { position: 'absolute', visibility: 'hidden', width: `${room}px`, font: s.font, lineHeight: s.lineHeight, whiteSpace: 'pre-wrap', overflowWrap: 'break-word' });
        probe.textContent = text;
        document.body.appendChild(probe);
        const tall = probe.offsetHeight;
        probe.remove();
        const inner = el.clientHeight - parseFloat(s.paddingTop) - parseFloat(s.paddingBottom);
        if (tall > inner + 1) out.push(`placeholder "${text}" (${tall}px tall in ${Math.round(inner)}px)`);
      } else if (canvas.measureText(text).width > room + 1) out.push(`placeholder "${text}" (${Math.round(canvas.measureText(text).width)}px in ${Math.round(room)}px)`);
    }
    for (const el of Array.from(document.querySelectorAll<HTMLElement>(`:is(${scope}) :is(button, a, label, summary, .btn)`))) {
      if (!el.offsetParent || el.closest('[hidden]')) continue;
      if (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 2) {
        const s = getComputedStyle(el);
        if (s.overflow === 'visible' && s.textOverflow !== 'ellipsis' && el.scrollHeight <= el.clientHeight + 2) continue;
        out.push(`${el.tagName.toLowerCase()} "${(el.textContent ?? '').trim().slice(0, 60)}" (${el.scrollWidth}×${el.scrollHeight} in ${el.clientWidth}×${el.clientHeight})`);
      }
    }
    return out;
  });
}
