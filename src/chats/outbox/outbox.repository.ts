import { sql } from 'kysely';
import type { Conn, Db } from '../../db/database.ts';
import type { LiveMessageRow } from '../live/live.repository.ts';
import type { LiveChange } from '../../platform/live/live.repository.ts';

import { attachmentsColumn } from '../chats.repository.ts';

/**
 * The idempotency key of the file part of a submit that also has text: the text's key plus
 * this suffix (send.service.ts). The text part follows its file, in order.
 */
export const FILE_PART_SUFFIX = '-f';

/**
 * Everything the send job needs, in one statement: the message, who it goes to (the contact's
 * platform id), the channel (with its encrypted credentials; null when gone), the chat's read
 * watermark, and what the message's live re-render shows (sender, attachments in order).
 */
export async function findOutgoing(db: Conn, messageId: number) {
  return db
    .selectFrom('messages as m')
    .leftJoin('chats as c', 'c.id', 'm.chat_id')
    .leftJoin('contacts as ct', 'ct.id', 'c.contact_id')
    .leftJoin('channels as ch', 'ch.id', 'c.channel_id')
    .leftJoin('employees as e', 'e.id', 'm.sender_employee_id')
    .leftJoin('messages as rt', 'rt.id', 'm.reply_to_message_id')
    .select((_eb) => [
      'm.id',
      'm.chat_id',
      'm.channel_id',
      'm.direction',
      'm.kind',
      'm.status',
      'm.status_reason',
      'm.text',
      'm.meta',
      'm.sort_at',
      'm.external_id',
      'm.read_at',
      'm.deleted_at',
      'm.reactions',
      'e.name as sender_name',
      'c.lead_read_watermark',
      'ct.external_id as contact_external_id',
      'ch.id as ch_id',
      'ch.kind as ch_kind',
      'ch.name as ch_name',
      'ch.external_id as ch_external_id',
      'ch.parent_external_id as ch_parent_external_id',
      'ch.credentials_enc as ch_credentials_enc',
      'ch.settings as ch_settings',
      'ch.state as ch_state',
      'rt.external_id as reply_to_external_id',
      attachmentsColumn(db, 'm.id').as('attachments'),
    ])
    .where('m.id', '=', messageId)
    .executeTakeFirst();
}

export type OutgoingRow = NonNullable<Awaited<ReturnType<typeof findOutgoing>>>;

/**
 * Records a send the platform accepted as `sent`, as a `LiveChange` (one statement with the
 * message's live re-render, rendered beforehand from `findOutgoing`'s row). It applies only
 * if that render is still true: the message is still queued and no read watermark covers it
 * (a read receipt overtook the send: `markSent` then makes it read). The platform's echo of
 * this send, if ingested first as a message of its own, is merged (deleted) as in `markSent`.
 * Its row: the message id and the submit's next queued part.
 */
export function sentChange(db: Db, s: { id: number; channelId: number; externalId: string; sentAt: Date }): LiveChange<{ id: number; next_id: number | null }> {
  const still = sql`(m.status = 'queued' and (c.lead_read_watermark is null or c.lead_read_watermark < m.sort_at))`;
  return {
    db,
    ctes: sql`dup as (
        delete from messages
        where channel_id = ${s.channelId} and external_id = ${s.externalId} and id <> ${s.id} and sender_employee_id is null
          and exists (select 1 from messages m join chats c on c.id = m.chat_id where m.id = ${s.id} and ${still})
        returning id
      ), sent as (
        update messages m set status = 'sent', status_reason = null, external_id = ${s.externalId}, sent_at = ${s.sentAt}::timestamptz
        from chats c, (select count(*) as n from dup) d
        where m.id = ${s.id} and c.id = m.chat_id and ${still}
        returning m.id, m.chat_id, m.idempotency_key
      )`,
    gate: 'sent',
    select: sql<{ id: number; next_id: number | null }>`select sent.id, ${nextPart(sql.ref('sent.chat_id'), sql.ref('sent.idempotency_key'))} as next_id from sent`,
  };
}

export type SentMessageRow = LiveMessageRow & { next_id: number | null };

/**
 * Records a send the platform accepted, in one statement, and returns the message as a live
 * re-render needs it (live.repository.ts `listMessagesForLive`), plus the next part of the
 * same submit still queued (a file's text), if any. Null when the message was no longer
 * queued.
 *
 * - The platform's echo of this very send may have been ingested first as a message of its
 *   own: it is deleted (merged into ours by its id). The `count(*)` over that delete is joined
 *   in so the delete has run before our row takes the id (the unique key).
 * - A read receipt can overtake this commit (the person read the message at once and the
 *   webhook was applied while it was still queued, §10.5): when the chat's read watermark
 *   already covers the message, it is read, not merely sent.
 * - "Read HH:MM" shows under the last read outbound message: ours is it when it is read and
 *   no read outbound message comes after it.
 */
export async function markSent(db: Conn, s: { id: number; channelId: number; externalId: string; sentAt: Date }): Promise<SentMessageRow | null> {
  const r = await sql<SentMessageRow>`
    with dup as (
      delete from messages
      where channel_id = ${s.channelId} and external_id = ${s.externalId} and id <> ${s.id} and sender_employee_id is null
      returning id
    ), upd as (
      update messages m set
        status = case when c.lead_read_watermark >= m.sort_at then 'read' else 'sent' end,
        status_reason = null,
        external_id = ${s.externalId},
        sent_at = ${s.sentAt}::timestamptz,
        read_at = case when c.lead_read_watermark >= m.sort_at then c.lead_read_watermark else m.read_at end,
        delivered_at = case when c.lead_read_watermark >= m.sort_at then coalesce(m.delivered_at, c.lead_read_watermark) else m.delivered_at end
      from chats c, (select count(*) as n from dup) d
      where m.id = ${s.id} and m.status = 'queued' and c.id = m.chat_id
      returning m.id, m.chat_id, m.channel_id, m.direction, m.kind, m.text, m.status, m.status_reason, m.sort_at, m.read_at,
        m.deleted_at, m.reactions, m.meta, m.sender_employee_id, m.idempotency_key
    )
    select upd.id, upd.chat_id, upd.channel_id, upd.direction, upd.kind, upd.text, upd.status, upd.status_reason, upd.sort_at,
      upd.read_at, upd.deleted_at, upd.reactions, upd.meta, e.name as sender_name, null::bigint as read_up_to_message_id,
      coalesce((select json_agg(json_build_object('id', a.id, 'kind', a.kind, 'mime', a.mime, 'file_name', a.file_name,
                  'size_bytes', a.size_bytes, 'status', a.status, 'storage_key', a.storage_key, 'duration_ms', a.duration_ms,
                  'transcription', a.transcription) order by a.id)
                from attachments a where a.message_id = upd.id), '[]'::json) as attachments,
      case when upd.status = 'read' and not exists (
          select 1 from messages x where x.chat_id = upd.chat_id and x.direction = 'out' and x.status = 'read'
            and (x.sort_at, x.id) > (upd.sort_at, upd.id)) then upd.id end as last_read_id,
      ${nextPart(sql.ref('upd.chat_id'), sql.ref('upd.idempotency_key'))} as next_id
    from upd left join employees e on e.id = upd.sender_employee_id`.execute(db);
  return r.rows[0] ?? null;
}

/** The next part of the submit a message belongs to, still queued (its text after a file). */
function nextPart(chatId: unknown, key: unknown) {
  return sql<number | null>`(case when ${key} like ${'%' + FILE_PART_SUFFIX} then (
      select x.id from messages x
      where x.chat_id = ${chatId} and x.idempotency_key = left(${key}, ${-FILE_PART_SUFFIX.length})
        and x.direction = 'out' and x.status = 'queued') end)`;
}

/**
 * The submit's next part still queued, when a message stopped being queued without this job
 * (a status webhook overtook the send's answer and moved or failed it): it still goes out.
 */
export async function nextQueuedPart(db: Conn, messageId: number): Promise<number | null> {
  const r = await db
    .selectFrom('messages')
    .select((eb) => nextPart(eb.ref('messages.chat_id'), eb.ref('messages.idempotency_key')).as('next_id'))
    .where('id', '=', messageId)
    .executeTakeFirst();
  return r?.next_id ?? null;
}

/** Marks a queued (or sending) message failed; returns its chat and the submit's next part. */
export async function markFailed(db: Conn, id: number, reason: string) {
  return (
    db
      .updateTable('messages')
      .set({ status: 'failed', status_reason: reason })
      .where('id', '=', id)
      // A status webhook may have moved it on meanwhile (WhatsApp, by `parley:<id>`): not lowered.
      .where('status', '=', 'queued')
      .returning((eb) => ['id', 'chat_id', 'channel_id', nextPart(eb.ref('messages.chat_id'), eb.ref('messages.idempotency_key')).as('next_id')])
      .executeTakeFirst()
  );
}

/** Puts a failed outbound message of the chat back in the outbox (retry); undefined if none. */
export async function requeueFailed(db: Conn, chatId: number, messageId: number) {
  return (
    db
      .updateTable('messages')
      // The failed attempt's platform id goes: statuses of the new send are matched afresh.
      .set({ status: 'queued', status_reason: null, attempts: 0, external_id: null })
      .where('id', '=', messageId)
      .where('chat_id', '=', chatId)
      .where('status', '=', 'failed')
      .where('direction', '=', 'out')
      .returning('id')
      .executeTakeFirst()
  );
}

/** F2: marks a comment answered privately, unless it already is (the update is the lock). */
export async function claimPrivateReply(db: Conn, commentMessageId: number, replyMessageId: number): Promise<boolean> {
  const r = await db
    .updateTable('messages')
    .set({ meta: sql`meta || jsonb_build_object('privateReplyMessageId', ${replyMessageId}::bigint)` })
    .where('id', '=', commentMessageId)
    .where(sql<boolean>`coalesce(meta->>'privateReplyMessageId', '') = ''`)
    .returning('id')
    .executeTakeFirst();
  return Boolean(r);
}

export async function queuedMessagesOlderThan(db: Conn, before: Date, limit: number) {
  return db.selectFrom('messages').select('id').where('status', '=', 'queued').where('created_at', '<', before).orderBy('created_at').limit(limit).execute();
}
