// R2 for the send job: once the platform accepted a message, nothing sends it again. Here the
// platform's echo of the send (a comment echoed through `feed`, a message sent from another
// app) is being ingested — its row holding the platform id, not yet committed — exactly while
// the job records the send: the job's statement waits on that row's unique key, then meets a
// unique violation. Recorded again in a transaction (the echo merged into ours), it is sent
// once; before, the job failed and its retry posted the message a second time.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, createTestApp, login, makeEmployee, usingPostgres, type Session, type TestApp } from '../../helpers.ts';
import { TestAdapter, leadWrites, makeTestChannel } from '../../support/test-adapter.ts';
import type { ChannelRuntime, OutboundMessage } from '../../../src/channels/adapter.ts';

/** An adapter whose send lets a concurrent transaction insert the echo row first, uncommitted. */
class EchoRacingAdapter extends TestAdapter {
  echo: ((externalId: string, msg: OutboundMessage) => Promise<void>) | null = null;
  override async send(channel: unknown, msg: OutboundMessage) {
    const r = await super.send(channel as ChannelRuntime, msg);
    await this.echo?.(r.externalId, msg);
    return r;
  }
}

describe.skipIf(!usingPostgres)('a send whose echo is being ingested at the same moment', () => {
  const adapter = new EchoRacingAdapter();
  let t: TestApp;
  let s: Session;
  let channelId: number;
  let other: pg.Client;

  beforeAll(async () => {
    t = await createTestApp({ adapters: [adapter] });
    s = await login(t.app, (await makeEmployee(t.deps, { role: 'agent', email: 'race@shop.test' })).email);
    channelId = await makeTestChannel(t.deps);
    other = new pg.Client({ connectionString: t.deps.config.databaseUrl });
    await other.connect();
  });
  afterAll(async () => {
    await other?.end();
    await t?.close();
  });

  it('is sent once and recorded once, the echo merged', async () => {
    const { chatId } = await leadWrites(t.deps, channelId, 'Racer', 'hello');
    adapter.echo = async (externalId) => {
      await other.query('BEGIN');
      await other.query(`insert into messages (chat_id, channel_id, direction, kind, text, external_id, status, sort_at, meta) values ($1, $2, 'out', 'text', 'echo', $3, 'sent', now(), '{}')`, [
        chatId,
        channelId,
        externalId,
      ]);
      // Committed a moment later, while the job's statement waits on the unique key.
      setTimeout(() => void other.query('COMMIT'), 300);
    };
    const res = await as(t.app, s).post(`/chats/${chatId}/messages`, { text: 'Sent once', idempotency_key: 'race-once-0001' });
    expect(res.statusCode).toBe(303);
    await t.deps.queue.idle();
    await new Promise((r) => setTimeout(r, 500));
    await t.deps.queue.idle();
    expect(adapter.sent.filter((m) => m.text === 'Sent once')).toHaveLength(1);
    const rows = await t.deps.db.selectFrom('messages').select(['text', 'status', 'external_id']).where('chat_id', '=', chatId).where('direction', '=', 'out').execute();
    expect(rows).toEqual([{ text: 'Sent once', status: 'sent', external_id: expect.stringMatching(/^out-/) }]);
  });
});
