import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { openDatabase } from '../../src/db/database.ts';
import { admin } from '../global-setup.ts';
import { createTestApp, createTestDeps, usingPostgres, usingRedis, type TestApp, type TestContext } from '../helpers.ts';

/** GET /healthz: 200 with the state of each dependency, 503 when one is down. */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

describe('GET /healthz', () => {
  it('answers 200 with the database, Redis, mode and queue states', async () => {
    const res = await t.app.inject({ url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json()).toEqual({
      status: 'ok',
      database: 'up',
      redis: usingRedis ? 'up' : 'not configured',
      mode: usingPostgres ? 'postgres' : 'embedded',
      queue: usingRedis ? 'bullmq' : 'local',
    });
  });

  it('can be polled indefinitely without leaking listeners (a load balancer checks every few seconds)', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    // Redis configured (reachable or not, the client is the same): the check keeps one client.
    const app = await buildApp({ ...t.deps, config: { ...t.deps.config, redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:1' } });
    try {
      for (let i = 0; i < 25; i++) await app.inject({ url: '/healthz' });
      // Warnings are emitted on the next tick.
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => w.includes('MaxListenersExceeded'))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      await app.close();
    }
  });

  it('needs no login and sets no session', async () => {
    const res = await t.app.inject({ url: '/healthz', headers: { cookie: 'parley_session=whatever' } });
    expect(res.statusCode).toBe(200);
    expect(String(res.headers['set-cookie'] ?? '')).not.toMatch(/parley_session=[^;]+/);
  });

  describe('with Redis configured but unreachable', () => {
    let down: TestContext;
    beforeAll(async () => {
      // Port 1 refuses connections: the BullMQ producer and the bus are built but never ready.
      down = await createTestDeps({ env: { REDIS_URL: 'redis://127.0.0.1:1' } });
    });
    afterAll(async () => {
      // Not down.close(): its queue cleanup (obliterate) waits forever for a Redis that never
      // answers. Close the clients, then drop the database clone and the data dir by hand.
      if (!down) return;
      await down.deps.close();
      const url = down.config.databaseUrl;
      if (url && process.env.DATABASE_URL) {
        await admin(process.env.DATABASE_URL, async (c) => {
          await c.query(`DROP DATABASE IF EXISTS ${new URL(url).pathname.slice(1)} WITH (FORCE)`);
        });
      }
      rmSync(down.dataDir, { recursive: true, force: true });
    });

    it('answers 503 quickly, naming Redis as down', async () => {
      const app = await buildApp(down.deps);
      try {
        const started = Date.now();
        const res = await app.inject({ url: '/healthz' });
        expect(res.statusCode).toBe(503);
        expect(res.json()).toMatchObject({ status: 'degraded', database: 'up', redis: 'down', queue: 'bullmq' });
        // Bounded by the check's own 1 s Redis timeout (plus a loaded machine's slack).
        expect(Date.now() - started).toBeLessThan(5000);
      } finally {
        await app.close();
      }
    });
  });

  it('answers 503 when the database does not answer', async () => {
    const broken = await openDatabase({ databaseUrl: 'postgres://parley@127.0.0.1:1/none' });
    const app = await buildApp({ ...t.deps, db: broken.db });
    try {
      const res = await app.inject({ url: '/healthz' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ status: 'degraded', database: 'down' });
    } finally {
      await app.close();
      await broken.close();
    }
  });
});
