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

/**
 * Review of #21: the signature proves Parley issued a token, not that it was issued to this
 * browser; an attacker could take a genuine one from GET /login and plant it. Behind https the
 * cookie is `__Host-` (only Secure, Path=/, no Domain: no subdomain or plain-http answer can set
 * it), and an anonymous form the browser marks `Sec-Fetch-Site: cross-site` is refused.
 */
describe('planting a genuine token', () => {
  let https: TestApp;
  beforeAll(async () => {
    https = await createTestApp({ env: { PUBLIC_URL: 'https://crm.shop.test' } });
    await makeEmployee(https.deps, { role: 'Admin', email: 'owner@shop.test' });
  });
  afterAll(async () => https?.close());

  it('behind https the cookie is __Host-parley_csrf (Secure, Path=/, no Domain), and only it counts', async () => {
    const page = await https.app.inject({ url: '/login', remoteAddress: '192.0.2.20' });
    const jar = setCookies(page);
    expect(jar.parley_csrf).toBeUndefined();
    const host = jar['__Host-parley_csrf']!;
    expect(host.attrs).toEqual(expect.arrayContaining(['secure', 'path=/', 'httponly', 'samesite=lax']));
    expect(host.attrs.some((a) => a.startsWith('domain='))).toBe(false);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    // The same genuine token under the plantable name is not looked at.
    const planted = await postForm(https.app, '/login', { _csrf: csrf, email: owner.email, password: owner.password }, { cookie: `parley_csrf=${host.value}`, ip: '192.0.2.20' });
    expect(planted.statusCode).toBe(403);
    const ok = await postForm(https.app, '/login', { _csrf: csrf, email: owner.email, password: owner.password }, { cookie: `__Host-parley_csrf=${host.value}`, ip: '192.0.2.20' });
    expect(ok.statusCode).toBe(303);
    // Logged in: the anonymous cookie is cleared under its own name, Secure (a browser ignores a
    // __Host- Set-Cookie without it).
    const cleared = setCookies(ok)['__Host-parley_csrf']!;
    expect(cleared.attrs).toEqual(expect.arrayContaining(['secure', 'path=/']));
    expect(cleared.attrs.some((a) => a.startsWith('expires=thu, 01 jan 1970'))).toBe(true);
  });

  it('over plain http the name stays parley_csrf', async () => {
    const jar = setCookies(await t.app.inject({ url: '/login' }));
    expect(jar.parley_csrf).toBeDefined();
    expect(jar['__Host-parley_csrf']).toBeUndefined();
  });

  it('an anonymous form posted cross-site is refused (403), whatever token it carries; same-origin, same-site, none or no header still work', async () => {
    let n = 30;
    const attempt = async (url: string, fields: Record<string, string>, fetchSite?: string) => {
      const ip = `192.0.2.${n++}`;
      const form = await openAnonForm(t.app, '/login', ip); // one cookie and token serve every anonymous form
      return postForm(t.app, url, { _csrf: form.csrf, ...fields }, { cookie: form.cookie, ip, headers: fetchSite ? { 'sec-fetch-site': fetchSite } : {} });
    };
    const creds = { email: owner.email, password: owner.password };
    const cross = await attempt('/login', creds, 'cross-site');
    expect(cross.statusCode).toBe(403);
    expect(cross.body).toContain('<html');
    expect(cross.headers['set-cookie'] ?? '').not.toContain('parley_session=');
    // Setup and the login's code step: refused before anything else.
    expect((await attempt('/setup', { name: 'X', email: 'x@shop.test', password: 'a long password' }, 'cross-site')).statusCode).toBe(403);
    expect((await attempt('/login/two-factor', { code: '123456' }, 'cross-site')).statusCode).toBe(403);
    for (const site of ['same-origin', 'same-site', 'none', undefined]) {
      const res = await attempt('/login', creds, site);
      expect([site, res.statusCode]).toEqual([site, 303]);
      expect(setCookies(res).parley_session).toBeDefined();
    }
  });
});
