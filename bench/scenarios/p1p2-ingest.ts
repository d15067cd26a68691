import { Redis } from 'ioredis';
import { RUN_DB, META_APP_SECRET, REDIS_URL, dbUrl, parleyEnv, redisPrefix } from '../lib/env.ts';
import { deleteRedisPrefix, freshDatabase } from '../lib/db.ts';
import { startChild } from '../lib/child.ts';
import { runLoad, type LoadResult } from '../lib/loadgen.ts';
import { messengerPayload, midFor, psidFor, signedWebhookRequest, textFor } from '../lib/meta.ts';
import { PAGE_ID } from '../lib/parley.ts';
import { CpuMeter, cpuLine } from '../lib/cpu.ts';
import { loadLine, ratio, type Scenario } from '../lib/report.ts';
import pg from 'pg';

/**
 * P1/P2: signed webhook ingest. Parley in production mode (PostgreSQL, Redis), web role only:
 * each POST is verified over its raw bytes, written to webhook_inbox, answered 200, and its
 * processing job is enqueued in BullMQ (no worker runs, so jobs just queue). The generator
 * replays pre-signed, realistic Messenger deliveries (non-ASCII escaped as Meta does).
 */
export const ingestScenario: Scenario = {
  key: 'p1',
  covers: ['P1', 'P2'],
  title: 'signed webhook ingest (verify raw bytes, durable insert, 200)',
  async run(ctx) {
    const conns = Number(ctx.options.get('p1-conns') ?? 32);
    const durationMs = ctx.quick ? 5_000 : 10_000;
    const prefix = redisPrefix('p1');
    const database = await freshDatabase(RUN_DB, dbUrl(RUN_DB));
    await database.close();
    const child = await startChild('bench/servers/parley.ts', {
      name: 'p1-parley-web',
      env: parleyEnv({ PROCESS_ROLES: 'web', BENCH_REDIS_PREFIX: prefix, BENCH_PG_POOL_MAX: process.env.BENCH_PG_POOL_MAX }),
    });
    try {
      const now = Date.now();
      const requests = Array.from({ length: 4096 }, (_, n) =>
        signedWebhookRequest(messengerPayload({ pageId: PAGE_ID, psid: psidFor(n % 500), mid: midFor('p1', n), text: textFor(n), timestamp: now + n }), META_APP_SECRET),
      );
      const bodyBytes = requests[0]!.length;
      // Sanity: a good signature is accepted, a flipped one refused.
      const bad = Buffer.from(requests[1]!);
      bad[bad.length - 3] = bad[bad.length - 3]! ^ 1;
      const probe = await runLoad({ port: child.port!, connections: 1, durationMs: 5000, maxRequests: 2, request: (k) => (k === 0 ? requests[0]! : bad) });
      if (probe.status['200'] !== 1 || probe.status['401'] !== 1) throw new Error(`sanity check failed: ${JSON.stringify(probe.status)}`);
      let acknowledged = 1;
      const count = (r: LoadResult) => (acknowledged += r.status['200'] ?? 0);

      const baseline = await ctx.baseline(conns, durationMs);
      count(await runLoad({ port: child.port!, connections: conns, durationMs: 3000, request: (k) => requests[(k + 2) % requests.length]! }));
      const cpu = CpuMeter.standard({ parley: child.pid }).begin();
      const sat = await runLoad({ port: child.port!, connections: conns, durationMs, request: (k) => requests[k % requests.length]! });
      const satCpu = cpu.end();
      count(sat);
      ctx.log(`Parley saturated: ${loadLine(sat)}`);
      ctx.log(`  ${cpuLine(satCpu)}; request ${bodyBytes} bytes`);

      const fixedRate = 1000;
      const cpu2 = CpuMeter.standard({ parley: child.pid }).begin();
      const fixed = await runLoad({ port: child.port!, connections: 64, durationMs, rate: fixedRate, request: (k) => requests[(k + 7) % requests.length]! });
      const fixedCpu = cpu2.end();
      count(fixed);
      ctx.log(`Parley at a fixed ${fixedRate} req/s: ${loadLine(fixed)} (latency from the scheduled send time; from the actual write: p50 ${fixed.serviceLatency!.p50.toFixed(2)} ms, p99 ${fixed.serviceLatency!.p99.toFixed(2)} ms)`);
      ctx.log(`  ${cpuLine(fixedCpu)}`);

      // Every acknowledged delivery must be in the inbox (durable before the 200).
      const c = new pg.Client({ connectionString: dbUrl(RUN_DB) });
      await c.connect();
      const stored = Number((await c.query('SELECT count(*) AS n FROM webhook_inbox')).rows[0].n);
      await c.end();
      const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
      const queued = await redis.llen(`${prefix}:parley:wait`).catch(() => -1);
      redis.disconnect();
      ctx.log(`acknowledged (200) ${acknowledged.toLocaleString('en-US')}, rows in webhook_inbox ${stored.toLocaleString('en-US')}, process-webhook jobs waiting in Redis ${queued.toLocaleString('en-US')}`);
      const notes: string[] = [];
      if (stored < acknowledged) notes.push(`LOST: ${acknowledged - stored} acknowledged deliveries are not in webhook_inbox`);
      if (queued >= 0 && queued < stored) notes.push(`${stored - queued} stored deliveries have no job in Redis (the enqueue after the 200 failed; the outbox sweeper would pick them up)`);

      const r = sat.rps / baseline.rps;
      return {
        checks: [
          {
            id: 'P1',
            what: 'webhook ingest throughput (saturated)',
            value: `${Math.round(sat.rps).toLocaleString('en-US')} req/s, ${sat.non2xx + sat.errors + sat.timeouts} non-2xx/errors`,
            target: '≥ 5,000 req/s, ≥ 0.06× hello, 0 non-2xx',
            ratio: ratio(sat.rps, baseline.rps),
            pass: sat.rps >= 5000 && r >= 0.06 && sat.non2xx === 0 && sat.errors === 0 && sat.timeouts === 0,
          },
          { id: 'P2', what: `ingest latency saturated (${conns} conns)`, value: `p50 ${sat.latency.p50.toFixed(2)} ms, p99 ${sat.latency.p99.toFixed(2)} ms`, target: 'p99 ≤ 25 ms', pass: sat.latency.p99 <= 25 },
          {
            id: 'P2',
            what: `ingest latency at fixed ${fixedRate} req/s`,
            value: `p50 ${fixed.latency.p50.toFixed(2)} ms, p99 ${fixed.latency.p99.toFixed(2)} ms`,
            target: 'p50 ≤ 5 ms, p99 ≤ 50 ms',
            pass: fixed.latency.p50 <= 5 && fixed.latency.p99 <= 50 && fixed.non2xx === 0 && fixed.errors === 0,
          },
          { id: 'P1', what: 'acknowledged deliveries stored', value: `${stored.toLocaleString('en-US')} stored / ${acknowledged.toLocaleString('en-US')} acked`, target: 'none lost', pass: stored >= acknowledged },
        ],
        figures: { baseline, saturated: sat, saturatedCpu: satCpu, fixed, fixedCpu, acknowledged, stored, queued, requestBytes: bodyBytes },
        notes,
      };
    } finally {
      await child.stop();
      await deleteRedisPrefix(prefix);
    }
  },
};
