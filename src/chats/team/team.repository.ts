import { sql } from 'kysely';
import type { Conn } from '../../db/database.ts';

/**
 * Assigns a chat (null: to nobody) unless it already is: returns who had it before, or
 * `undefined` when nothing changed. The row lock of the UPDATE orders two employees assigning
 * at once; each sees the other's result as "before".
 */
export async function setAssignee(db: Conn, chatId: number, assigneeId: number | null): Promise<{ before: number | null } | undefined> {
  const r = await sql<{ before: number | null }>`
    with old as (select id, assignee_id from chats where id = ${chatId} for update)
    update chats c set assignee_id = ${assigneeId}::int from old
    where c.id = old.id and old.assignee_id is distinct from ${assigneeId}::int
    returning old.assignee_id as before`.execute(db);
  return r.rows[0];
}

/** The first answer takes an unassigned chat (#16): true when this employee took it. */
export async function claimIfUnassigned(db: Conn, chatId: number, employeeId: number): Promise<boolean> {
  const r = await db.updateTable('chats').set({ assignee_id: employeeId }).where('id', '=', chatId).where('assignee_id', 'is', null).returning('id').executeTakeFirst();
  return Boolean(r);
}

/** Colleagues a note mentions: one row per colleague and chat, pointing at the latest note. */
export async function addMentions(db: Conn, chatId: number, messageId: number, employeeIds: readonly number[]): Promise<void> {
  if (employeeIds.length === 0) return;
  await db
    .insertInto('chat_mentions')
    .values(employeeIds.map((employee_id) => ({ employee_id, chat_id: chatId, message_id: messageId, created_at: new Date() })))
    .onConflict((oc) => oc.columns(['employee_id', 'chat_id']).doUpdateSet({ message_id: messageId, created_at: new Date() }))
    .execute();
}

/** The employee opened the chat: their mention there is seen. True when there was one. */
export async function clearMention(db: Conn, employeeId: number, chatId: number): Promise<boolean> {
  const r = await db.deleteFrom('chat_mentions').where('employee_id', '=', employeeId).where('chat_id', '=', chatId).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function hasMention(db: Conn, employeeId: number, chatId: number): Promise<boolean> {
  const r = await db.selectFrom('chat_mentions').select('chat_id').where('employee_id', '=', employeeId).where('chat_id', '=', chatId).executeTakeFirst();
  return Boolean(r);
}

/** An employee's id and name (what an assignment record shows). */
export async function findEmployeeName(db: Conn, id: number): Promise<{ id: number; name: string } | undefined> {
  return db.selectFrom('employees').select(['id', 'name']).where('id', '=', id).executeTakeFirst();
}
