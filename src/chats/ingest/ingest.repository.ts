import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import type { Tx } from '../../platform/tx.ts';
import type { MessageStatus } from '../../db/schema.ts';
import { chatWithContact, type ChatRow } from '../chats.repository.ts';

type Conn = Tx['db'];

export interface ContactChat {
  contact_id: number;
  /** Null only when another transaction created the chat concurrently (see `lockChatOfContact`). */
  chat_id: number | null;
  created: boolean;
  status: 'open' | 'archived' | null;
  indicator: 'unread' | 'unanswered' | 'none' | null;
  lead_read_watermark: Date | null;
}

/**
 * The person (upserted: a name the platform sends fills in, never blanks out) and their chat,
 * created open the first time, in one statement. An existing chat is locked (FOR UPDATE, which
 * reads its latest committed version), so its state before this event is what the caller sees
 * and nobody changes it before the transaction ends.
 */
export async function upsertContactAndChat(
  db: Conn,
  c: { channelId: number; externalId: string; name: string | null; username: string | null; phone: string | null; phoneNormalized: string | null; at: Date },
): Promise<ContactChat> {
  const r = await sql<ContactChat>`
    with ct as (
      insert into contacts (channel_id, external_id, name, username, phone, phone_normalized)
      values (${c.channelId}, ${c.externalId}, ${c.name}, ${c.username}, ${c.phone}, ${c.phoneNormalized})
      on conflict (channel_id, external_id) do update set
        name = coalesce(excluded.name, contacts.name),
        username = coalesce(excluded.username, contacts.username),
        phone = coalesce(excluded.phone, contacts.phone),
        phone_normalized = coalesce(excluded.phone_normalized, contacts.phone_normalized)
      returning id
    ), existing as (
      select ch.id, ch.status, ch.indicator, ch.lead_read_watermark from chats ch
      where ch.contact_id = (select id from ct)
      for update
    ), created as (
      insert into chats (channel_id, contact_id, last_message_at)
      select ${c.channelId}, ct.id, ${c.at}::timestamptz from ct where not exists (select 1 from existing)
      on conflict (contact_id) do nothing
      returning id, status, indicator, lead_read_watermark
    )
    select ct.id as contact_id, coalesce(created.id, existing.id) as chat_id, created.id is not null as created,
      coalesce(created.status, existing.status) as status, coalesce(created.indicator, existing.indicator) as indicator,
      coalesce(created.lead_read_watermark, existing.lead_read_watermark) as lead_read_watermark
    from ct left join existing on true left join created on true`.execute(db);
  return r.rows[0]!;
}

/** The contact's chat, locked (the fallback when it was created concurrently). */
export async function lockChatOfContact(db: Conn, contactId: number) {
  return db.selectFrom('chats').select(['id', 'status', 'indicator', 'lead_read_watermark']).where('contact_id', '=', contactId).forUpdate().executeTakeFirstOrThrow();
}

export interface InboundMessage {
  chatId: number;
  channelId: number;
  direction: 'in' | 'out';
  kind: string;
  text: string | null;
  externalId: string;
  status: MessageStatus;
  sortAt: Date;
  sentAt: Date | null;
  replyToMessageId: number | null;
  meta: Record<string, unknown>;
  /** Chat upkeep (as `touchChat`): count it unread, reopen the chat, or mark the chat read. */
  countUnread: boolean;
  reopen: boolean;
  markRead: boolean;
}

export type ChatAfterMessage = ChatRow & { message_id: number; read_up_to_message_id: number | null };

/**
 * Inserts a platform message (nothing when its platform id is already there: null) and applies
 * it to the chat's maintained state in the same statement, returning the chat as the list
 * renders it. Preview and order only move forward in platform time (an old message imported
 * late does not become the preview); the indicator follows from the new counters: blue while
 * something is unread, grey while the lead has the last word (as `touchChat` +
 * `recomputeIndicator`).
 */
export async function insertMessageIntoChat(db: Conn, m: InboundMessage): Promise<ChatAfterMessage | null> {
  const newer = sql<boolean>`(${m.sortAt}::timestamptz >= chats.last_message_at or chats.last_message_id is null)`;
  const unread = sql<number>`(case when ${m.markRead}::boolean then 0 when ${m.countUnread}::boolean then chats.unread_count + 1 else chats.unread_count end)`;
  const direction = sql<string>`(case when ${newer} then ${m.direction}::text else chats.last_direction end)`;
  const r = await sql<ChatAfterMessage>`
    with ins as (
      insert into messages (chat_id, channel_id, direction, kind, text, external_id, status, sort_at, sent_at, reply_to_message_id, meta)
      values (${m.chatId}, ${m.channelId}, ${m.direction}, ${m.kind}, ${m.text}, ${m.externalId}, ${m.status}, ${m.sortAt}::timestamptz,
              ${m.sentAt}::timestamptz, ${m.replyToMessageId}::bigint, ${JSON.stringify(m.meta)}::jsonb)
      on conflict do nothing
      returning id
    ), upd as (
      update chats set
        last_message_id = case when ${newer} then ins.id else chats.last_message_id end,
        last_direction = ${direction},
        preview_kind = case when ${newer} then ${m.kind}::text else chats.preview_kind end,
        preview_text = case when ${newer} then ${m.text}::text else chats.preview_text end,
        last_message_at = greatest(chats.last_message_at, ${m.sortAt}::timestamptz),
        last_inbound_at = case when ${m.direction}::text = 'in' and ${m.kind}::text <> 'comment'
          then greatest(coalesce(chats.last_inbound_at, ${m.sortAt}::timestamptz), ${m.sortAt}::timestamptz) else chats.last_inbound_at end,
        unread_count = ${unread},
        status = case when ${m.reopen}::boolean then 'open' else chats.status end,
        archived_at = case when ${m.reopen}::boolean then null else chats.archived_at end,
        archived_by = case when ${m.reopen}::boolean then null else chats.archived_by end,
        indicator = case when ${unread} > 0 then 'unread' when ${direction} = 'in' then 'unanswered' else 'none' end
      from ins
      where chats.id = ${m.chatId}
      returning chats.*
    )
    select ins.id as message_id, upd.id, upd.channel_id, upd.contact_id, upd.client_id, upd.status, upd.archived_at, upd.archived_by,
      upd.last_message_at, upd.last_direction, upd.last_inbound_at, upd.preview_kind, upd.preview_text, upd.unread_count, upd.indicator,
      upd.lead_read_watermark, upd.read_up_to_message_id,
      ct.external_id as contact_external_id, ct.name as contact_name, ct.username as contact_username, ct.phone as contact_phone,
      ct.avatar_key as contact_avatar_key, ct.profile_hidden as contact_hidden,
      cn.kind as channel_kind, cn.name as channel_name, ar.name as archived_by_name
    from ins
    join upd on true
    join contacts ct on ct.id = upd.contact_id
    join channels cn on cn.id = upd.channel_id
    left join employees ar on ar.id = upd.archived_by`.execute(db);
  return r.rows[0] ?? null;
}

/** The chat of a contact known by its platform id on a channel (receipts name the person). */
export async function findChatOfContact(db: Conn, channelId: number, contactExternalId: string) {
  return db
    .selectFrom('chats')
    .innerJoin('contacts', 'contacts.id', 'chats.contact_id')
    .select(['chats.id', 'chats.contact_id'])
    .where('contacts.channel_id', '=', channelId)
    .where('contacts.external_id', '=', contactExternalId)
    .executeTakeFirst();
}

/**
 * The echo of a message Parley sent: gives our row (named by the echo's metadata) the
 * platform id, unless it has one already. Undefined when nothing was merged.
 */
export async function mergeEcho(db: Conn, messageId: number, channelId: number, externalId: string) {
  return db
    .updateTable('messages')
    .set({ external_id: externalId })
    .where('id', '=', messageId)
    .where('channel_id', '=', channelId)
    .where('external_id', 'is', null)
    .returning('id')
    .executeTakeFirst();
}

/**
 * Moves a chat's outbound messages forward to delivered or read (never back): those the
 * receipt names by platform id, or all sent up to its watermark. Returns the ids changed.
 */
export async function applyReceipt(db: Conn, chatId: number, target: 'delivered' | 'read', at: Date, covers: { externalIds: string[] } | { upTo: Date }) {
  let q = db
    .updateTable('messages')
    .set(target === 'read' ? { status: 'read', read_at: at, delivered_at: sql`coalesce(delivered_at, ${at}::timestamptz)` } : { status: 'delivered', delivered_at: at })
    .where('chat_id', '=', chatId)
    .where('direction', '=', 'out')
    .where('status', 'in', target === 'read' ? ['sent', 'delivered'] : ['sent']);
  if ('externalIds' in covers) q = q.where('external_id', 'in', covers.externalIds);
  else q = q.where('sort_at', '<=', covers.upTo);
  return q.returning('id').execute();
}

/** The lead has read everything up to `upTo` (only ever moves forward). */
export async function raiseLeadReadWatermark(db: Conn, chatId: number, upTo: Date) {
  await db
    .updateTable('chats')
    .set({ lead_read_watermark: sql`greatest(lead_read_watermark, ${upTo}::timestamptz)` })
    .where('id', '=', chatId)
    .execute();
}

/** Which statuses a status webhook may move a message from (forward only; `failed` is final). */
const ADVANCES_FROM: Record<'sent' | 'delivered' | 'read' | 'failed', MessageStatus[]> = {
  sent: ['queued'],
  delivered: ['queued', 'sent'],
  read: ['queued', 'sent', 'delivered'],
  failed: ['queued', 'sent', 'delivered'],
};

/**
 * Applies a platform status to an outbound message if it moves it forward (§4.4): the row's
 * current status is checked in the update, so concurrent receipts cannot lower it. A `read`
 * also fills in `delivered_at` (the `delivered` webhook may be skipped). Null when unchanged.
 */
export async function advanceStatus(db: Conn, messageId: number, status: 'sent' | 'delivered' | 'read' | 'failed', at: Date, reason: string | null) {
  const set =
    status === 'failed'
      ? { status, status_reason: reason }
      : status === 'read'
        ? { status, status_reason: null, read_at: at, delivered_at: sql<Date>`coalesce(delivered_at, ${at}::timestamptz)`, sent_at: sql<Date>`coalesce(sent_at, ${at}::timestamptz)` }
        : status === 'delivered'
          ? { status, status_reason: null, delivered_at: at, sent_at: sql<Date>`coalesce(sent_at, ${at}::timestamptz)` }
          : { status, status_reason: null, sent_at: sql<Date>`coalesce(sent_at, ${at}::timestamptz)` };
  return (
    (await db
      .updateTable('messages')
      .set(set as never)
      .where('id', '=', messageId)
      .where('direction', '=', 'out')
      .where('status', 'in', ADVANCES_FROM[status])
      .returning('id')
      .executeTakeFirst()) ?? null
  );
}

// Contacts, messages and attachments as ingest and its follow-up jobs change them (any connection)

type AnyConn = Db | Tx['db'];

export async function updateContactProfile(db: AnyConn, id: number, p: { name?: string | null; username?: string | null; avatarUrl?: string | null; avatarKey?: string | null; hidden: boolean }) {
  await db
    .updateTable('contacts')
    .set({
      ...(p.name !== undefined ? { name: p.name } : {}),
      ...(p.username !== undefined ? { username: p.username } : {}),
      ...(p.avatarUrl !== undefined ? { avatar_url: p.avatarUrl } : {}),
      ...(p.avatarKey !== undefined ? { avatar_key: p.avatarKey } : {}),
      profile_hidden: p.hidden,
      profile_fetched_at: new Date(),
    })
    .where('id', '=', id)
    .execute();
}

export async function findContact(db: AnyConn, id: number) {
  return db.selectFrom('contacts').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findChatIdOfContact(db: AnyConn, contactId: number) {
  return db.selectFrom('chats').select('id').where('contact_id', '=', contactId).executeTakeFirst();
}

/** Whom a chat talks to: its channel and the contact's platform id (history import). */
export async function findChatContact(db: AnyConn, chatId: number) {
  return chatWithContact(db, chatId).select(['chats.channel_id', 'contacts.external_id']).executeTakeFirst();
}

export async function findMessageByExternalId(db: AnyConn, channelId: number, externalId: string) {
  return db.selectFrom('messages').selectAll().where('channel_id', '=', channelId).where('external_id', '=', externalId).executeTakeFirst();
}

export async function setMessageReactions(db: AnyConn, id: number, reactions: Record<string, string>) {
  await db
    .updateTable('messages')
    .set({ reactions: JSON.stringify(reactions) })
    .where('id', '=', id)
    .execute();
}

export async function markMessageDeleted(db: AnyConn, id: number, at: Date) {
  await db.updateTable('messages').set({ deleted_at: at }).where('id', '=', id).execute();
}

/**
 * The list's preview follows its last message: an edit shows the new text, an unsent message
 * no longer shows what was removed. Returns whether the message was the chat's last one (the
 * list item then needs a re-render).
 */
export async function setPreviewIfLast(db: AnyConn, chatId: number, messageId: number, preview: { kind: string; text: string | null }): Promise<boolean> {
  const r = await db.updateTable('chats').set({ preview_kind: preview.kind, preview_text: preview.text }).where('id', '=', chatId).where('last_message_id', '=', messageId).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** An attachment with its message, whatever the channel (the media download job). */
export async function findAttachmentToDownload(db: AnyConn, attachmentId: number) {
  return db
    .selectFrom('attachments')
    .innerJoin('messages', 'messages.id', 'attachments.message_id')
    .select(['attachments.id', 'attachments.status', 'attachments.source_url', 'attachments.mime', 'attachments.file_name', 'messages.chat_id', 'messages.id as message_id', 'messages.channel_id'])
    .where('attachments.id', '=', attachmentId)
    .executeTakeFirst();
}

export type DownloadOutcome = { status: 'stored'; key: string; size: number; mime: string | null; fileName: string | null; durationMs?: number | null } | { status: 'failed'; reason: string };

/** Records how a download ended: stored (the platform URL is dropped) or failed with why. */
export async function recordAttachmentDownload(db: AnyConn, attachmentId: number, outcome: DownloadOutcome) {
  await db
    .updateTable('attachments')
    .set(
      outcome.status === 'stored'
        ? { status: 'stored', storage_key: outcome.key, size_bytes: outcome.size, mime: outcome.mime, file_name: outcome.fileName, source_url: null, duration_ms: outcome.durationMs ?? null }
        : { status: 'failed', status_reason: outcome.reason },
    )
    .where('id', '=', attachmentId)
    .execute();
}
