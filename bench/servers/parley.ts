import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { Session } from 'node:inspector/promises';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RESULTS_DIR } from '../lib/env.ts';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config.ts';
import { createDeps, registryList } from '../../src/deps.ts';
import { buildApp } from '../../src/app.ts';
import { inTransaction } from '../../src/platform/tx.ts';
import { applyChannelEvents } from '../../src/chats/ingest/ingest.service.ts';
import type { BullQueue } from '../../src/platform/jobs/bullmq-queue.ts';
import type { LiveEventRow } from '../../src/platform/live/live.repository.ts';
import { serveCommands } from '../lib/child.ts';
import { WARM_WEB_CONNECTIONS, WARM_WORKER_CONNECTIONS } from '../../src/runtime.ts';

/**
 * Parley as production runs it (PostgreSQL + Redis), with the roles in PROCESS_ROLES, on a
 * free port of 127.0.0.1. This mirrors src/runtime.ts `start()` (which cannot take a Redis key
 * prefix, and the bench must not share `parley:` keys with anyone's dev instance), including
 * the outbox sweeper and maintenance ticks of a worker.
 */
// Experiment knob (never on by default): BENCH_PG_POOL_MAX overrides the product's fixed pg pool
// size of 10 (src/db/database.ts), to test whether the pool is what bounds a figure.
if (process.env.BENCH_PG_POOL_MAX) {
  const max = Number(process.env.BENCH_PG_POOL_MAX);
  const Base = pg.Pool;
  (pg as { Pool: typeof pg.Pool }).Pool = class extends Base {
    constructor(cfg?: pg.PoolConfig) {
      super({ ...cfg, max });
    }
  };
}

const config = loadConfig(process.env);
const prefix = process.env.BENCH_REDIS_PREFIX;
if (!prefix) throw new Error('BENCH_REDIS_PREFIX is required');
const roles = config.processRoles;

let deps: Awaited<ReturnType<typeof createDeps>>;
let app: FastifyInstance | undefined;
try {
  deps = await createDeps(config, { redisPrefix: prefix, migrate: process.env.BENCH_MIGRATE === '1' });
} catch (err) {
  process.send?.({ type: 'fatal', error: (err as Error).stack });
  throw err;
}

const timers: NodeJS.Timeout[] = [];
await deps.database.warm(roles.includes('worker') ? WARM_WORKER_CONNECTIONS : WARM_WEB_CONNECTIONS);
if (roles.includes('worker')) {
  await deps.queue.startWorkers(registryList(deps));
  const tick = () => deps.queue.enqueue(deps.jobs.maintenance, { hour: new Date().toISOString().slice(0, 13) }).catch(() => {});
  void tick();
  timers.push(setInterval(tick, 15 * 60_000));
  timers.push(setInterval(() => deps.queue.enqueue(deps.jobs.outboxSweep, { slot: String(Math.floor(Date.now() / 15_000)) }).catch(() => {}), 15_000));
  for (const t of timers) t.unref();
}

let port: number | undefined;
if (roles.includes('web')) {
  app = await buildApp(deps);
  await deps.live.start();
  await app.listen({ port: 0, host: '127.0.0.1' });
  const a = app.server.address();
  port = typeof a === 'object' && a ? a.port : undefined;
}

// P7: the event-loop time of each live-event dispatch (the hub's fan-out to every stream).
const dispatches: Array<{ id: number; name: string; locale: string | null; ms: number; conns: number }> = [];
const hub = deps.live as unknown as { dispatch: (row: LiveEventRow) => Promise<void> };
const original = hub.dispatch.bind(hub);
hub.dispatch = async (row: LiveEventRow) => {
  const t = performance.now();
  await original(row);
  dispatches.push({ id: row.id, name: row.name, locale: row.locale, ms: performance.now() - t, conns: deps.live.connectionCount });
};

const gc = (globalThis as { gc?: () => void }).gc;
let profiler: Session | undefined;

serveCommands(
  {
    stats: () => ({ memory: process.memoryUsage(), connections: deps.live.connectionCount, cpu: process.cpuUsage() }),
    gc: async () => {
      for (let i = 0; i < 3; i++) {
        gc?.();
        await new Promise((r) => setImmediate(r));
      }
      return { available: Boolean(gc), memory: process.memoryUsage() };
    },
    dispatches: (args: { since?: number } = {}) => dispatches.filter((d) => d.id > (args.since ?? 0)),
    /** Ingests events as the webhook job would (one transaction each), in this process. */
    ingest: async (args: { channelId: number; kind: string; events: Array<Record<string, unknown>> }) => {
      const events = args.events.map((e) => ({ ...e, timestamp: new Date(e.timestamp as string) })) as Parameters<typeof applyChannelEvents>[2];
      const out = await applyChannelEvents(deps, { id: args.channelId, kind: args.kind }, events);
      await deps.live.settle();
      return out;
    },
    lastEventId: () => deps.live.lastEventId,
    /** A CPU profile of just the measured window (BENCH_PROFILE=1). */
    profileStart: async () => {
      profiler = new Session();
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.setSamplingInterval', { interval: 200 });
      await profiler.post('Profiler.start');
    },
    profileStop: async (args: { name: string }) => {
      if (!profiler) return null;
      const { profile } = await profiler.post('Profiler.stop');
      profiler.disconnect();
      profiler = undefined;
      const dir = join(RESULTS_DIR, 'profiles');
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `${args.name}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      return file;
    },
    settle: () => deps.live.settle(),
    queueIdle: () => deps.queue.idle(),
    recordRaw: async (args: { html: string; channelId: number }) => {
      await inTransaction(deps.db, deps.logger, (tx) => deps.live.record(tx, { audience: 'channel', channelId: args.channelId, name: 'ui', html: args.html, locale: 'en' }));
    },
  },
  async () => {
    for (const t of timers) clearInterval(t);
    await deps.live.close();
    await app?.close();
    if (process.env.BENCH_OBLITERATE === '1' && deps.queue.kind === 'bullmq') await (deps.queue as BullQueue).obliterate().catch(() => {});
    await deps.close();
  },
);

process.send?.({ type: 'ready', port, pid: process.pid });
