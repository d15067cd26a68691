import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { start, type Running } from '../../src/runtime.ts';
import { tempDir } from '../helpers.ts';
import { encodeForm } from './support.ts';

/**
 * Embedded mode end to end, whatever DATABASE_URL/REDIS_URL the suite runs with: the real
 * `start()` with only a temporary DATA_DIR, the owner set up over HTTP, a restart on the same
 * directory, and the owner still there.
 */
const dataDir = tempDir('parley-embedded-');
let running: Running | undefined;
afterAll(async () => {
  await running?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

// Only what a newcomer would have: no DATABASE_URL, no REDIS_URL, no SECRET_KEY.
const config = () => loadConfig({ DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' });

function cookieFrom(res: Response, name: string): string | undefined {
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(';');
    if (pair!.startsWith(`${name}=`)) return pair;
  }
  return undefined;
}

async function openForm(base: string, path: string) {
  const page = await fetch(base + path, { redirect: 'manual' });
  expect(page.status).toBe(200);
  const html = await page.text();
  return { cookie: cookieFrom(page, 'parley_csrf')!, csrf: /name="_csrf" value="([^"]+)"/.exec(html)![1]! };
}

async function post(base: string, path: string, cookie: string, fields: Record<string, string>) {
  return fetch(base + path, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: encodeForm(fields),
  });
}

describe('embedded mode', () => {
  // File-backed PGlite is created, migrated, closed and reopened: slow on a busy machine.
  it('keeps the data in DATA_DIR across a restart', { timeout: 120_000 }, async () => {
    running = await start(config());
    expect(running.deps.config.embedded).toBe(true);
    expect(running.deps.database.kind).toBe('pglite');
    expect(running.deps.queue.kind).toBe('local');
    let base = running.url!;

    const health = await fetch(base + '/healthz');
    expect(await health.json()).toMatchObject({ status: 'ok', database: 'up', redis: 'not configured', mode: 'embedded', queue: 'local' });

    const root = await fetch(base + '/', { redirect: 'manual' });
    expect([root.status, root.headers.get('location')]).toEqual([303, '/setup']);
    const setup = await openForm(base, '/setup');
    const created = await post(base, '/setup', setup.cookie, { _csrf: setup.csrf, name: 'Olga Owner', email: 'olga@shop.test', password: 'supersecret-1' });
    expect(created.status).toBe(303);
    expect(cookieFrom(created, 'parley_session')).toBeDefined();

    await running.stop();
    running = undefined;
    expect(existsSync(join(dataDir, 'pglite'))).toBe(true);
    const key = readFileSync(join(dataDir, 'secret.key'), 'utf8');

    running = await start(config());
    base = running.url!;
    // Setup is closed: the owner exists.
    const again = await fetch(base + '/setup', { redirect: 'manual' });
    expect([again.status, again.headers.get('location')]).toEqual([303, '/login']);
    const login = await openForm(base, '/login');
    const res = await post(base, '/login', login.cookie, { _csrf: login.csrf, email: 'olga@shop.test', password: 'supersecret-1' });
    expect(res.status).toBe(303);
    const session = cookieFrom(res, 'parley_session')!;
    const profile = await fetch(base + '/settings/profile', { headers: { cookie: session } });
    expect(profile.status).toBe(200);
    expect(await profile.text()).toContain('Olga Owner');
    // The generated secret is kept, not regenerated.
    expect(readFileSync(join(dataDir, 'secret.key'), 'utf8')).toBe(key);
  });
});
