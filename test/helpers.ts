import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { inject } from 'vitest';
import { loadConfig, type Config } from '../src/config.ts';
import { createDeps, registryList, type Deps, type DepsOptions } from '../src/deps.ts';
import { buildApp } from '../src/app.ts';
import { createLogger } from '../src/platform/logger.ts';
import { hashPassword } from '../src/auth/passwords.ts';
import { insertEmployee, insertRole, findRoleByName } from '../src/auth/auth.repository.ts';
import type { BullQueue } from '../src/platform/jobs/bullmq-queue.ts';
import { admin, withDb } from './global-setup.ts';

export const usingPostgres = Boolean(process.env.DATABASE_URL);
export const usingRedis = Boolean(process.env.REDIS_URL);

export interface TestContext {
  deps: Deps;
  config: Config;
  dataDir: string;
  close(): Promise<void>;
}

/**
 * A private database for one test file (a clone of the migrated template under PostgreSQL,
 * an in-memory PGlite otherwise), a unique Redis prefix, and a throw-away DATA_DIR.
 */
export async function createTestDeps(opts: DepsOptions & { env?: Record<string, string> } = {}): Promise<TestContext> {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-test-'));
  const id = `${process.pid}_${randomBytes(4).toString('hex')}`;
  let databaseUrl: string | undefined;
  const baseUrl = process.env.DATABASE_URL;
  if (baseUrl) {
    const name = `parley_t_${id}`;
    await admin(baseUrl, async (c) => {
      await c.query(`CREATE DATABASE ${name} TEMPLATE ${inject('templateDb')}`);
    });
    databaseUrl = withDb(baseUrl, name);
  }
  const env: Record<string, string> = {
    DATA_DIR: dataDir,
    SECRET_KEY: 'test-secret-key-0123456789abcdef0123456789',
    LOG_LEVEL: 'silent',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
    ...opts.env,
  };
  const config = loadConfig(env);
  const deps = await createDeps(config, {
    logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    redisPrefix: `parleytest:${id}`,
    pgliteDir: 'memory://',
    ...opts,
  });
  return {
    deps,
    config,
    dataDir,
    async close() {
      if (deps.queue.kind === 'bullmq') await (deps.queue as BullQueue).obliterate().catch(() => {});
      await deps.close();
      if (databaseUrl && baseUrl) {
        const name = new URL(databaseUrl).pathname.slice(1);
        await admin(baseUrl, async (c) => {
          await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        });
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface TestApp extends TestContext {
  app: FastifyInstance;
}

/** The web app on top of createTestDeps, with job workers and the live hub running. */
export async function createTestApp(opts: Parameters<typeof createTestDeps>[0] = {}): Promise<TestApp> {
  const ctx = await createTestDeps(opts);
  await ctx.deps.queue.startWorkers(registryList(ctx.deps));
  await ctx.deps.live.start();
  const app = await buildApp(ctx.deps);
  await app.ready();
  return {
    ...ctx,
    app,
    async close() {
      await ctx.deps.live.close();
      await app.close();
      await ctx.close();
    },
  };
}

let cachedHash: Promise<string> | undefined;
export const TEST_PASSWORD = 'correct horse battery';

/** Inserts an employee directly (one argon2 hash per file, reused). */
export async function makeEmployee(
  deps: Deps,
  opts: { email?: string; name?: string; role?: 'admin' | 'agent' | string; permissions?: string[] } = {},
): Promise<{ id: number; email: string; password: string }> {
  cachedHash ??= hashPassword(TEST_PASSWORD);
  const email = opts.email ?? `e${randomBytes(4).toString('hex')}@shop.test`;
  let role = await findRoleByName(deps.db, opts.role ?? 'agent');
  if (!role) {
    const id = await insertRole(deps.db, { name: opts.role!, isAdmin: false, permissions: opts.permissions ?? [] });
    role = (await findRoleByName(deps.db, opts.role!))!;
    void id;
  }
  const id = await insertEmployee(deps.db, { email, name: opts.name ?? email.split('@')[0]!, passwordHash: await cachedHash, roleId: role.id });
  return { id, email, password: TEST_PASSWORD };
}

export interface Session {
  cookie: string;
  csrf: string;
}

export function extractCsrf(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html) ?? /"X-CSRF-Token": "([^"]+)"/.exec(html);
  if (!m) throw new Error('no CSRF token in page');
  return m[1]!;
}

function cookiesFrom(setCookie: string | string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of ([] as string[]).concat(setCookie ?? [])) {
    const [pair] = c.split(';');
    const [k, v] = pair!.split('=');
    out[k!.trim()] = v ?? '';
  }
  return out;
}

/** Logs in through the real form (CSRF included) and returns the session cookie + token. */
export async function login(app: FastifyInstance, email: string, password = TEST_PASSWORD): Promise<Session> {
  const page = await app.inject({ method: 'GET', url: '/login' });
  const pre = cookiesFrom(page.headers['set-cookie']).parley_csrf!;
  const res = await app.inject({
    method: 'POST',
    url: '/login',
    headers: { cookie: `parley_csrf=${pre}` },
    payload: { email, password, _csrf: extractCsrf(page.body) },
  });
  if (res.statusCode !== 303) throw new Error(`login failed: ${res.statusCode}`);
  const cookie = `parley_session=${cookiesFrom(res.headers['set-cookie']).parley_session}`;
  const home = await app.inject({ method: 'GET', url: '/settings/profile', headers: { cookie } });
  return { cookie, csrf: extractCsrf(home.body) };
}

/** A GET or form POST as a logged-in employee (CSRF added to POSTs unless `csrf: false`). */
export function as(app: FastifyInstance, s: Session | null) {
  return {
    get: (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers: { ...(s ? { cookie: s.cookie } : {}), ...headers } }),
    post: (url: string, payload: Record<string, string | string[]> = {}, opts: { csrf?: boolean; headers?: Record<string, string> } = {}) =>
      app.inject({
        method: 'POST',
        url,
        headers: { ...(s ? { cookie: s.cookie } : {}), ...opts.headers },
        payload: opts.csrf === false || !s ? payload : { _csrf: s.csrf, ...payload },
      }),
  };
}

export function tempDir(prefix = 'parley-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
