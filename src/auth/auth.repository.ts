import { sql } from 'kysely';
import type { Conn, Db } from '../db/database.ts';
import { channelsNeedingReconnectColumn, type listChannelsNeedingReconnect } from '../channels/channels.repository.ts';
import { queryTemplate } from '../db/query-template.ts';
import type { PrefetchAsk } from './prefetch.ts';
import type { ChannelAccessColumns } from './ports.ts';

export async function countEmployees(db: Conn): Promise<number> {
  const r = await db
    .selectFrom('employees')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

export async function findEmployeeByEmail(db: Conn, email: string) {
  return db.selectFrom('employees').selectAll().where(sql<string>`lower(email)`, '=', email.toLowerCase()).executeTakeFirst();
}

export async function findEmployee(db: Conn, id: number) {
  return db.selectFrom('employees').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function insertEmployee(db: Conn, e: { email: string; name: string; passwordHash: string; roleId: number; locale?: string | null }): Promise<number> {
  const r = await db
    .insertInto('employees')
    .values({ email: e.email, name: e.name, password_hash: e.passwordHash, role_id: e.roleId, locale: e.locale ?? null })
    .returning('id')
    .executeTakeFirstOrThrow();
  return r.id;
}

export async function listEmployeesWithRoles(db: Conn) {
  return db
    .selectFrom('employees as e')
    .innerJoin('roles as r', 'r.id', 'e.role_id')
    .select(['e.id', 'e.name', 'e.email', 'e.disabled_at', 'e.role_id', 'r.name as role_name', 'r.is_admin'])
    .orderBy('e.name')
    .execute();
}

export async function setEmployeeDisabled(db: Conn, id: number, disabled: boolean) {
  await db
    .updateTable('employees')
    .set({ disabled_at: disabled ? new Date() : null })
    .where('id', '=', id)
    .execute();
}

export async function setEmployeeRole(db: Conn, id: number, roleId: number) {
  await db.updateTable('employees').set({ role_id: roleId }).where('id', '=', id).execute();
}

/** A new password; `mustChange`: a temporary one, to be replaced at the next login. */
export async function setEmployeePassword(db: Conn, id: number, passwordHash: string, mustChange: boolean) {
  await db.updateTable('employees').set({ password_hash: passwordHash, must_change_password: mustChange }).where('id', '=', id).execute();
}

export async function setEmployeeLocale(db: Conn, id: number, locale: string | null) {
  await db.updateTable('employees').set({ locale }).where('id', '=', id).execute();
}

/** Active administrators, leaving out one employee or every holder of one role. */
export async function countActiveAdmins(db: Conn, except: { employeeId?: number; roleId?: number } = {}): Promise<number> {
  let q = db
    .selectFrom('employees as e')
    .innerJoin('roles as r', 'r.id', 'e.role_id')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('r.is_admin', '=', true)
    .where('e.disabled_at', 'is', null);
  if (except.employeeId !== undefined) q = q.where('e.id', '<>', except.employeeId);
  if (except.roleId !== undefined) q = q.where('r.id', '<>', except.roleId);
  const r = await q.executeTakeFirstOrThrow();
  return Number(r.n);
}

/** An employee with their role's access (live streams rebuild their viewer from it). */
export async function findEmployeeAccess(db: Conn, employeeId: number) {
  return db
    .selectFrom('employees as e')
    .innerJoin('roles as r', 'r.id', 'e.role_id')
    .select(['e.id', 'e.disabled_at', 'e.locale', 'r.is_admin', 'r.permissions'])
    .where('e.id', '=', employeeId)
    .executeTakeFirst();
}

/** The first administrator role (setup gives the owner this one). */
export async function findFirstAdminRole(db: Conn) {
  return db.selectFrom('roles').select('id').where('is_admin', '=', true).orderBy('id').executeTakeFirst();
}

/** First run: two setup submissions at once must not both see "no employee yet". */
export async function lockEmployeesForSetup(db: Conn): Promise<void> {
  await sql`lock table employees in exclusive mode`.execute(db);
}

/** Arbitrary constant naming the lock below ('PARLEY_ADMINS' as a number). */
const ADMIN_CHANGES_LOCK = 0x50_41_44_4d;

/**
 * Serializes the transactions that could remove the last administrator (disabling, changing a
 * role, taking the admin flag off a role): without it, two admins demoting each other at the
 * same moment would each still see the other and leave none. Held until commit.
 */
export async function lockAdminChanges(db: Conn): Promise<void> {
  await sql`select pg_advisory_xact_lock(${ADMIN_CHANGES_LOCK})`.execute(db);
}

// Roles

export async function listRoles(db: Conn) {
  return db.selectFrom('roles').selectAll().orderBy('is_admin', 'desc').orderBy('name').execute();
}

export async function findRole(db: Conn, id: number) {
  return db.selectFrom('roles').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findRoleByName(db: Conn, name: string) {
  return db.selectFrom('roles').selectAll().where(sql<string>`lower(name)`, '=', name.toLowerCase()).executeTakeFirst();
}

export async function insertRole(db: Conn, r: { name: string; isAdmin: boolean; permissions: string[] }): Promise<number> {
  const row = await db.insertInto('roles').values({ name: r.name, is_admin: r.isAdmin, permissions: r.permissions }).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

export async function updateRole(db: Conn, id: number, r: { name: string; isAdmin: boolean; permissions: string[] }) {
  await db.updateTable('roles').set({ name: r.name, is_admin: r.isAdmin, permissions: r.permissions }).where('id', '=', id).execute();
}

// Sessions

export async function insertSession(db: Conn, s: { idHash: string; employeeId: number; csrfToken: string; expiresAt: Date }) {
  await db.insertInto('sessions').values({ id_hash: s.idHash, employee_id: s.employeeId, csrf_token: s.csrfToken, expires_at: s.expiresAt }).execute();
}

/** The session with its employee and role, in one query (runs on every request). */
/**
 * Everything a request needs to know about its employee, in one round trip: the session, the
 * employee and role, the channels they may use (Chats), and for full pages the red dot and, for
 * admins, the channels needing reconnecting (the banner).
 */
export async function findSessionContext(db: Conn, idHash: string, o: { page: boolean; prefetch?: PrefetchAsk | null; channelAccess: ChannelAccessColumns }) {
  const key = `${o.page}|${o.prefetch?.key ?? ''}`;
  let templates = sessionTemplates.get(o.channelAccess);
  if (!templates) sessionTemplates.set(o.channelAccess, (templates = new Map()));
  let template = templates.get(key);
  if (!template) templates.set(key, (template = sessionContextTemplate(o.page, o.prefetch ?? null, o.channelAccess)));
  return template.executeTakeFirst(db, { ...o.prefetch?.values, idHash });
}

/** Prefetched columns come back as `pf_<name>`. */
export const PREFETCH_PREFIX = 'pf_';

/**
 * Built once per shape (it runs on every request): src/db/query-template.ts. The access columns
 * the root passes in are the same object for the process's life, so one map per them.
 */
const sessionTemplates = new WeakMap<ChannelAccessColumns, Map<string, ReturnType<typeof sessionContextTemplate>>>();

function sessionContextTemplate(page: boolean, prefetch: PrefetchAsk | null, access: ChannelAccessColumns) {
  const { visibleChannelIdsColumn, redDotInChannelsColumn } = access;
  return queryTemplate((db, p: { idHash: string; [slot: string]: unknown }) => {
    const who = { employee: sql.ref<number>('e.id'), channels: sql.ref<number[]>('vc.ids') };
    const extra = Object.entries(prefetch?.columns(p, who, db as Db) ?? {}).map(([name, e]) => sql`${e}`.as(PREFETCH_PREFIX + name));
    return (
      db
        .selectFrom('sessions as s')
        .innerJoin('employees as e', 'e.id', 's.employee_id')
        .innerJoin('roles as r', 'r.id', 'e.role_id')
        // The channels the employee may use, once: a column here, and what prefetches filter by.
        // `offset 0` keeps PostgreSQL from pulling the subquery up into each place that reads
        // `vc.ids` (it computed the list once per prefetch otherwise).
        .innerJoinLateral(sql<{ ids: number[] }>`(select ${visibleChannelIdsColumn(sql.ref('e.id'))} as ids offset 0)`.as('vc'), (join) => join.onTrue())
        .select([
          's.id_hash',
          's.csrf_token',
          's.created_at',
          's.last_seen_at',
          's.expires_at',
          'e.id as employee_id',
          'e.name',
          'e.email',
          'e.locale',
          'e.disabled_at',
          'e.must_change_password',
          'r.id as role_id',
          'r.name as role_name',
          'r.is_admin',
          'r.permissions',
          'vc.ids as channel_ids',
          (page ? redDotInChannelsColumn(who.channels, who.employee) : sql<boolean | null>`null`).as('red_dot'),
          (page ? sql<ReconnectList | null>`case when r.is_admin then ${channelsNeedingReconnectColumn()} end` : sql<ReconnectList | null>`null`).as('reconnect'),
        ])
        .select(extra)
        .where('s.id_hash', '=', p.idHash)
    );
  });
}

type ReconnectList = Awaited<ReturnType<typeof listChannelsNeedingReconnect>>;

export async function touchSession(db: Conn, idHash: string, at: Date) {
  await db.updateTable('sessions').set({ last_seen_at: at }).where('id_hash', '=', idHash).execute();
}

export async function deleteSession(db: Conn, idHash: string) {
  await db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
}

export async function deleteEmployeeSessions(db: Conn, employeeId: number, o: { except?: string } = {}) {
  let q = db.deleteFrom('sessions').where('employee_id', '=', employeeId);
  if (o.except) q = q.where('id_hash', '<>', o.except);
  await q.execute();
}

export async function deleteExpiredSessions(db: Conn, now: Date, idleCutoff: Date) {
  await db
    .deleteFrom('sessions')
    .where((eb) => eb.or([eb('expires_at', '<', now), eb('last_seen_at', '<', idleCutoff)]))
    .execute();
}

// Login throttling

/**
 * Reserves one login attempt on a throttle key, before the password is checked, in one
 * statement: concurrent attempts on the same key each get their own count (the upsert takes
 * the row's lock), so no more than `limit` of them can pass in a window however many arrive at
 * once. Refused when the count goes past `limit` or the key is locked.
 */
export async function reserveLoginAttempt(db: Conn, key: string, now: Date, windowMs: number, limit: number): Promise<boolean> {
  const windowStart = new Date(now.getTime() - windowMs);
  const row = await db
    .insertInto('login_throttle')
    .values({ key, failures: 1, window_started_at: now, locked_until: null })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet((eb) => ({
        failures: sql<number>`case when ${eb.ref('login_throttle.window_started_at')} < ${windowStart} then 1 else ${eb.ref('login_throttle.failures')} + 1 end`,
        window_started_at: sql<Date>`case when ${eb.ref('login_throttle.window_started_at')} < ${windowStart} then ${now} else ${eb.ref('login_throttle.window_started_at')} end`,
      })),
    )
    .returning(['failures', 'locked_until'])
    .executeTakeFirstOrThrow();
  return row.failures <= limit && !(row.locked_until && row.locked_until.getTime() > now.getTime());
}

/** A reserved attempt failed: once the key has used its `limit`, it is locked for `lockMs`. */
export async function lockIfSpent(db: Conn, key: string, now: Date, limit: number, lockMs: number) {
  await db
    .updateTable('login_throttle')
    .set({ locked_until: new Date(now.getTime() + lockMs) })
    .where('key', '=', key)
    .where('failures', '>=', limit)
    .execute();
}

/** A reserved attempt succeeded: it no longer counts against the key (an office behind one address). */
export async function releaseLoginAttempt(db: Conn, key: string) {
  await db
    .updateTable('login_throttle')
    .set((eb) => ({ failures: sql<number>`greatest(${eb.ref('failures')} - 1, 0)` }))
    .where('key', '=', key)
    .execute();
}

export async function clearThrottle(db: Conn, key: string) {
  await db.deleteFrom('login_throttle').where('key', '=', key).execute();
}
