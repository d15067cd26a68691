import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, extractCsrf, type TestApp } from '../helpers.ts';
import { openAnonForm, postForm, textOf } from '../platform/support.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

const employeeCount = async () => (await t.deps.db.selectFrom('employees').select('id').execute()).length;

// The tests in this file run in order: the first ones need an empty database.
describe('first run', () => {
  it('answers invalid setup input with 422, keeping the values typed (never the password)', async () => {
    const form = await openAnonForm(t.app, '/setup');
    const res = await postForm(t.app, '/setup', { _csrf: form.csrf, name: 'Olga <b>Owner</b>', email: 'not-an-email', password: 'short' }, { cookie: form.cookie });
    expect(res.statusCode).toBe(422);
    expect(res.body).toContain('value="Olga &lt;b&gt;Owner&lt;/b&gt;"');
    expect(res.body).toContain('value="not-an-email"');
    expect(res.body).not.toContain('value="short"');
    expect(res.body).toMatch(/name="email"[^>]*aria-invalid="true"/);
    expect(res.body).toMatch(/name="password"[^>]*aria-invalid="true"/);
    expect(textOf(res.body)).toContain('at least 10 characters');
    expect(await employeeCount()).toBe(0);
  });

  it('refuses setup without the double-submit CSRF token', async () => {
    const form = await openAnonForm(t.app, '/setup');
    const fields = { name: 'Mallory', email: 'mallory@evil.test', password: 'supersecret-1' };
    const noToken = await postForm(t.app, '/setup', fields, { cookie: form.cookie });
    const noCookie = await postForm(t.app, '/setup', { _csrf: form.csrf, ...fields });
    const wrong = await postForm(t.app, '/setup', { _csrf: 'x'.repeat(32), ...fields }, { cookie: form.cookie });
    expect([noToken.statusCode, noCookie.statusCode, wrong.statusCode]).toEqual([403, 403, 403]);
    expect(await employeeCount()).toBe(0);
  });

  it('offers setup while no employee exists, creates the owner, then refuses a second owner', async () => {
    const root = await t.app.inject({ url: '/' });
    expect(root.statusCode).toBe(303);
    expect(root.headers.location).toBe('/setup');
    const login = await t.app.inject({ url: '/login' });
    expect(login.statusCode).toBe(303);
    expect(login.headers.location).toBe('/setup');
    const page = await t.app.inject({ url: '/setup' });
    expect(page.statusCode).toBe(200);
    const pre = String(page.headers['set-cookie']).match(/parley_csrf=([^;]+)/)![1];
    const res = await t.app.inject({
      method: 'POST',
      url: '/setup',
      headers: { cookie: `parley_csrf=${pre}` },
      payload: { _csrf: extractCsrf(page.body), name: 'Olga Owner', email: 'olga@shop.test', password: 'supersecret-1' },
    });
    expect(res.statusCode).toBe(303);
    expect(String(res.headers['set-cookie'])).toMatch(/parley_session=[^;]{40,}; .*HttpOnly; SameSite=Lax/);
    const owner = await t.deps.db.selectFrom('employees').innerJoin('roles', 'roles.id', 'employees.role_id').select(['employees.name', 'roles.is_admin']).execute();
    expect(owner).toEqual([{ name: 'Olga Owner', is_admin: true }]);

    const again = await t.app.inject({ url: '/setup' });
    expect(again.statusCode).toBe(303);
    expect(again.headers.location).toBe('/login');
  });

  it('refuses a second setup POST, valid or not, and creates no one', async () => {
    const form = await openAnonForm(t.app, '/login');
    for (const fields of [
      { name: 'Second Owner', email: 'second@shop.test', password: 'supersecret-2' },
      { name: '', email: '', password: '' },
    ]) {
      const res = await postForm(t.app, '/setup', { _csrf: form.csrf, ...fields }, { cookie: form.cookie });
      expect(res.statusCode).toBe(303);
      expect(res.headers.location).toBe('/login');
      expect(res.headers['set-cookie'] ?? '').not.toContain('parley_session=');
    }
    expect(await employeeCount()).toBe(1);
  });

  it('two simultaneous setups on an empty database make one owner', async () => {
    await t.deps.db.deleteFrom('sessions').execute();
    await t.deps.db.deleteFrom('employees').execute();
    const form = await openAnonForm(t.app, '/setup');
    const results = await Promise.all(
      ['a', 'b', 'c'].map((x) => postForm(t.app, '/setup', { _csrf: form.csrf, name: `Owner ${x}`, email: `${x}@shop.test`, password: 'supersecret-1' }, { cookie: form.cookie })),
    );
    expect(results.map((r) => r.statusCode)).toEqual([303, 303, 303]);
    expect(results.filter((r) => String(r.headers['set-cookie'] ?? '').includes('parley_session=')).length).toBe(1);
    expect(await employeeCount()).toBe(1);
  });
});
