import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, makeEmployee, type TestApp } from '../helpers.ts';
import { openAnonForm, postForm, setCookies } from '../platform/support.ts';

/**
 * Finding #21.9: the anonymous forms' double-submit cookie was any value of 20+ characters, so a
 * cookie planted by a sibling subdomain (or a man in the middle on http) plus the same value in
 * the form passed. The cookie is now signed with a key derived from SECRET_KEY: Parley only
 * accepts tokens it issued.
 */
let t: TestApp;
let owner: { email: string; password: string };
beforeAll(async () => {
  t = await createTestApp();
  owner = await makeEmployee(t.deps, { role: 'Admin', email: 'owner@shop.test' });
});
afterAll(async () => t?.close());

describe('the login form’s CSRF cookie', () => {
  it('a planted cookie with the same value in the form is refused (403), and replaced', async () => {
    for (const planted of ['p'.repeat(32), 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.bm90LWEtc2lnbmF0dXJl']) {
      const res = await postForm(t.app, '/login', { _csrf: planted, email: owner.email, password: owner.password }, { cookie: `parley_csrf=${planted}`, ip: '192.0.2.1' });
      expect(res.statusCode).toBe(403);
      expect(res.headers['set-cookie'] ?? '').not.toContain('parley_session=');
      expect(setCookies(res).parley_csrf?.value).not.toBe(planted);
    }
  });

  it('a token issued by another install (another SECRET_KEY) is refused', async () => {
    const other = await createTestApp({ env: { SECRET_KEY: 'another-install-secret-0123456789abcdef' } });
    try {
      await makeEmployee(other.deps, { role: 'Admin', email: 'owner@shop.test' });
      const form = await openAnonForm(other.app, '/login');
      const res = await postForm(t.app, '/login', { _csrf: form.csrf, email: owner.email, password: owner.password }, { cookie: form.cookie, ip: '192.0.2.2' });
      expect(res.statusCode).toBe(403);
    } finally {
      await other.close();
    }
  });

  it('the real flow works, and the cookie is kept while valid', async () => {
    const form = await openAnonForm(t.app, '/login', '192.0.2.3');
    const again = await t.app.inject({ url: '/login', headers: { cookie: form.cookie }, remoteAddress: '192.0.2.3' });
    expect(setCookies(again).parley_csrf).toBeUndefined();
    const res = await postForm(t.app, '/login', { _csrf: form.csrf, email: owner.email, password: owner.password }, { cookie: form.cookie, ip: '192.0.2.3' });
    expect(res.statusCode).toBe(303);
  });
});
