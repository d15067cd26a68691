import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, createTestApp, login, makeEmployee, type Session, type TestApp } from '../helpers.ts';
import { TestAdapter, leadWrites, makeTestChannel } from '../support/test-adapter.ts';
import type { OutboundMessage } from '../../src/channels/adapter.ts';
import { LiveStreams } from '../platform/sse.ts';

/**
 * The worker pipeline's hot paths (P3, P8) and the properties they must keep: a send records
 * the message and its live re-render together, for the channel's employees only, in both
 * languages; a paced channel never exceeds its limit and never holds up another channel's
 * sends; each message goes out once; ingest still flips red dots when, and only when, a chat
 * starts or stops needing attention.
 */
class TimedAdapter extends TestAdapter {
  readonly times: Array<{ messageId: number; at: number }> = [];
  override async send(channel: unknown, msg: OutboundMessage) {
    const r = await super.send(channel, msg);
    this.times.push({ messageId: msg.messageId, at: Date.now() });
    return r;
  }
}

let t: TestApp;
let url: string;
const adapter = new TimedAdapter();
let agent: Session;
let outsider: Session;
let agentId: number;
let channelId: number;
const live = new LiveStreams(() => url);

beforeAll(async () => {
  t = await createTestApp({ adapters: [adapter] });
  url = await t.app.listen({ port: 0, host: '127.0.0.1' });
  const a = await makeEmployee(t.deps, { role: 'agent', email: 'pipe-agent@shop.test' });
  const b = await makeEmployee(t.deps, { role: 'agent', email: 'pipe-outsider@shop.test' });
  agentId = a.id;
  channelId = await makeTestChannel(t.deps, { employees: [a.id] });
  await makeTestChannel(t.deps, { employees: [b.id] });
  agent = await login(t.app, a.email);
  outsider = await login(t.app, b.email);
});
afterAll(async () => {
  live.closeAll();
  await t?.close();
});

const open = (s: Session) => live.open(s);

/** Queued outbound messages committed directly (the outbox), as the bench does. */
async function queueMessages(chatId: number, channel: number, n: number, tag: string): Promise<number[]> {
  const rows = await t.deps.db
    .insertInto('messages')
    .values(
      Array.from({ length: n }, (_, i) => ({
        chat_id: chatId,
        channel_id: channel,
        direction: 'out' as const,
        kind: 'text',
        text: `${tag} ${i}`,
        external_id: null,
        sender_employee_id: agentId,
        status: 'queued' as const,
        idempotency_key: `${tag}-${i}-key`,
        sort_at: new Date(),
        meta: JSON.stringify({ messagingType: 'RESPONSE' }),
      })),
    )
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

function maxInAnySecond(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= 1000) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe('send job', () => {
  it('marks the message sent and re-renders it live, in both languages, for the channel only', async () => {
    const [a, b] = [await open(agent), await open(outsider)];
    const { chatId } = await leadWrites(t.deps, channelId, 'pipe-lead-1', 'Any news?');
    const res = await as(t.app, agent).post(`/chats/${chatId}/messages`, { text: 'Ready tomorrow', idempotency_key: 'pipe-send-1-key' });
    expect(res.statusCode).toBeLessThan(400);
    await t.deps.queue.idle();
    await t.deps.live.settle();
    const m = await t.deps.db.selectFrom('messages').select(['id', 'status', 'external_id', 'sent_at']).where('idempotency_key', '=', 'pipe-send-1-key').executeTakeFirstOrThrow();
    expect(m.status).toBe('sent');
    expect(m.external_id).toBeTruthy();
    expect(m.sent_at).not.toBeNull();
    const ev = await a.until((evs) => evs.some((e) => e.event === 'ui' && e.data.includes(`id="message-${m.id}"`) && e.data.includes('data-status="sent"')), 'the sent re-render');
    expect(ev.length).toBeGreaterThan(0);
    const rows = await t.deps.db.selectFrom('live_events').select(['locale', 'audience', 'channel_id']).where('html', 'like', `%id="message-${m.id}"%data-status="sent"%`).execute();
    expect(rows.map((r) => r.locale).sort()).toEqual(['en', 'fr']);
    expect(rows.every((r) => r.audience === 'channel' && r.channel_id === channelId)).toBe(true);
    expect(b.events.some((e) => e.data.includes(`message-${m.id}`))).toBe(false);
    expect(adapter.sent.filter((s) => s.messageId === m.id)).toHaveLength(1);
  });

  it('paces a limited channel without holding up another channel, each message sent once', { timeout: 30_000 }, async () => {
    const limited = await makeTestChannel(t.deps, { employees: [agentId] });
    await t.deps.db
      .updateTable('channels')
      .set({ settings: JSON.stringify({ rateLimitPerSecond: 5 }) })
      .where('id', '=', limited)
      .execute();
    const free = await makeTestChannel(t.deps, { employees: [agentId] });
    const chatA = (await leadWrites(t.deps, limited, 'pipe-paced', 'hello A')).chatId!;
    const chatB = (await leadWrites(t.deps, free, 'pipe-free', 'hello B')).chatId!;
    const idsA = await queueMessages(chatA, limited, 8, 'paced');
    const idsB = await queueMessages(chatB, free, 12, 'free');
    // The paced channel's jobs first: with pacing that sleeps in the workers they would take
    // every worker and the free channel would wait for them.
    for (const messageId of idsA) await t.deps.queue.enqueue(t.deps.jobs.sendMessage, { messageId });
    for (const messageId of idsB) await t.deps.queue.enqueue(t.deps.jobs.sendMessage, { messageId });
    await t.deps.queue.idle();

    const timesA = adapter.times.filter((x) => idsA.includes(x.messageId)).map((x) => x.at);
    const timesB = adapter.times.filter((x) => idsB.includes(x.messageId)).map((x) => x.at);
    expect(timesA).toHaveLength(8);
    expect(timesB).toHaveLength(12);
    expect(maxInAnySecond(timesA)).toBeLessThanOrEqual(5);
    // 8 sends at 5/s take about 1.4 s; the free channel's sends are not queued behind them.
    expect(Math.max(...timesB)).toBeLessThan(Math.max(...timesA));
    const statuses = await t.deps.db
      .selectFrom('messages')
      .select('status')
      .where('id', 'in', [...idsA, ...idsB])
      .execute();
    expect(statuses.every((s) => s.status === 'sent')).toBe(true);
  });
});

describe('ingest', () => {
  it('a message into a chat that already needs attention records no red-dot event; one that starts needing it does', async () => {
    const first = await leadWrites(t.deps, channelId, 'pipe-dots', 'first');
    const before = await t.deps.db
      .selectFrom('live_events')
      .select((eb) => eb.fn.max('id').as('max'))
      .executeTakeFirstOrThrow();
    // Still unread: the chat needed attention before and after.
    await leadWrites(t.deps, channelId, 'pipe-dots', 'second');
    const events = await t.deps.db.selectFrom('live_events').select(['name', 'html']).where('id', '>', Number(before.max)).execute();
    expect(events.filter((e) => e.name === 'ui' && e.html.includes('second'))).toHaveLength(2);
    expect(events.filter((e) => e.name === 'red-dot')).toHaveLength(0);

    // Read and answered: nothing needs attention; a new message turns the agent's dot on.
    for (const c of await t.deps.db.selectFrom('chats').select('id').where('indicator', '<>', 'none').execute()) {
      await as(t.app, agent).post(`/chats/${c.id}/read`);
      await as(t.app, agent).post(`/chats/${c.id}/messages`, { text: 'Done', idempotency_key: `pipe-dots-answer-${c.id}` });
    }
    await t.deps.queue.idle();
    const dot = await t.deps.db.selectFrom('employees').select('red_dot').where('id', '=', agentId).executeTakeFirstOrThrow();
    expect(dot.red_dot).toBe(false);
    const mark = await t.deps.db
      .selectFrom('live_events')
      .select((eb) => eb.fn.max('id').as('max'))
      .executeTakeFirstOrThrow();
    await leadWrites(t.deps, channelId, 'pipe-dots', 'third');
    const after = await t.deps.db.selectFrom('live_events').select(['name', 'employee_id', 'data']).where('id', '>', Number(mark.max)).execute();
    expect(after.filter((e) => e.name === 'red-dot' && e.employee_id === agentId).map((e) => e.data)).toEqual([{ on: true }]);
    expect(first.chatId).not.toBeNull();
  });
});
