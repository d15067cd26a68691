import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as OTPAuth from 'otpauth';
import { decryptSecret, sha256 } from '../../src/platform/crypto.ts';
import { CHALLENGE_MAX_ATTEMPTS, isEnabled } from '../../src/auth/two-factor.service.ts';
import { THROTTLE } from '../../src/auth/auth.service.ts';
import { readSetting } from '../../src/platform/app-settings.repository.ts';
import { createTestApp, makeEmployee, TEST_PASSWORD, type Session, type TestApp } from '../helpers.ts';
import { getAs, postAs, postForm, sessionFor, setCookies, submitLogin, textOf } from '../platform/support.ts';
import { SseStream } from '../platform/sse.ts';

/**
 * Two-factor sign-in (TOTP, RFC 6238; S10): turning it on from My profile, the login's second
 * step (code, replay, recovery codes, expiry and attempts), the shop's requirement for
 * administrators, and an administrator turning an employee's off.
 */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

let ipCounter = 0;
const freshIp = () => `10.9.${Math.floor(++ipCounter / 250)}.${(ipCounter % 250) + 1}`;

/** The app's TOTP for a secret, as an authenticator app would compute it. */
const totpOf = (secret: string) => new OTPAuth.TOTP({ algorithm: 'SHA1', digits: 6, period: 30, secret: OTPAuth.Secret.fromBase32(secret) });
/** A code of the step `steps` away from now (the app accepts one step either side, each once). */
const codeAt = (secret: string, steps = 0) => totpOf(secret).generate({ timestamp: Date.now() + steps * 30_000 });

/** Turns two-factor on through the pages, reading the secret off the page as a person would. */
async function enrol(s: Session): Promise<{ secret: string; recovery: string[] }> {
  expect((await postAs(t.app, s, '/settings/two-factor/start')).statusCode).toBe(303);
  const page = await getAs(t.app, s, '/settings/two-factor');
  const secret = /id="two-factor-secret">([A-Z2-7]+)</.exec(page.body)![1]!;
  const done = await postAs(t.app, s, '/settings/two-factor/confirm', { code: codeAt(secret) });
  expect(done.statusCode).toBe(200);
  const recovery = [...done.body.matchAll(/<code data-recovery-code>([^<]+)<\/code>/g)].map((m) => m[1]!);
  return { secret, recovery };
}

/** The password step: the response and the challenge cookie it set (if any). */
async function passwordStep(email: string, ip: string, next?: string) {
  const res = await submitLogin(t.app, { email, password: TEST_PASSWORD, ...(next ? { next } : {}) }, { ip });
  const challenge = setCookies(res).parley_2fa?.value;
  return { res, cookie: challenge ? `parley_2fa=${challenge}` : '' };
}

/** The code step, with the anonymous form's CSRF cookie and token. */
async function codeStep(challengeCookie: string, code: string, ip: string) {
  const page = await t.app.inject({ url: '/login/two-factor', remoteAddress: ip, headers: { cookie: challengeCookie } });
  const pre = setCookies(page).parley_csrf?.value ?? 'x'.repeat(32);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? pre;
  return postForm(t.app, '/login/two-factor', { _csrf: csrf, code }, { ip, cookie: `${challengeCookie}; parley_csrf=${pre}` });
}

async function sessionsOf(employeeId: number) {
  return t.deps.db.selectFrom('sessions').select('id_hash').where('employee_id', '=', employeeId).execute();
}

describe('turning two-factor on (My profile)', () => {
  it('shows a server-drawn QR code and the key, keeps the secret encrypted, and turns on only with a right code', async () => {
    const e = await makeEmployee(t.deps, { email: 'enrol@shop.test' });
    const s = await sessionFor(t.deps, e.id);
    const off = await getAs(t.app, s, '/settings/two-factor');
    expect(off.statusCode).toBe(200);
    expect(off.body).toContain('data-state="off"');
    expect(off.body).toContain('href="/settings/two-factor"'); // the settings tab

    await postAs(t.app, s, '/settings/two-factor/start');
    const page = await getAs(t.app, s, '/settings/two-factor');
    expect(page.body).toContain('data-state="pending"');
    const secret = /id="two-factor-secret">([A-Z2-7]+)</.exec(page.body)![1]!;
    expect(secret.length).toBeGreaterThanOrEqual(32); // 160 bits
    // An <img> with an SVG data: URI (CSP img-src allows data:, no inline script or style).
    const img = /<img src="data:image\/svg\+xml;base64,([^"]+)"/.exec(page.body);
    expect(img).not.toBeNull();
    const svg = Buffer.from(img![1]!, 'base64').toString();
    expect(svg).toMatch(/^<svg /);
    expect(svg).not.toMatch(/<script|style=/);

    const row = await t.deps.db.selectFrom('employee_two_factor').selectAll().where('employee_id', '=', e.id).executeTakeFirstOrThrow();
    expect(row.secret_encrypted).not.toContain(secret);
    expect(decryptSecret(t.config.secretKey, row.secret_encrypted)).toBe(secret);
    expect(row.enabled_at).toBeNull();

    const wrong = String((Number(codeAt(secret)) + 1) % 1_000_000).padStart(6, '0');
    const refused = await postAs(t.app, s, '/settings/two-factor/confirm', { code: wrong });
    expect(refused.statusCode).toBe(422);
    expect(textOf(refused.body)).toContain('This code is not right');
    expect((await getAs(t.app, s, '/settings/two-factor')).body).toContain('data-state="pending"');

    const done = await postAs(t.app, s, '/settings/two-factor/confirm', { code: codeAt(secret) });
    expect(done.statusCode).toBe(200);
    const codes = [...done.body.matchAll(/<code data-recovery-code>([^<]+)<\/code>/g)].map((m) => m[1]!);
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    // Stored hashed only, and shown once: the page afterwards lists none.
    const stored = await t.deps.db.selectFrom('two_factor_recovery_codes').select('code_hash').where('employee_id', '=', e.id).execute();
    expect(stored).toHaveLength(10);
    for (const c of codes) expect(stored.map((r) => r.code_hash)).not.toContain(c);
    const after = await getAs(t.app, s, '/settings/two-factor');
    expect(after.body).toContain('data-state="on"');
    expect(after.body).not.toContain('data-recovery-code');
  });

  it('turning off needs the password or a code; new recovery codes replace the old ones', async () => {
    const e = await makeEmployee(t.deps, { email: 'turnoff@shop.test' });
    const s = await sessionFor(t.deps, e.id);
    const { recovery } = await enrol(s);
    const bad = await postAs(t.app, s, '/settings/two-factor/disable', { password: 'not the password' });
    expect(bad.statusCode).toBe(422);
    expect((await getAs(t.app, s, '/settings/two-factor')).body).toContain('data-state="on"');

    const fresh = await postAs(t.app, s, '/settings/two-factor/recovery-codes', { password: TEST_PASSWORD });
    expect(fresh.statusCode).toBe(200);
    const newCodes = [...fresh.body.matchAll(/<code data-recovery-code>([^<]+)<\/code>/g)].map((m) => m[1]!);
    expect(newCodes).toHaveLength(10);
    // An old recovery code no longer proves anything.
    expect((await postAs(t.app, s, '/settings/two-factor/disable', { code: recovery[0]! })).statusCode).toBe(422);
    // A new one does (and turns it off).
    expect((await postAs(t.app, s, '/settings/two-factor/disable', { code: newCodes[0]! })).statusCode).toBe(303);
    expect((await getAs(t.app, s, '/settings/two-factor')).body).toContain('data-state="off"');
    expect(await t.deps.db.selectFrom('two_factor_recovery_codes').selectAll().where('employee_id', '=', e.id).execute()).toHaveLength(0);
  });
});

describe('the login’s second step', () => {
  it('a right password gives no session but a challenge; the code then logs in; a replayed code is refused', async () => {
    const e = await makeEmployee(t.deps, { email: 'login2fa@shop.test' });
    const { secret } = await enrol(await sessionFor(t.deps, e.id));
    await t.deps.db.deleteFrom('sessions').where('employee_id', '=', e.id).execute();
    const ip = freshIp();

    const first = await passwordStep(e.email, ip, '/settings/profile');
    expect(first.res.statusCode).toBe(303);
    expect(first.res.headers.location).toBe('/login/two-factor');
    expect(setCookies(first.res).parley_session).toBeUndefined();
    expect(first.cookie).not.toBe('');
    const attrs = setCookies(first.res).parley_2fa!.attrs;
    expect(attrs).toContain('httponly');
    expect(attrs).toContain('path=/login');
    expect(await sessionsOf(e.id)).toHaveLength(0);
    // Only the token's hash is stored.
    const token = setCookies(first.res).parley_2fa!.value;
    const challenges = await t.deps.db.selectFrom('login_challenges').select('token_hash').where('employee_id', '=', e.id).execute();
    expect(challenges.map((c) => c.token_hash)).toEqual([sha256(token)]);

    const page = await t.app.inject({ url: '/login/two-factor', remoteAddress: ip, headers: { cookie: first.cookie } });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('autocomplete="one-time-code"');
    // Without its challenge the page sends back to the login.
    expect((await t.app.inject({ url: '/login/two-factor', remoteAddress: ip })).headers.location).toBe('/login');

    // The step the set-up used is spent: take the next one.
    const code = codeAt(secret, 1);
    const wrong = await codeStep(first.cookie, String((Number(code) + 7) % 1_000_000).padStart(6, '0'), ip);
    expect(wrong.statusCode).toBe(401);
    expect(textOf(wrong.body)).toContain('This code is not right');
    expect(setCookies(wrong).parley_session).toBeUndefined();

    const ok = await codeStep(first.cookie, code, ip);
    expect(ok.statusCode).toBe(303);
    expect(ok.headers.location).toBe('/settings/profile');
    const sessionCookie = setCookies(ok).parley_session!.value;
    expect((await getAs(t.app, { cookie: `parley_session=${sessionCookie}`, csrf: '' }, '/settings/profile')).statusCode).toBe(200);
    // The challenge is gone with its use.
    expect(await t.deps.db.selectFrom('login_challenges').selectAll().where('employee_id', '=', e.id).execute()).toHaveLength(0);
    expect((await codeStep(first.cookie, code, ip)).statusCode).toBe(401);

    // Someone who saw the code and knows the password cannot use it again.
    const again = await passwordStep(e.email, freshIp());
    const replay = await codeStep(again.cookie, code, ip);
    expect(replay.statusCode).toBe(401);
    expect(setCookies(replay).parley_session).toBeUndefined();
    // Nor an older step's code.
    expect((await codeStep(again.cookie, codeAt(secret, 0), ip)).statusCode).toBe(401);
    expect(await sessionsOf(e.id)).toHaveLength(1);
  });

  it('a recovery code signs in once', async () => {
    const e = await makeEmployee(t.deps, { email: 'recovery@shop.test' });
    const { recovery } = await enrol(await sessionFor(t.deps, e.id));
    await t.deps.db.deleteFrom('sessions').where('employee_id', '=', e.id).execute();
    const first = await passwordStep(e.email, freshIp());
    // Typed back with spaces and capitals, as from paper.
    const ok = await codeStep(first.cookie, ` ${recovery[3]!.toUpperCase()} `, freshIp());
    expect(ok.statusCode).toBe(303);
    expect(setCookies(ok).parley_session).toBeDefined();

    const second = await passwordStep(e.email, freshIp());
    const reused = await codeStep(second.cookie, recovery[3]!, freshIp());
    expect(reused.statusCode).toBe(401);
    expect(setCookies(reused).parley_session).toBeUndefined();
    const used = await t.deps.db.selectFrom('two_factor_recovery_codes').selectAll().where('employee_id', '=', e.id).where('used_at', 'is not', null).execute();
    expect(used).toHaveLength(1);
  });

  it('a challenge expires after its minutes, and dies after too many wrong codes (which also count against the account)', async () => {
    const e = await makeEmployee(t.deps, { email: 'expiry@shop.test' });
    const { secret } = await enrol(await sessionFor(t.deps, e.id));
    const ip = freshIp();

    const late = await passwordStep(e.email, ip);
    await t.deps.db
      .updateTable('login_challenges')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('employee_id', '=', e.id)
      .execute();
    const expired = await codeStep(late.cookie, codeAt(secret, 1), ip);
    expect(expired.statusCode).toBe(401);
    expect(expired.body).toContain('id="two-factor-expired"');
    expect(setCookies(expired).parley_session).toBeUndefined();

    const c = await passwordStep(e.email, freshIp());
    const right = codeAt(secret, 1);
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
    const statuses: string[] = [];
    for (let i = 0; i < CHALLENGE_MAX_ATTEMPTS; i++) {
      const r = await codeStep(c.cookie, wrong, freshIp());
      statuses.push(r.body.includes('id="two-factor-expired"') ? 'expired' : r.body.includes('id="two-factor-wrong"') ? 'wrong' : String(r.statusCode));
    }
    expect(statuses).toEqual(['wrong', 'wrong', 'wrong', 'wrong', 'expired']);
    // Dead: even the right code is refused, and the row is gone.
    const after = await codeStep(c.cookie, right, freshIp());
    expect(after.statusCode).toBe(401);
    expect(setCookies(after).parley_session).toBeUndefined();
    expect(await t.deps.db.selectFrom('login_challenges').selectAll().where('employee_id', '=', e.id).execute()).toHaveLength(0);
    // The wrong codes were counted like wrong passwords: the code step is locked for a while,
    // and a right password (which clears the account's own count) does not give fresh guesses.
    const next = await passwordStep(e.email, freshIp());
    expect(next.res.headers.location).toBe('/login/two-factor');
    const locked = await codeStep(next.cookie, right, freshIp());
    expect(locked.statusCode).toBe(401);
    expect(setCookies(locked).parley_session).toBeUndefined();
    const throttle = await t.deps.db.selectFrom('login_throttle').selectAll().where('key', '=', `two-factor:${e.id}`).executeTakeFirstOrThrow();
    expect(throttle.locked_until!.getTime()).toBeGreaterThan(Date.now());
  });

  it('concurrent guesses on one challenge are counted before they are checked', async () => {
    const e = await makeEmployee(t.deps, { email: 'burst2fa@shop.test' });
    const { secret } = await enrol(await sessionFor(t.deps, e.id));
    const c = await passwordStep(e.email, freshIp());
    const right = codeAt(secret, 1);
    const guesses = Array.from({ length: 20 }, (_, i) => String((Number(right) + 1 + i) % 1_000_000).padStart(6, '0'));
    const results = await Promise.all(guesses.map((g) => codeStep(c.cookie, g, freshIp())));
    const wrongAnswers = results.filter((r) => r.body.includes('id="two-factor-wrong"')).length;
    expect(wrongAnswers).toBeLessThan(CHALLENGE_MAX_ATTEMPTS);
    expect(results.every((r) => r.statusCode === 401)).toBe(true);
  });

  it('the second step speaks French', async () => {
    const e = await makeEmployee(t.deps, { email: 'fr2fa@shop.test' });
    await enrol(await sessionFor(t.deps, e.id));
    const c = await passwordStep(e.email, freshIp());
    const page = await t.app.inject({ url: '/login/two-factor', headers: { cookie: c.cookie, 'accept-language': 'fr' } });
    expect(page.body).toContain('Connexion à deux facteurs');
  });
});

describe('administrators', () => {
  it('with the requirement on, an admin without two-factor reaches only its set-up (and logout) until it is on', async () => {
    const boss = await makeEmployee(t.deps, { role: 'Admin', email: 'boss@shop.test' });
    const other = await makeEmployee(t.deps, { role: 'Admin', email: 'other-admin@shop.test' });
    const agent = await makeEmployee(t.deps, { email: 'agent-free@shop.test' });
    const bossS = await sessionFor(t.deps, boss.id);
    const otherS = await sessionFor(t.deps, other.id);
    const agentS = await sessionFor(t.deps, agent.id);
    await enrol(bossS);

    const employees = await getAs(t.app, bossS, '/settings/employees');
    expect(employees.body).toContain('Require two-factor sign-in for administrators');
    expect(employees.body).toMatch(new RegExp(`id="employee-${boss.id}"[\\s\\S]*?data-two-factor="on"`));
    expect(employees.body).toMatch(new RegExp(`id="employee-${other.id}"[\\s\\S]*?data-two-factor="off"`));
    expect((await getAs(t.app, otherS, '/settings/roles')).statusCode).toBe(200);

    try {
      expect((await postAs(t.app, bossS, '/settings/two-factor/require', { require: 'on' })).statusCode).toBe(303);
      expect((await getAs(t.app, bossS, '/settings/employees')).body).toMatch(/name="require" value="on" checked/);

      for (const url of ['/settings/roles', '/chats', '/clients', '/settings/profile']) {
        const r = await getAs(t.app, otherS, url);
        expect([url, r.statusCode, r.headers.location]).toEqual([url, 303, '/settings/two-factor']);
      }
      const hx = await getAs(t.app, otherS, '/clients', { 'hx-request': 'true' });
      expect(hx.headers['hx-redirect']).toBe('/settings/two-factor');
      const post = await postAs(t.app, otherS, '/settings/profile', { locale: 'fr' });
      expect(post.headers.location).toBe('/settings/two-factor');
      const setup = await getAs(t.app, otherS, '/settings/two-factor');
      expect(setup.statusCode).toBe(200);
      expect(setup.body).toContain('id="two-factor-required"');
      // An employee who is not an admin, and an admin who has it, go on as before.
      expect((await getAs(t.app, agentS, '/settings/profile')).statusCode).toBe(200);
      expect((await getAs(t.app, bossS, '/settings/roles')).statusCode).toBe(200);

      await enrol(otherS);
      expect((await getAs(t.app, otherS, '/settings/roles')).statusCode).toBe(200);

      // An admin holding a temporary password changes it first: My profile stays open to them.
      const temp = await makeEmployee(t.deps, { role: 'Admin', email: 'temp-admin@shop.test' });
      await t.deps.db.updateTable('employees').set({ must_change_password: true }).where('id', '=', temp.id).execute();
      expect((await getAs(t.app, await sessionFor(t.deps, temp.id), '/settings/profile')).statusCode).toBe(200);

      // Logout is never held back.
      const third = await makeEmployee(t.deps, { role: 'Admin', email: 'third-admin@shop.test' });
      const thirdS = await sessionFor(t.deps, third.id);
      expect((await getAs(t.app, thirdS, '/chats')).headers.location).toBe('/settings/two-factor');
      const out = await postAs(t.app, thirdS, '/logout');
      expect(out.headers.location).toBe('/login');
      expect(await sessionsOf(third.id)).toHaveLength(0);
    } finally {
      await postAs(t.app, bossS, '/settings/two-factor/require', {});
    }
    const freed = await makeEmployee(t.deps, { role: 'Admin', email: 'freed-admin@shop.test' });
    expect((await getAs(t.app, await sessionFor(t.deps, freed.id), '/settings/roles')).statusCode).toBe(200);
  });

  it('an admin turns an employee’s two-factor off (lost phone): their sessions end and the password alone logs in', async () => {
    const boss = await makeEmployee(t.deps, { role: 'Admin', email: 'boss2@shop.test' });
    const bossS = await sessionFor(t.deps, boss.id);
    const e = await makeEmployee(t.deps, { email: 'lostphone@shop.test' });
    const eS = await sessionFor(t.deps, e.id);
    await enrol(eS);
    expect((await passwordStep(e.email, freshIp())).res.headers.location).toBe('/login/two-factor');

    const agent = await makeEmployee(t.deps, { email: 'not-admin@shop.test' });
    const refused = await postAs(t.app, await sessionFor(t.deps, agent.id), `/settings/employees/${e.id}/two-factor/disable`);
    expect(refused.statusCode).toBe(403);

    // Their open live stream ends with their sessions.
    const base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const stream = await SseStream.open(`${base}/events`, { cookie: eS.cookie });
    try {
      expect(stream.status).toBe(200);
      await stream.until(() => stream.comments.includes('retry: 2000'), 'the stream to open');

      const r = await postAs(t.app, bossS, `/settings/employees/${e.id}/two-factor/disable`);
      expect(r.statusCode).toBe(303);
      expect(await sessionsOf(e.id)).toHaveLength(0);
      await stream.waitClosed();
    } finally {
      stream.close();
    }
    expect((await getAs(t.app, eS, '/settings/profile')).headers.location).toMatch(/^\/login/);
    expect(await t.deps.db.selectFrom('employee_two_factor').selectAll().where('employee_id', '=', e.id).execute()).toHaveLength(0);
    const plain = await passwordStep(e.email, freshIp());
    expect(plain.res.statusCode).toBe(303);
    expect(plain.res.headers.location).toBe('/');
    expect(setCookies(plain.res).parley_session).toBeDefined();
  });
});

describe('review of #21’s two-factor work', () => {
  const wrongCode = (secret: string) => String((Number(codeAt(secret, 1)) + 1) % 1_000_000).padStart(6, '0');

  it('the proof My profile asks (turn off, new recovery codes) is throttled like a login: past the limit even the right password or code is refused', async () => {
    const e = await makeEmployee(t.deps, { email: 'proof-throttle@shop.test' });
    const s = await sessionFor(t.deps, e.id);
    const { secret } = await enrol(s);
    // Passwords count on the account's key (and the address's).
    for (let i = 0; i < THROTTLE.perAccount; i++) {
      const r = await postAs(t.app, s, '/settings/two-factor/disable', { password: `wrong password ${i}` }, { ip: freshIp() });
      expect([r.statusCode, textOf(r.body).includes('The password or code is not right')]).toEqual([422, true]);
    }
    for (const url of ['/settings/two-factor/disable', '/settings/two-factor/recovery-codes']) {
      const r = await postAs(t.app, s, url, { password: TEST_PASSWORD }, { ip: freshIp() });
      expect(r.statusCode, url).toBe(422);
      expect(textOf(r.body), url).toContain('Too many wrong passwords or codes. Wait 15 minutes and try again.');
      expect(r.body).not.toContain('data-recovery-code');
    }
    const fr = await postAs(t.app, s, '/settings/two-factor/disable', { password: TEST_PASSWORD }, { ip: freshIp(), headers: { 'accept-language': 'fr' } });
    expect(textOf(fr.body)).toContain('Trop de mots de passe ou de codes erronés');
    // Codes count on the employee's code key: five wrong ones, then the right one is refused too.
    for (let i = 0; i < THROTTLE.perAccount; i++) {
      const r = await postAs(t.app, s, '/settings/two-factor/recovery-codes', { code: wrongCode(secret) }, { ip: freshIp() });
      expect(textOf(r.body)).toContain('The password or code is not right');
    }
    const right = await postAs(t.app, s, '/settings/two-factor/disable', { code: codeAt(secret, 1) }, { ip: freshIp() });
    expect(right.statusCode).toBe(422);
    expect(textOf(right.body)).toContain('Too many wrong passwords or codes');
    expect((await getAs(t.app, s, '/settings/two-factor')).body).toContain('data-state="on"');
    // Per address as well: one address's wrong guesses spread over other accounts still stop it.
    const ip = freshIp();
    const other = await makeEmployee(t.deps, { email: 'proof-ip@shop.test' });
    const otherS = await sessionFor(t.deps, other.id);
    await enrol(otherS);
    const ipKey = `ip:${ip}`;
    await t.deps.db.insertInto('login_throttle').values({ key: ipKey, failures: THROTTLE.perIp, window_started_at: new Date(), locked_until: null }).execute();
    const viaIp = await postAs(t.app, otherS, '/settings/two-factor/disable', { password: TEST_PASSWORD }, { ip });
    expect(textOf(viaIp.body)).toContain('Too many wrong passwords or codes');
    // A right proof from a fresh address releases its reservation and works.
    expect((await postAs(t.app, otherS, '/settings/two-factor/disable', { password: TEST_PASSWORD }, { ip: freshIp() })).statusCode).toBe(303);
  });

  it('an admin cannot turn their own two-factor off from Settings › Employees (422, pointing to Two-factor sign-in), and is not offered it', async () => {
    const boss = await makeEmployee(t.deps, { role: 'Admin', email: 'self-off@shop.test' });
    const bossS = await sessionFor(t.deps, boss.id);
    await enrol(bossS);
    const page = await getAs(t.app, bossS, '/settings/employees');
    expect(page.body).not.toContain(`action="/settings/employees/${boss.id}/two-factor/disable"`);
    const r = await postAs(t.app, bossS, `/settings/employees/${boss.id}/two-factor/disable`);
    expect(r.statusCode).toBe(422);
    expect(textOf(r.body)).toContain('To turn off your own two-factor sign-in, use Settings › Two-factor sign-in');
    expect(await isEnabled(t.deps.db, boss.id)).toBe(true);
    expect(await sessionsOf(boss.id)).toHaveLength(1);
  });

  it('an admin without two-factor, while it is required, cannot switch the requirement off (sent to the set-up), but can start and cancel a set-up', async () => {
    const boss = await makeEmployee(t.deps, { role: 'Admin', email: 'req-boss@shop.test' });
    const bossS = await sessionFor(t.deps, boss.id);
    await enrol(bossS);
    const lax = await makeEmployee(t.deps, { role: 'Admin', email: 'req-lax@shop.test' });
    const laxS = await sessionFor(t.deps, lax.id);
    expect((await postAs(t.app, bossS, '/settings/two-factor/require', { require: 'on' })).statusCode).toBe(303);
    try {
      const r = await postAs(t.app, laxS, '/settings/two-factor/require', {});
      expect([r.statusCode, r.headers.location]).toEqual([303, '/settings/two-factor']);
      expect(await readSetting(t.deps.db, 'two_factor')).toEqual({ requireForAdmins: true });
      expect((await getAs(t.app, laxS, '/settings/employees')).headers.location).toBe('/settings/two-factor');
      // The set-up's own actions stay open.
      expect((await postAs(t.app, laxS, '/settings/two-factor/start')).headers.location).toBe('/settings/two-factor');
      expect((await getAs(t.app, laxS, '/settings/two-factor')).body).toContain('data-state="pending"');
      expect((await postAs(t.app, laxS, '/settings/two-factor/disable')).headers.location).toBe('/settings/two-factor');
      expect((await getAs(t.app, laxS, '/settings/two-factor')).body).toContain('data-state="off"');
    } finally {
      await postAs(t.app, bossS, '/settings/two-factor/require', {});
    }
  });

  it('a login waiting for its code ends when the password is changed, or when an admin turns two-factor off', async () => {
    const boss = await makeEmployee(t.deps, { role: 'Admin', email: 'challenge-boss@shop.test' });
    const bossS = await sessionFor(t.deps, boss.id);
    const e = await makeEmployee(t.deps, { email: 'challenge-victim@shop.test' });
    const { secret } = await enrol(await sessionFor(t.deps, e.id));

    const pending = await passwordStep(e.email, freshIp());
    expect(pending.res.headers.location).toBe('/login/two-factor');
    const reset = await postAs(t.app, bossS, `/settings/employees/${e.id}/password`, { password: 'a new temporary password' });
    expect(reset.statusCode).toBe(200);
    const afterReset = await codeStep(pending.cookie, codeAt(secret, 1), freshIp());
    expect(afterReset.statusCode).toBe(401);
    expect(afterReset.body).toContain('id="two-factor-expired"');
    expect(setCookies(afterReset).parley_session).toBeUndefined();

    await t.deps.db
      .updateTable('employees')
      .set({ password_hash: (await t.deps.db.selectFrom('employees').select('password_hash').where('id', '=', boss.id).executeTakeFirstOrThrow()).password_hash, must_change_password: false })
      .where('id', '=', e.id)
      .execute();
    const pending2 = await passwordStep(e.email, freshIp());
    expect(pending2.res.headers.location).toBe('/login/two-factor');
    expect((await postAs(t.app, bossS, `/settings/employees/${e.id}/two-factor/disable`)).statusCode).toBe(303);
    const afterOff = await codeStep(pending2.cookie, codeAt(secret, 1), freshIp());
    expect(afterOff.statusCode).toBe(401);
    expect(setCookies(afterOff).parley_session).toBeUndefined();
    expect(await t.deps.db.selectFrom('login_challenges').selectAll().where('employee_id', '=', e.id).execute()).toHaveLength(0);
  });
});
