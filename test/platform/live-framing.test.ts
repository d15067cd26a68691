import { get as httpGet, type ClientRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTransaction } from '../../src/platform/tx.ts';
import { createTestApp, login, makeEmployee, usingRedis, type Session, type TestApp } from '../helpers.ts';
import { until } from './support.ts';
import { parseEventStream } from './event-stream-parser.ts';

/**
 * S11 over the real HTTP stream: a customer's carriage returns inside a live event's HTML
 * (`\r` ends a line for an EventSource) add no field. Read with the spec's parser from the raw
 * bytes: the event keeps its id and name, the browser's last event id is that id (not one
 * the text chose), no retry but the stream's own. (test/fuzz/sse-framing.test.ts is the
 * property test over every event kind.)
 */
let t: TestApp;
let base: string;
let s: Session;

beforeAll(async () => {
  t = await createTestApp();
  base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  const e = await makeEmployee(t.deps, { role: 'Admin', email: 'framing-admin@shop.test' });
  s = await login(t.app, e.email);
});
afterAll(async () => t?.close());

describe(`live framing over HTTP (${usingRedis ? 'Redis pub/sub' : 'in-process bus'})`, () => {
  it('a message whose text holds CR-led id:, event: and retry: lines arrives as one event with its own id', async () => {
    const text = 'Hello\rid: 999999999\revent: reload\rretry: 3600000\r\rdata: x\r\nok';
    const html = `<div id="message-1" hx-swap-oob="true"><p>${text}</p></div>`;
    const chunks: Buffer[] = [];
    let req!: ClientRequest;
    await new Promise<void>((resolve, reject) => {
      req = httpGet(`${base}/events`, { headers: { cookie: s.cookie, accept: 'text/event-stream' }, agent: false }, (res) => {
        expect(res.statusCode).toBe(200);
        res.on('data', (c: Buffer) => chunks.push(c));
        resolve();
      });
      req.on('error', reject);
    });
    try {
      await until(() => Buffer.concat(chunks).includes('retry: 2000'), 'the stream to open');
      await inTransaction(t.deps.db, t.deps.logger, async (tx) => {
        await t.deps.live.record(tx, { audience: 'all', name: 'ui', html });
        await t.deps.live.record(tx, { audience: 'all', name: 'red-dot', data: { on: true } });
      });
      const last = Number(
        (
          await t.deps.db
            .selectFrom('live_events')
            .select((eb) => eb.fn.max('id').as('max'))
            .executeTakeFirstOrThrow()
        ).max,
      );
      await until(() => parseEventStream(Buffer.concat(chunks)).events.length >= 2, 'both events');
      const parsed = parseEventStream(Buffer.concat(chunks));
      expect(parsed.events).toEqual([
        { type: 'ui', data: html.replace(/\r\n|\r/g, '\n'), lastEventId: String(last - 1) },
        { type: 'red-dot', data: '{"on":true}', lastEventId: String(last) },
      ]);
      expect(parsed.retries).toEqual([2000]);
      expect(parsed.lastEventId).toBe(String(last));
    } finally {
      req.destroy();
    }
  });

  it('refuses to record an event whose name is not an identifier', async () => {
    await expect(
      inTransaction(t.deps.db, t.deps.logger, async (tx) => {
        await t.deps.live.record(tx, { audience: 'all', name: 'ui\rretry: 1', html: '' });
      }),
    ).rejects.toThrow(/live event name/);
  });
});
