import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromiumAvailable, launchBrowser, logInAs, watchPage, type PageProblems } from '../browser-helpers.ts';
import { makeEmployee } from '../helpers.ts';
import { startMetaWorld, WA_PHONE_ID, type MetaWorld } from '../support/meta-world.ts';
import { SAMPLE_TRANSCRIPTS } from '../../emulator/index.ts';

/**
 * Voice transcription (G1–G3) in Chromium with the real CSP: a customer sends a WhatsApp voice
 * note from the emulator's customer UI; two employees have the chat open; one clicks
 * Transcribe; both see "Transcribing…" and then the transcript arrive live, collapsed; the
 * arrow opens it and shows the known text of voice.ogg. The player plays the stored file and
 * the Transcribe control sits right of it.
 */
describe.skipIf(!chromiumAvailable)('Transcribing a voice note, in Chromium', () => {
  let w: MetaWorld;
  let browser: Browser;
  let contextA: BrowserContext;
  let contextB: BrowserContext;
  let customerContext: BrowserContext;
  let pageA: Page;
  let pageB: Page;
  let customer: Page;
  let problemsA: PageProblems;
  let problemsB: PageProblems;
  const customerErrors: string[] = [];
  const expected = SAMPLE_TRANSCRIPTS['voice.ogg']!.text;

  beforeAll(async () => {
    [w, browser] = await Promise.all([startMetaWorld({ whatsapp: true, env: (emulatorUrl) => ({ TRANSCRIBE_URL: emulatorUrl, TRANSCRIBE_MODEL: 'whisper-1' }) }), launchBrowser()]);
    await makeEmployee(w.t.deps, { role: 'agent', email: 'stt-a@shop.test', name: 'Sofia Agent' });
    await makeEmployee(w.t.deps, { role: 'agent', email: 'stt-b@shop.test', name: 'Carl Colleague' });
    const viewport = { width: 1280, height: 900 };
    // Two employees: two browser contexts, so two sessions (cookies) and two live streams.
    contextA = await browser.newContext({ locale: 'en-GB', viewport });
    contextB = await browser.newContext({ locale: 'en-GB', viewport });
    customerContext = await browser.newContext({ locale: 'en-GB', viewport });
    pageA = await contextA.newPage();
    pageB = await contextB.newPage();
    customer = await customerContext.newPage();
    for (const p of [pageA, pageB, customer]) p.setDefaultTimeout(15_000);
    problemsA = await watchPage(pageA);
    problemsB = await watchPage(pageB);
    customer.on('pageerror', (err) => customerErrors.push(err.message));
  });
  afterAll(async () => {
    await contextA?.close();
    await contextB?.close();
    await customerContext?.close();
    await browser?.close();
    await w?.close();
  });

  const liveReady = (p: Page) => p.waitForFunction(() => (window as unknown as { parleyLive?: EventSource }).parleyLive?.readyState === 1);

  async function logIn(p: Page, email: string, next: string) {
    await logInAs(p, w.parleyUrl, email, next);
    await liveReady(p);
  }

  it('A clicks Transcribe; A and B see "Transcribing…" then the collapsed transcript live; the arrow shows the text', { timeout: 120_000 }, async () => {
    await logIn(pageA, 'stt-a@shop.test', '/chats');

    // Anna sends a voice note from the emulator's customer UI (it attaches a shipped sample).
    await customer.goto(`${w.emu.url}/ui/chat?channel=${WA_PHONE_ID}&person=anna`);
    await expect(customer.locator('h1').innerText()).resolves.toContain('WhatsApp');
    const send = customer.locator('form[action="/ui/chat/send"]');
    await send.locator('select[name="sample"]').selectOption('voice.ogg');
    await send.locator('button', { hasText: 'Send' }).click();
    await customer.waitForURL((u) => u.pathname === '/ui/chat');
    expect(w.emu.thread('whatsapp', 'anna')!.messages.at(-1)).toMatchObject({ direction: 'in' });
    await w.settle();

    // A sees the chat appear live and opens it.
    const item = pageA.locator('.chat-item', { hasText: 'Anna Petrova' });
    await item.waitFor();
    const chatId = await item.getAttribute('data-chat-id');
    expect(Number(chatId)).toBeGreaterThan(0);
    await item.locator('a').click();
    await pageA.waitForURL((u) => u.pathname === `/chats/${chatId}`);
    const thread = `#thread-messages-${chatId}`;
    const voice = `${thread} article[data-direction="in"]:has(audio)`;
    await pageA.locator(voice).waitFor();

    // B, a colleague, has the same chat open.
    await logIn(pageB, 'stt-b@shop.test', `/chats/${chatId}`);
    await pageB.locator(voice).waitFor();

    for (const p of [pageA, pageB]) {
      expect(await p.locator(voice).count()).toBe(1);
      await expect(p.locator(`${voice} .transcript`).getAttribute('data-transcript')).resolves.toBe('none');
      expect(await p.locator(`${voice} [data-action="transcribe"]`).isVisible()).toBe(true);
    }

    // The player serves the stored audio (fetched in the page, with the employee's session).
    for (const p of [pageA, pageB]) {
      const served = await p.evaluate(async (sel) => {
        const audio = document.querySelector<HTMLAudioElement>(sel)!;
        const res = await fetch(audio.src);
        const bytes = (await res.arrayBuffer()).byteLength;
        return { src: audio.getAttribute('src'), status: res.status, type: res.headers.get('content-type') ?? '', bytes };
      }, `${voice} audio`);
      expect(served.src).toMatch(/^\/media\/\d+$/);
      expect(served.status).toBe(200);
      expect(served.type).toMatch(/^audio\//);
      expect(served.bytes).toBeGreaterThan(1000);
    }

    // The Transcribe control sits to the right of the player, on the same line.
    const audioBox = (await pageA.locator(`${voice} audio`).boundingBox())!;
    const buttonBox = (await pageA.locator(`${voice} [data-action="transcribe"]`).boundingBox())!;
    expect(audioBox.width).toBeGreaterThan(100);
    expect(buttonBox.x).toBeGreaterThanOrEqual(audioBox.x + audioBox.width - 3);
    expect(buttonBox.y).toBeLessThan(audioBox.y + audioBox.height);
    expect(buttonBox.y + buttonBox.height).toBeGreaterThan(audioBox.y);

    // A clicks Transcribe; the engine takes 1.5 s, long enough to see "Transcribing…".
    w.emu.stt.set({ delayMs: 1500 });
    const calls = w.emu.stt.calls.length;
    // The click is an htmx request: A's page is not reloaded (the marker survives).
    await pageA.evaluate(() => ((window as unknown as { __stillHere?: boolean }).__stillHere = true));
    const request = pageA.waitForRequest((r) => r.method() === 'POST' && /\/transcribe$/.test(new URL(r.url()).pathname));
    await pageA.locator(`${voice} [data-action="transcribe"]`).click();
    expect((await request).headers()['hx-request']).toBe('true');

    for (const p of [pageA, pageB]) {
      const pending = p.locator(`${voice} .transcript__pending`);
      await pending.waitFor();
      await expect(pending.innerText()).resolves.toBe('Transcribing…');
      await expect(p.locator(`${voice} .transcript`).getAttribute('data-transcript')).resolves.toBe('pending');
      expect(await p.locator(`${voice} [data-action="transcribe"]`).count()).toBe(0);
    }
    expect(w.emu.stt.calls.length - calls).toBeLessThanOrEqual(1); // still being transcribed…
    expect(await pageA.locator(`${voice} .transcript__done`).count()).toBe(0);

    // The engine answers: the transcript arrives live on both pages, collapsed.
    await w.settle();
    w.emu.stt.set({ delayMs: 0 });
    expect(w.emu.stt.calls.length - calls).toBe(1);
    for (const p of [pageA, pageB]) {
      const done = p.locator(`${voice} details.transcript__done`);
      await done.waitFor();
      expect(await p.locator(`${voice} .transcript__pending`).count()).toBe(0);
      expect(await done.getAttribute('open')).toBeNull();
      await expect(done.locator('summary').innerText()).resolves.toBe('Transcript');
      expect(await done.locator('.transcript__text').isVisible()).toBe(false);
      expect(await p.locator(`${voice} audio`).count()).toBe(1);
    }
    expect(await pageA.evaluate(() => (window as unknown as { __stillHere?: boolean }).__stillHere)).toBe(true);

    // Each employee opens it with the arrow and reads the known text of voice.ogg.
    for (const p of [pageA, pageB]) {
      const done = p.locator(`${voice} details.transcript__done`);
      await done.locator('summary').click();
      await p.waitForFunction((sel) => document.querySelector<HTMLDetailsElement>(sel)?.open === true, `${voice} details.transcript__done`);
      const text = done.locator('.transcript__text');
      expect(await text.isVisible()).toBe(true);
      await expect(text.innerText()).resolves.toBe(expected);
      await expect(text.getAttribute('lang')).resolves.toBe('en');
      await expect(done.locator('.transcript__meta').innerText()).resolves.toContain('Sofia Agent');
      // Open, the text goes under the player; the player is still there and playable.
      expect(await p.locator(`${voice} audio`).isVisible()).toBe(true);
    }

    for (const problems of [problemsA, problemsB]) {
      expect(problems.cspViolations).toEqual([]);
      expect(problems.errors).toEqual([]);
      expect(problems.failedRequests).toEqual([]);
    }
    expect(customerErrors).toEqual([]);
  });
});
