import { sql, type SqlBool } from 'kysely';
import type { Conn } from '../../db/database.ts';
import { containsPattern } from '../../crm/common.ts';
import { channelVisibleTo } from '../access.repository.ts';

export interface SavedReplyRow {
  id: number;
  owner_employee_id: number | null;
  shortcut: string;
  text: string;
  created_at: Date;
  /** The employee may edit or delete it: their own, or a shared one when they are an admin. */
  editable: boolean;
}

/** Saved replies an employee uses: their own and the shop's shared ones. */
function usableBy(employeeId: number) {
  return sql<SqlBool>`(sr.owner_employee_id = ${employeeId} or sr.owner_employee_id is null)`;
}

/** The one definition of "may manage this saved reply": the owner, or an active admin for shared ones. */
function manageableBy(employeeId: number) {
  return sql<boolean>`(sr.owner_employee_id = ${employeeId} or (sr.owner_employee_id is null and exists (
    select 1 from employees me join roles mr on mr.id = me.role_id where me.id = ${employeeId} and me.disabled_at is null and mr.is_admin)))`;
}

const COLUMNS = ['sr.id', 'sr.owner_employee_id', 'sr.shortcut', 'sr.text', 'sr.created_at'] as const;

/** Settings › Saved replies: shared first, then the employee's own, by shortcut. */
export async function listSavedRepliesFor(db: Conn, employeeId: number): Promise<SavedReplyRow[]> {
  return db
    .selectFrom('saved_replies as sr')
    .select([...COLUMNS, manageableBy(employeeId).as('editable')])
    .where(usableBy(employeeId))
    .orderBy(sql`sr.owner_employee_id is not null`)
    .orderBy(sql`lower(sr.shortcut)`)
    .execute();
}

export async function findManageableSavedReply(db: Conn, employeeId: number, id: number): Promise<SavedReplyRow | undefined> {
  return db
    .selectFrom('saved_replies as sr')
    .select([...COLUMNS, sql<boolean>`true`.as('editable')])
    .where('sr.id', '=', id)
    .where(manageableBy(employeeId))
    .executeTakeFirst();
}

/** The new reply's id, or null when its owner already has that shortcut. */
export async function insertSavedReply(db: Conn, v: { ownerEmployeeId: number | null; shortcut: string; text: string }): Promise<number | null> {
  const r = await db
    .insertInto('saved_replies')
    .values({ owner_employee_id: v.ownerEmployeeId, shortcut: v.shortcut, text: v.text })
    .onConflict((oc) => oc.doNothing())
    .returning('id')
    .executeTakeFirst();
  return r?.id ?? null;
}

/** Whether another reply of the same owner (or of the shared ones) has this shortcut. */
export async function shortcutTaken(db: Conn, ownerEmployeeId: number | null, shortcut: string, exceptId = 0): Promise<boolean> {
  const r = await db
    .selectFrom('saved_replies as sr')
    .select('sr.id')
    .where(sql<SqlBool>`coalesce(sr.owner_employee_id, 0) = ${ownerEmployeeId ?? 0}`)
    .where(sql<SqlBool>`lower(sr.shortcut) = lower(${shortcut})`)
    .where('sr.id', '<>', exceptId)
    .executeTakeFirst();
  return Boolean(r);
}

export async function updateManageableSavedReply(db: Conn, employeeId: number, id: number, v: { shortcut: string; text: string }): Promise<boolean> {
  const r = await db.updateTable('saved_replies as sr').set({ shortcut: v.shortcut, text: v.text }).where('sr.id', '=', id).where(manageableBy(employeeId)).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function deleteManageableSavedReply(db: Conn, employeeId: number, id: number): Promise<boolean> {
  const r = await db.deleteFrom('saved_replies as sr').where('sr.id', '=', id).where(manageableBy(employeeId)).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/**
 * The composer's list: the employee's replies matching `q` (a shortcut starting with it first,
 * then a shortcut or text containing it), own before shared on a tie.
 */
export async function searchSavedReplies(db: Conn, employeeId: number, q: string, limit: number) {
  let query = db.selectFrom('saved_replies as sr').select(['sr.id', 'sr.owner_employee_id', 'sr.shortcut', 'sr.text']).where(usableBy(employeeId));
  if (q) {
    const pattern = containsPattern(q);
    query = query
      .where(sql<SqlBool>`(sr.shortcut ilike ${pattern} or sr.text ilike ${pattern})`)
      .orderBy(sql`lower(sr.shortcut) like ${q.toLowerCase().replace(/[\\%_]/g, (c) => '\\' + c) + '%'}`, 'desc');
  }
  return query.orderBy(sql`sr.owner_employee_id is null`).orderBy(sql`lower(sr.shortcut)`).limit(limit).execute();
}

/**
 * What the placeholders are filled with, for a chat the employee may see (undefined otherwise):
 * the linked client's name and, unless `openOrderStatuses` is null (the employee may not see
 * orders), the number of that client's latest order in one of those statuses.
 */
export async function placeholderValuesOf(db: Conn, employeeId: number, chatId: number, openOrderStatuses: readonly string[] | null) {
  const order = openOrderStatuses
    ? sql<string | null>`(select d.number from documents d
        where d.client_id = cl.id and d.kind = 'order' and d.status = any(${[...openOrderStatuses]}::text[])
        order by d.issued_on desc, d.id desc limit 1)`
    : sql<string | null>`null::text`;
  return db
    .selectFrom('chats as c')
    .leftJoin('clients as cl', 'cl.id', 'c.client_id')
    .select(['c.id', 'cl.name as client_name', order.as('order_number')])
    .where('c.id', '=', chatId)
    .where(channelVisibleTo(employeeId, 'c.channel_id'))
    .executeTakeFirst();
}
