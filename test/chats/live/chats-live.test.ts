import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, createTestApp, login, makeEmployee, type Session, type TestApp } from '../../helpers.ts';
import { TestAdapter, leadWrites, makeTestChannel } from '../../support/test-adapter.ts';
import { LiveStreams } from '../../platform/sse.ts';

let t: TestApp;
let url: string;
let agent: Session;
let outsider: Session;
let noChats: Session;
let channelId: number;
const live = new LiveStreams(() => url);

beforeAll(async () => {
  t = await createTestApp({ adapters: [new TestAdapter()] });
  url = await t.app.listen({ port: 0, host: '127.0.0.1' });
  const a = await makeEmployee(t.deps, { role: 'agent', email: 'agent@shop.test' });
  const b = await makeEmployee(t.deps, { role: 'agent', email: 'outsider@shop.test' });
  const c = await makeEmployee(t.deps, { role: 'Bookkeeper', permissions: ['invoices'], email: 'books@shop.test' });
  channelId = await makeTestChannel(t.deps, { employees: [a.id] });
  await makeTestChannel(t.deps, { employees: [b.id] });
  agent = await login(t.app, a.email);
  outsider = await login(t.app, b.email);
  noChats = await login(t.app, c.email);
});
afterAll(async () => {
  live.closeAll();
  await t?.close();
});

const open = (s: Session) => live.open(s);

describe('live chat events', () => {
  it('a new message reaches only employees who may see its channel, with the red dot', async () => {
    const [a, b, c] = [await open(agent), await open(outsider), await open(noChats)];
    const { chatId } = await leadWrites(t.deps, channelId, 'Lead Live', 'Is the screen in stock?');
    await t.deps.live.settle();
    const ui = await a.waitFor('ui', 'Is the screen in stock?');
    expect(ui.data).toContain(`id="chat-${chatId}"`);
    expect(ui.data).toContain('data-indicator="unread"');
    expect(ui.data).toContain(`beforeend:#thread-messages-${chatId}`);
    const dot = await a.waitFor('red-dot');
    expect(JSON.parse(dot.data)).toEqual({ on: true });
    for (const s of [b, c]) {
      expect(s.events.some((e) => e.data.includes('Is the screen in stock?'))).toBe(false);
      expect(s.named('red-dot')).toHaveLength(0);
    }
  });

  it('reading and answering flips the indicator and clears the red dot live', async () => {
    const a = await open(agent);
    const { chatId } = await leadWrites(t.deps, channelId, 'Lead Two', 'Hello?');
    await as(t.app, agent).post(`/chats/${chatId}/read`);
    await t.deps.live.settle();
    await a.until((ev) => ev.some((e) => e.event === 'ui' && e.data.includes(`id="chat-${chatId}"`) && e.data.includes('data-indicator="unanswered"')), 'the grey indicator');
    // Answer every open chat so nothing needs attention any more.
    const open1 = await t.deps.db.selectFrom('chats').select('id').where('indicator', '<>', 'none').execute();
    for (const ch of open1) {
      await as(t.app, agent).post(`/chats/${ch.id}/read`);
      await as(t.app, agent).post(`/chats/${ch.id}/messages`, { text: 'On it!', idempotency_key: `answer-${ch.id}-xyz` });
    }
    await t.deps.queue.idle();
    await t.deps.live.settle();
    await a.until((ev) => ev.some((e) => e.event === 'red-dot' && JSON.parse(e.data).on === false), 'the red dot clearing');
  });
});

describe('hostile strings render inert (S2)', () => {
  const hostile = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "javascript:alert('x')", '<a href="javascript:alert(1)">x</a>', '{{7*7}}<%= 7*7 %>', '<svg/onload=alert(1)>'];
  it('names, messages and file names are escaped in the list, the thread, the details and live events', async () => {
    const a = await open(agent);
    for (const [i, h] of hostile.entries()) {
      const { chatId } = await leadWrites(t.deps, channelId, `contact-x-${i}`, h, { contactName: h });
      await t.deps.db
        .insertInto('attachments')
        .values({
          message_id: (await t.deps.db.selectFrom('messages').select('id').where('chat_id', '=', chatId!).executeTakeFirstOrThrow()).id,
          kind: 'file',
          file_name: h,
          status: 'stored',
          storage_key: 'aa/none',
        })
        .execute();
      // Rendered, then kept (the second view reuses the rendered thread and list), and searched.
      for (const url of [`/chats/${chatId}`, `/chats/${chatId}`, `/chats?q=${encodeURIComponent(h)}`]) {
        const page = await as(t.app, agent).get(url);
        // Every hostile string appears only escaped: never verbatim, so never as markup.
        expect(page.body).not.toContain(h);
        expect(page.body).toContain(escapeHtml(h));
        expect(page.body).not.toMatch(/<script>alert|<img src=x|<svg\/onload|href="javascript:/);
      }
    }
    await t.deps.live.settle();
    await a.until((ev) => ev.filter((e) => e.event === 'ui').length >= hostile.length, 'live events');
    for (const e of a.named('ui')) {
      for (const h of hostile) expect(e.data).not.toContain(h);
    }
  });
});

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
