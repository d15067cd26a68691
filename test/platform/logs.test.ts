import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/passwords.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { createTestApp, makeEmployee, type TestApp } from '../helpers.ts';
import { openAnonForm, postForm, setCookies, submitLogin } from './support.ts';

/**
 * Structured logs never contain a password, a session cookie or a CSRF token, even at the most
 * verbose level, through a successful login, a failed one, a CSRF failure and a logout.
 */
const lines: string[] = [];
const sink = new Writable({
  write(chunk, _enc, done) {
    lines.push(String(chunk));
    done();
  },
});

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ logger: createLogger('trace', sink) });
});
afterAll(async () => t?.close());

describe('logs', () => {
  it('carry requests but no credentials', async () => {
    const password = 'Very-Secret-Passw0rd!';
    const e = await makeEmployee(t.deps, { email: 'logged@shop.test' });
    // A real password for this employee (makeEmployee uses the shared test one).
    await t.deps.db
      .updateTable('employees')
      .set({ password_hash: await hashPassword(password) })
      .where('id', '=', e.id)
      .execute();

    const secrets: string[] = [password];
    // A failed login (wrong password that resembles the real one) and a successful one.
    const wrong = 'Very-Secret-Passw0rd?';
    secrets.push(wrong);
    expect((await submitLogin(t.app, { email: e.email, password: wrong })).statusCode).toBe(401);

    const form = await openAnonForm(t.app, '/login');
    secrets.push(form.csrf, form.cookie.split('=')[1]!);
    const ok = await postForm(t.app, '/login', { _csrf: form.csrf, email: e.email, password }, { cookie: form.cookie });
    expect(ok.statusCode).toBe(303);
    const token = setCookies(ok).parley_session!.value;
    secrets.push(token);
    const cookie = `parley_session=${token}`;

    const page = await t.app.inject({ url: '/settings/profile', headers: { cookie } });
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    secrets.push(csrf);
    // A CSRF failure (logged) with a token-looking value, a request with the token in a header,
    // a URL with a token in the query string, then logout.
    const forged = 'forged-' + csrf.slice(0, 20);
    secrets.push(forged);
    expect((await postForm(t.app, '/settings/profile', { _csrf: forged, locale: 'fr' }, { cookie })).statusCode).toBe(403);
    expect((await postForm(t.app, '/settings/profile', { locale: 'en' }, { cookie, headers: { 'x-csrf-token': csrf } })).statusCode).toBe(303);
    const queryToken = 'query-token-' + csrf.slice(0, 16);
    secrets.push(queryToken);
    await t.app.inject({ url: `/login?next=%2F&token=${queryToken}` });
    expect((await postForm(t.app, '/logout', { _csrf: csrf }, { cookie })).statusCode).toBe(303);
    // A setup attempt with a password, after setup is closed.
    const setupPassword = 'Setup-Passw0rd-123';
    secrets.push(setupPassword);
    await postForm(t.app, '/setup', { _csrf: form.csrf, name: 'X', email: 'x@shop.test', password: setupPassword }, { cookie: form.cookie });

    const log = lines.join('');
    // Not vacuous: the requests and the CSRF failure were logged.
    expect(lines.length).toBeGreaterThan(5);
    expect(log).toContain('"route":"/login"');
    expect(log).toContain('csrf token missing or wrong');
    for (const secret of secrets) expect(log, `log contains ${secret.slice(0, 6)}…`).not.toContain(secret);
    expect(log).not.toMatch(/parley_session=/);
    expect(log).not.toMatch(/\$argon2id\$/);
    // Every line is JSON (structured).
    for (const l of log.split('\n').filter(Boolean)) expect(() => JSON.parse(l)).not.toThrow();
  });

  it('redact credentials passed to the logger by path', () => {
    const start = lines.length;
    t.deps.logger.info({ password: 'p1', user: { password: 'p2', token: 't1' }, headers: { cookie: 'c1' }, access_token: 'a1', csrf: 'x1' }, 'redaction check');
    const out = lines.slice(start).join('');
    expect(out).toContain('redaction check');
    for (const s of ['p1', 'p2', 't1', 'c1', 'a1', 'x1']) expect(out).not.toContain(`"${s}"`);
  });
});
