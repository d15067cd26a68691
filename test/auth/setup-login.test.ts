import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, extractCsrf, type TestApp } from '../helpers.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

describe('first run', () => {
  it('offers setup while no employee exists, creates the owner, then refuses a second owner', async () => {
    const root = await t.app.inject({ url: '/' });
    expect(root.statusCode).toBe(303);
    expect(root.headers.location).toBe('/setup');
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
});
