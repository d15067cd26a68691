import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createTestDeps, tempDir, usingPostgres, usingRedis, type TestContext } from '../helpers.ts';
import { spawnServer, until } from './support.ts';

/**
 * WEB_CONCURRENCY=2: `node dist/server.js` (what `npm start` runs) supervises two web processes
 * sharing one port; both serve requests, a dead one is replaced, SIGTERM stops them all.
 * Needs PostgreSQL and Redis (the embedded mode refuses more than one process).
 */
const dataDir = tempDir('parley-cluster-');
let ctx: TestContext | undefined;
let child: ChildProcess | undefined;
afterAll(async () => {
  if (child?.pid && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await ctx?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function get(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => res.resume().on('end', () => resolve(res.statusCode ?? 0)));
    req.on('error', reject);
    req.end();
  });
}

describe('WEB_CONCURRENCY', () => {
  it('is refused without PostgreSQL and Redis, with the reason', () => {
    expect(() => loadConfig({ WEB_CONCURRENCY: '2', DATA_DIR: dataDir })).toThrow(/WEB_CONCURRENCY above 1 needs DATABASE_URL and REDIS_URL/);
    expect(() => loadConfig({ WEB_CONCURRENCY: 'lots', DATA_DIR: dataDir })).toThrow(/WEB_CONCURRENCY must be a whole number/);
  });

  it.skipIf(!usingPostgres || !usingRedis)('runs two web processes on one port, replaces a dead one, and stops them all on SIGTERM', { timeout: 120_000 }, async () => {
    ctx = await createTestDeps();
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: ctx.config.databaseUrl!,
      REDIS_URL: process.env.REDIS_URL!,
      SECRET_KEY: randomBytes(32).toString('hex'),
      WEB_CONCURRENCY: '2',
      PROCESS_ROLES: 'web',
      DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    };
    const { proc, logs, raw } = spawnServer(env);
    child = proc;
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    const listening = () => logs.filter((l) => l.msg === 'Parley is listening');

    await until(() => listening().length >= 2, 'two web processes to listen', 60_000, 50).catch((err) => {
      throw new Error(`${(err as Error).message}\n${raw.join('\n')}`);
    });
    const [a, b] = listening();
    expect(a!.pid).not.toBe(b!.pid);
    expect(a!.pid).not.toBe(proc.pid);
    expect(a!.url).toBe(b!.url); // one shared port

    // New connections are spread over both processes.
    for (let i = 0; i < 12; i++) expect(await get(`${a!.url}/healthz`)).toBe(200);
    const servedBy = new Set(logs.filter((l) => l.route === '/healthz').map((l) => l.pid));
    expect(servedBy).toEqual(new Set([a!.pid, b!.pid]));

    // A process that dies is replaced; the port keeps answering meanwhile.
    process.kill(a!.pid!, 'SIGKILL');
    await until(() => listening().length >= 3, 'a replacement process', 60_000, 50);
    expect(await get(`${a!.url}/healthz`)).toBe(200);

    const signalled = Date.now();
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(10_000);
  });
});
