import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionPolicy } from '../../src/auth/auth.service.ts';
import { sha256 } from '../../src/platform/crypto.ts';
import { createTestApp, login, makeEmployee, type Session, type TestApp } from '../helpers.ts';
import { getAs, postAs, setCookies, submitLogin, textOf } from '../platform/support.ts';

/**
 * Idle and absolute timeouts (with a short, injected policy) and disabling an employee (S4).
 * Time is moved by shifting the session's stored timestamps into the past, so the tests never
 * sleep and never depend on the machine's speed.
 */
const POLICY: SessionPolicy = { idleMs: 10 * 60_000, absoluteMs: 60 * 60_000 };

let t: TestApp;
let admin: { id: number; email: string };
let adminSession: Session;
beforeAll(async () => {
  t = await createTestApp({ sessionPolicy: POLICY });
  admin = await makeEmployee(t.deps, { role: 'Admin', email: 'admin@shop.test' });
  adminSession = await login(t.app, admin.email);
});
afterAll(async () => t?.close());

const tokenOf = (s: Session) => s.cookie.replace('parley_session=', '');
const sessionRow = (s: Session) =>
  t.deps.db
    .selectFrom('sessions')
    .selectAll()
    .where('id_hash', '=', sha256(tokenOf(s)))
    .executeTakeFirst();
const shift = (d: Date, ms: number) => new Date(d.getTime() - ms);

async function isLoggedIn(s: Session): Promise<boolean> {
  const res = await getAs(t.app, s, '/settings/profile');
  if (res.statusCode === 200) return true;
  expect(res.statusCode).toBe(303);
  expect(res.headers.location).toBe('/login?next=%2Fsettings%2Fprofile');
  // A dead session's cookie is cleared.
  expect(setCookies(res).parley_session?.attrs.some((a) => a.startsWith('expires=thu, 01 jan 1970'))).toBe(true);
  return false;
}

describe('timeouts', () => {
  it('sets the absolute expiry from the policy at login', async () => {
    const e = await makeEmployee(t.deps);
    const before = Date.now();
    const res = await submitLogin(t.app, { email: e.email, password: e.password });
    const token = setCookies(res).parley_session!.value;
    expect(setCookies(res).parley_session!.attrs).toContain(`max-age=${POLICY.absoluteMs / 1000}`);
    const row = await t.deps.db.selectFrom('sessions').selectAll().where('id_hash', '=', sha256(token)).executeTakeFirstOrThrow();
    expect(row.expires_at.getTime()).toBeGreaterThanOrEqual(before + POLICY.absoluteMs - 1000);
    expect(row.expires_at.getTime()).toBeLessThanOrEqual(Date.now() + POLICY.absoluteMs + 1000);
  });

  it('keeps a session used within the idle timeout and ends one left idle longer', async () => {
    const e = await makeEmployee(t.deps);
    const s = await login(t.app, e.email);
    const row = (await sessionRow(s))!;

    // Last used just inside the idle window: still valid, and the use is recorded.
    await t.deps.db
      .updateTable('sessions')
      .set({ last_seen_at: shift(new Date(), POLICY.idleMs - 60_000) })
      .where('id_hash', '=', row.id_hash)
      .execute();
    expect(await isLoggedIn(s)).toBe(true);
    expect((await sessionRow(s))!.last_seen_at.getTime()).toBeGreaterThan(Date.now() - 60_000);

    // Idle one second too long: gone, and deleted from the database.
    await t.deps.db
      .updateTable('sessions')
      .set({ last_seen_at: shift(new Date(), POLICY.idleMs + 1000) })
      .where('id_hash', '=', row.id_hash)
      .execute();
    expect(await isLoggedIn(s)).toBe(false);
    expect(await sessionRow(s)).toBeUndefined();
  });

  it('ends a session at the absolute timeout even while it is in constant use', async () => {
    const e = await makeEmployee(t.deps);
    const s = await login(t.app, e.email);
    const row = (await sessionRow(s))!;
    // Logged in (absoluteMs + 1 s) ago, used a second ago: the absolute limit still applies.
    await t.deps.db
      .updateTable('sessions')
      .set({ created_at: shift(row.created_at, POLICY.absoluteMs + 1000), expires_at: shift(row.expires_at, POLICY.absoluteMs + 1000), last_seen_at: shift(new Date(), 1000) })
      .where('id_hash', '=', row.id_hash)
      .execute();
    expect(await isLoggedIn(s)).toBe(false);
    expect(await sessionRow(s)).toBeUndefined();
  });

  it('an expired session cannot be used for a state change either', async () => {
    const e = await makeEmployee(t.deps);
    const s = await login(t.app, e.email);
    await t.deps.db
      .updateTable('sessions')
      .set({ expires_at: shift(new Date(), 1000) })
      .where('id_hash', '=', sha256(tokenOf(s)))
      .execute();
    const res = await postAs(t.app, s, '/settings/profile', { locale: 'fr' });
    expect(res.statusCode).toBe(401);
    expect((await t.deps.db.selectFrom('employees').select('locale').where('id', '=', e.id).executeTakeFirstOrThrow()).locale).toBeNull();
  });

  it('the hourly maintenance job deletes expired and idle sessions', async () => {
    const e = await makeEmployee(t.deps);
    const idle = await login(t.app, e.email);
    const fresh = await login(t.app, e.email);
    await t.deps.db
      .updateTable('sessions')
      .set({ last_seen_at: shift(new Date(), POLICY.idleMs + 1000) })
      .where('id_hash', '=', sha256(tokenOf(idle)))
      .execute();
    await t.deps.queue.enqueue(t.deps.jobs.maintenance, { hour: 'test-' + Date.now() });
    await t.deps.queue.idle();
    expect(await sessionRow(idle)).toBeUndefined();
    expect(await sessionRow(fresh)).toBeDefined();
  });
});

describe('disabling an employee', () => {
  it('ends every session at once (both browsers go to /login) and blocks login', async () => {
    const e = await makeEmployee(t.deps, { email: 'leaver@shop.test', name: 'Leaver' });
    const phone = await login(t.app, e.email);
    const laptop = await login(t.app, e.email);
    expect(await isLoggedIn(phone)).toBe(true);
    expect(await isLoggedIn(laptop)).toBe(true);

    const res = await postAs(t.app, adminSession, `/settings/employees/${e.id}/disable`);
    expect([res.statusCode, res.headers.location]).toEqual([303, '/settings/employees']);

    expect(await isLoggedIn(phone)).toBe(false);
    expect(await isLoggedIn(laptop)).toBe(false);
    expect(await t.deps.db.selectFrom('sessions').select('id_hash').where('employee_id', '=', e.id).execute()).toEqual([]);

    const again = await submitLogin(t.app, { email: e.email, password: e.password });
    expect(again.statusCode).toBe(401);
    expect(textOf(again.body)).toContain('Email or password is incorrect');

    // Re-enabled: can log in again, but the old sessions stay dead.
    expect((await postAs(t.app, adminSession, `/settings/employees/${e.id}/enable`)).statusCode).toBe(303);
    expect(await isLoggedIn(phone)).toBe(false);
    expect((await submitLogin(t.app, { email: e.email, password: e.password })).statusCode).toBe(303);
  });

  it('a session is refused even if its row somehow survived the disable', async () => {
    // Defence in depth: resolveSession itself checks disabled_at, not only the delete.
    const e = await makeEmployee(t.deps);
    const s = await login(t.app, e.email);
    await t.deps.db.updateTable('employees').set({ disabled_at: new Date() }).where('id', '=', e.id).execute();
    expect(await isLoggedIn(s)).toBe(false);
  });
});
