import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { THROTTLE } from '../../src/auth/auth.service.ts';
import { createEmployee } from '../../src/auth/settings.service.ts';
import { sha256 } from '../../src/platform/crypto.ts';
import { createTestApp, makeEmployee, TEST_PASSWORD, type TestApp } from '../helpers.ts';
import { getAs, openAnonForm, postForm, setCookies, submitLogin, textOf } from '../platform/support.ts';

/**
 * Login, logout, the one generic failure message, throttling per account and per IP, session
 * rotation, cookie flags and password storage (S4, S6). Each test uses its own client IP so
 * the per-IP throttle of one test never leaks into another.
 */
let t: TestApp;
let owner: { id: number; email: string; password: string };
beforeAll(async () => {
  t = await createTestApp();
  owner = await makeEmployee(t.deps, { role: 'Admin', email: 'owner@shop.test' });
});
afterAll(async () => t?.close());

const GENERIC = 'Email or password is incorrect, or there were too many attempts. Wait a few minutes and try again.';
let ipCounter = 0;
const freshIp = () => `10.0.${Math.floor(++ipCounter / 250)}.${(ipCounter % 250) + 1}`;

/** The alert of a failed login, as text. */
function failureMessage(body: string): string | undefined {
  const m = /<p class="alert alert--error" role="alert">([^<]*)<\/p>/.exec(body);
  return m?.[1];
}

describe('login', () => {
  it('logs in with the right password, sets a fresh session and follows a same-site `next`', async () => {
    const ip = freshIp();
    const bounced = await t.app.inject({ url: '/settings/roles', remoteAddress: ip });
    expect(bounced.statusCode).toBe(303);
    expect(bounced.headers.location).toBe('/login?next=%2Fsettings%2Froles');
    const page = await t.app.inject({ url: bounced.headers.location!, remoteAddress: ip });
    expect(page.body).toContain('name="next" value="/settings/roles"');

    const res = await submitLogin(t.app, { email: owner.email, password: owner.password, next: '/settings/roles' }, { ip });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/settings/roles');
    const cookie = setCookies(res).parley_session!;
    // 256-bit random ids; only their hash is stored.
    expect(cookie.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const stored = await t.deps.db.selectFrom('sessions').select('id_hash').where('employee_id', '=', owner.id).execute();
    expect(stored.map((s) => s.id_hash)).toContain(sha256(cookie.value));
    expect(stored.map((s) => s.id_hash)).not.toContain(cookie.value);
    // The pre-session CSRF cookie is dropped once a session exists.
    expect(setCookies(res).parley_csrf?.attrs.some((a) => a.startsWith('expires=thu, 01 jan 1970'))).toBe(true);

    const roles = await getAs(t.app, { cookie: `parley_session=${cookie.value}`, csrf: '' }, '/settings/roles');
    expect(roles.statusCode).toBe(200);
  });

  it.each([
    ['//evil.com', '/'],
    ['//evil.com/settings', '/'],
    ['https://evil.com/', '/'],
    ['/\\evil.com', '/'],
    ['javascript:alert(1)', '/'],
    ['/settings/profile?tab=1', '/settings/profile?tab=1'],
  ])('treats next=%s as %s', async (next, expected) => {
    const res = await submitLogin(t.app, { email: owner.email, password: owner.password, next }, { ip: freshIp() });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe(expected);
  });

  it('a logged-in employee visiting /login goes to next (same-site only)', async () => {
    const res = await submitLogin(t.app, { email: owner.email, password: owner.password }, { ip: freshIp() });
    const cookie = `parley_session=${setCookies(res).parley_session!.value}`;
    const a = await t.app.inject({ url: '/login?next=%2Fsettings%2Fprofile', headers: { cookie } });
    expect([a.statusCode, a.headers.location]).toEqual([303, '/settings/profile']);
    const b = await t.app.inject({ url: '/login?next=%2F%2Fevil.com', headers: { cookie } });
    expect([b.statusCode, b.headers.location]).toEqual([303, '/']);
  });

  it('answers every kind of failure with 401 and the same generic message', async () => {
    const disabled = await makeEmployee(t.deps, { email: 'gone@shop.test' });
    await t.deps.db.updateTable('employees').set({ disabled_at: new Date() }).where('id', '=', disabled.id).execute();
    const locked = await makeEmployee(t.deps, { email: 'locked@shop.test' });
    const lockIp = freshIp();
    for (let i = 0; i < THROTTLE.perAccount; i++) await submitLogin(t.app, { email: locked.email, password: `wrong-${i}-xxxxx` }, { ip: lockIp });

    const cases = {
      unknownEmail: { email: 'nobody@shop.test', password: TEST_PASSWORD },
      wrongPassword: { email: owner.email, password: 'not the password' },
      emptyPassword: { email: owner.email, password: '' },
      disabledAccount: { email: disabled.email, password: TEST_PASSWORD },
      throttledAccount: { email: locked.email, password: TEST_PASSWORD },
    };
    const messages = new Set<string | undefined>();
    for (const [name, fields] of Object.entries(cases)) {
      const res = await submitLogin(t.app, fields, { ip: freshIp() });
      expect(res.statusCode, name).toBe(401);
      expect(res.headers['set-cookie'] ?? '', name).not.toContain('parley_session=');
      // The email is kept in the form, the password never is.
      expect(res.body, name).toContain(`value="${fields.email}"`);
      if (fields.password) expect(res.body, name).not.toContain(fields.password);
      messages.add(failureMessage(res.body));
    }
    expect([...messages]).toEqual([GENERIC]);
  });

  it('a missing or wrong CSRF token on the login form is refused (403) and logs no one in', async () => {
    const form = await openAnonForm(t.app, '/login');
    const creds = { email: owner.email, password: owner.password };
    const missing = await postForm(t.app, '/login', creds, { cookie: form.cookie });
    const wrong = await postForm(t.app, '/login', { ...creds, _csrf: form.csrf + 'x' }, { cookie: form.cookie });
    const noCookie = await postForm(t.app, '/login', { ...creds, _csrf: form.csrf });
    for (const res of [missing, wrong, noCookie]) {
      expect(res.statusCode).toBe(403);
      expect(res.headers['set-cookie'] ?? '').not.toContain('parley_session=');
    }
  });
});

describe('throttling (S6)', () => {
  it(`locks an account after ${THROTTLE.perAccount} failures, even for the right password and from another IP`, async () => {
    const e = await makeEmployee(t.deps, { email: 'target@shop.test' });
    for (let i = 0; i < THROTTLE.perAccount - 1; i++) {
      expect((await submitLogin(t.app, { email: e.email, password: 'guess-' + i }, { ip: freshIp() })).statusCode).toBe(401);
    }
    // Below the limit the right password still works (and clears the account's count).
    expect((await submitLogin(t.app, { email: e.email, password: e.password }, { ip: freshIp() })).statusCode).toBe(303);

    for (let i = 0; i < THROTTLE.perAccount; i++) {
      expect((await submitLogin(t.app, { email: e.email, password: 'guess-' + i }, { ip: freshIp() })).statusCode).toBe(401);
    }
    const right = await submitLogin(t.app, { email: e.email, password: e.password }, { ip: freshIp() });
    expect(right.statusCode).toBe(401);
    expect(failureMessage(right.body)).toBe(GENERIC);
    // The email is case-insensitive for throttling too.
    expect((await submitLogin(t.app, { email: e.email.toUpperCase(), password: e.password }, { ip: freshIp() })).statusCode).toBe(401);

    // Once the lock has run out (moved into the past here), the right password works again.
    await t.deps.db
      .updateTable('login_throttle')
      .set({ locked_until: new Date(Date.now() - 1000), window_started_at: new Date(Date.now() - THROTTLE.windowMs - 1000) })
      .where('key', '=', `account:${e.email}`)
      .execute();
    expect((await submitLogin(t.app, { email: e.email, password: e.password }, { ip: freshIp() })).statusCode).toBe(303);
  });

  it(`locks an IP after ${THROTTLE.perIp} failures across accounts; other IPs are unaffected`, async () => {
    const e = await makeEmployee(t.deps, { email: 'victim@shop.test' });
    const attacker = freshIp();
    for (let i = 0; i < THROTTLE.perIp; i++) {
      const res = await submitLogin(t.app, { email: `spray${i}@shop.test`, password: 'Password123!' }, { ip: attacker });
      expect(res.statusCode).toBe(401);
    }
    const fromAttacker = await submitLogin(t.app, { email: e.email, password: e.password }, { ip: attacker });
    expect(fromAttacker.statusCode).toBe(401);
    expect(failureMessage(fromAttacker.body)).toBe(GENERIC);
    const elsewhere = await submitLogin(t.app, { email: e.email, password: e.password }, { ip: freshIp() });
    expect(elsewhere.statusCode).toBe(303);
  });
});

describe('sessions (S4)', () => {
  it('rotates the session at login: a new value, and the session presented at login is deleted', async () => {
    const ip = freshIp();
    const first = await submitLogin(t.app, { email: owner.email, password: owner.password }, { ip });
    const firstToken = setCookies(first).parley_session!.value;
    const firstCookie = `parley_session=${firstToken}`;
    const profile = await t.app.inject({ url: '/settings/profile', headers: { cookie: firstCookie } });
    expect(profile.statusCode).toBe(200);

    // The browser still holds a live session when the login form is posted (e.g. a second tab):
    // the form carries that session's CSRF token, as every form rendered for it does.
    const csrf = /name="_csrf" value="([^"]+)"/.exec(profile.body)![1]!;
    const second = await postForm(t.app, '/login', { _csrf: csrf, email: owner.email, password: owner.password }, { ip, cookie: firstCookie });
    expect(second.statusCode).toBe(303);
    const secondToken = setCookies(second).parley_session!.value;
    expect(secondToken).not.toBe(firstToken);
    expect(await t.deps.db.selectFrom('sessions').select('id_hash').where('id_hash', '=', sha256(firstToken)).executeTakeFirst()).toBeUndefined();
    const old = await t.app.inject({ url: '/settings/profile', headers: { cookie: firstCookie } });
    expect([old.statusCode, old.headers.location]).toEqual([303, '/login?next=%2Fsettings%2Fprofile']);
    const now = await t.app.inject({ url: '/settings/profile', headers: { cookie: `parley_session=${secondToken}` } });
    expect(now.statusCode).toBe(200);
  });

  it('a session fixed by an attacker before login is not adopted', async () => {
    const planted = 'A'.repeat(43);
    const res = await submitLogin(t.app, { email: owner.email, password: owner.password }, { ip: freshIp(), extraCookie: `parley_session=${planted}` });
    expect(res.statusCode).toBe(303);
    expect(setCookies(res).parley_session!.value).not.toBe(planted);
  });

  it('logout ends the session on the server, not only in the browser', async () => {
    const res = await submitLogin(t.app, { email: owner.email, password: owner.password }, { ip: freshIp() });
    const token = setCookies(res).parley_session!.value;
    const cookie = `parley_session=${token}`;
    const profile = await t.app.inject({ url: '/settings/profile', headers: { cookie } });
    const csrf = /name="_csrf" value="([^"]+)"/.exec(profile.body)![1]!;
    const out = await postForm(t.app, '/logout', { _csrf: csrf }, { cookie });
    expect([out.statusCode, out.headers.location]).toEqual([303, '/login']);
    expect(setCookies(out).parley_session?.attrs.some((a) => a.startsWith('expires=thu, 01 jan 1970'))).toBe(true);
    expect(await t.deps.db.selectFrom('sessions').select('id_hash').where('id_hash', '=', sha256(token)).executeTakeFirst()).toBeUndefined();
    // Replaying the old cookie gets nothing.
    const replay = await t.app.inject({ url: '/settings/profile', headers: { cookie } });
    expect(replay.statusCode).toBe(303);
  });

  it('session and CSRF cookies are HttpOnly, SameSite=Lax, Path=/ and not Secure over plain http', async () => {
    const form = await t.app.inject({ url: '/login' });
    const pre = setCookies(form).parley_csrf!;
    const res = await submitLogin(t.app, { email: owner.email, password: owner.password }, { ip: freshIp() });
    const session = setCookies(res).parley_session!;
    for (const c of [pre, session]) {
      expect(c.attrs).toContain('httponly');
      expect(c.attrs).toContain('samesite=lax');
      expect(c.attrs).toContain('path=/');
      expect(c.attrs).not.toContain('secure');
    }
    // The session cookie lives no longer than the absolute timeout.
    expect(session.attrs).toContain(`max-age=${Math.floor(t.deps.sessionPolicy.absoluteMs / 1000)}`);
  });
});

describe('passwords (S6)', () => {
  it('are stored as argon2id with m=19456, t=2, p=1', async () => {
    // Created through the settings service (the path the UI and CLI use), not the test shortcut.
    const agent = await t.deps.db.selectFrom('roles').select('id').where('name', '=', 'Agent').executeTakeFirstOrThrow();
    const id = await createEmployee({ db: t.deps.db, logger: t.deps.logger, live: t.deps.live }, { name: 'Hash Check', email: 'hash@shop.test', password: 'a fine long password', roleId: agent.id });
    const row = await t.deps.db.selectFrom('employees').select('password_hash').where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    expect(row.password_hash).not.toContain('a fine long password');
    expect((await submitLogin(t.app, { email: 'hash@shop.test', password: 'a fine long password' }, { ip: freshIp() })).statusCode).toBe(303);
  });
});

describe('cookies behind HTTPS', () => {
  let https: TestApp;
  beforeAll(async () => {
    https = await createTestApp({ env: { PUBLIC_URL: 'https://crm.shop.test' } });
    await makeEmployee(https.deps, { role: 'Admin', email: 'owner@shop.test' });
  });
  afterAll(async () => https?.close());

  it('are Secure when PUBLIC_URL is https', async () => {
    const form = await https.app.inject({ url: '/login' });
    expect(setCookies(form)['__Host-parley_csrf']!.attrs).toContain('secure');
    const res = await submitLogin(https.app, { email: 'owner@shop.test', password: TEST_PASSWORD });
    expect(res.statusCode).toBe(303);
    const session = setCookies(res).parley_session!;
    expect(session.attrs).toEqual(expect.arrayContaining(['secure', 'httponly', 'samesite=lax']));
    expect(textOf(form.body)).toContain('Log in');
  });
});
