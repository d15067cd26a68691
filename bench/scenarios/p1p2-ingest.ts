import { Redis } from 'ioredis';
import { RUN_DB, META_APP_SECRET, REDIS_URL, dbUrl, parleyEnv, redisPrefix } from '../lib/env.ts';
import { deleteRedisPrefix, freshDatabase } from '../lib/db.ts';
import { profiled, startChild, type Child } from '../lib/child.ts';
import { runLoad, type LoadResult } from '../lib/loadgen.ts';
import { messengerPayload, midFor, nameFor, psidFor, signedWebhookRequest, textFor, waIdFor, wamidFor, whatsappPayload } from '../lib/meta.ts';
import { PAGE_ID, WA_DISPLAY_NUMBER, WA_PHONE_NUMBER_ID, WA_WABA_ID } from '../lib/parley.ts';
import { CpuMeter, cpuLine } from '../lib/cpu.ts';
import { loadLine, ratio, type BenchContext, type Check, type Scenario } from '../lib/report.ts';
import { parseWhatsAppWebhook } from '../../src/channels/whatsapp/webhook-parser.ts';
import pg from 'pg';

/** Distinct pre-signed bodies per platform, and distinct senders among them. */
const BODIES = 4096;
const SENDERS = 500;
const FIXED_RATE = 1000;

/** The first bytes of a platform's bodies as Meta serializes them (to count its rows). */
const PREFIX = { Messenger: '{"object":"page"', WhatsApp: '{"object":"whatsapp_business_account"' } as const;
type Platform = keyof typeof PREFIX;

interface IngestRun {
  platform: Platform;
  requestBytes: number;
  saturated: LoadResult;
  saturatedCpu: Record<string, number>;
  /** The server's CPU time per request over the saturated window (µs): steadier than req/s on a noisy machine. */
  cpuPerRequestUs: number;
  fixed: LoadResult;
  fixedCpu: Record<string, number>;
  acknowledged: number;
  stored: number;
}

/**
 * P1/P2: signed webhook ingest. Parley in production mode (PostgreSQL, Redis), web role only:
 * each POST is verified over its raw bytes, written to webhook_inbox, answered 200, and its
 * processing job is enqueued in BullMQ (no worker runs, so jobs just queue). The generator
 * replays pre-signed, realistic deliveries (non-ASCII escaped as Meta does): Messenger first,
 * then WhatsApp Cloud API (same endpoint, same settings, same hello-world baseline), each
 * with its own figures and checks.
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
      const messenger = Array.from({ length: BODIES }, (_, n) =>
        signedWebhookRequest(messengerPayload({ pageId: PAGE_ID, psid: psidFor(n % SENDERS), mid: midFor('p1', n), text: textFor(n), timestamp: now + n }), META_APP_SECRET),
      );
      const waPayloads = Array.from({ length: BODIES }, (_, n) => {
        const waId = waIdFor(n % SENDERS);
        return whatsappPayload({
          wabaId: WA_WABA_ID,
          phoneNumberId: WA_PHONE_NUMBER_ID,
          displayPhoneNumber: WA_DISPLAY_NUMBER,
          waId,
          name: nameFor(n % SENDERS),
          wamid: wamidFor('p1', n, waId),
          text: textFor(n),
          timestamp: now - (BODIES - n) * 1000,
        });
      });
      // The bodies are what Parley's own parser reads as one text from the right person.
      const parsed = parseWhatsAppWebhook(waPayloads[1]);
      const ev = parsed?.[0]?.events[0];
      if (
        parsed?.length !== 1 ||
        parsed[0]!.accountId !== WA_PHONE_NUMBER_ID ||
        parsed[0]!.events.length !== 1 ||
        ev?.type !== 'message' ||
        ev.contactExternalId !== waIdFor(1) ||
        ev.kind !== 'text' ||
        !ev.contactName
      ) {
        throw new Error(`the WhatsApp bench payload does not parse as one text message: ${JSON.stringify(parsed)}`);
      }
      const whatsapp = waPayloads.map((p) => signedWebhookRequest(p, META_APP_SECRET));

      const baseline = await ctx.baseline(conns, durationMs);
      const m = await measure(ctx, child, 'Messenger', messenger, conns, durationMs);
      const w = await measure(ctx, child, 'WhatsApp', whatsapp, conns, durationMs);

      // Every delivery in webhook_inbox is to have its process-webhook job in Redis.
      const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
      const queued = await redis.llen(`${prefix}:parley:wait`).catch(() => -1);
      redis.disconnect();
      const storedAll = m.stored + w.stored;
      ctx.log(`rows in webhook_inbox ${storedAll.toLocaleString('en-US')}, process-webhook jobs waiting in Redis ${queued.toLocaleString('en-US')}`);
      const notes: string[] = [];
      for (const r of [m, w]) if (r.stored < r.acknowledged) notes.push(`LOST: ${r.acknowledged - r.stored} acknowledged ${r.platform} deliveries are not in webhook_inbox`);
      if (queued >= 0 && queued < storedAll) notes.push(`${storedAll - queued} stored deliveries have no job in Redis (the enqueue after the 200 failed; the outbox sweeper would pick them up)`);
      // req/s of two windows a few seconds apart move a lot on a shared machine; the server's
      // CPU per request tells whether a WhatsApp delivery really costs more.
      const waVsM = w.saturated.rps / m.saturated.rps;
      const cpuVsM = w.cpuPerRequestUs / m.cpuPerRequestUs;
      ctx.log(`WhatsApp vs Messenger: ${waVsM.toFixed(2)}× the req/s, ${cpuVsM.toFixed(2)}× the Parley CPU per request (${w.requestBytes} vs ${m.requestBytes} bytes)`);
      if (cpuVsM > 1.25) {
        notes.push(
          `A WhatsApp delivery costs Parley ${cpuVsM.toFixed(2)}× the CPU of a Messenger one (${w.cpuPerRequestUs.toFixed(0)} vs ${m.cpuPerRequestUs.toFixed(0)} µs; ${w.requestBytes} vs ${m.requestBytes} bytes). BENCH_PROFILE=1 profiles both saturated windows (p1-messenger, p1-whatsapp).`,
        );
      }

      const checks: Check[] = [];
      for (const r of [m, w]) {
        const { saturated: sat, fixed } = r;
        checks.push(
          {
            id: 'P1',
            what: `${r.platform} ingest throughput (saturated)`,
            value: `${Math.round(sat.rps).toLocaleString('en-US')} req/s, ${sat.non2xx + sat.errors + sat.timeouts} non-2xx/errors`,
            target: '≥ 5,000 req/s, ≥ 0.06× hello, 0 non-2xx',
            ratio: ratio(sat.rps, baseline.rps),
            pass: sat.rps >= 5000 && sat.rps / baseline.rps >= 0.06 && sat.non2xx === 0 && sat.errors === 0 && sat.timeouts === 0,
          },
          {
            id: 'P2',
            what: `${r.platform} ingest latency saturated (${conns} conns)`,
            value: `p50 ${sat.latency.p50.toFixed(2)} ms, p99 ${sat.latency.p99.toFixed(2)} ms`,
            target: 'p99 ≤ 25 ms',
            pass: sat.latency.p99 <= 25,
          },
          {
            id: 'P2',
            what: `${r.platform} ingest latency at fixed ${FIXED_RATE} req/s`,
            value: `p50 ${fixed.latency.p50.toFixed(2)} ms, p99 ${fixed.latency.p99.toFixed(2)} ms`,
            target: 'p50 ≤ 5 ms, p99 ≤ 50 ms',
            pass: fixed.latency.p50 <= 5 && fixed.latency.p99 <= 50 && fixed.non2xx === 0 && fixed.errors === 0,
          },
          {
            id: 'P1',
            what: `${r.platform} acknowledged deliveries stored`,
            value: `${r.stored.toLocaleString('en-US')} stored / ${r.acknowledged.toLocaleString('en-US')} acked`,
            target: 'none lost',
            pass: r.stored >= r.acknowledged,
          },
        );
      }
      return {
        checks,
        figures: {
          baseline,
          // Messenger's figures keep their earlier keys; WhatsApp's sit beside them.
          saturated: m.saturated,
          saturatedCpu: m.saturatedCpu,
          fixed: m.fixed,
          fixedCpu: m.fixedCpu,
          acknowledged: m.acknowledged,
          stored: m.stored,
          requestBytes: m.requestBytes,
          queued,
          cpuPerRequestUs: m.cpuPerRequestUs,
          whatsapp: { ...w, platform: undefined, rpsVsMessenger: waVsM, cpuPerRequestVsMessenger: cpuVsM },
        },
        notes,
      };
    } finally {
      await child.stop();
      await deleteRedisPrefix(prefix);
    }
  },
};

/**
 * One platform's measurements on the running server: a signature sanity probe, 3 s of
 * warm-up, the saturated closed loop (`conns` connections), the open loop at FIXED_RATE, then
 * the rows of that platform in webhook_inbox against the deliveries acknowledged.
 */
async function measure(ctx: BenchContext, child: Child, platform: Platform, requests: Buffer[], conns: number, durationMs: number): Promise<IngestRun> {
  // Sanity: a good signature is accepted, a flipped one refused.
  const bad = Buffer.from(requests[1]!);
  bad[bad.length - 3] = bad[bad.length - 3]! ^ 1;
  const probe = await runLoad({ port: child.port!, connections: 1, durationMs: 5000, maxRequests: 2, request: (k) => (k === 0 ? requests[0]! : bad) });
  if (probe.status['200'] !== 1 || probe.status['401'] !== 1) throw new Error(`${platform} sanity check failed: ${JSON.stringify(probe.status)}`);
  let acknowledged = 1;
  const count = (r: LoadResult) => (acknowledged += r.status['200'] ?? 0);

  count(await runLoad({ port: child.port!, connections: conns, durationMs: 3000, request: (k) => requests[(k + 2) % requests.length]! }));
  const cpu = CpuMeter.standard({ parley: child.pid }).begin();
  const sat = await profiled(child, `p1-${platform.toLowerCase()}`, () => runLoad({ port: child.port!, connections: conns, durationMs, request: (k) => requests[k % requests.length]! }), ctx.log);
  const satCpu = cpu.end();
  count(sat);
  const requestBytes = Math.round(requests.reduce((n, r) => n + r.length, 0) / requests.length);
  const cpuPerRequestUs = (((satCpu.parley ?? 0) / 100) * sat.durationS * 1e6) / Math.max(1, sat.rps * sat.durationS);
  ctx.log(`${platform} saturated: ${loadLine(sat)}`);
  ctx.log(`  ${cpuLine(satCpu)}; Parley CPU ${cpuPerRequestUs.toFixed(0)} µs a request; request ${requestBytes} bytes on average`);

  const cpu2 = CpuMeter.standard({ parley: child.pid }).begin();
  const fixed = await runLoad({ port: child.port!, connections: 64, durationMs, rate: FIXED_RATE, request: (k) => requests[(k + 7) % requests.length]! });
  const fixedCpu = cpu2.end();
  count(fixed);
  ctx.log(
    `${platform} at a fixed ${FIXED_RATE} req/s: ${loadLine(fixed)} (latency from the scheduled send time; from the actual write: p50 ${fixed.serviceLatency!.p50.toFixed(2)} ms, p99 ${fixed.serviceLatency!.p99.toFixed(2)} ms)`,
  );
  ctx.log(`  ${cpuLine(fixedCpu)}`);

  // Every acknowledged delivery must be in the inbox (durable before the 200).
  const c = new pg.Client({ connectionString: dbUrl(RUN_DB) });
  await c.connect();
  const stored = Number((await c.query('SELECT count(*) AS n FROM webhook_inbox WHERE starts_with(body, $1)', [PREFIX[platform]])).rows[0].n);
  await c.end();
  ctx.log(`${platform}: acknowledged (200) ${acknowledged.toLocaleString('en-US')}, rows in webhook_inbox ${stored.toLocaleString('en-US')}`);
  return { platform, requestBytes, saturated: sat, saturatedCpu: satCpu, cpuPerRequestUs, fixed, fixedCpu, acknowledged, stored };
}
