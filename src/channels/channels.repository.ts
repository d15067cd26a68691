import { sql, type Expression } from 'kysely';
import type { Conn } from '../db/database.ts';
import type { ChannelState } from '../db/schema.ts';

/** Just the channel's kind (follow-up.ts: does its adapter import history?). */
export async function findChannelKind(db: Conn, channelId: number) {
  return db.selectFrom('channels').select('kind').where('id', '=', channelId).executeTakeFirst();
}

export async function findChannel(db: Conn, id: number) {
  return db.selectFrom('channels').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findChannelByExternal(db: Conn, kind: string, externalId: string) {
  return db.selectFrom('channels').selectAll().where('kind', '=', kind).where('external_id', '=', externalId).executeTakeFirst();
}

export async function findChannelsByExternalIds(db: Conn, externalIds: string[]) {
  if (externalIds.length === 0) return [];
  return db.selectFrom('channels').selectAll().where('external_id', 'in', externalIds).execute();
}

export async function listChannels(db: Conn) {
  return db.selectFrom('channels').selectAll().orderBy('name').orderBy('id').execute();
}

export async function insertChannel(
  db: Conn,
  c: { kind: string; name: string; externalId: string; parentExternalId?: string | null; credentialsEnc: string | null; settings: Record<string, unknown>; accessAll: boolean },
): Promise<number> {
  const r = await db
    .insertInto('channels')
    .values({
      kind: c.kind,
      name: c.name,
      external_id: c.externalId,
      parent_external_id: c.parentExternalId ?? null,
      credentials_enc: c.credentialsEnc,
      settings: JSON.stringify(c.settings),
      access_all: c.accessAll,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return r.id;
}

export async function updateChannel(
  db: Conn,
  id: number,
  c: Partial<{ name: string; credentialsEnc: string | null; settings: Record<string, unknown>; accessAll: boolean; state: ChannelState; stateReason: string | null }>,
) {
  await db
    .updateTable('channels')
    .set({
      ...(c.name !== undefined ? { name: c.name } : {}),
      ...(c.credentialsEnc !== undefined ? { credentials_enc: c.credentialsEnc } : {}),
      ...(c.settings !== undefined ? { settings: JSON.stringify(c.settings) } : {}),
      ...(c.accessAll !== undefined ? { access_all: c.accessAll } : {}),
      ...(c.state !== undefined ? { state: c.state } : {}),
      ...(c.stateReason !== undefined ? { state_reason: c.stateReason } : {}),
      updated_at: new Date(),
    })
    .where('id', '=', id)
    .execute();
}

export async function setChannelAccess(db: Conn, channelId: number, employeeIds: number[]) {
  await db.deleteFrom('channel_access').where('channel_id', '=', channelId).execute();
  if (employeeIds.length) {
    await db
      .insertInto('channel_access')
      .values(employeeIds.map((employee_id) => ({ channel_id: channelId, employee_id })))
      .execute();
  }
}

export async function listChannelAccess(db: Conn, channelId: number): Promise<number[]> {
  const rows = await db.selectFrom('channel_access').select('employee_id').where('channel_id', '=', channelId).execute();
  return rows.map((r) => r.employee_id);
}

/** Every access row with the employee's name (Settings › Chats list). */
export async function listChannelAccessNames(db: Conn) {
  return db
    .selectFrom('channel_access')
    .innerJoin('employees', 'employees.id', 'channel_access.employee_id')
    .select(['channel_access.channel_id', 'employees.id as employee_id', 'employees.name', 'employees.email', 'employees.disabled_at'])
    .orderBy('employees.name')
    .orderBy('employees.id')
    .execute();
}

/** Employees who can be put on a channel's list (the active ones). */
export async function listActiveEmployees(db: Conn) {
  return db.selectFrom('employees').select(['id', 'name', 'email']).where('disabled_at', 'is', null).orderBy('name').orderBy('id').execute();
}

/** Active employees by email, compared case-insensitively (the CLI's --access). */
export async function findActiveEmployeesByEmails(db: Conn, emails: string[]) {
  if (emails.length === 0) return [];
  const lowered = [...new Set(emails.map((e) => e.toLowerCase()))];
  return db
    .selectFrom('employees')
    .select(['id', 'email', 'name'])
    .where((eb) => eb(eb.fn('lower', ['email']), 'in', lowered))
    .where('disabled_at', 'is', null)
    .execute();
}

/** Channels an admin must reconnect (token revoked or expired, a permission missing). */
/** The same list as a JSON column of another query (the session look-up selects it for admins). */
export function channelsNeedingReconnectColumn() {
  return sql<Array<{ id: number; kind: string; name: string; state_reason: string | null }>>`(
    select coalesce(json_agg(json_build_object('id', c.id, 'kind', c.kind, 'name', c.name, 'state_reason', c.state_reason) order by c.name, c.id), '[]')
    from channels c where c.state = 'needs_reconnect')`;
}

export async function listChannelsNeedingReconnect(db: Conn) {
  const r = await sql<{ list: ReturnType<typeof channelsNeedingReconnectColumn> extends Expression<infer T> ? T : never }>`select ${channelsNeedingReconnectColumn()} as list`.execute(db);
  return r.rows[0]?.list ?? [];
}

/** Channels living on one Facebook Page: the Page itself and the Instagram account linked to it. */
export async function listChannelsOnPage(db: Conn, pageId: string) {
  return db
    .selectFrom('channels')
    .select(['id', 'kind', 'external_id', 'parent_external_id'])
    .where((eb) => eb.or([eb('external_id', '=', pageId), eb('parent_external_id', '=', pageId)]))
    .execute();
}
