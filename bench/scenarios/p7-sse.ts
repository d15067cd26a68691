import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, RUN_DB, dbUrl, parleyEnv, redisPrefix } from '../lib/env.ts';
import { deleteRedisPrefix, freshDatabase } from '../lib/db.ts';
import { startChild } from '../lib/child.ts';
import { midFor, psidFor, textFor } from '../lib/meta.ts';
import { PAGE_ID, addChannel, addEmployee, benchDeps, seedInbox, sessionCookie } from '../lib/parley.ts';
import { openMany, openSse, type SseConn } from '../lib/sse.ts';
import { kb, mb, sleep, summarize } from '../lib/stats.ts';
import type { Check, Scenario } from '../lib/report.ts';

type Mem = NodeJS.MemoryUsage;

/**
 * P7: what an idle SSE stream costs the web process (memory per connection, from RSS and from
 * the V8 heap + external memory after a full GC, with N streams open vs. a warm baseline), the
 * event-loop time of one broadcast (the hub's dispatch of a real chat update to every stream,
 * timed inside the server process), extrapolated to 10k streams, and the heartbeat interval
 * observed on the wire.
 */
export const sseScenario: Scenario = {
  key: 'p7',
  covers: ['P7'],
  title: 'SSE: memory per idle stream, broadcast event-loop time, heartbeat',
  async run(ctx) {
    const n = Number(ctx.options.get('p7-conns') ?? 2000);
    const warm = 50;
    const prefix = redisPrefix('p7');
    const database = await freshDatabase(RUN_DB, dbUrl(RUN_DB));
    await database.close();
    const deps = await benchDeps(prefix);
    let cookie: string;
    let channelId: number;
    try {
      channelId = await addChannel(deps, {});
      cookie = await sessionCookie(deps, await addEmployee(deps, { name: 'Agent Live', locale: 'en' }));
      await seedInbox(deps, { channelId, chats: 3, perChat: 2, tag: 'p7-seed' });
    } finally {
      await deps.close();
    }

    const web = await startChild('bench/servers/parley.ts', { name: 'p7-parley-web', env: parleyEnv({ PROCESS_ROLES: 'web', BENCH_REDIS_PREFIX: prefix }), exposeGc: true });
    const startedAt = performance.now();
    const streams: SseConn[] = [];
    try {
      const received = new Map<string, number>();
      const heartbeats: number[][] = [];
      const open = (i: number) => {
        heartbeats[i] = [];
        return openSse(web.port!, '/events', { cookie, 'accept-language': 'en' }, (text, at) => {
          if (text.includes(': hb')) heartbeats[i]!.push(at);
          for (const m of text.matchAll(/bench-p7-(\d+)-end/g)) received.set(`${i}:${m[1]}`, at);
        });
      };
      streams.push(...(await openMany(warm, 25, open)));
      await sleep(1000);
      const m0 = (await web.call('gc')) as { available: boolean; memory: Mem };
      if (!m0.available) throw new Error('the server has no gc(); start it with --expose-gc');
      const tOpen = performance.now();
      streams.push(...(await openMany(n, 100, (i) => open(warm + i))));
      const openMs = performance.now() - tOpen;
      await sleep(2000);
      const stats = (await web.call('stats')) as { connections: number };
      if (stats.connections < warm + n) throw new Error(`only ${stats.connections} of ${warm + n} streams registered`);
      const m1 = ((await web.call('gc')) as { memory: Mem }).memory;
      const base = m0.memory;
      const rssPer = (m1.rss - base.rss) / n;
      const heapPer = (m1.heapUsed + m1.external - base.heapUsed - base.external) / n;
      ctx.log(
        `opened ${n.toLocaleString('en-US')} idle streams in ${(openMs / 1000).toFixed(1)} s (+${warm} warm-up streams); server RSS ${mb(base.rss)} → ${mb(m1.rss)}, heap+external ${mb(base.heapUsed + base.external)} → ${mb(m1.heapUsed + m1.external)} (after full GC)`,
      );
      ctx.log(`per idle stream: ${kb(rssPer, 2)} RSS, ${kb(heapPer, 2)} V8 heap + external`);

      // Broadcasts: a new inbound message in a chat everyone may see, ingested in the server
      // process (one transaction, live events recorded, published through Redis, dispatched).
      const before = (await web.call('lastEventId')) as number;
      const rounds = 7;
      for (let r = 0; r < rounds; r++) {
        await web.call('ingest', {
          channelId,
          kind: 'messenger',
          events: [
            {
              type: 'message',
              channelExternalId: PAGE_ID,
              contactExternalId: psidFor(r % 3),
              direction: 'in',
              externalId: midFor('p7', r),
              timestamp: new Date().toISOString(),
              kind: 'text',
              text: `${textFor(r)} bench-p7-${r}-end`,
              meta: {},
            },
          ],
        });
        await sleep(300);
      }
      await sleep(1000);
      const dispatches = ((await web.call('dispatches', { since: before })) as Array<{ name: string; locale: string | null; ms: number; conns: number }>).filter(
        (d) => d.name === 'ui' && d.locale === 'en',
      );
      const got = [...received.keys()].length;
      const expected = rounds * (warm + n);
      // The first broadcast pays one-time costs (JIT); the figure is the median of the rest.
      const steady = summarize(dispatches.slice(1).map((d) => d.ms));
      const conns = warm + n;
      const per = steady.p50 / conns;
      ctx.log(
        `broadcast of a chat update (ui event, ~${dispatches.length} rounds) to ${conns.toLocaleString('en-US')} streams: median ${steady.p50.toFixed(2)} ms, max ${steady.max.toFixed(2)} ms of event loop (first ${dispatches[0]?.ms.toFixed(2)} ms); ${got.toLocaleString('en-US')} of ${expected.toLocaleString('en-US')} frames received`,
      );

      // For comparison: building the frame text, which hub.send() does once per event (not per stream).
      const c = new pg.Client({ connectionString: dbUrl(RUN_DB) });
      await c.connect();
      const html = String((await c.query(`SELECT html FROM live_events WHERE name = 'ui' AND locale = 'en' ORDER BY id DESC LIMIT 1`)).rows[0]?.html ?? '');
      await c.end();
      const frame = () =>
        `id: 1\nevent: ui\n${html
          .split('\n')
          .map((l) => `data: ${l}`)
          .join('\n')}\n\n`;
      for (let i = 0; i < 2000; i++) frame();
      const tf = performance.now();
      for (let i = 0; i < 20_000; i++) frame();
      const frameUs = ((performance.now() - tf) / 20_000) * 1000;
      ctx.log(
        `per stream: ${(per * 1000).toFixed(1)} µs of event loop; building the frame (${Buffer.byteLength(html)} B of HTML, ${html.split('\n').length} lines), done once per event, ≈ ${frameUs.toFixed(1)} µs (timed here on the same text)`,
      );

      // Heartbeat: the interval between two ': hb' comments on the same stream.
      const deadline = startedAt + 47_000;
      while (performance.now() < deadline && !heartbeats.slice(0, warm).some((h) => h.length >= 2)) await sleep(250);
      const pairs = heartbeats.filter((h) => h.length >= 2).map((h) => (h[1]! - h[0]!) / 1000);
      const source = readFileSync(join(ROOT, 'src/platform/live/hub.ts'), 'utf8');
      const constant = /HEARTBEAT_MS\s*=\s*([\d_]+)/.exec(source)?.[1]?.replace(/_/g, '');
      const hb = pairs.length ? summarize(pairs).p50 : NaN;
      ctx.log(`heartbeat: ${pairs.length ? `${hb.toFixed(1)} s between two ': hb' comments` : 'fewer than two seen'} (HEARTBEAT_MS = ${constant ?? '?'} in hub.ts)`);

      const at10k = { rss: base.rss + rssPer * 10_000, broadcastMs: per * 10_000 };
      ctx.log(`extrapolated to 10,000 streams: RSS ≈ ${mb(at10k.rss)} (baseline ${mb(base.rss)} + 10k × per-stream), one broadcast ≈ ${at10k.broadcastMs.toFixed(1)} ms of event loop`);
      const checks: Check[] = [
        { id: 'P7', what: 'memory per idle SSE stream (RSS)', value: `${kb(rssPer, 2)} (heap+ext ${kb(heapPer, 2)})`, target: '≤ 16 KB', pass: rssPer <= 16 * 1024 && heapPer <= 16 * 1024 },
        { id: 'P7', what: '10k streams, process RSS (extrapolated)', value: mb(at10k.rss), target: '≤ 250 MB', pass: at10k.rss <= 250 * 1024 * 1024 },
        { id: 'P7', what: `one broadcast to ${conns.toLocaleString('en-US')} streams`, value: `${steady.p50.toFixed(2)} ms event loop`, target: '(measured)', pass: null },
        { id: 'P7', what: 'one broadcast to 10k (extrapolated)', value: `${at10k.broadcastMs.toFixed(1)} ms event loop`, target: '≤ 50 ms', pass: at10k.broadcastMs <= 50 && got === expected },
        {
          id: 'P7',
          what: 'heartbeat interval',
          value: pairs.length ? `${hb.toFixed(1)} s` : `n/a (HEARTBEAT_MS ${constant})`,
          target: '≤ 25 s',
          pass: pairs.length ? hb <= 25 : Number(constant) <= 25_000,
        },
      ];
      const notes: string[] = [];
      notes.push(
        `The process baseline (${mb(base.rss)} RSS with ${warm} streams) is mostly code and V8's reserved heap, not streams: Node itself, the app compiled ahead of time (as npm start runs dist/server.js, no tsx) and its npm packages.`,
      );
      if (got !== expected) notes.push(`${expected - got} broadcast frames did not arrive`);
      return {
        checks,
        figures: {
          n,
          warm,
          base,
          after: m1,
          rssPerConn: rssPer,
          heapPerConn: heapPer,
          dispatches,
          broadcast: steady,
          at10k,
          heartbeatS: hb,
          openMs,
          frameBuildUs: frameUs,
          uiHtmlBytes: Buffer.byteLength(html),
        },
        notes,
      };
    } finally {
      for (const s of streams) s.close();
      await web.stop();
      await deleteRedisPrefix(prefix);
    }
  },
};
