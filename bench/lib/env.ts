import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (bench/lib/ → ../..). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BENCH_DIR = join(ROOT, 'bench');
export const RESULTS_DIR = join(BENCH_DIR, 'results');

/**
 * Every server the bench talks to lives on this machine. The admin URL is only used to
 * create/drop the bench's own databases (parley_bench*); nothing else is touched.
 */
export const PG_ADMIN_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Cached P4 seed (100k chats / 10M messages): regenerated only with --reseed or when stale. */
export const SEED_DB = 'parley_bench';
/**
 * Scratch database: dropped and re-created (and migrated) by every scenario that needs one.
 * `BENCH_RUN_DB=parley_bench_run_x` lets two bench runs share a machine without dropping each
 * other's data (the name must start with parley_bench).
 */
export const RUN_DB = process.env.BENCH_RUN_DB ?? 'parley_bench_run';
if (!/^parley_bench_run[a-z0-9_]*$/.test(RUN_DB)) throw new Error(`BENCH_RUN_DB must match parley_bench_run[a-z0-9_]*, not ${RUN_DB}`);
export const SECRET_KEY = 'bench-secret-key-0123456789abcdef0123456789abcdef';
export const META_APP_SECRET = 'bench-meta-app-secret';
/** Graph calls of a run with no emulator go nowhere (a closed local port), never to Meta. */
export const DEAD_GRAPH_URL = 'http://127.0.0.1:9';

for (const u of [PG_ADMIN_URL, REDIS_URL]) {
  const host = new URL(u).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1' && host !== '[::1]') {
    throw new Error(`bench targets this machine only; refusing ${host}`);
  }
}

export function dbUrl(name: string): string {
  const u = new URL(PG_ADMIN_URL);
  u.pathname = '/' + name;
  return u.toString();
}

/**
 * How Parley's processes reach PostgreSQL: over its Unix socket when this machine has one (what
 * a single-machine install should configure, see the README: no loopback TCP stack on each
 * query, measured at +30 % pages/s on P5), or over TCP with `BENCH_PG_SOCKET=off`.
 * `BENCH_PG_SOCKET=/path` names another socket directory.
 */
const DEFAULT_SOCKET_DIR = '/var/run/postgresql';
export function parleyDbUrl(name: string): string {
  const setting = process.env.BENCH_PG_SOCKET;
  const socket = setting === 'off' ? undefined : (setting ?? (existsSync(join(DEFAULT_SOCKET_DIR, '.s.PGSQL.5432')) ? DEFAULT_SOCKET_DIR : undefined));
  if (!socket) return dbUrl(name);
  return `postgres://postgres@localhost/${name}?host=${encodeURIComponent(socket)}`;
}

/** Redis keys of one run: `parleybench:<pid>:<scenario>` (deleted when the scenario ends). */
export function redisPrefix(scenario: string): string {
  return `parleybench:${process.pid}:${scenario}`;
}

/** The environment a Parley process of the bench gets (production mode: PostgreSQL + Redis). */
export function parleyEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    NODE_ENV: 'production',
    DATABASE_URL: parleyDbUrl(RUN_DB),
    REDIS_URL,
    SECRET_KEY,
    META_APP_SECRET,
    META_APP_ID: '100200300400500',
    META_VERIFY_TOKEN: 'bench-verify',
    META_GRAPH_URL: DEAD_GRAPH_URL,
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: join(RESULTS_DIR, 'data'),
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
  };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}
