import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { THROTTLE } from '../../src/auth/auth.service.ts';
import { createTestApp, login, makeEmployee, TEST_PASSWORD, type Session, type TestApp } from '../helpers.ts';
import { getAs, postAs, submitLogin, textOf } from '../platform/support.ts';

/**
 * Finding #21.10: employees could not change their password and an administrator could not
 * reset one. My profile › Change password; Settings › Employees › Set a temporary password,
 * which the employee must replace at their next login before anything else.
 */
let t: TestApp;
let admin: Session;
let adminId: number;
beforeAll(async () => {
  t = await createTestApp();
  const a = await makeEmployee(t.deps, { role: 'Admin', email: 'owner@shop.test' });
  adminId = a.id;
  admin = await login(t.app, a.email);
});
afterAll(async () => t?.close());

let ipCounter = 0;
const freshIp = () => `10.9.${Math.floor(++ipCounter / 250)}.${(ipCounter % 250) + 1}`;
const alive = async (s: Session) => (await getAs(t.app, s, '/settings/profile')).statusCode === 200;
const hashOf = async (id: number) => await t.deps.db.selectFrom('employees').select(['password_hash', 'must_change_password']).where('id', '=', id).executeTakeFirstOrThrow();

describe('My profile › Change password', () => {
  it('needs the current password, a long enough new one, typed twice; nothing changes otherwise', async () => {
    const e = await makeEmployee(t.deps, { email: 'checks@shop.test' });
    const s = await login(t.app, e.email);
    const before = await hashOf(e.id);
    const cases: Array<[Record<string, string>, string]> = [
      [{ current: 'not my password', password: 'a brand new password', confirm: 'a brand new password' }, 'The current password is incorrect'],
      [{ current: TEST_PASSWORD, password: 'short', confirm: 'short' }, 'Use at least 10 characters.'],
      [{ current: TEST_PASSWORD, password: 'a brand new password', confirm: 'a brand new passw0rd' }, 'The two new passwords are not the same.'],
      [{ current: TEST_PASSWORD, password: TEST_PASSWORD, confirm: TEST_PASSWORD }, 'Choose a password different from the current one.'],
      [{ password: 'a brand new password', confirm: 'a brand new password' }, 'Required'],
    ];
    for (const [fields, message] of cases) {
      const res = await postAs(t.app, s, '/settings/profile/password', fields, { ip: freshIp() });
      expect(res.statusCode, JSON.stringify(fields)).toBe(422);
      expect(textOf(res.body).toLowerCase(), JSON.stringify(fields)).toContain(message.toLowerCase());
      for (const v of Object.values(fields)) expect(res.body).not.toContain(`value="${v}"`);
    }
    expect(await hashOf(e.id)).toEqual(before);
  });

  it('changes it (argon2id), keeps this session, ends every other one', async () => {
    const e = await makeEmployee(t.deps, { email: 'changer@shop.test' });
    const here = await login(t.app, e.email);
    const elsewhere = await login(t.app, e.email);
    const res = await postAs(t.app, here, '/settings/profile/password', { current: TEST_PASSWORD, password: 'my very own secret', confirm: 'my very own secret' }, { ip: freshIp() });
    expect([res.statusCode, res.headers.location]).toEqual([303, '/settings/profile?password=changed']);
    const page = await getAs(t.app, here, res.headers.location!);
    expect(page.body).toContain('id="password-changed"');
    expect(await alive(here)).toBe(true);
    expect(await alive(elsewhere)).toBe(false);
    expect((await hashOf(e.id)).password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect((await submitLogin(t.app, { email: e.email, password: TEST_PASSWORD }, { ip: freshIp() })).statusCode).toBe(401);
    expect((await submitLogin(t.app, { email: e.email, password: 'my very own secret' }, { ip: freshIp() })).statusCode).toBe(303);
  });

  it('is throttled like a login: wrong current passwords count, then even the right one is refused', async () => {
    const e = await makeEmployee(t.deps, { email: 'guesser@shop.test' });
    const s = await login(t.app, e.email);
    const ip = freshIp();
    for (let i = 0; i < THROTTLE.perAccount; i++) {
      const res = await postAs(t.app, s, '/settings/profile/password', { current: `guess-${i}-xxxxx`, password: 'a brand new password', confirm: 'a brand new password' }, { ip });
      expect(res.statusCode).toBe(422);
    }
    const right = await postAs(t.app, s, '/settings/profile/password', { current: TEST_PASSWORD, password: 'a brand new password', confirm: 'a brand new password' }, { ip: freshIp() });
    expect(right.statusCode).toBe(422);
    expect(textOf(right.body)).toContain('too many attempts');
    expect((await hashOf(e.id)).password_hash).not.toBe('');
    expect((await submitLogin(t.app, { email: e.email, password: TEST_PASSWORD }, { ip: freshIp() })).statusCode).toBe(401);
  });

  it('is offered in French too', async () => {
    const res = await getAs(t.app, admin, '/settings/profile', { 'accept-language': 'fr' });
    expect(textOf(res.body)).toContain('Changer le mot de passe');
    expect(textOf(res.body)).toContain('Mot de passe actuel');
  });
});

describe('Settings › Employees › Set a temporary password', () => {
  it('Parley makes one up, shows it once, ends the employee’s sessions; at next login they must change it first', async () => {
    const e = await makeEmployee(t.deps, { email: 'forgetful@shop.test', name: 'Forgetful Fred', role: 'Agent' });
    const old = await login(t.app, e.email);
    const res = await postAs(t.app, admin, `/settings/employees/${e.id}/password`, { password: '' });
    expect(res.statusCode).toBe(200);
    const shown = /Temporary password for Forgetful Fred: ([a-z0-9-]+)\./.exec(textOf(res.body));
    expect(shown).not.toBeNull();
    const temporary = shown![1]!;
    expect(temporary.replaceAll('-', '')).toHaveLength(16);
    expect(await alive(old)).toBe(false);
    expect((await hashOf(e.id)).must_change_password).toBe(true);
    // Shown once: the employees page does not show it again.
    expect((await getAs(t.app, admin, '/settings/employees')).body).not.toContain(temporary);

    const s = await login(t.app, e.email, temporary);
    for (const url of ['/chats', '/clients', '/settings/saved-replies', '/settings/two-factor']) {
      const page = await getAs(t.app, s, url);
      expect([page.statusCode, page.headers.location], url).toEqual([303, '/settings/profile']);
    }
    const fragment = await getAs(t.app, s, '/chats', { 'hx-request': 'true' });
    expect(fragment.headers['hx-redirect']).toBe('/settings/profile');
    const post = await postAs(t.app, s, '/settings/profile', { locale: 'fr' });
    expect([post.statusCode, post.headers.location]).toEqual([303, '/settings/profile']);
    const profile = await getAs(t.app, s, '/settings/profile');
    expect(profile.statusCode).toBe(200);
    expect(profile.body).toContain('id="password-must-change"');

    const changed = await postAs(t.app, s, '/settings/profile/password', { current: temporary, password: 'fred chose this one', confirm: 'fred chose this one' }, { ip: freshIp() });
    expect(changed.statusCode).toBe(303);
    expect((await hashOf(e.id)).must_change_password).toBe(false);
    expect((await getAs(t.app, s, '/chats')).statusCode).toBe(200);
  });

  it('takes the password the administrator typed', async () => {
    const e = await makeEmployee(t.deps, { email: 'typed@shop.test' });
    const res = await postAs(t.app, admin, `/settings/employees/${e.id}/password`, { password: 'typed by the admin' });
    expect(res.statusCode).toBe(200);
    expect((await submitLogin(t.app, { email: e.email, password: 'typed by the admin' }, { ip: freshIp() })).statusCode).toBe(303);
  });

  it('refuses a short password, and one for oneself (My profile is the way)', async () => {
    const e = await makeEmployee(t.deps, { email: 'short@shop.test' });
    const short = await postAs(t.app, admin, `/settings/employees/${e.id}/password`, { password: 'short' });
    expect(short.statusCode).toBe(422);
    expect(textOf(short.body)).toContain('Use at least 10 characters.');
    const self = await postAs(t.app, admin, `/settings/employees/${adminId}/password`, { password: 'a fine long password' });
    expect(self.statusCode).toBe(422);
    expect(await alive(admin)).toBe(true);
  });
});
