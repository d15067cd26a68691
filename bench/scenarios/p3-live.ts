import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { META_APP_SECRET, RUN_DB, dbUrl, parleyEnv, redisPrefix } from '../lib/env.ts';
import { deleteRedisPrefix, freshDatabase } from '../lib/db.ts';
import { profiled, startChild, type Child } from '../lib/child.ts';
import { runLoad } from '../lib/loadgen.ts';
import { messengerPayload, midFor, psidFor, signedWebhookRequest, textFor } from '../lib/meta.ts';
import { PAGE_ID, addChannel, addEmployee, benchDeps, seedInbox, sessionCookie } from '../lib/parley.ts';
import { openMany, openSse, type SseConn } from '../lib/sse.ts';
import { CpuMeter, cpuLine } from '../lib/cpu.ts';
import { ActivitySampler, activityLines } from '../lib/pgstats.ts';
import { Samples, sleep, summarize } from '../lib/stats.ts';
import type { Scenario } from '../lib/report.ts';

const MARK = /bench-p3(w?)-(\d+)-end/g;

/**
 * P3: webhook → employee's browser, through the production path: a signed POST to the web
 * process (inbox row, BullMQ job), a separate worker process (parse, apply in one transaction,
 * render the live fragments, record the events), Redis pub/sub back to the web process, and
 * the SSE frame on each of 100 employees' streams (half English, half French pages). The clock
 * runs from writing the POST to the frame carrying that message's text arriving at a stream.
 */
export const liveScenario: Scenario = {
  key: 'p3',
  covers: ['P3'],
  title: 'webhook → queue → worker → Redis → SSE frame, 200 msg/s, 100 employees',
  async run(ctx) {
    const rate = 200;
    const seconds = ctx.quick ? 5 : 10;
    const total = rate * seconds;
    const employees = 100;
    const chats = 50;
    const prefix = redisPrefix('p3');
    const database = await freshDatabase(RUN_DB, dbUrl(RUN_DB));
    await database.close();
    const deps = await benchDeps(prefix);
    const cookies: string[] = [];
    try {
      const channelId = await addChannel(deps, {});
      for (let i = 0; i < employees; i++) cookies.push(await sessionCookie(deps, await addEmployee(deps, { name: `Agent ${i}` })));
      // The 50 people who write already have chats (and profiles): no follow-up jobs.
      await seedInbox(deps, { channelId, chats, perChat: 1, tag: 'p3-seed' });
    } finally {
      await deps.close();
    }

    const children: Child[] = [];
    const streams: SseConn[] = [];
    try {
      const env = { BENCH_REDIS_PREFIX: prefix };
      const [web, worker] = await Promise.all([
        startChild('bench/servers/parley.ts', { name: 'p3-parley-web', env: parleyEnv({ ...env, PROCESS_ROLES: 'web' }) }),
        startChild('bench/servers/parley.ts', { name: 'p3-parley-worker', env: parleyEnv({ ...env, PROCESS_ROLES: 'worker' }) }),
      ]);
      children.push(web, worker);

      const arrivals = Array.from({ length: employees }, () => new Float64Array(total).fill(NaN));
      // A warm-up second at the same rate (markers bench-p3w-N-end), measured apart: a fresh
      // worker opens its database connections and prepares its statements, V8 compiles the
      // hot paths; the target is the pipeline's steady state.
      const warmTotal = rate;
      const warmArrivals = Array.from({ length: employees }, () => new Float64Array(warmTotal).fill(NaN));
      const tails: string[] = Array(employees).fill('');
      streams.push(
        ...(await openMany(employees, 25, (i) =>
          openSse(web.port!, '/events', { cookie: cookies[i]!, 'accept-language': i % 2 ? 'fr-FR,fr;q=0.9' : 'en-GB,en;q=0.9' }, (text, at) => {
            const s = tails[i] + text;
            MARK.lastIndex = 0;
            for (let m = MARK.exec(s); m; m = MARK.exec(s)) {
              const n = Number(m[2]);
              const into = m[1] ? warmArrivals[i]! : arrivals[i]!;
              if (n < into.length && Number.isNaN(into[n]!)) into[n] = at;
            }
            tails[i] = s.slice(-24);
          }),
        )),
      );
      await sleep(500);
      const connected = ((await web.call('stats')) as { connections: number }).connections;
      ctx.log(`${connected} SSE streams open (${employees} employees, half of them French); ${chats} chats; injecting ${total} signed webhooks at ${rate}/s`);

      const warmStart = Date.now();
      const warmRequests = Array.from({ length: warmTotal }, (_, n) =>
        signedWebhookRequest(
          messengerPayload({ pageId: PAGE_ID, psid: psidFor(n % chats), mid: midFor('p3w', n), text: `${textFor(n)} bench-p3w-${n}-end`, timestamp: warmStart + n * 5 }),
          META_APP_SECRET,
        ),
      );
      const warmSentAt = new Float64Array(warmTotal).fill(NaN);
      await runLoad({ port: web.port!, connections: 16, rate, maxRequests: warmTotal, durationMs: 1000 + 8000, request: (k) => warmRequests[k]!, onSent: (k, t) => (warmSentAt[k] = t) });
      const warmDeadline = performance.now() + 15_000;
      while (!warmArrivals.every((a) => !a.some((v) => Number.isNaN(v))) && performance.now() < warmDeadline) await sleep(50);
      await sleep(300);
      const warm = new Samples();
      for (let n = 0; n < warmTotal; n++) for (const a of warmArrivals) if (!Number.isNaN(a[n]!) && !Number.isNaN(warmSentAt[n]!)) warm.add(a[n]! - warmSentAt[n]!);
      const warmLat = warm.summary();
      ctx.log(
        `warm-up (${warmTotal} webhooks in the first second of a fresh worker, not in the figure): p50 ${warmLat.p50.toFixed(1)} ms, p99 ${warmLat.p99.toFixed(1)} ms over ${warmLat.count.toLocaleString('en-US')} pairs`,
      );

      const now = Date.now();
      const requests = Array.from({ length: total }, (_, n) =>
        signedWebhookRequest(messengerPayload({ pageId: PAGE_ID, psid: psidFor(n % chats), mid: midFor('p3', n), text: `${textFor(n)} bench-p3-${n}-end`, timestamp: now + n * 5 }), META_APP_SECRET),
      );
      const sentAt = new Float64Array(total).fill(NaN);
      const cpu = CpuMeter.standard({ web: web.pid, worker: worker.pid }).begin();
      const activity = await new ActivitySampler(RUN_DB).start();
      const post = await profiled(
        worker,
        'p3-worker',
        () =>
          runLoad({
            port: web.port!,
            connections: 16,
            rate,
            maxRequests: total,
            // The schedule ends after `seconds`; a server that falls behind gets 8 s more.
            durationMs: seconds * 1000 + 8000,
            request: (k) => requests[k]!,
            onSent: (k, t) => (sentAt[k] = t),
          }),
        ctx.log,
      );
      // Let the pipeline drain (bounded).
      const deadline = performance.now() + 20_000;
      const complete = () => arrivals.every((a) => !a.some((v) => Number.isNaN(v)));
      while (!complete() && performance.now() < deadline) await sleep(100);
      const c = cpu.end();
      const act = await activity.stop();

      const all = new Samples();
      const firstPer = new Float64Array(total).fill(NaN);
      const lastPer = new Float64Array(total).fill(NaN);
      let missing = 0;
      let notPosted = 0;
      for (let n = 0; n < total; n++) {
        if (Number.isNaN(sentAt[n]!)) {
          notPosted++;
          continue;
        }
        for (let i = 0; i < employees; i++) {
          const a = arrivals[i]![n]!;
          if (Number.isNaN(a)) {
            missing++;
            continue;
          }
          const d = a - sentAt[n]!;
          all.add(d);
          if (!(d >= firstPer[n]!)) firstPer[n] = d;
          if (!(d <= lastPer[n]!)) lastPer[n] = d;
        }
      }
      const lat = all.summary();
      // Over time: the latency of each half-second of the schedule (a tail at the start is
      // warm-up; a periodic one is something the pipeline does now and then).
      const bucketMs = Number(process.env.BENCH_P3_BUCKET_MS ?? 500);
      const buckets = new Map<number, number[]>();
      for (let n = 0; n < total; n++) {
        if (Number.isNaN(sentAt[n]!)) continue;
        const b = Math.floor(((n / rate) * 1000) / bucketMs);
        const list = buckets.get(b) ?? [];
        for (let i = 0; i < employees; i++) if (!Number.isNaN(arrivals[i]![n]!)) list.push(arrivals[i]![n]! - sentAt[n]!);
        buckets.set(b, list);
      }
      const timeline = [...buckets].map(([b, l]) => ({ at: b * bucketMs, ...summarize(l) }));
      const first = summarize(Array.from(firstPer).filter((v) => !Number.isNaN(v)));
      const last = summarize(Array.from(lastPer).filter((v) => !Number.isNaN(v)));

      // Where the time goes, from the database's clock: inbox received → processed.
      const db = new pg.Client({ connectionString: dbUrl(RUN_DB) });
      await db.connect();
      // The measured webhooks only (the warm-up's came first; their bodies carry bench-p3w-).
      const inbox = await db.query(`SELECT extract(epoch FROM processed_at - received_at) * 1000 AS ms FROM webhook_inbox WHERE processed_at IS NOT NULL AND body NOT LIKE '%bench-p3w-%'`);
      const unprocessed = Number((await db.query(`SELECT count(*) AS n FROM webhook_inbox WHERE processed_at IS NULL`)).rows[0].n);
      await db.end();
      const inboxLag = summarize(inbox.rows.map((r) => Number(r.ms)));

      ctx.log(
        `POSTs: ${total - notPosted} of ${total} written within the window, ${post.requests} answered (${JSON.stringify(post.status)}), POST latency p50 ${post.latency.p50.toFixed(2)} ms, p99 ${post.latency.p99.toFixed(2)} ms`,
      );
      ctx.log(
        `POST → SSE frame over ${lat.count.toLocaleString('en-US')} (message, employee) pairs: p50 ${lat.p50.toFixed(1)} ms, p90 ${lat.p90.toFixed(1)} ms, p99 ${lat.p99.toFixed(1)} ms, max ${lat.max.toFixed(0)} ms; missing ${missing}`,
      );
      ctx.log(`  over time (p50/p99 per ${bucketMs} ms of schedule): ${timeline.map((x) => `${x.p50.toFixed(0)}/${x.p99.toFixed(0)}`).join(' ')}`);
      ctx.log(`  per message, first employee p50 ${first.p50.toFixed(1)} / p99 ${first.p99.toFixed(1)} ms; last employee p50 ${last.p50.toFixed(1)} / p99 ${last.p99.toFixed(1)} ms`);
      ctx.log(`  inbox row received → processed (worker pickup + apply + publish): p50 ${inboxLag.p50.toFixed(1)} ms, p99 ${inboxLag.p99.toFixed(1)} ms; unprocessed ${unprocessed}`);
      ctx.log(`  ${cpuLine(c)}`);
      for (const l of activityLines(act)) ctx.log(`  PostgreSQL ${l}`);
      const notes: string[] = [];
      if (notPosted)
        notes.push(
          `${notPosted} of ${total} webhooks were never POSTed: the web process answered so slowly that the schedule's connections were all busy until the window closed (${seconds} s + 8 s).`,
        );
      if (missing) notes.push(`${missing} (message, employee) frames of POSTed webhooks never arrived (20 s drain after the last POST)`);
      return {
        checks: [
          {
            id: 'P3',
            what: 'webhook → browser (200 msg/s, 100 SSE)',
            value: `p50 ${lat.p50.toFixed(1)} ms, p99 ${lat.p99.toFixed(1)} ms${missing || notPosted ? `; ${Math.round(missing / employees)} msgs missing, ${notPosted} not posted` : ''}`,
            target: 'p50 ≤ 10 ms, p99 ≤ 50 ms',
            pass: lat.p50 <= 10 && lat.p99 <= 50 && missing === 0 && notPosted === 0,
          },
          {
            id: 'P3',
            what: 'warm-up: first second of a fresh worker',
            value: `p50 ${warmLat.p50.toFixed(1)} ms, p99 ${warmLat.p99.toFixed(1)} ms`,
            target: '(contrast)',
            pass: null,
          },
        ],
        figures: { latency: lat, warmUp: warmLat, timeline, firstEmployee: first, lastEmployee: last, inboxLag, post, cpu: c, missing, notPosted, unprocessed, pgActivity: act },
        notes,
      };
    } finally {
      for (const s of streams) s.close();
      await Promise.all(children.map((c) => c.stop()));
      await deleteRedisPrefix(prefix);
    }
  },
};
