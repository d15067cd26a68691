import { get as httpGet } from 'node:http';
import { sql } from 'kysely';
import { RUN_DB, dbUrl, parleyEnv, redisPrefix } from '../lib/env.ts';
import { deleteRedisPrefix, freshDatabase } from '../lib/db.ts';
import { profiled, startChild, type Child } from '../lib/child.ts';
import { PgCounter } from '../lib/pgstats.ts';
import { httpRequest, runLoad } from '../lib/loadgen.ts';
import { inboundEvent, midFor, psidFor, textFor } from '../lib/meta.ts';
import { PAGE_ID, addChannel, addEmployee, benchDeps, seedInbox, sessionCookie } from '../lib/parley.ts';
import { applyChannelEvents } from '../../src/chats/ingest/ingest.service.ts';
import { CpuMeter, cpuLine } from '../lib/cpu.ts';
import { loadLine, ratio, type Check, type Scenario } from '../lib/report.ts';

/**
 * P5: the Chats page as a logged-in employee loads it (full page, not an htmx fragment): the
 * list (30 of 36 chats shown, so there is a "more" cursor) and, second, a deep link with a chat
 * open (its last 50 messages, the details panel and the composer). 20 connections, against one
 * web process and then against one per core (the connections spread over them).
 */
export const pageScenario: Scenario = {
  key: 'p5',
  covers: ['P5'],
  title: 'Chats page render (GET /chats, GET /chats/:id) at 20 connections',
  async run(ctx) {
    const conns = 20;
    const durationMs = ctx.quick ? 5_000 : 10_000;
    const prefix = redisPrefix('p5');
    const database = await freshDatabase(RUN_DB, dbUrl(RUN_DB));
    await database.close();
    const deps = await benchDeps(prefix);
    let cookie: string;
    let openChat: number;
    try {
      const channelId = await addChannel(deps, {});
      const employee = await addEmployee(deps, { name: 'Agent Page' });
      await addEmployee(deps, { name: 'Agent Other' });
      cookie = await sessionCookie(deps, employee);
      const chatIds = await seedInbox(deps, { channelId, chats: 36, perChat: 8, tag: 'p5' });
      openChat = chatIds[0]!;
      // The open chat has a long history: the thread shows its last 50 messages.
      const events = Array.from({ length: 60 }, (_, i) =>
        inboundEvent({ pageId: PAGE_ID, psid: psidFor(35), mid: midFor('p5-thread', i), text: textFor(i + 3), at: new Date(Date.now() - (60 - i) * 30_000), direction: i % 3 === 1 ? 'out' : 'in' }),
      );
      await applyChannelEvents(deps, { id: channelId, kind: 'messenger' }, events);
      // Seeding rewrote each chat row once per message (dead index entries, no statistics).
      // A running shop's tables have been through autovacuum; measure that state, not the
      // minute after a bulk load.
      await sql`vacuum analyze`.execute(deps.db);
    } finally {
      await deps.close();
      await deleteRedisPrefix(prefix);
    }

    // One web process, then one per core (what the README recommends: WEB_CONCURRENCY), the
    // load generator spreading its 20 connections over them like a load balancer.
    const checks: Check[] = [];
    const figures: Record<string, unknown> = {};
    const baseline = await ctx.baseline(conns, durationMs);
    for (const procs of [1, 2]) {
      const children: Child[] = [];
      try {
        for (let i = 0; i < procs; i++) {
          children.push(
            await startChild('bench/servers/parley.ts', {
              name: `p5-parley-web${procs > 1 ? `-${i + 1}of${procs}` : ''}`,
              env: parleyEnv({ PROCESS_ROLES: 'web', BENCH_REDIS_PREFIX: prefix, NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS }),
            }),
          );
        }
        const ports = children.map((c) => c.port!);
        const headers = { Cookie: cookie, Accept: 'text/html,application/xhtml+xml', 'Accept-Language': 'en-GB,en;q=0.9', 'Accept-Encoding': 'gzip, deflate, br' };
        const pages = [
          { name: 'GET /chats', path: '/chats', expect: /data-chat-id="/g, min: 30 },
          { name: `GET /chats/:id`, path: `/chats/${openChat}`, expect: /data-message-id="/g, min: 50 },
        ];
        for (const p of pages) {
          const res = await fetch(`http://127.0.0.1:${ports[0]}${p.path}`, { headers: { cookie: cookie, accept: 'text/html' } });
          const html = await res.text();
          const found = html.match(p.expect)?.length ?? 0;
          if (res.status !== 200 || found < p.min) throw new Error(`${p.name}: status ${res.status}, ${found} items (want ≥ ${p.min})`);
          const wire = await wireBytes(ports[0]!, p.path, headers);
          const req = httpRequest('GET', p.path, headers);
          await runLoad({ port: ports[0]!, ports, connections: conns, durationMs: 3000, request: () => req });
          const statements = await new PgCounter(RUN_DB).begin();
          const cpu = CpuMeter.standard({ parley: children.map((c) => c.pid) }).begin();
          const profileName = `p5-${p.path === '/chats' ? 'list' : 'chat'}${procs > 1 ? `-${procs}procs` : ''}`;
          const r = await profiled(children[0]!, profileName, () => runLoad({ port: ports[0]!, ports, connections: conns, durationMs, request: () => req }), ctx.log);
          const c = cpu.end();
          const perPage = (await statements.end()) / (r.requests + r.errors + r.timeouts);
          const label = `${p.name}, ${procs} web process${procs > 1 ? 'es' : ''}`;
          ctx.log(
            `${label} (${(Buffer.byteLength(html) / 1024).toFixed(1)} KB of HTML, ${(wire.bytes / 1024).toFixed(1)} KB on the wire${wire.encoding ? ` as ${wire.encoding}` : ''}, ${found} ${p.min === 30 ? 'list items' : 'messages'}): ${loadLine(r)}`,
          );
          ctx.log(`  ${cpuLine(c)}; ≈ ${perPage.toFixed(1)} SQL statements (transactions) per page; Parley CPU per page ≈ ${(((c.parley! / 100) * 1000) / r.rps).toFixed(2)} ms`);
          figures[label] = { result: r, cpu: c, htmlBytes: Buffer.byteLength(html), wire, statementsPerPage: perPage };
          const pass = r.rps >= 2000 && r.latency.p99 <= 20 && r.non2xx === 0 && r.errors === 0;
          checks.push({
            id: 'P5',
            what: `${label} (20 conns)`,
            value: `${Math.round(r.rps).toLocaleString('en-US')} pages/s, p99 ${r.latency.p99.toFixed(1)} ms${r.non2xx ? `, ${r.non2xx} non-2xx` : ''}`,
            target: '≥ 2,000 pages/s, p99 ≤ 20 ms',
            ratio: ratio(r.rps, baseline.rps),
            pass,
          });
        }
      } finally {
        for (const c of children) await c.stop();
      }
    }
    await deleteRedisPrefix(prefix);
    return { checks, figures: { ...figures, baseline }, notes: [] };
  },
};

/** The body's size as sent with the load's own headers (fetch would undo the compression). */
function wireBytes(port: number, path: string, headers: Record<string, string>): Promise<{ bytes: number; encoding: string | null }> {
  return new Promise((resolve, reject) => {
    const req = httpGet({ host: '127.0.0.1', port, path, headers }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => (bytes += d.length));
      res.on('end', () => resolve({ bytes, encoding: (res.headers['content-encoding'] as string | undefined) ?? null }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}
