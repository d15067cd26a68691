import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { RESULTS_DIR } from './lib/env.ts';
import { parseArgs } from './lib/args.ts';
import { startChild, type Child } from './lib/child.ts';
import { httpRequest, runLoad, type LoadResult } from './lib/loadgen.ts';
import { admin } from './lib/db.ts';
import { loadLine, type BenchContext, type Check, type Scenario, type ScenarioResult } from './lib/report.ts';
import { ingestScenario } from './scenarios/p1p2-ingest.ts';
import { liveScenario } from './scenarios/p3-live.ts';
import { chatListScenario } from './scenarios/p4-chat-list.ts';
import { pageScenario } from './scenarios/p5-page.ts';
import { sseScenario } from './scenarios/p7-sse.ts';
import { outboundScenario } from './scenarios/p8-outbound.ts';
import { weightScenario } from './scenarios/p9-weight.ts';
import { transcriptionScenario } from './scenarios/g2-transcription.ts';

/**
 * `npm run bench [-- --only p1,p4] [--reseed] [--quick]`: the performance targets P1–P9 of
 * quality-targets.md, each printed with its target, PASS/FAIL and (for speeds) its ratio to a
 * bare Fastify hello-world measured in this same run with the same load settings.
 */
const SCENARIOS: Scenario[] = [weightScenario, chatListScenario, ingestScenario, pageScenario, liveScenario, sseScenario, outboundScenario, transcriptionScenario];

const options = parseArgs(process.argv.slice(2), ['only', 'p7-conns']);
if (options.has('help')) {
  console.log('npm run bench [-- --only p1,p2,p3,p4,p5,p6,p7,p8,p9,g2] [--reseed] [--quick] [--p7-conns N]');
  process.exit(0);
}
const only = options
  .get('only')
  ?.toLowerCase()
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const selected = SCENARIOS.filter((s) => !only || only.some((o) => o === s.key || s.covers.map((c) => c.toLowerCase()).includes(o)));
if (selected.length === 0) {
  console.error(`--only ${options.get('only')}: no such scenario (use ${SCENARIOS.flatMap((s) => s.covers).join(', ')})`);
  process.exit(2);
}

const quick = options.has('quick');
let hello: Child | undefined;
const baselines = new Map<string, LoadResult>();

const ctx: BenchContext = {
  quick,
  reseed: options.has('reseed'),
  options,
  log: (line) => console.log(`  ${line}`),
  async baseline(connections, durationMs) {
    const key = `${connections}x${durationMs}`;
    const known = baselines.get(key);
    if (known) return known;
    hello ??= await startChild('bench/servers/hello.ts', { name: 'hello', env: { PATH: process.env.PATH ?? '' } });
    const req = httpRequest('GET', '/', {});
    await runLoad({ port: hello.port!, connections, durationMs: Math.min(2000, durationMs), request: () => req });
    const r = await runLoad({ port: hello.port!, connections, durationMs, request: () => req });
    console.log(`  baseline hello-world (${connections} conns, ${durationMs / 1000} s): ${loadLine(r)}`);
    baselines.set(key, r);
    return r;
  },
};

mkdirSync(RESULTS_DIR, { recursive: true });
const pgVersion = await admin(async (c) => (await c.query('SHOW server_version')).rows[0].server_version as string).catch(() => 'unreachable');
console.log(
  `Parley bench — ${new Date().toISOString()} — ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, PostgreSQL ${pgVersion}` +
    `\nload average before: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (a busy shared machine lowers every figure; ratios to the same-run baseline travel better)` +
    `\nscenarios: ${selected.map((s) => s.covers.join('/')).join(', ')}${quick ? ' (quick: shorter runs)' : ''}\n`,
);

const results: ScenarioResult[] = [];
for (const s of selected) {
  console.log(`== ${s.covers.join(' / ')}: ${s.title}`);
  const t0 = performance.now();
  const before = loadavg();
  let result: ScenarioResult;
  try {
    const out = await s.run(ctx);
    result = { key: s.key, title: s.title, ...out, seconds: (performance.now() - t0) / 1000, loadavgBefore: before };
  } catch (err) {
    const e = err as Error;
    console.log(`  ERROR: ${e.stack ?? e.message}`);
    result = {
      key: s.key,
      title: s.title,
      checks: s.covers.map((id) => ({ id, what: s.title, value: 'error', target: '-', pass: false })),
      figures: {},
      notes: [],
      error: e.message,
      seconds: (performance.now() - t0) / 1000,
      loadavgBefore: before,
    };
  }
  for (const c of result.checks) console.log(`  ${c.id} ${c.what}: ${c.value} (target ${c.target})${c.ratio ? `, ratio ${c.ratio}` : ''} → ${verdict(c)}`);
  for (const n of result.notes) console.log(`  note: ${n}`);
  console.log(`  (${result.seconds.toFixed(1)} s)\n`);
  results.push(result);
}
await hello?.stop();

function verdict(c: Check): string {
  return c.pass === null ? 'info' : c.pass ? 'PASS' : 'FAIL';
}

const rows = results.flatMap((r) => r.checks);
const widths = [4, 44, 40, 36, 9, 5];
const cell = (s: string, w: number) => (s.length > w ? s.slice(0, w - 1) + '…' : s.padEnd(w));
const line = (cols: string[]) => '| ' + cols.map((c, i) => cell(c, widths[i]!)).join(' | ') + ' |';
console.log('Summary');
console.log(line(['id', 'what', 'figure', 'target', 'ratio', 'ok']));
console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
for (const c of rows) console.log(line([c.id, c.what, c.value, c.target, c.ratio ?? '', verdict(c)]));
const failed = rows.filter((c) => c.pass === false);
console.log(`\n${rows.filter((c) => c.pass === true).length} passed, ${failed.length} failed, ${rows.filter((c) => c.pass === null).length} informative`);

const file = join(RESULTS_DIR, 'latest.json');
writeFileSync(
  file,
  JSON.stringify(
    {
      at: new Date().toISOString(),
      machine: { cores: cpus().length, memGiB: totalmem() / 2 ** 30, node: process.version, postgres: pgVersion, loadavgAfter: loadavg() },
      options: Object.fromEntries(options),
      baselines: Object.fromEntries(baselines),
      scenarios: results,
      summary: rows.map((c) => ({ ...c, verdict: verdict(c) })),
    },
    null,
    2,
  ),
);
console.log(`results: ${file}`);
// Exit status: 0 even when targets fail (the report is the product); 1 only if a scenario crashed.
process.exit(results.some((r) => r.error) ? 1 : 0);
