import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { ROOT } from '../../bench/lib/env.ts';
import { sleep } from '../../bench/lib/stats.ts';

/**
 * The suite's own infrastructure, all on 127.0.0.1 and all thrown away at the end: a PostgreSQL
 * cluster made with `initdb` in a temporary folder (never the machine's shared cluster), a
 * `redis-server` without persistence (a kill loses every key, as the worst case of R6), and
 * Parley's production processes (`scripts/build.mjs` output, run with plain node).
 */
export const RESULTS = join(ROOT, 'chaos', 'results');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** Everything the run started, stopped by `cleanup()` (also on Ctrl-C, errors and exit). */
const cleanups: Array<() => void> = [];
let cleaned = false;
export function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const f of cleanups.reverse()) {
    try {
      f();
    } catch (err) {
      console.error(`cleanup: ${(err as Error).message}`);
    }
  }
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => {
    console.error(`\n${sig}: stopping everything the suite started`);
    cleanup();
    process.exit(130);
  });
}

export function tempRoot(): string {
  const dir = mkdtempSync(join(tmpdir(), 'parley-chaos-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const PG_BIN =
  process.env.CHAOS_PG_BIN ??
  (() => {
    try {
      return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
    } catch {
      return '/usr/lib/postgresql/15/bin';
    }
  })();

/** PostgreSQL refuses to run as root: as root, its commands run as the `postgres` OS user. */
function asPostgres(cmd: string, args: string[]): [string, string[]] {
  const bin = join(PG_BIN, cmd);
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
}

/**
 * Runs a PostgreSQL command in the cluster's own folder: as the `postgres` user it may not be
 * able to enter the checkout (a `mktemp -d` clone is root's alone), nor write a log there.
 */
function runPg(dir: string, cmd: string, args: string[]): void {
  const [file, argv] = asPostgres(cmd, args);
  execFileSync(file, argv, { stdio: 'ignore', cwd: dir });
}

export class PgCluster {
  readonly data: string;
  readonly socketDir: string;
  readonly log: string;
  constructor(
    readonly dir: string,
    readonly port: number,
  ) {
    this.data = join(dir, 'pgdata');
    this.socketDir = join(dir, 'pgsock');
    // In the cluster's folder (the postgres user's); copied to results/logs when it stops.
    this.log = join(dir, 'postgres.log');
  }

  url(db = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${db}`;
  }

  static async create(dir: string): Promise<PgCluster> {
    const c = new PgCluster(dir, await freePort());
    mkdirSync(c.socketDir, { recursive: true });
    if (process.getuid?.() === 0) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      for (const d of [dir, c.socketDir]) chownSync(d, uid, gid);
      closeSync(openSync(c.log, 'a'));
      chownSync(c.log, uid, gid);
    }
    runPg(dir, 'initdb', ['-D', c.data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
    cleanups.push(() => c.stopSync());
    await c.start();
    return c;
  }

  async start(): Promise<void> {
    const opts = `-p ${this.port} -k ${this.socketDir} -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=64MB`;
    runPg(this.dir, 'pg_ctl', ['-D', this.data, '-l', this.log, '-w', '-t', '60', '-o', opts, 'start']);
  }

  /** `pg_ctl stop -m immediate`: no checkpoint, connections cut (a crash, recovered at start). */
  stopImmediate(): void {
    runPg(this.dir, 'pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', 'stop']);
  }

  private stopSync() {
    this.stopServer();
    try {
      copyFileSync(this.log, join(RESULTS, 'logs', 'postgres.log'));
    } catch {
      // No log yet (initdb failed): nothing to keep.
    }
  }

  private stopServer() {
    const pidFile = join(this.data, 'postmaster.pid');
    if (!existsSync(pidFile)) return;
    try {
      this.stopImmediate();
    } catch {
      // pg_ctl failed (interrupted): SIGQUIT is the postmaster's own immediate shutdown.
      const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
      if (pid > 0) process.kill(pid, 'SIGQUIT');
    }
  }
}

export class RedisServer {
  private proc: ChildProcess | undefined;
  constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async create(dir: string): Promise<RedisServer> {
    const r = new RedisServer(dir, await freePort());
    cleanups.push(() => r.kill());
    await r.start();
    return r;
  }

  async start(): Promise<void> {
    const log = openSync(join(RESULTS, 'logs', 'redis.log'), 'a');
    this.proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir], {
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    for (let i = 0; i < 100; i++) {
      try {
        await probe.connect();
        await probe.ping();
        probe.disconnect();
        return;
      } catch {
        await sleep(50);
      }
    }
    probe.disconnect();
    throw new Error('redis-server did not start');
  }

  /** kill -9: every key is gone (no persistence). */
  kill(): void {
    if (this.proc?.pid && this.proc.exitCode === null) process.kill(this.proc.pid, 'SIGKILL');
  }
}

/** One Parley process: `dist/server.js` (web) or `dist/worker.js`, built into chaos/results/build. */
export class ParleyProcess {
  private proc: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private starts = 0;
  constructor(
    readonly name: string,
    readonly role: 'web' | 'worker',
    readonly env: Record<string, string>,
    readonly port?: number,
  ) {
    cleanups.push(() => this.kill('SIGKILL'));
  }

  get alive(): boolean {
    return Boolean(this.proc && this.proc.exitCode === null && this.proc.signalCode === null);
  }

  get logFile(): string {
    return join(RESULTS, 'logs', `${this.name}.log`);
  }

  async start(): Promise<void> {
    // The log is appended to across restarts: readiness is looked for after what was there.
    const from = this.starts === 0 || !existsSync(this.logFile) ? 0 : readFileSync(this.logFile).length;
    const log = openSync(this.logFile, this.starts++ === 0 ? 'w' : 'a');
    const script = join(RESULTS, 'build', this.role === 'web' ? 'server.js' : 'worker.js');
    const env = { ...this.env, ...(this.port ? { PORT: String(this.port), PUBLIC_URL: `http://127.0.0.1:${this.port}` } : {}), ...(this.role === 'web' ? { PROCESS_ROLES: 'web' } : {}) };
    const proc = spawn(process.execPath, [script], { cwd: ROOT, env, stdio: ['ignore', log, log] });
    closeSync(log);
    this.proc = proc;
    this.exited = new Promise((r) => proc.once('exit', () => r()));
    const started = Date.now();
    const marker = this.role === 'web' ? '"Parley is listening"' : '"worker started"';
    while (Date.now() - started < 60_000) {
      if (!this.alive) throw new Error(`${this.name} exited during start; see ${this.logFile}`);
      if (readFileSync(this.logFile).subarray(from).toString('utf8').includes(marker)) return;
      await sleep(50);
    }
    throw new Error(`${this.name} not ready after 60 s; see ${this.logFile}`);
  }

  kill(signal: NodeJS.Signals): void {
    if (this.alive && this.proc?.pid) process.kill(this.proc.pid, signal);
  }

  /** Resolves once the process has exited. */
  wait(): Promise<void> {
    return this.exited;
  }
}

/** Compiles the production entry points once per run (like `npm start`, into our own folder). */
export function buildParley(): void {
  for (const [entry, out] of [
    ['src/server.ts', 'server.js'],
    ['src/worker.ts', 'worker.js'],
  ] as const) {
    execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), entry, join(RESULTS, 'build', out)], { cwd: ROOT, stdio: 'inherit' });
  }
}

export async function createDatabase(cluster: PgCluster, name: string): Promise<void> {
  const c = new pg.Client({ connectionString: cluster.url() });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
}
