// A new install's Chats page (#16 item 5): with no channel to read, an admin is told how to
// connect one and an employee that an admin must give them one — in both languages.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, createTestApp, login, makeEmployee, type TestApp } from '../../helpers.ts';
import { makeTestChannel, TestAdapter } from '../../support/test-adapter.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ adapters: [new TestAdapter()] });
});
afterAll(async () => t?.close());

describe('the Chats page before any channel', () => {
  it('guides the admin to Settings › Chats and the employee to an admin', async () => {
    const admin = await login(t.app, (await makeEmployee(t.deps, { role: 'admin', email: 'owner@shop.test' })).email);
    const agent = await login(t.app, (await makeEmployee(t.deps, { role: 'agent', email: 'new-agent@shop.test' })).email);
    const a = await as(t.app, admin).get('/chats');
    expect(a.body).toContain('No chat channel is connected yet');
    expect(a.body).toContain('href="/settings/chats/new"');
    const e = await as(t.app, agent).get('/chats');
    expect(e.body).toContain('an administrator must give you access to one');
    expect(e.body).not.toContain('href="/settings/chats/new"');
    await t.deps.db.updateTable('employees').set({ locale: 'fr' }).where('email', '=', 'new-agent@shop.test').execute();
    expect((await as(t.app, agent).get('/chats')).body).toContain('un administrateur doit vous en donner l’accès');
    // Once a channel is there (all employees), the usual prompt.
    await makeTestChannel(t.deps);
    const after = await as(t.app, admin).get('/chats');
    expect(after.body).not.toContain('id="chats-first-run"');
    expect(after.body).toContain('Select a chat on the left');
  });
});
