import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, defaultRedisPrefix, loadConfig } from '../../src/config.ts';
import { inTransaction } from '../../src/platform/tx.ts';
import type { Deps } from '../../src/deps.ts';
import { createTestApp, login, makeEmployee, usingPostgres, usingRedis, type Session, type TestApp } from '../helpers.ts';
import { SseStream } from './sse.ts';
import { until } from './support.ts';

/**
 * #21 finding 6: two Parley installs on one Redis exchanged live events (the channel prefix was
 * fixed, and pub/sub ignores database numbers). REDIS_PREFIX names every key, queue and channel;
 * its default comes from the database's name, so two installs differ without configuration.
 */
describe('REDIS_PREFIX configuration', () => {
  const base = { SECRET_KEY: 'test-secret-key-0123456789abcdef0123456789', DATA_DIR: '/tmp/parley-prefix-test' };

  it('defaults to parley:<database name>, and to parley when embedded', () => {
    expect(loadConfig({ ...base, DATABASE_URL: 'postgres://u:p@db.example:5432/shop_one' }).redisPrefix).toBe('parley:shop_one');
    expect(loadConfig({ ...base, DATABASE_URL: 'postgresql://db/shop%20two?sslmode=require' }).redisPrefix).toBe('parley:shop_two');
    expect(defaultRedisPrefix(undefined)).toBe('parley');
    expect(defaultRedisPrefix('postgres://db')).toBe('parley');
    // Same database, any host name: processes of one install share it.
    expect(defaultRedisPrefix('postgres://10.0.0.5/parley')).toBe(defaultRedisPrefix('postgres://pg.internal:6432/parley'));
  });

  it('takes REDIS_PREFIX as given when valid, and reports an invalid one by name', () => {
    expect(loadConfig({ ...base, DATABASE_URL: 'postgres://db/x', REDIS_PREFIX: 'shop-1:parley.v2_a' }).redisPrefix).toBe('shop-1:parley.v2_a');
    for (const bad of ['has space', 'star*', 'a{b}', 'x'.repeat(65), 'new\nline']) {
      let err: unknown;
      try {
        loadConfig({ ...base, REDIS_PREFIX: bad });
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems.join('\n')).toMatch(/REDIS_PREFIX/);
    }
  });
});

describe.skipIf(!usingRedis || !usingPostgres)('two installs on one Redis (default prefixes)', () => {
  let one: TestApp;
  let two: TestApp;
  let s1: Session;
  let base1: string;
  let redis: Redis;

  beforeAll(async () => {
    // No explicit prefix: each app takes the default, from its own database's name.
    [one, two] = await Promise.all([createTestApp({ redisPrefix: undefined }), createTestApp({ redisPrefix: undefined })]);
    base1 = await one.app.listen({ port: 0, host: '127.0.0.1' });
    const e = await makeEmployee(one.deps, { role: 'Admin', email: 'one@shop.test' });
    s1 = await login(one.app, e.email);
    redis = new Redis(process.env.REDIS_URL!);
  });
  afterAll(async () => {
    redis?.disconnect();
    await Promise.all([one?.close(), two?.close()]);
  });

  const maxId = async (deps: Deps) =>
    Number(
      (
        await deps.db
          .selectFrom('live_events')
          .select((eb) => eb.fn.max('id').as('max'))
          .executeTakeFirstOrThrow()
      ).max ?? 0,
    );
  const record = (deps: Deps, m: string) =>
    inTransaction(deps.db, deps.logger, async (tx) => {
      await deps.live.record(tx, { audience: 'all', name: 'ping', data: { m } });
    });

  it('each install has its own prefix, and its live channel under it', async () => {
    const dbName = (d: Deps) => new URL(d.config.databaseUrl!).pathname.slice(1);
    expect(one.deps.config.redisPrefix).toBe(`parley:${dbName(one.deps)}`);
    expect(two.deps.config.redisPrefix).toBe(`parley:${dbName(two.deps)}`);
    expect(one.deps.config.redisPrefix).not.toBe(two.deps.config.redisPrefix);
    const channels = await until(async () => {
      const c = await redis.pubsub('CHANNELS', 'parley:parley_t_*');
      return c.includes(`${one.deps.config.redisPrefix}:bus:live`) && c.includes(`${two.deps.config.redisPrefix}:bus:live`) ? c : null;
    }, 'both installs subscribed');
    expect(channels).toContain(`${one.deps.config.redisPrefix}:bus:live`);
  });

  it("an event of one install never reaches the other's streams, nor moves its cursor", async () => {
    const stream = await SseStream.open(`${base1}/events`, { cookie: s1.cookie });
    try {
      expect(stream.status).toBe(200);
      // Install two's next event gets an id ahead of install one's: were it heard by one, its
      // hub would dispatch it or jump its cursor past one's own next event.
      while ((await maxId(two.deps)) <= (await maxId(one.deps)) + 2) await record(two.deps, 'filler');
      await record(two.deps, 'from-install-two');
      const twoId = await maxId(two.deps);
      // Published and heard by install two's own hub (so on Redis by now).
      await until(() => two.deps.live.lastEventId >= twoId, "install two's hub");
      await record(one.deps, 'from-install-one');
      await stream.waitFor('ping', 'from-install-one');
      expect(stream.events.map((e) => JSON.parse(e.data).m)).toEqual(['from-install-one']);
    } finally {
      stream.close();
    }
  });
});
