import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { createDeps, type Deps } from '../../src/deps.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { inTransaction } from '../../src/platform/tx.ts';
import { createTestApp, login, makeEmployee, usingPostgres, usingRedis, type Session, type TestApp } from '../helpers.ts';
import { SseStream } from './sse.ts';

/**
 * Production only (PostgreSQL + Redis): two web processes share the database and Redis. An event
 * committed through one reaches an employee connected to the other (Redis pub/sub fan-out), and
 * a reconnect to the other process replays from the shared, durable event log.
 */
describe.skipIf(!usingRedis || !usingPostgres)('live fan-out across web processes', () => {
  const prefix = `parleytest:fanout:${randomBytes(4).toString('hex')}`;
  let one: TestApp;
  let two: { deps: Deps; app: FastifyInstance; base: string };
  let agent: { id: number; s: Session };

  beforeAll(async () => {
    one = await createTestApp({ redisPrefix: prefix });
    // The second process: same configuration (database, Redis, prefix), its own hub and app.
    const deps = await createDeps(one.config, { logger: createLogger('silent'), redisPrefix: prefix, migrate: false });
    await deps.live.start();
    const app = await buildApp(deps);
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    two = { deps, app, base };
    const e = await makeEmployee(one.deps, { email: 'agent@shop.test' });
    agent = { id: e.id, s: await login(one.app, e.email) };
  });
  afterAll(async () => {
    await two?.deps.live.close();
    await two?.app.close();
    await two?.deps.close();
    await one?.close();
  });

  /** Records one event through `deps` and returns its id (read after the commit). */
  const record = async (deps: Deps, m: string, audience: 'all' | 'employee' = 'all', employeeId?: number) => {
    await inTransaction(deps.db, deps.logger, async (tx) => {
      await deps.live.record(tx, { audience, employeeId, name: 'ping', data: { m } });
    });
    const r = await deps.db
      .selectFrom('live_events')
      .select((eb) => eb.fn.max('id').as('max'))
      .executeTakeFirstOrThrow();
    return Number(r.max);
  };

  it('an event committed in one process reaches a stream on the other; a reconnect there replays', async () => {
    // The session made through process one works on process two (shared database).
    const stream = await SseStream.open(`${two.base}/events`, { cookie: agent.s.cookie });
    expect(stream.status).toBe(200);
    const firstId = await record(one.deps, 'from-one', 'employee', agent.id);
    const got = await stream.waitFor('ping', 'from-one');
    expect(Number(got.id)).toBe(firstId);
    stream.close();

    const missed = [await record(one.deps, 'missed-1'), await record(one.deps, 'missed-2')];
    // Reconnect to process two with the last id it delivered.
    const again = await SseStream.open(`${two.base}/events`, { cookie: agent.s.cookie, lastEventId: firstId });
    await again.waitFor('ping', 'missed-2');
    expect(again.events.map((e) => Number(e.id))).toEqual(missed);
    again.close();
  });
});
