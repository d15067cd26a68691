import { sql, type Expression, type SqlBool } from 'kysely';
import type { Conn } from '../db/database.ts';

/**
 * The one definition of "may use this channel" (A1): the role grants Chats (admins always do)
 * and the channel is open to all employees or lists this one. Every chat, message, media and
 * contact query joins through it.
 */
export function channelVisibleTo(employee: number | Expression<number>, channelIdColumn = 'channels.id'): Expression<SqlBool> {
  return sql<SqlBool>`exists (
    select 1 from employees ve join roles vr on vr.id = ve.role_id join channels vc on vc.id = ${sql.ref(channelIdColumn)}
    where ve.id = ${employee} and ve.disabled_at is null
      and (vr.is_admin or ('chats' = any(vr.permissions) and (vc.access_all
           or exists (select 1 from channel_access va where va.channel_id = vc.id and va.employee_id = ve.id)))))`;
}

/**
 * The channels an employee may use and their red dot, as columns of another query: the session
 * look-up selects them, so a page learns who the employee is, what they may see and whether the
 * dot is on in one round trip.
 */
export function visibleChannelIdsColumn(employee: Expression<number>) {
  return sql<number[]>`array(select channels.id from channels where ${channelVisibleTo(employee)} order by channels.id)`;
}

/** A chat that lights the red dot: the predicate of the partial index chats_attention_idx. */
const needsAttention = sql`ch.status = 'open' and ch.indicator <> 'none'`;

/**
 * The red dot is team-wide (any chat needing attention) plus the employee's own mentions (#16):
 * a note that names them lights it until they open that chat, on a channel they still see.
 */
function mentionedIn(employee: Expression<number>, visibleChannel: (column: string) => Expression<SqlBool>) {
  return sql<boolean>`exists (
      select 1 from chat_mentions cm join chats mc on mc.id = cm.chat_id
      where cm.employee_id = ${employee} and ${visibleChannel('mc.channel_id')})`;
}

export function redDotColumn(employee: Expression<number>) {
  const visible = (column: string) => sql<SqlBool>`${sql.ref(column)} in (select channels.id from channels where ${channelVisibleTo(employee)})`;
  return sql<boolean>`(exists (select 1 from chats ch where ${needsAttention} and ${visible('ch.channel_id')}) or ${mentionedIn(employee, visible)})`;
}

/** `redDotColumn` where the employee's visible channels are already at hand (the session look-up). */
export function redDotInChannelsColumn(channels: Expression<number[]>, employee: Expression<number>) {
  const visible = (column: string) => sql<SqlBool>`${sql.ref(column)} = any(${channels})`;
  return sql<boolean>`(exists (select 1 from chats ch where ${needsAttention} and ${visible('ch.channel_id')}) or ${mentionedIn(employee, visible)})`;
}

export async function visibleChannelIds(db: Conn, employeeId: number): Promise<number[]> {
  const rows = await db.selectFrom('channels').select('id').where(channelVisibleTo(employeeId)).execute();
  return rows.map((r) => r.id);
}

/** Active employees who may see a channel, with their names, by name. */
function seeingChannel(channelId: number) {
  return sql<{ id: number; name: string }>`
    select e.id, e.name from employees e join roles r on r.id = e.role_id join channels c on c.id = ${channelId}
    where e.disabled_at is null
      and (r.is_admin or ('chats' = any(r.permissions) and (c.access_all
           or exists (select 1 from channel_access a where a.channel_id = c.id and a.employee_id = e.id))))
    order by e.name, e.id`;
}

/** Active employees who may see a channel (to update their red dot). */
export async function employeesSeeingChannel(db: Conn, channelId: number): Promise<number[]> {
  const rows = await seeingChannel(channelId).execute(db);
  return rows.rows.map((r) => r.id);
}

/** The colleagues who may use a channel: whom its chats can be assigned to, or a note mention (#16). */
export async function colleaguesOnChannel(db: Conn, channelId: number): Promise<Array<{ id: number; name: string }>> {
  return (await seeingChannel(channelId).execute(db)).rows;
}

/**
 * Recomputes the red dot of the given employees in one statement and returns those whose dot
 * changed: only they get a live event. EXISTS over the partial index chats_attention_idx is a
 * probe, never a count (P6).
 */
export async function refreshRedDots(db: Conn, employeeIds: number[]): Promise<Array<{ id: number; red_dot: boolean }>> {
  if (employeeIds.length === 0) return [];
  // The channels `e` may use, as in channelVisibleTo, for the row being computed.
  const visible = (column: string) => sql<SqlBool>`${sql.ref(column)} in (
            select c.id from channels c join roles r on r.id = e.role_id
            where r.is_admin or ('chats' = any(r.permissions) and (c.access_all
                  or exists (select 1 from channel_access a where a.channel_id = c.id and a.employee_id = e.id))))`;
  const rows = await sql<{ id: number; red_dot: boolean }>`
    with computed as (
      select e.id, (exists (select 1 from chats ch where ${needsAttention} and ${visible('ch.channel_id')})
                    or ${mentionedIn(sql.ref('e.id'), visible)}) as dot
      from employees e where e.id in (${sql.join(employeeIds)})
    )
    update employees e set red_dot = computed.dot from computed
    where e.id = computed.id and e.red_dot is distinct from computed.dot
    returning e.id, e.red_dot`.execute(db);
  return rows.rows;
}

/** The red dot computed now (page renders); live changes come from refreshRedDots. */
export async function redDotOf(db: Conn, employeeId: number): Promise<boolean> {
  const r = await sql<{ dot: boolean }>`select ${redDotColumn(sql<number>`${employeeId}`)} as dot`.execute(db);
  return Boolean(r.rows[0]?.dot);
}
