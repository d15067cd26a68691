import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, createTestApp, login, makeEmployee, type Session, type TestApp } from '../helpers.ts';
import { TestAdapter, leadWrites, makeTestChannel } from '../support/test-adapter.ts';
import { formatDateTime } from '../../src/platform/i18n/index.ts';

/**
 * Issue 16 item 6: under a day divider a bubble shows the time alone, the full date and time in
 * its title (and the instant in datetime). A live-pushed message, rendered alone, brings no divider
 * (the one above it may be yesterday's): it shows the full date; one swapped in place keeps the time.
 */
let t: TestApp;
let agent: Session;
let channelId: number;

beforeAll(async () => {
  t = await createTestApp({ adapters: [new TestAdapter()] });
  const a = await makeEmployee(t.deps, { role: 'agent', email: 'times@shop.test' });
  channelId = await makeTestChannel(t.deps, { employees: [a.id] });
  agent = await login(t.app, a.email);
});
afterAll(async () => t?.close());

const times = (html: string) => [...html.matchAll(/<time datetime="([^"]+)"(?: title="([^"]+)")?>([^<]*)<\/time>/g)].map((m) => ({ iso: m[1]!, title: m[2], text: m[3]! }));
const en = (iso: string, style?: 'date' | 'time') => formatDateTime('en', new Date(iso), style);

describe('message times under day dividers', () => {
  it('the thread: HH:MM under each divider, the full date and time in the title', async () => {
    const dayOne = new Date('2025-03-12T09:05:00Z');
    const dayTwo = new Date('2025-03-14T15:40:00Z');
    const { chatId } = await leadWrites(t.deps, channelId, 'times-lead', 'Bonjour', { timestamp: dayOne });
    await leadWrites(t.deps, channelId, 'times-lead', 'Mon écran ?', { timestamp: new Date(dayOne.getTime() + 60_000) });
    await leadWrites(t.deps, channelId, 'times-lead', 'Toujours là ?', { timestamp: dayTwo });

    const page = await as(t.app, agent).get(`/chats/${chatId}`);
    expect(page.statusCode).toBe(200);
    const thread = page.body.slice(page.body.indexOf(`id="thread-messages-${chatId}"`), page.body.indexOf('<form id="composer-'));
    const dividers = [...thread.matchAll(/class="day-separator"[^>]*><span>([^<]+)</g)].map((m) => m[1]);
    expect(dividers).toEqual([en(dayOne.toISOString(), 'date'), en(dayTwo.toISOString(), 'date')]);

    const shown = times(thread);
    expect(shown).toHaveLength(3);
    for (const s of shown) {
      expect(s.text).toMatch(/^\d{2}:\d{2}$/);
      expect(s.text).toBe(en(s.iso, 'time'));
      expect(s.title).toBe(en(s.iso));
      expect(s.title).toContain(en(s.iso, 'date'));
    }
    expect(shown.map((s) => s.iso)).toEqual([dayOne.toISOString(), new Date(dayOne.getTime() + 60_000).toISOString(), dayTwo.toISOString()]);
  });

  it('a live-pushed message shows the full date (no divider comes with it); swapped in place, the time', async () => {
    // The message's bubble (the event also carries the list item, which has its own <time>).
    const latestUi = async () =>
      (await t.deps.db.selectFrom('live_events').select('html').where('name', '=', 'ui').where('locale', '=', 'en').orderBy('id', 'desc').executeTakeFirstOrThrow()).html.split('<article')[1]!;

    await leadWrites(t.deps, channelId, 'live-times', 'Ready today?');
    await t.deps.live.settle();
    const [today] = times(await latestUi());
    expect(today).toEqual({ iso: today!.iso, title: undefined, text: en(today!.iso) });

    const old = new Date('2025-01-02T10:00:00Z');
    const { chatId, messageId } = await leadWrites(t.deps, channelId, 'live-times', 'A late delivery', { timestamp: old });
    await t.deps.live.settle();
    const [late] = times(await latestUi());
    expect(late).toEqual({ iso: old.toISOString(), title: undefined, text: en(old.toISOString()) });

    // Reading the chat swaps the message in place, where it sits under its divider: time alone.
    expect((await as(t.app, agent).post(`/chats/${chatId}/read`)).statusCode).toBeLessThan(300);
    await t.deps.live.settle();
    const swapped = await latestUi();
    expect(swapped).toContain(`id="message-${messageId}"`);
    expect(swapped).toContain('hx-swap-oob="true"');
    expect(times(swapped)[0]).toEqual({ iso: old.toISOString(), title: en(old.toISOString()), text: en(old.toISOString(), 'time') });
  });
});
