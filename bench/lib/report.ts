import type { LoadResult } from './loadgen.ts';

/** One line of the summary: a figure against its target. `pass: null` = informative only. */
export interface Check {
  id: string;
  what: string;
  value: string;
  target: string;
  pass: boolean | null;
  ratio?: string;
}

export interface ScenarioOutcome {
  checks: Check[];
  /** Raw figures for results JSON. */
  figures: Record<string, unknown>;
  notes: string[];
}

export interface ScenarioResult extends ScenarioOutcome {
  key: string;
  title: string;
  seconds: number;
  loadavgBefore: number[];
  error?: string;
}

export interface BenchContext {
  quick: boolean;
  reseed: boolean;
  options: Map<string, string>;
  /** The same-run hello-world figure for these load settings (measured once, then reused). */
  baseline(connections: number, durationMs: number): Promise<LoadResult>;
  log(line: string): void;
}

export interface Scenario {
  key: string;
  /** The target ids it reports (P1, P2 …); `--only` accepts either. */
  covers: string[];
  title: string;
  run(ctx: BenchContext): Promise<ScenarioOutcome>;
}

export function loadLine(r: LoadResult): string {
  const st = Object.entries(r.status)
    .map(([s, n]) => `${s}×${n}`)
    .join(' ');
  return (
    `${Math.round(r.rps).toLocaleString('en-US')} req/s over ${r.durationS.toFixed(1)} s, ${r.connections} conns${r.rate ? ` @ ${r.rate}/s` : ''}; ` +
    `p50 ${r.latency.p50.toFixed(2)} ms, p90 ${r.latency.p90.toFixed(2)} ms, p99 ${r.latency.p99.toFixed(2)} ms, max ${r.latency.max.toFixed(1)} ms; ` +
    `status ${st || '-'}; errors ${r.errors}, timeouts ${r.timeouts}`
  );
}

export function ratio(a: number, b: number): string {
  return b > 0 ? `${(a / b).toFixed(3)}×` : 'n/a';
}
