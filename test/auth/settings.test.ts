import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, login, makeEmployee, type Session, type TestApp } from '../helpers.ts';
import { getAs, postAs, submitLogin, textOf } from '../platform/support.ts';
import { changeRole } from '../../src/auth/settings.service.ts';
import { countActiveAdmins } from '../../src/auth/auth.repository.ts';

/** Settings › Employees, Settings › Roles and My profile (A1, A2, i18n). */
let t: TestApp;
let owner: { id: number; email: string };
let admin: Session;
let roleIds: { admin: number; agent: number };
beforeAll(async () => {
  t = await createTestApp();
  owner = await makeEmployee(t.deps, { role: 'Admin', email: 'owner@shop.test', name: 'Olga Owner' });
  admin = await login(t.app, owner.email);
  const roles = await t.deps.db.selectFrom('roles').select(['id', 'name']).execute();
  roleIds = { admin: roles.find((r) => r.name === 'Admin')!.id, agent: roles.find((r) => r.name === 'Agent')!.id };
});
afterAll(async () => t?.close());

const employee = (email: string) => t.deps.db.selectFrom('employees').selectAll().where('email', '=', email).executeTakeFirst();
const role = (name: string) => t.deps.db.selectFrom('roles').selectAll().where('name', '=', name).executeTakeFirst();

describe('Settings › Employees', () => {
  it('creates an employee who can then log in with the role given', async () => {
    const res = await postAs(t.app, admin, '/settings/employees', { name: 'Ana Agent', email: 'ana@shop.test', password: 'ana long password', role_id: String(roleIds.agent) });
    expect([res.statusCode, res.headers.location]).toEqual([303, '/settings/employees']);
    const row = (await employee('ana@shop.test'))!;
    expect(row).toMatchObject({ name: 'Ana Agent', role_id: roleIds.agent, disabled_at: null });
    const list = await getAs(t.app, admin, '/settings/employees');
    expect(list.body).toContain(`id="employee-${row.id}"`);
    expect(textOf(list.body)).toContain('ana@shop.test');
    expect((await submitLogin(t.app, { email: 'ana@shop.test', password: 'ana long password' })).statusCode).toBe(303);
  });

  it.each([
    ['a duplicate email (any case)', { name: 'Dup', email: 'OWNER@shop.test', password: 'long enough pass' }, 'email', 'An employee with this email already exists.'],
    ['a short password', { name: 'Shorty', email: 'shorty@shop.test', password: 'short' }, 'password', 'Use at least 10 characters.'],
    ['a bad email', { name: 'Bad', email: 'bad@', password: 'long enough pass' }, 'email', 'Enter a valid email address.'],
    ['no name', { name: '  ', email: 'noname@shop.test', password: 'long enough pass' }, 'name', 'This field is required.'],
  ])('answers %s with 422, the message, and the values kept', async (_label, fields, field, message) => {
    const before = (await t.deps.db.selectFrom('employees').select('id').execute()).length;
    const res = await postAs(t.app, admin, '/settings/employees', { ...fields, role_id: String(roleIds.agent) });
    expect(res.statusCode).toBe(422);
    expect(res.body).toMatch(new RegExp(`name="${field}"[^>]*aria-invalid="true"`));
    expect(textOf(res.body)).toContain(message);
    expect(res.body).toContain(`value="${fields.email}"`);
    expect(res.body).not.toContain(`value="${fields.password}"`);
    expect((await t.deps.db.selectFrom('employees').select('id').execute()).length).toBe(before);
  });

  it('refuses an unknown role', async () => {
    const res = await postAs(t.app, admin, '/settings/employees', { name: 'X', email: 'x@shop.test', password: 'long enough pass', role_id: '9999' });
    expect(res.statusCode).toBe(422);
    expect(textOf(res.body)).toContain('Choose a role.');
    expect(await employee('x@shop.test')).toBeUndefined();
  });

  it('changes an employee’s role, which takes effect on their next request', async () => {
    const e = await makeEmployee(t.deps, { email: 'promote@shop.test' });
    const s = await login(t.app, e.email);
    expect((await getAs(t.app, s, '/settings/employees')).statusCode).toBe(403);
    const res = await postAs(t.app, admin, `/settings/employees/${e.id}/role`, { role_id: String(roleIds.admin) });
    expect(res.statusCode).toBe(303);
    expect((await employee(e.email))!.role_id).toBe(roleIds.admin);
    expect((await getAs(t.app, s, '/settings/employees')).statusCode).toBe(200);
    // …and back.
    expect((await postAs(t.app, admin, `/settings/employees/${e.id}/role`, { role_id: String(roleIds.agent) })).statusCode).toBe(303);
    expect((await getAs(t.app, s, '/settings/employees')).statusCode).toBe(403);
    // An unknown role is refused.
    expect((await postAs(t.app, admin, `/settings/employees/${e.id}/role`, { role_id: 'nope' })).statusCode).toBe(422);
  });

  it('disables and enables an employee; the list shows the state', async () => {
    const e = await makeEmployee(t.deps, { email: 'toggle@shop.test' });
    expect((await postAs(t.app, admin, `/settings/employees/${e.id}/disable`)).statusCode).toBe(303);
    expect((await employee(e.email))!.disabled_at).not.toBeNull();
    expect((await getAs(t.app, admin, '/settings/employees')).body).toContain(`id="employee-${e.id}" data-disabled="true"`);
    expect((await postAs(t.app, admin, `/settings/employees/${e.id}/enable`)).statusCode).toBe(303);
    expect((await employee(e.email))!.disabled_at).toBeNull();
    expect((await getAs(t.app, admin, '/settings/employees')).body).toContain(`id="employee-${e.id}" data-disabled="false"`);
  });

  it('an unknown employee id is a 404 or a 422, never a 500', async () => {
    expect([404, 422]).toContain((await postAs(t.app, admin, '/settings/employees/999999/disable')).statusCode);
    expect((await postAs(t.app, admin, '/settings/employees/abc/disable')).statusCode).toBe(404);
    expect([404, 422]).toContain((await postAs(t.app, admin, '/settings/employees/999999/role', { role_id: String(roleIds.agent) })).statusCode);
  });

  it('an admin cannot disable themself', async () => {
    const res = await postAs(t.app, admin, `/settings/employees/${owner.id}/disable`);
    expect(res.statusCode).toBe(422);
    expect(textOf(res.body)).toContain('You cannot disable your own account.');
    expect((await employee(owner.email))!.disabled_at).toBeNull();
    expect((await getAs(t.app, admin, '/settings/profile')).statusCode).toBe(200);
  });

  it('the last active admin cannot be demoted, disabled, or have the admin flag removed from their role', async () => {
    // Make the owner the only active admin (an earlier test may have promoted someone).
    const others = await t.deps.db.selectFrom('employees').select('id').where('role_id', '=', roleIds.admin).where('id', '<>', owner.id).execute();
    for (const o of others) await t.deps.db.updateTable('employees').set({ role_id: roleIds.agent }).where('id', '=', o.id).execute();

    // The page does not offer it: no Disable button, no role without the admin flag in the select.
    const page = await getAs(t.app, admin, '/settings/employees');
    const row = page.body.slice(page.body.indexOf(`id="employee-${owner.id}"`), page.body.indexOf('</tr>', page.body.indexOf(`id="employee-${owner.id}"`)));
    expect(row).toContain('data-last-admin');
    expect(row).not.toContain(`/settings/employees/${owner.id}/disable`);
    expect(row).not.toContain(`<option value="${roleIds.agent}"`);
    const demote = await postAs(t.app, admin, `/settings/employees/${owner.id}/role`, { role_id: String(roleIds.agent) });
    expect(demote.statusCode).toBe(422);
    expect(textOf(demote.body)).toContain('At least one active administrator must remain.');
    expect((await employee(owner.email))!.role_id).toBe(roleIds.admin);

    const unflag = await postAs(t.app, admin, `/settings/roles/${roleIds.admin}`, { name: 'Admin' });
    expect(unflag.statusCode).toBe(422);
    expect(textOf(unflag.body)).toContain('At least one active administrator must remain.');
    expect((await role('Admin'))!.is_admin).toBe(true);

    // With a second active admin, the second one can be disabled by the first but the first
    // still cannot be demoted once the second is disabled.
    const second = await makeEmployee(t.deps, { role: 'Admin', email: 'second-admin@shop.test' });
    const secondSession = await login(t.app, second.email);
    expect((await postAs(t.app, secondSession, `/settings/employees/${owner.id}/role`, { role_id: String(roleIds.agent) })).statusCode).toBe(303);
    // Now `second` is the last admin: the owner (an agent now) cannot act, and second cannot demote themself.
    expect((await postAs(t.app, secondSession, `/settings/employees/${second.id}/role`, { role_id: String(roleIds.agent) })).statusCode).toBe(422);
    expect((await postAs(t.app, secondSession, `/settings/employees/${owner.id}/role`, { role_id: String(roleIds.admin) })).statusCode).toBe(303);
    expect((await postAs(t.app, admin, `/settings/employees/${second.id}/disable`)).statusCode).toBe(303);
    expect((await postAs(t.app, admin, `/settings/employees/${owner.id}/role`, { role_id: String(roleIds.agent) })).statusCode).toBe(422);
  });
});

describe('the last administrator under concurrency', () => {
  it('two admins demoting each other at the same moment leave one admin, never none', async () => {
    const ctx = { db: t.deps.db, logger: t.deps.logger, live: t.deps.live };
    const adminRole = (await role('Admin'))!;
    const agentRole = (await role('Agent'))!;
    // Only these two are active admins for the race.
    const others = await t.deps.db.selectFrom('employees').select('id').where('role_id', '=', adminRole.id).execute();
    for (const o of others) await t.deps.db.updateTable('employees').set({ role_id: agentRole.id }).where('id', '=', o.id).execute();
    const x = await makeEmployee(t.deps, { role: 'Admin', email: 'race-x@shop.test' });
    const y = await makeEmployee(t.deps, { role: 'Admin', email: 'race-y@shop.test' });
    for (let round = 0; round < 5; round++) {
      const outcomes = await Promise.allSettled([changeRole(ctx, x.id, agentRole.id), changeRole(ctx, y.id, agentRole.id)]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      expect(await countActiveAdmins(t.deps.db)).toBe(1);
      for (const id of [x.id, y.id]) await t.deps.db.updateTable('employees').set({ role_id: adminRole.id }).where('id', '=', id).execute();
    }
    for (const o of others) await t.deps.db.updateTable('employees').set({ role_id: adminRole.id }).where('id', '=', o.id).execute();
  });
});

describe('Settings › Roles', () => {
  it('creates a role with permissions (unknown permissions are ignored) that governs access', async () => {
    const res = await postAs(t.app, admin, '/settings/roles', { name: 'Sales', permissions: ['clients', 'leads', 'launch-missiles'] });
    expect([res.statusCode, res.headers.location]).toEqual([303, '/settings/roles']);
    const sales = (await role('Sales'))!;
    expect(sales.is_admin).toBe(false);
    expect([...sales.permissions].sort()).toEqual(['clients', 'leads']);
    const list = await getAs(t.app, admin, '/settings/roles');
    expect(list.body).toContain(`id="role-${sales.id}"`);

    const e = await makeEmployee(t.deps, { role: 'Sales', email: 'seller@shop.test' });
    const s = await login(t.app, e.email);
    const nav = (await getAs(t.app, s, '/settings/profile')).body;
    expect(nav).toContain('href="/clients"');
    expect(nav).toContain('href="/leads"');
    expect(nav).not.toContain('href="/orders"');
    expect(nav).not.toContain('href="/chats"');
  });

  it('edits a role: the form shows the current permissions, and saving replaces them', async () => {
    const sales = (await role('Sales'))!;
    const form = await getAs(t.app, admin, `/settings/roles/${sales.id}/edit`);
    expect(form.statusCode).toBe(200);
    expect(form.body).toContain(`action="/settings/roles/${sales.id}"`);
    expect(form.body).toContain('name="permissions" value="clients" checked');
    expect(form.body).toContain('name="permissions" value="leads" checked');
    expect(form.body).not.toContain('name="permissions" value="orders" checked');

    const res = await postAs(t.app, admin, `/settings/roles/${sales.id}`, { name: 'Sales team', permissions: ['orders', 'chats'] });
    expect(res.statusCode).toBe(303);
    const after = (await role('Sales team'))!;
    expect(after.id).toBe(sales.id);
    expect([...after.permissions].sort()).toEqual(['chats', 'orders']);

    // No permissions at all is allowed (the checkboxes are simply absent).
    expect((await postAs(t.app, admin, `/settings/roles/${sales.id}`, { name: 'Sales team' })).statusCode).toBe(303);
    expect((await role('Sales team'))!.permissions).toEqual([]);
  });

  it('grants the admin flag', async () => {
    expect((await postAs(t.app, admin, '/settings/roles', { name: 'Managers', is_admin: 'on' })).statusCode).toBe(303);
    expect((await role('Managers'))!.is_admin).toBe(true);
  });

  it('refuses a duplicate or empty name with 422, keeping the values', async () => {
    const dup = await postAs(t.app, admin, '/settings/roles', { name: 'agent', permissions: ['calls'] });
    expect(dup.statusCode).toBe(422);
    expect(textOf(dup.body)).toContain('This name is already used.');
    expect(dup.body).toContain('value="agent"');
    expect(dup.body).toContain('name="permissions" value="calls" checked');
    const empty = await postAs(t.app, admin, '/settings/roles', { name: '' });
    expect(empty.statusCode).toBe(422);
    const rename = await postAs(t.app, admin, `/settings/roles/${roleIds.agent}`, { name: 'Admin' });
    expect(rename.statusCode).toBe(422);
    expect(await role('Agent')).toBeDefined();
  });

  it('an unknown role is a 404', async () => {
    expect((await getAs(t.app, admin, '/settings/roles/999999/edit')).statusCode).toBe(404);
    expect((await postAs(t.app, admin, '/settings/roles/999999', { name: 'Ghost' })).statusCode).toBe(404);
    expect((await getAs(t.app, admin, '/settings/roles/nope/edit')).statusCode).toBe(404);
  });
});

describe('My profile › language', () => {
  it('switches the whole UI to French, and back to automatic', async () => {
    const e = await makeEmployee(t.deps, { email: 'francoise@shop.test' });
    const s = await login(t.app, e.email);
    expect(textOf((await getAs(t.app, s, '/settings/profile')).body)).toContain('Settings');

    expect((await postAs(t.app, s, '/settings/profile', { locale: 'fr' })).statusCode).toBe(303);
    const fr = await getAs(t.app, s, '/settings/profile');
    expect(fr.body).toContain('<html lang="fr">');
    expect(textOf(fr.body)).toContain('Paramètres');
    expect(textOf(fr.body)).toContain('Se déconnecter');
    // The employee's setting wins over the browser's language.
    expect(textOf((await getAs(t.app, s, '/settings/profile', { 'accept-language': 'en-US,en;q=0.9' })).body)).toContain('Paramètres');

    expect((await postAs(t.app, s, '/settings/profile', { locale: '' })).statusCode).toBe(303);
    expect((await employee(e.email))!.locale).toBeNull();
    expect(textOf((await getAs(t.app, s, '/settings/profile')).body)).not.toContain('Paramètres');
  });

  it('without a setting, follows Accept-Language (also on anonymous pages)', async () => {
    const e = await makeEmployee(t.deps, { email: 'auto@shop.test' });
    const s = await login(t.app, e.email);
    const fr = await getAs(t.app, s, '/settings/profile', { 'accept-language': 'fr-FR,fr;q=0.9,en;q=0.8' });
    expect(textOf(fr.body)).toContain('Paramètres');
    const prefersEn = await getAs(t.app, s, '/settings/profile', { 'accept-language': 'de, en;q=0.8, fr;q=0.5' });
    expect(textOf(prefersEn.body)).toContain('Settings');
    const loginFr = await t.app.inject({ url: '/login', headers: { 'accept-language': 'fr' } });
    expect(loginFr.body).toContain('<html lang="fr">');
  });

  it('refuses an unknown language', async () => {
    const res = await postAs(t.app, admin, '/settings/profile', { locale: 'xx' });
    expect(res.statusCode).toBe(422);
    expect(textOf(res.body)).toContain('Choose one of the options.');
  });
});
