import { sql } from 'kysely';
import type { Conn } from '../../db/database.ts';
import { attachmentsColumn, threadVersionOf } from '../chats.repository.ts';

/** A contact's stored avatar, only if its channel is visible to the employee (avatar route). */
export async function findContactAvatarIn(db: Conn, contactId: number, channelIds: readonly number[]) {
  return db.selectFrom('contacts').select(['avatar_key']).where('id', '=', contactId).where('channel_id', 'in', channelIds).executeTakeFirst();
}

/** The platform id of the chat's newest inbound message up to `upTo` (by sort order). */
export async function lastInboundExternalId(db: Conn, chatId: number, upTo: number): Promise<string | null> {
  const r = await db
    .selectFrom('messages as m')
    .innerJoin('messages as u', (j) => j.on('u.id', '=', upTo))
    .select('m.external_id')
    .where('m.chat_id', '=', chatId)
    .where('m.direction', '=', 'in')
    .where('m.external_id', 'is not', null)
    .where((eb) => eb.or([eb('m.sort_at', '<', eb.ref('u.sort_at')), eb.and([eb('m.sort_at', '=', eb.ref('u.sort_at')), eb('m.id', '<=', eb.ref('u.id'))])]))
    .orderBy('m.sort_at', 'desc')
    .orderBy('m.id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return r?.external_id ?? null;
}

/**
 * Messages with everything their view shows, in one statement: the sender's name, the
 * attachments (as JSON), the chat's read mark and the last outbound message the lead has read
 * (both uncorrelated: computed once per statement, not per row).
 */
function threadRows(db: Conn, chatId: number) {
  return db
    .selectFrom('messages')
    .leftJoin('employees', 'employees.id', 'messages.sender_employee_id')
    .select([
      // Only what a message view shows: a thread page reads 51 rows of these.
      'messages.id',
      'messages.direction',
      'messages.kind',
      'messages.text',
      'messages.status',
      'messages.status_reason',
      'messages.sort_at',
      'messages.read_at',
      'messages.deleted_at',
      'messages.reactions',
      'messages.meta',
      'employees.name as sender_name',
      attachmentsColumn(db, 'messages.id').as('attachments'),
      sql<number | null>`(select c.read_up_to_message_id from chats c where c.id = ${chatId})`.as('chat_read_up_to'),
      // Read in the same snapshot as the rows: the rendered thread is kept under this version.
      threadVersionOf(chatId).as('thread_version'),
      sql<number | null>`(${lastReadOutboundQuery(db, chatId)})`.as('last_read_outbound_id'),
    ])
    .where('messages.chat_id', '=', chatId);
}

export type ThreadRow = Awaited<ReturnType<typeof listThread>>[number];

export async function listThread(db: Conn, chatId: number, o: { before?: { at: Date; id: number }; limit: number }) {
  let q = threadRows(db, chatId);
  if (o.before) {
    q = q.where(sql<boolean>`(messages.sort_at, messages.id) < (${o.before.at}::timestamptz, ${o.before.id}::bigint)`);
  }
  const rows = await q.orderBy('messages.sort_at', 'desc').orderBy('messages.id', 'desc').limit(o.limit).execute();
  return rows.reverse();
}

function lastReadOutboundQuery(db: Conn, chatId: number) {
  // Literal values: the partial index messages_last_read_out_idx (0004) matches them even in a
  // prepared statement's generic plan.
  return db
    .selectFrom('messages as lr')
    .select('lr.id')
    .where('lr.chat_id', '=', chatId)
    .where(sql<boolean>`lr.direction = 'out' and lr.status = 'read'`)
    .orderBy('lr.sort_at', 'desc')
    .orderBy('lr.id', 'desc')
    .limit(1);
}

/** The last outbound message the lead has read ("Read HH:MM" goes under it, E3). */
export async function lastReadOutboundId(db: Conn, chatId: number): Promise<number | null> {
  const r = await lastReadOutboundQuery(db, chatId).executeTakeFirst();
  return r?.id ?? null;
}

/** An attachment, only if its chat's channel is visible to the employee (media downloads). */
export async function findAttachmentIn(db: Conn, attachmentId: number, channelIds: readonly number[]) {
  if (channelIds.length === 0) return undefined;
  return db
    .selectFrom('attachments')
    .innerJoin('messages', 'messages.id', 'attachments.message_id')
    .selectAll('attachments')
    .select(['messages.chat_id', 'messages.channel_id'])
    .where('attachments.id', '=', attachmentId)
    .where('messages.channel_id', 'in', channelIds)
    .executeTakeFirst();
}
