import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const TICK = 100; // USER_HZ on Linux

function ticksOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return 0;
  }
}

function pidsNamed(comm: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() === comm) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

/**
 * CPU used by the processes of a measurement (a core = 100 %), read from /proc: the server
 * under test, PostgreSQL (all its backends), Redis and the bench process itself. It tells which
 * one ran out of CPU on this 2-core machine.
 */
export class CpuMeter {
  private start = 0;
  /** Ticks per pid at begin(): a process that exits in the window must not count negative. */
  private base = new Map<string, Map<number, number>>();

  constructor(private readonly groups: Record<string, () => number[]>) {}

  static standard(servers: Record<string, number | number[]>): CpuMeter {
    return new CpuMeter({
      ...Object.fromEntries(Object.entries(servers).map(([k, pid]) => [k, () => (Array.isArray(pid) ? pid : [pid])])),
      postgres: () => pidsNamed('postgres'),
      redis: () => pidsNamed('redis-server'),
      bench: () => [process.pid],
    });
  }

  begin(): this {
    this.start = performance.now();
    for (const [k, f] of Object.entries(this.groups)) this.base.set(k, new Map(f().map((p) => [p, ticksOf(p)])));
    return this;
  }

  /** Percent of one core per group since begin(). */
  end(): Record<string, number> {
    const seconds = (performance.now() - this.start) / 1000;
    const out: Record<string, number> = {};
    for (const [k, f] of Object.entries(this.groups)) {
      const base = this.base.get(k) ?? new Map<number, number>();
      // Processes started during the window count from 0 (PostgreSQL backends come and go);
      // those that exited are lost, so a figure can be low, never negative.
      const used = f().reduce((s, p) => s + Math.max(0, ticksOf(p) - (base.get(p) ?? 0)), 0);
      out[k] = Math.round((used / TICK / seconds) * 100);
    }
    return out;
  }
}

export function cpuLine(c: Record<string, number>): string {
  return (
    'CPU ' +
    Object.entries(c)
      .map(([k, v]) => `${k} ${v}%`)
      .join(', ')
  );
}
