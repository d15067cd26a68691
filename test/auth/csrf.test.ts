import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/platform/crypto.ts';
import { createTestApp, login, makeEmployee, type Session, type TestApp } from '../helpers.ts';
import { getAs, postAs, postForm, textOf } from '../platform/support.ts';

/**
 * S5: every state-changing request needs the session's CSRF token, in the `_csrf` form field or
 * the `X-CSRF-Token` header (htmx); without it the answer is 403 and nothing changes.
 */
let t: TestApp;
let admin: Session;
let otherAdmin: Session;
let agentRoleId: number;
beforeAll(async () => {
  t = await createTestApp();
  const a = await makeEmployee(t.deps, { role: 'Admin', email: 'admin@shop.test' });
  const b = await makeEmployee(t.deps, { role: 'Admin', email: 'admin2@shop.test' });
  admin = await login(t.app, a.email);
  otherAdmin = await login(t.app, b.email);
  agentRoleId = (await t.deps.db.selectFrom('roles').select('id').where('name', '=', 'Agent').executeTakeFirstOrThrow()).id;
});
afterAll(async () => t?.close());

const counts = async () => ({
  employees: (await t.deps.db.selectFrom('employees').select('id').execute()).length,
  roles: (await t.deps.db.selectFrom('roles').select('id').execute()).length,
  sessions: (await t.deps.db.selectFrom('sessions').select('id_hash').execute()).length,
});

type Attempt = { name: string; token?: string; header?: string };
const badAttempts = (): Attempt[] => [
  { name: 'no token' },
  { name: 'empty token', token: '' },
  { name: 'wrong token', token: 'x'.repeat(43) },
  { name: "another session's token", token: otherAdmin.csrf },
  { name: 'wrong header', header: 'y'.repeat(43) },
  { name: 'token with a suffix', token: admin.csrf + 'a' },
];

function attempt(url: string, fields: Record<string, string | string[]>, a: Attempt) {
  return postForm(t.app, url, a.token === undefined ? fields : { ...fields, _csrf: a.token }, {
    cookie: admin.cookie,
    headers: a.header ? { 'x-csrf-token': a.header } : {},
  });
}

describe('CSRF (S5)', () => {
  it('creating an employee without a valid token: 403, nothing created', async () => {
    const before = await counts();
    for (const a of badAttempts()) {
      const res = await attempt('/settings/employees', { name: 'Eve', email: `eve-${a.name.length}@shop.test`, password: 'long enough pass', role_id: String(agentRoleId) }, a);
      expect(res.statusCode, a.name).toBe(403);
      expect(textOf(res.body), a.name).toContain('Form expired');
    }
    expect(await counts()).toEqual(before);
    expect(await t.deps.db.selectFrom('employees').select('id').where('name', '=', 'Eve').execute()).toEqual([]);
  });

  it('creating a role without a valid token: 403, nothing created', async () => {
    const before = await counts();
    for (const a of badAttempts()) {
      const res = await attempt('/settings/roles', { name: `Sneaky ${a.name}`, permissions: ['clients'] }, a);
      expect(res.statusCode, a.name).toBe(403);
    }
    expect(await counts()).toEqual(before);
  });

  it('editing a role, changing a role, disabling: 403 without a token, nothing changed', async () => {
    const victim = await makeEmployee(t.deps, { email: 'victim@shop.test' });
    const before = await t.deps.db.selectFrom('employees').select(['role_id', 'disabled_at']).where('id', '=', victim.id).executeTakeFirstOrThrow();
    const rolesBefore = await t.deps.db.selectFrom('roles').selectAll().orderBy('id').execute();
    const attempts: Array<[string, Record<string, string>]> = [
      [`/settings/roles/${agentRoleId}`, { name: 'Renamed', is_admin: 'on' }],
      [`/settings/employees/${victim.id}/role`, { role_id: '1' }],
      [`/settings/employees/${victim.id}/disable`, {}],
      ['/settings/profile', { locale: 'fr' }],
    ];
    for (const [url, fields] of attempts) {
      const res = await postForm(t.app, url, fields, { cookie: admin.cookie });
      expect(res.statusCode, url).toBe(403);
    }
    expect(await t.deps.db.selectFrom('employees').select(['role_id', 'disabled_at']).where('id', '=', victim.id).executeTakeFirstOrThrow()).toEqual(before);
    expect(await t.deps.db.selectFrom('roles').selectAll().orderBy('id').execute()).toEqual(rolesBefore);
    expect((await getAs(t.app, admin, '/settings/profile')).body).not.toContain('Paramètres');
  });

  it('logout without a valid token: 403 and the session lives on', async () => {
    for (const a of badAttempts()) {
      const res = await attempt('/logout', {}, a);
      expect(res.statusCode, a.name).toBe(403);
    }
    const token = admin.cookie.replace('parley_session=', '');
    expect(await t.deps.db.selectFrom('sessions').select('id_hash').where('id_hash', '=', sha256(token)).executeTakeFirst()).toBeDefined();
    expect((await getAs(t.app, admin, '/settings/profile')).statusCode).toBe(200);
  });

  it('accepts the token in the X-CSRF-Token header (htmx) as well as in the form', async () => {
    const viaHeader = await postForm(t.app, '/settings/roles', { name: 'Via header', permissions: 'clients' }, { cookie: admin.cookie, headers: { 'x-csrf-token': admin.csrf } });
    expect(viaHeader.statusCode).toBe(303);
    const viaHtmx = await postForm(t.app, '/settings/roles', { name: 'Via htmx' }, { cookie: admin.cookie, headers: { 'x-csrf-token': admin.csrf, 'hx-request': 'true' } });
    expect(viaHtmx.statusCode).toBe(204);
    expect(viaHtmx.headers['hx-redirect']).toBe('/settings/roles');
    const viaForm = await postAs(t.app, admin, '/settings/roles', { name: 'Via form' });
    expect(viaForm.statusCode).toBe(303);
    const names = (await t.deps.db.selectFrom('roles').select('name').execute()).map((r) => r.name);
    expect(names).toEqual(expect.arrayContaining(['Via header', 'Via htmx', 'Via form']));
  });

  it('every page renders the session token into its forms and the htmx headers', async () => {
    for (const url of ['/settings/employees', '/settings/roles', '/settings/profile']) {
      const res = await getAs(t.app, admin, url);
      const tokens = [...res.body.matchAll(/name="_csrf" value="([^"]+)"/g)].map((m) => m[1]);
      expect(tokens.length, url).toBeGreaterThan(0);
      expect(new Set(tokens), url).toEqual(new Set([admin.csrf]));
      expect(res.body, url).toContain(`hx-headers='{"X-CSRF-Token": "${admin.csrf}"}'`);
      // Every POST form carries the token.
      const forms = res.body.match(/<form[^>]*method="post"[\s\S]*?<\/form>/g) ?? [];
      for (const f of forms) expect(f, url).toContain('name="_csrf"');
    }
  });

  it('GET requests never change state (a GET to a POST-only URL is a 404)', async () => {
    const before = await counts();
    for (const url of ['/logout', '/settings/employees/1/disable', '/settings/roles/1', '/settings/employees/1/role']) {
      const res = await getAs(t.app, admin, url);
      expect(res.statusCode, url).toBe(404);
    }
    expect(await counts()).toEqual(before);
    expect((await getAs(t.app, admin, '/settings/profile')).statusCode).toBe(200);
  });
});
