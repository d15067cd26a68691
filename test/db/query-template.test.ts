import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDeps, type TestContext } from '../helpers.ts';
import { queryTemplate } from '../../src/db/query-template.ts';

let t: TestContext;
beforeAll(async () => {
  t = await createTestDeps();
});
afterAll(async () => t?.close());

describe('queryTemplate', () => {
  it('builds once and runs with each call’s own values, arrays included', async () => {
    let builds = 0;
    const roles = queryTemplate((db, p: { names: readonly string[]; admin: boolean }) => {
      builds++;
      return db.selectFrom('roles').select(['name', 'is_admin']).where(sql<boolean>`name = any(${p.names}::text[])`).where('is_admin', '=', p.admin).orderBy('name');
    });
    const all = await t.deps.db.selectFrom('roles').select(['name', 'is_admin']).orderBy('name').execute();
    const admins = all.filter((r) => r.is_admin).map((r) => r.name);
    const others = all.filter((r) => !r.is_admin).map((r) => r.name);
    expect(admins.length).toBeGreaterThan(0);
    expect(others.length).toBeGreaterThan(0);
    const names = all.map((r) => r.name);
    expect((await roles.execute(t.deps.db, { names, admin: true })).map((r) => r.name)).toEqual(admins);
    expect((await roles.execute(t.deps.db, { names, admin: false })).map((r) => r.name)).toEqual(others);
    expect(await roles.executeTakeFirst(t.deps.db, { names: [], admin: true })).toBeUndefined();
    // Inside a transaction too.
    await t.deps.db.transaction().execute(async (trx) => {
      expect((await roles.execute(trx, { names: others.slice(0, 1), admin: false })).map((r) => r.name)).toEqual(others.slice(0, 1));
    });
    expect(builds).toBe(1);
  });

  it('refuses a value that is not one of its slots (it would be frozen into every run)', async () => {
    const captured = 'admin';
    const bad = queryTemplate((db, p: { admin: boolean }) => db.selectFrom('roles').select('name').where('name', '=', captured).where('is_admin', '=', p.admin));
    await expect(bad.execute(t.deps.db, { admin: true })).rejects.toThrow(/value \$1 is not a slot/);
  });
});
