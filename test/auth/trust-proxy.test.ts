import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { THROTTLE } from '../../src/auth/auth.service.ts';
import { createTestApp, makeEmployee, type TestApp } from '../helpers.ts';
import { openAnonForm, postForm } from '../platform/support.ts';

/**
 * Finding #21.7: `TRUST_PROXY=1` trusted every X-Forwarded-For hop, so the per-address throttle
 * used whatever address the client wrote first. One hop means: the entry the proxy appended.
 */
let t: TestApp;
let e: { id: number; email: string; password: string };
beforeAll(async () => {
  t = await createTestApp({ env: { TRUST_PROXY: '1' } });
  e = await makeEmployee(t.deps, { role: 'Admin', email: 'owner@shop.test' });
});
afterAll(async () => t?.close());

const PROXY = '127.0.0.1';

async function loginVia(xff: string, fields: { email: string; password: string }) {
  const form = await openAnonForm(t.app, '/login', PROXY);
  return postForm(t.app, '/login', { _csrf: form.csrf, ...fields }, { ip: PROXY, cookie: form.cookie, headers: { 'x-forwarded-for': xff } });
}

describe('TRUST_PROXY=1 (one proxy in front)', () => {
  it('throttles by the address the proxy added, not the one the client wrote', async () => {
    await loginVia('6.6.6.6, 1.2.3.4', { email: 'nobody@shop.test', password: 'wrong password' });
    const keys = (await t.deps.db.selectFrom('login_throttle').select('key').execute()).map((r) => r.key);
    expect(keys).toContain('ip:1.2.3.4');
    expect(keys).not.toContain('ip:6.6.6.6');
  });

  it('a new made-up first entry per request does not escape the per-address limit', async () => {
    for (let i = 0; i < THROTTLE.perIp; i++) {
      const res = await loginVia(`9.9.${i}.${i + 1}, 5.6.7.8`, { email: `spray${i}@shop.test`, password: 'wrong password' });
      expect(res.statusCode).toBe(401);
    }
    // The right password, with yet another invented first hop: still throttled as 5.6.7.8.
    const right = await loginVia('8.8.8.8, 5.6.7.8', { email: e.email, password: e.password });
    expect(right.statusCode).toBe(401);
    // Another client behind the same proxy is not.
    expect((await loginVia('5.6.7.9', { email: e.email, password: e.password })).statusCode).toBe(303);
  });
});
