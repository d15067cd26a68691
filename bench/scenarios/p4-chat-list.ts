import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { DummyDriver, Kysely, PostgresAdapter, PostgresDialect, PostgresIntrospector, PostgresQueryCompiler, type CompiledQuery } from 'kysely';
import type { DB } from '../../src/db/schema.ts';
import '../../src/db/database.ts'; // the same pg type parsers as the product
import { listChats, listDigest } from '../../src/chats/inbox/inbox.repository.ts';
import { redDotOf, refreshRedDots, visibleChannelIds } from '../../src/chats/access.repository.ts';
import { PAGE_SIZE } from '../../src/chats/chats.service.ts';
import { SEED_DB, dbUrl } from '../lib/env.ts';
import { ensureSeed } from '../seed-chats.ts';
import type { Check, Scenario } from '../lib/report.ts';
import { summarize } from '../lib/stats.ts';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Sort Key'?: string[];
  Plans?: PlanNode[];
  [k: string]: unknown;
}

interface Explained {
  plan: PlanNode;
  executionMs: number;
  planningMs: number;
  indexScans: string[];
  bigSorts: Array<{ type: string; inputRows: number }>;
  nodes: string[];
}

function walk(n: PlanNode, fn: (n: PlanNode, parent?: PlanNode) => void, parent?: PlanNode) {
  fn(n, parent);
  for (const c of n.Plans ?? []) walk(c, fn, n);
}

/** A Sort over more rows than this is "a big sort" (the list wants 31 rows). */
const BIG_SORT = 1000;

/**
 * P4 (and the P6 contrast): the chat list query as the product builds it, on 100k chats / 10M
 * messages. The SQL is captured from Kysely (its compiled query, parameters included) while the
 * real repository function runs, then explained with EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON):
 * the plan must read a chats list index in order (no Sort over a large input), and the
 * execution time must stay within 1 ms.
 */
export const chatListScenario: Scenario = {
  key: 'p4',
  covers: ['P4', 'P6'],
  title: 'chat list query on 100k chats / 10M messages; red dot without COUNT (P6)',
  async run(ctx) {
    const info = await ensureSeed({ reseed: ctx.reseed, log: ctx.log });
    const pool = new pg.Pool({ connectionString: dbUrl(SEED_DB), max: 2 });
    pool.on('error', () => {});
    let capturing: CompiledQuery[] | null = null;
    const db = new Kysely<DB>({
      dialect: new PostgresDialect({ pool }),
      log: (e) => {
        if (e.level === 'query' && capturing) capturing.push(e.query);
      },
    });
    const capture = async <T>(fn: () => Promise<T>): Promise<{ result: T; queries: CompiledQuery[] }> => {
      capturing = [];
      try {
        const result = await fn();
        return { result, queries: capturing };
      } finally {
        capturing = null;
      }
    };
    const explain = async (q: { sql: string; parameters: readonly unknown[] }, opts: { runs?: number; rollback?: boolean; timeoutMs?: number } = {}): Promise<Explained> => {
      const client = await pool.connect();
      if (opts.timeoutMs) await client.query(`SET statement_timeout = ${Math.round(opts.timeoutMs)}`);
      try {
        const runs: Array<{ plan: PlanNode; executionMs: number; planningMs: number }> = [];
        for (let i = 0; i < (opts.runs ?? 5); i++) {
          if (opts.rollback) await client.query('BEGIN');
          const r = await client.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${q.sql}`, q.parameters as unknown[]);
          if (opts.rollback) await client.query('ROLLBACK');
          const top = (r.rows[0]['QUERY PLAN'] as Array<{ Plan: PlanNode; 'Execution Time': number; 'Planning Time': number }>)[0]!;
          runs.push({ plan: top.Plan, executionMs: top['Execution Time'], planningMs: top['Planning Time'] });
        }
        runs.sort((a, b) => a.executionMs - b.executionMs);
        const median = runs[Math.floor(runs.length / 2)]!;
        const indexScans: string[] = [];
        const bigSorts: Array<{ type: string; inputRows: number }> = [];
        const nodes: string[] = [];
        walk(median.plan, (n) => {
          nodes.push(`${n['Node Type']}${n['Index Name'] ? ` using ${n['Index Name']}` : ''}${n['Relation Name'] ? ` on ${n['Relation Name']}` : ''}`);
          if ((n['Node Type'] === 'Index Scan' || n['Node Type'] === 'Index Only Scan') && n['Relation Name'] === 'chats' && n['Index Name']) {
            indexScans.push(n['Index Name']);
          }
          if (n['Node Type'] === 'Sort' || n['Node Type'] === 'Incremental Sort') {
            const input = (n.Plans ?? []).reduce((s, c) => s + (c['Actual Rows'] ?? 0) * (c['Actual Loops'] ?? 1), 0);
            if (input > BIG_SORT) bigSorts.push({ type: n['Node Type'], inputRows: input });
          }
        });
        return { ...median, indexScans, bigSorts, nodes };
      } catch (err) {
        // A contrast query cancelled by its timeout: report "more than the timeout".
        if ((err as { code?: string }).code === '57014' && opts.timeoutMs) {
          return { plan: { 'Node Type': 'cancelled' }, executionMs: Infinity, planningMs: NaN, indexScans: [], bigSorts: [], nodes: [] };
        }
        throw err;
      } finally {
        if (opts.timeoutMs) await client.query('RESET statement_timeout').catch(() => {});
        client.release();
      }
    };
    /**
     * Production runs every query as a named prepared statement (src/db/prepared-client.ts):
     * after five executions PostgreSQL may switch it to a generic plan, built without the
     * parameter values. This runs the query that way eight times, then reads which kind of plan
     * the cache settled on and EXPLAINs the plan it now uses.
     */
    let preparedSeq = 0;
    const explainPrepared = async (q: { sql: string; parameters: readonly unknown[] }) => {
      const client = await pool.connect();
      const name = `bench_p4_${++preparedSeq}`;
      try {
        for (let i = 0; i < 8; i++) await client.query({ name, text: q.sql, values: q.parameters as unknown[] });
        const kinds = (await client.query('SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = $1', [name])).rows[0] as { generic_plans: string; custom_plans: string };
        // EXECUTE takes its arguments as SQL literals (a utility statement has no bind parameters).
        // An array (the visible channels) as an array literal: '{1,2,3}'.
        const lit = (v: unknown): string =>
          v === null || v === undefined
            ? 'NULL'
            : typeof v === 'number' || typeof v === 'boolean'
              ? String(v)
              : Array.isArray(v)
                ? `'{${v.map(Number).join(',')}}'`
                : `'${(v instanceof Date ? v.toISOString() : typeof v === 'string' ? v : JSON.stringify(v)).replace(/'/g, "''")}'`;
        const args = q.parameters.map(lit).join(', ');
        const r = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE ${name}${args ? `(${args})` : ''}`);
        const top = (r.rows[0]['QUERY PLAN'] as Array<{ Plan: PlanNode; 'Execution Time': number }>)[0]!;
        const indexScans: string[] = [];
        const nodes: string[] = [];
        walk(top.Plan, (n) => {
          nodes.push(`${n['Node Type']}${n['Index Name'] ? ` using ${n['Index Name']}` : ''}`);
          if ((n['Node Type'] === 'Index Scan' || n['Node Type'] === 'Index Only Scan') && n['Index Name']) indexScans.push(n['Index Name']);
        });
        return { generic: Number(kinds.generic_plans) > 0, executionMs: top['Execution Time'], indexScans, nodes };
      } finally {
        await client.query(`DEALLOCATE ${name}`).catch(() => {});
        client.release();
      }
    };
    const msOrMore = (v: number, timeoutMs: number) => (Number.isFinite(v) ? `${v.toFixed(1)} ms` : `> ${timeoutMs.toLocaleString('en-US')} ms (cancelled)`);
    const time = async (fn: () => Promise<unknown>, n: number) => {
      for (let i = 0; i < 20; i++) await fn();
      const samples: number[] = [];
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        await fn();
        samples.push(performance.now() - t);
      }
      return summarize(samples);
    };

    const checks: Check[] = [];
    const notes: string[] = [];
    const figures: Record<string, unknown> = { seed: info };
    const listIndexes = ['chats_list_idx', 'chats_channel_list_idx'];
    try {
      const adminChannels = await visibleChannelIds(db, info.admin_id);
      const twoChannels = await visibleChannelIds(db, info.agent_two_id);
      const openCount = Number((await pool.query(`SELECT count(*) AS n FROM chats WHERE status = 'open'`)).rows[0].n);
      const depth = 20_000;
      const cursorRow = (await pool.query(`SELECT last_message_at, id FROM chats WHERE status = 'open' ORDER BY last_message_at DESC, id DESC OFFSET $1 LIMIT 1`, [depth - 1])).rows[0] as {
        last_message_at: Date;
        id: number;
      };
      ctx.log(
        `data: ${info.chats.toLocaleString('en-US')} chats (${openCount.toLocaleString('en-US')} open), ${info.messages.toLocaleString('en-US')} messages; admin sees ${adminChannels.length} channels, agent-two sees ${twoChannels.length}`,
      );

      const cases = [
        { name: 'first page (owner, 10 channels)', channels: adminChannels, after: undefined, main: true },
        { name: `keyset page after ${depth.toLocaleString('en-US')} chats (owner)`, channels: adminChannels, after: { at: cursorRow.last_message_at, id: cursorRow.id }, main: false },
        { name: 'first page (agent on 2 of 10 channels)', channels: twoChannels, after: undefined, main: false },
      ];
      const listFigures: unknown[] = [];
      for (const c of cases) {
        const run = () => listChats(db, c.channels, { status: 'open', limit: PAGE_SIZE + 1, ...(c.after ? { after: c.after } : {}) });
        const { result, queries } = await capture(run);
        if (queries.length !== 1) throw new Error(`listChats ran ${queries.length} queries`);
        const q = queries[0]!;
        const e = await explain(q);
        const t = await time(run, 200);
        const usesListIndex = e.indexScans.some((i) => listIndexes.includes(i));
        const ok = usesListIndex && e.bigSorts.length === 0 && e.executionMs <= 1;
        ctx.log(
          `${c.name}: ${result.length} rows; EXPLAIN ANALYZE execution ${e.executionMs.toFixed(3)} ms (planning ${e.planningMs.toFixed(3)} ms); ` +
            `listChats() round trip p50 ${t.p50.toFixed(3)} ms, p99 ${t.p99.toFixed(3)} ms; plan: ${e.nodes.join(' → ')}`,
        );
        const prep = await explainPrepared(q);
        const prepOk = prep.indexScans.some((i) => listIndexes.includes(i)) && prep.executionMs <= 1;
        ctx.log(`  as a prepared statement after 8 runs (${prep.generic ? 'generic' : 'custom'} plan): ${prep.executionMs.toFixed(3)} ms; plan: ${prep.nodes.join(' → ')}`);
        checks.push({
          id: 'P4',
          what: `chat list, ${c.name}, prepared`,
          value: `${prep.executionMs.toFixed(3)} ms exec, ${prep.generic ? 'generic' : 'custom'} plan; ${prep.indexScans.join(',') || 'no index scan'}`,
          target: '≤ 1 ms, list index',
          pass: prepOk,
        });
        listFigures.push({
          case: c.name,
          rows: result.length,
          sql: q.sql,
          parameters: q.parameters,
          executionMs: e.executionMs,
          planningMs: e.planningMs,
          roundTrip: t,
          plan: e.plan,
          indexScans: e.indexScans,
          bigSorts: e.bigSorts,
          prepared: prep,
        });
        checks.push({
          id: 'P4',
          what: `chat list, ${c.name}`,
          value: `${e.executionMs.toFixed(3)} ms exec; ${usesListIndex ? `Index Scan ${e.indexScans.join(',')}` : 'no list-index scan'}${e.bigSorts.length ? `; Sort of ${e.bigSorts[0]!.inputRows} rows` : '; no big sort'}`,
          target: '≤ 1 ms, index scan, no big sort',
          pass: ok,
        });
        if (!c.main && !ok && c.after) {
          const rowsRead = JSON.stringify(e.plan).match(/"Rows Removed by Filter":\s*(\d+)/g);
          notes.push(
            `Deep keyset page: listChats() writes the cursor as (last_message_at < $a OR (last_message_at = $a AND id < $b)); PostgreSQL cannot turn that OR into an index bound, so the scan starts at the top of chats_list_idx and filters ${rowsRead?.join(', ') ?? 'every earlier row'} before the page. A row comparison (chats.last_message_at, chats.id) < ($a, $b) is an index condition on the same index (see the contrast line).`,
          );
        }
      }
      figures.list = listFigures;

      // What a Chats page reads instead of the rows when its list is kept (chats/kept-html.ts):
      // the digest of the first page's ids and row versions. It reads the same index.
      const digestFigures: unknown[] = [];
      for (const c of cases.filter((x) => !x.after)) {
        const run = () => listDigest(db, c.channels, { status: 'open', filter: 'all', me: 0, limit: PAGE_SIZE + 1 });
        const { queries } = await capture(run);
        const e = await explain(queries[0]!);
        const t = await time(run, 200);
        const usesListIndex = e.indexScans.some((i) => listIndexes.includes(i));
        ctx.log(`list digest, ${c.name}: EXPLAIN ANALYZE execution ${e.executionMs.toFixed(3)} ms; round trip p50 ${t.p50.toFixed(3)} ms; plan: ${e.nodes.join(' → ')}`);
        digestFigures.push({ case: c.name, executionMs: e.executionMs, roundTrip: t, plan: e.plan });
        checks.push({
          id: 'P4',
          what: `list digest (kept list), ${c.name}`,
          value: `${e.executionMs.toFixed(3)} ms exec; ${usesListIndex ? `Index Scan ${e.indexScans.join(',')}` : 'no list-index scan'}`,
          target: '≤ 1 ms, list index',
          pass: usesListIndex && e.bigSorts.length === 0 && e.executionMs <= 1,
        });
      }
      figures.listDigest = digestFigures;

      // The same deep page, the captured SQL with only the cursor predicate rewritten as a row
      // comparison: what the keyset condition could be.
      {
        const deep = listFigures[1] as { sql: string; parameters: unknown[] };
        // ($13, the OR's second copy of the time, stays bound through a constant test.)
        const rewritten = deep.sql.replace(
          /\("chats"\."last_message_at" < \$(\d+) or \("chats"\."last_message_at" = \$(\d+) and "chats"\."id" < \$(\d+)\)\)/,
          '("chats"."last_message_at", "chats"."id") < ($$$1, $$$3) and $$$2::timestamptz is not null',
        );
        if (rewritten !== deep.sql) {
          const row = await explain({ sql: rewritten, parameters: deep.parameters });
          ctx.log(`contrast: the same deep page with the cursor as a row comparison (last_message_at, id) < ($a, $b): ${row.executionMs.toFixed(3)} ms; plan: ${row.nodes.join(' → ')}`);
          checks.push({ id: 'P4', what: 'contrast: same deep page, row-value cursor', value: `${row.executionMs.toFixed(3)} ms exec`, target: '(not product code)', pass: null });
          figures.rowValueKeyset = { sql: rewritten, executionMs: row.executionMs, plan: row.plan };
        }
      }

      // P6: the red dot, as pages compute it, and as the write transaction refreshes it.
      const dotFigures: unknown[] = [];
      for (const [who, id] of [
        ['owner', info.admin_id],
        ['agent on 2 channels', info.agent_two_id],
      ] as const) {
        const { result, queries } = await capture(() => redDotOf(db, id));
        const q = queries[0]!;
        const e = await explain(q);
        const t = await time(() => redDotOf(db, id), 200);
        const touchesMessages = /\bmessages\b/i.test(q.sql);
        ctx.log(`red dot (${who}) = ${result}: EXPLAIN ANALYZE ${e.executionMs.toFixed(3)} ms; round trip p50 ${t.p50.toFixed(3)} ms, p99 ${t.p99.toFixed(3)} ms; plan: ${e.nodes.join(' → ')}`);
        dotFigures.push({ who, dot: result, sql: q.sql, executionMs: e.executionMs, roundTrip: t, plan: e.plan });
        checks.push({
          id: 'P6',
          what: `red dot on a page (${who})`,
          value: `${e.executionMs.toFixed(3)} ms exec${touchesMessages ? '; reads messages!' : '; no messages read'}`,
          target: 'O(1) probe, never COUNT over messages',
          pass: !touchesMessages && e.executionMs <= 5,
        });
      }
      {
        const employees = [info.admin_id, info.agent_all_id, info.agent_two_id];
        const { queries } = await capture(() =>
          db
            .transaction()
            .execute(async (trx) => {
              await refreshRedDots(trx, employees);
              throw Object.assign(new Error('rollback'), { rollback: true });
            })
            .catch((e) => {
              if (!(e as { rollback?: boolean }).rollback) throw e;
            }),
        );
        const q = queries.find((x) => /update employees/i.test(x.sql))!;
        const e = await explain(q, { rollback: true });
        ctx.log(`red-dot refresh in the write transaction (3 employees): EXPLAIN ANALYZE ${e.executionMs.toFixed(3)} ms; plan: ${e.nodes.join(' → ')}`);
        checks.push({
          id: 'P6',
          what: 'red-dot refresh in the write tx (3 employees)',
          value: `${e.executionMs.toFixed(3)} ms exec${/\bmessages\b/i.test(q.sql) ? '; reads messages!' : ''}`,
          target: 'maintained in the write tx, no COUNT',
          pass: !/\bmessages\b/i.test(q.sql) && e.executionMs <= 5,
        });
        dotFigures.push({ who: 'refreshRedDots', sql: q.sql, executionMs: e.executionMs, plan: e.plan });
      }
      figures.redDot = dotFigures;

      // The contrast (P6): an unread badge counted over messages vs. the maintained counters.
      {
        const counted = await explain(
          {
            sql: `SELECT count(*) FROM messages m JOIN chats c ON c.id = m.chat_id
                  WHERE c.status = 'open' AND c.channel_id = ANY($1) AND m.direction = 'in'
                    AND m.id > coalesce(c.read_up_to_message_id, 0)`,
            parameters: [adminChannels],
          },
          { runs: 1, timeoutMs: 20_000 },
        );
        const maintained = await explain(
          {
            sql: `SELECT count(*) FILTER (WHERE indicator = 'unread') AS unread_chats, sum(unread_count) AS unread FROM chats WHERE status = 'open' AND channel_id = ANY($1)`,
            parameters: [adminChannels],
          },
          { runs: 3 },
        );
        ctx.log(
          `contrast: unread total COUNTed over messages ${msOrMore(counted.executionMs, 20_000)} vs. summed from maintained chat counters ${maintained.executionMs.toFixed(1)} ms (the red dot itself is a probe: see above)`,
        );
        checks.push({ id: 'P6', what: 'contrast: unread COUNT over messages', value: `${msOrMore(counted.executionMs, 20_000)} exec`, target: '(what P6 forbids)', pass: null });
        checks.push({ id: 'P6', what: 'contrast: unread from maintained counters', value: `${maintained.executionMs.toFixed(1)} ms exec`, target: '(full sum over chats)', pass: null });
        figures.p6Contrast = { countOverMessagesMs: counted.executionMs, maintainedCountersMs: maintained.executionMs };
      }

      // Search (C-feature, not a P4 target): a term no message contains, as a name search does.
      {
        const term = 'Bernard 424242';
        // Compiled without running it (a Kysely on a DummyDriver records the SQL), then timed once.
        const compiled: CompiledQuery[] = [];
        const dry = new Kysely<DB>({
          dialect: {
            createAdapter: () => new PostgresAdapter(),
            createDriver: () => new DummyDriver(),
            createIntrospector: (k) => new PostgresIntrospector(k),
            createQueryCompiler: () => new PostgresQueryCompiler(),
          },
          log: (e) => void (e.level === 'query' && compiled.push(e.query)),
        });
        await listChats(dry, adminChannels, { status: 'open', q: term, limit: PAGE_SIZE + 1 });
        const q = compiled[0]!;
        const client = await pool.connect();
        let searchMs = NaN;
        try {
          await client.query(`SET statement_timeout = '20s'`);
          const t = performance.now();
          await client.query(q.sql, q.parameters as unknown[]).catch((err) => notes.push(`search query: ${(err as Error).message}`));
          searchMs = performance.now() - t;
          await client.query(`RESET statement_timeout`);
        } finally {
          client.release();
        }
        ctx.log(`search "${term}" (matches no message): ${searchMs.toFixed(0)} ms — trigram indexes (migrations/0003_search.ts) on names, usernames and message text`);
        checks.push({ id: 'P4', what: 'info: list search by text, no match', value: `${searchMs.toFixed(0)} ms round trip`, target: '(not a P4 target)', pass: null });
        figures.search = { term, ms: searchMs, sql: q.sql };
        if (searchMs > 100) {
          notes.push(
            `Search (C1) on this data takes ${searchMs.toFixed(0)} ms for a term no message contains: check that the trigram indexes of migrations/0003_search.ts exist and are used (EXPLAIN the SQL in latest.json figures.search).`,
          );
        }
      }
    } finally {
      await db.destroy();
    }
    return { checks, figures, notes };
  },
};
