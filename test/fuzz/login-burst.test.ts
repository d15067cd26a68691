import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { THROTTLE } from '../../src/auth/auth.service.ts';
import { createTestApp, makeEmployee, type TestApp } from '../helpers.ts';
import { openAnonForm, postForm, submitLogin } from '../platform/support.ts';

/**
 * Finding #21.2: the throttle used to be read, the password checked and the failure recorded
 * with nothing atomic between, so a burst of concurrent guesses was evaluated in full. Here the
 * real argon2 check is wrapped in a counter (the only stand-in: the database is real) and a
 * burst of wrong-password POSTs, each with a valid CSRF token, is fired at once.
 */
const checks = vi.hoisted(() => ({ count: 0 }));
vi.mock('../../src/auth/passwords.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/auth/passwords.ts')>();
  return {
    ...real,
    verifyPassword: (hash: string | null, password: string) => {
      checks.count++;
      return real.verifyPassword(hash, password);
    },
  };
});

/** FUZZ_RUNS (npm run fuzz) makes the burst larger. */
const BURST = Math.min(600, Math.max(150, Math.floor(Number(process.env.FUZZ_RUNS ?? 0) / 2) || 150));

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
  await makeEmployee(t.deps, { role: 'Admin', email: 'owner@shop.test' });
});
afterAll(async () => t?.close());

async function burst(n: number, fields: (i: number) => { email: string; password: string }, ip: (i: number) => string) {
  const form = await openAnonForm(t.app, '/login');
  checks.count = 0;
  const answers = await Promise.all(Array.from({ length: n }, (_, i) => postForm(t.app, '/login', { _csrf: form.csrf, ...fields(i) }, { ip: ip(i), cookie: form.cookie })));
  return { statuses: answers.map((a) => a.statusCode), evaluated: checks.count };
}

describe(`a burst of ${BURST} concurrent wrong-password logins`, () => {
  it(`from one address, across accounts: at most ${THROTTLE.perIp} reach the password check`, async () => {
    const r = await burst(
      BURST,
      (i) => ({ email: `spray${i}@shop.test`, password: 'Password123!' }),
      () => '203.0.113.7',
    );
    expect(r.statuses.every((s) => s === 401)).toBe(true);
    expect(r.evaluated).toBeGreaterThan(0);
    expect(r.evaluated).toBeLessThanOrEqual(THROTTLE.perIp);
  });

  it(`on one account, from many addresses: at most ${THROTTLE.perAccount} reach the password check, and the account is locked`, async () => {
    const e = await makeEmployee(t.deps, { email: 'burst-target@shop.test' });
    const r = await burst(
      BURST,
      (i) => ({ email: e.email, password: `guess-${i}-xxxxxxxx` }),
      (i) => `198.51.${Math.floor(i / 250)}.${(i % 250) + 1}`,
    );
    expect(r.statuses.every((s) => s === 401)).toBe(true);
    expect(r.evaluated).toBeGreaterThan(0);
    expect(r.evaluated).toBeLessThanOrEqual(THROTTLE.perAccount);
    // Even the right password, from a fresh address, is refused while the lock holds.
    checks.count = 0;
    expect((await submitLogin(t.app, { email: e.email, password: e.password }, { ip: '192.0.2.200' })).statusCode).toBe(401);
    expect(checks.count).toBe(0);
  });

  it('successful logins from one office address do not use up its allowance', async () => {
    const e = await makeEmployee(t.deps, { email: 'office@shop.test' });
    for (let i = 0; i < THROTTLE.perIp + 5; i++) {
      expect((await submitLogin(t.app, { email: e.email, password: e.password }, { ip: '192.0.2.10' })).statusCode).toBe(303);
    }
  });
});
