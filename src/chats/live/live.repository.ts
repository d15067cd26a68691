import { sql } from 'kysely';
import type { Conn } from '../../db/database.ts';

import { attachmentsColumn } from '../chats.repository.ts';

/**
 * Everything a live re-render of some messages needs, in one statement: the messages with
 * their sender's name and attachments, the chat's team read mark (inbound ticks) and, for an
 * outbound message that is read, the chat's last read outbound message ("Read HH:MM" shows
 * under that one only). The last-read probe runs only for such messages, so an inbound
 * message never walks the thread. Rows are in thread order.
 */
export async function listMessagesForLive(db: Conn, chatId: number, ids: readonly number[]) {
  if (ids.length === 0) return [];
  return db
    .selectFrom('messages as m')
    .innerJoin('chats as c', 'c.id', 'm.chat_id')
    .leftJoin('employees as e', 'e.id', 'm.sender_employee_id')
    .select([
      'm.id',
      'm.chat_id',
      'm.channel_id',
      'm.direction',
      'm.kind',
      'm.text',
      'm.status',
      'm.status_reason',
      'm.sort_at',
      'm.read_at',
      'm.deleted_at',
      'm.reactions',
      'm.meta',
      'e.name as sender_name',
      'c.read_up_to_message_id',
    ])
    .select((_eb) => [
      attachmentsColumn(db, 'm.id').as('attachments'),
      sql<number | null>`case when m.direction = 'out' and m.status = 'read' then (
        select x.id from messages x where x.chat_id = m.chat_id and x.direction = 'out' and x.status = 'read'
        order by x.sort_at desc, x.id desc limit 1) end`.as('last_read_id'),
    ])
    .where('m.chat_id', '=', chatId)
    .where(sql<boolean>`m.id = any(${[...ids]}::bigint[])`)
    .orderBy('m.sort_at')
    .orderBy('m.id')
    .execute();
}

export type LiveMessageRow = Awaited<ReturnType<typeof listMessagesForLive>>[number];
