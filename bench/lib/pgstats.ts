import pg from 'pg';
import { dbUrl } from './env.ts';
import { sleep } from './stats.ts';

/**
 * Statements run against one database over a window, from pg_stat_database (each statement
 * outside an explicit transaction commits on its own, so commits ≈ statements + transactions).
 * PostgreSQL flushes these counters about once a second: the reading waits for that.
 */
export class PgCounter {
  private start = 0;
  constructor(private readonly db: string) {}

  private async read(): Promise<number> {
    const c = new pg.Client({ connectionString: dbUrl(this.db) });
    await c.connect();
    try {
      await c.query('SELECT pg_stat_force_next_flush()').catch(() => {});
      const r = await c.query('SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = $1', [this.db]);
      return Number(r.rows[0].n);
    } finally {
      await c.end();
    }
  }

  async begin(): Promise<this> {
    await sleep(1100);
    this.start = await this.read();
    return this;
  }

  /** Transactions (≈ statements) since begin(), excluding this counter's own two. */
  async end(): Promise<number> {
    await sleep(1100);
    return (await this.read()) - this.start - 1;
  }
}

/**
 * Samples pg_stat_activity of one database every `everyMs` while a measurement runs: what the
 * backends were doing (active / idle in transaction) and what they waited on (Lock:advisory,
 * IO:WALSync …), with the statement most often seen waiting. It answers "why is it slow but
 * idle?" without instrumenting the product.
 */
export class ActivitySampler {
  private timer: NodeJS.Timeout | undefined;
  private client: pg.Client | undefined;
  private samples = 0;
  private counts = new Map<string, number>();
  private queries = new Map<string, number>();

  constructor(
    private readonly db: string,
    private readonly everyMs = 20,
  ) {}

  async start(): Promise<this> {
    this.client = new pg.Client({ connectionString: dbUrl(this.db) });
    await this.client.connect();
    let busy = false;
    this.timer = setInterval(async () => {
      if (busy || !this.client) return;
      busy = true;
      try {
        const r = await this.client.query(
          `SELECT state, coalesce(wait_event_type || ':' || wait_event, 'on CPU') AS wait, left(regexp_replace(query, '\\s+', ' ', 'g'), 90) AS q
             FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND state <> 'idle'`,
          [this.db],
        );
        this.samples++;
        for (const row of r.rows) {
          const k = `${row.state} / ${row.wait}`;
          this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
          if (row.wait !== 'on CPU' || row.state === 'active') {
            const qk = `[${row.wait}] ${row.q}`;
            this.queries.set(qk, (this.queries.get(qk) ?? 0) + 1);
          }
        }
      } catch {
        /* the database went away: stop quietly */
      } finally {
        busy = false;
      }
    }, this.everyMs);
    return this;
  }

  async stop(): Promise<{ samples: number; states: Array<[string, number]>; topWaits: Array<[string, number]> }> {
    clearInterval(this.timer);
    await this.client?.end();
    const avg = (m: Map<string, number>, n: number) =>
      [...m]
        .sort((a, b) => b[1] - a[1])
        .slice(0, n)
        .map(([k, v]) => [k, Math.round((v / Math.max(1, this.samples)) * 100) / 100] as [string, number]);
    return { samples: this.samples, states: avg(this.counts, 8), topWaits: avg(this.queries, 6) };
  }
}

export function activityLines(a: Awaited<ReturnType<ActivitySampler['stop']>>): string[] {
  return [`busy backends on average (${a.samples} samples): ` + a.states.map(([k, v]) => `${k} ${v}`).join('; '), ...a.topWaits.map(([k, v]) => `  ${v.toFixed(2)} × ${k}`)];
}
