import { jsonArrayFrom } from 'kysely/helpers/postgres';
import { sql, type Expression } from 'kysely';
import type { Conn } from '../db/database.ts';
import type { MessageDirection, MessageStatus } from '../db/schema.ts';
import { queryTemplate } from '../db/query-template.ts';

// Contacts and chats

export function chatWithContact(db: Conn, chatId: number) {
  return db.selectFrom('chats').innerJoin('contacts', 'contacts.id', 'chats.contact_id').where('chats.id', '=', chatId);
}

/** As `findChatContact`, with the channel's state (chat-target.ts `loadChatTarget`). */
export async function findChatTarget(db: Conn, chatId: number) {
  return chatWithContact(db, chatId).innerJoin('channels', 'channels.id', 'chats.channel_id').select(['chats.channel_id', 'contacts.external_id', 'channels.state']).executeTakeFirst();
}

// Messages

export interface NewMessage {
  chatId: number;
  channelId: number;
  direction: MessageDirection;
  kind: string;
  text: string | null;
  externalId: string | null;
  senderEmployeeId?: number | null;
  status: MessageStatus;
  idempotencyKey?: string | null;
  sortAt: Date;
  sentAt?: Date | null;
  replyToMessageId?: number | null;
  meta?: Record<string, unknown>;
}

/** Inserts unless the platform id (or idempotency key) is already there: then returns null. */
export async function insertMessage(db: Conn, m: NewMessage): Promise<{ id: number } | null> {
  const r = await db
    .insertInto('messages')
    .values({
      chat_id: m.chatId,
      channel_id: m.channelId,
      direction: m.direction,
      kind: m.kind,
      text: m.text,
      external_id: m.externalId,
      sender_employee_id: m.senderEmployeeId ?? null,
      status: m.status,
      idempotency_key: m.idempotencyKey ?? null,
      sort_at: m.sortAt,
      sent_at: m.sentAt ?? null,
      reply_to_message_id: m.replyToMessageId ?? null,
      meta: JSON.stringify(m.meta ?? {}),
    })
    .onConflict((oc) => oc.doNothing())
    .returning('id')
    .executeTakeFirst();
  return r ?? null;
}

export async function findMessageByIdempotencyKey(db: Conn, chatId: number, key: string) {
  return db.selectFrom('messages').select(['id']).where('chat_id', '=', chatId).where('idempotency_key', '=', key).executeTakeFirst();
}

export async function findMessage(db: Conn, id: number) {
  return db.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function insertAttachment(
  db: Conn,
  a: {
    messageId: number;
    kind: string;
    mime?: string | null;
    sizeBytes?: number | null;
    fileName?: string | null;
    sourceUrl?: string | null;
    storageKey?: string | null;
    status?: 'pending' | 'stored' | 'failed';
    durationMs?: number | null;
  },
): Promise<number> {
  const r = await db
    .insertInto('attachments')
    .values({
      message_id: a.messageId,
      kind: a.kind,
      mime: a.mime ?? null,
      size_bytes: a.sizeBytes ?? null,
      file_name: a.fileName ?? null,
      source_url: a.sourceUrl ?? null,
      storage_key: a.storageKey ?? null,
      status: a.status ?? 'pending',
      duration_ms: a.durationMs ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return r.id;
}

export async function updateMessageStatus(
  db: Conn,
  id: number,
  s: { status: MessageStatus; reason?: string | null; externalId?: string; sentAt?: Date; deliveredAt?: Date; readAt?: Date; attemptsInc?: boolean },
) {
  return db
    .updateTable('messages')
    .set((eb) => ({
      status: s.status,
      status_reason: s.reason ?? null,
      ...(s.externalId !== undefined ? { external_id: s.externalId } : {}),
      ...(s.sentAt ? { sent_at: s.sentAt } : {}),
      ...(s.deliveredAt ? { delivered_at: s.deliveredAt } : {}),
      ...(s.readAt ? { read_at: s.readAt } : {}),
      ...(s.attemptsInc ? { attempts: eb('attempts', '+', 1) } : {}),
    }))
    .where('id', '=', id)
    .returning(['id', 'chat_id', 'status'])
    .executeTakeFirst();
}

/** Replaces the text shown; `meta` keeps the earlier texts (its `edits`). */
export async function setMessageText(db: Conn, id: number, text: string, meta: Record<string, unknown>) {
  await db
    .updateTable('messages')
    .set({ text, meta: JSON.stringify(meta) })
    .where('id', '=', id)
    .execute();
}

/** Sets some keys of a message's meta, leaving the others as they are now (no read-modify-write). */
export async function mergeMessageMeta(db: Conn, id: number, patch: Record<string, unknown>) {
  await db
    .updateTable('messages')
    .set({ meta: sql`meta || ${JSON.stringify(patch)}::jsonb` })
    .where('id', '=', id)
    .execute();
}

/**
 * Applies a new message to its chat's maintained state in one statement: preview and order
 * only move forward in platform time (an old message imported late does not become the
 * preview), unread counts inbound messages, and inbound (or an employee's send) reopens.
 */
export async function touchChat(
  db: Conn,
  chatId: number,
  m: { id: number; direction: 'in' | 'out'; sortAt: Date; previewKind: string; previewText: string | null; countUnread: boolean; reopen: boolean; markRead: boolean },
) {
  const newer = sql<boolean>`${m.sortAt}::timestamptz >= chats.last_message_at or chats.last_message_id is null`;
  await db
    .updateTable('chats')
    .set({
      last_message_id: sql`case when ${newer} then ${m.id}::bigint else chats.last_message_id end`,
      last_direction: sql`case when ${newer} then ${m.direction} else chats.last_direction end`,
      preview_kind: sql`case when ${newer} then ${m.previewKind} else chats.preview_kind end`,
      preview_text: sql`case when ${newer} then ${m.previewText}::text else chats.preview_text end`,
      last_message_at: sql`greatest(chats.last_message_at, ${m.sortAt}::timestamptz)`,
      last_inbound_at: m.direction === 'in' ? sql`greatest(coalesce(chats.last_inbound_at, ${m.sortAt}::timestamptz), ${m.sortAt}::timestamptz)` : sql`chats.last_inbound_at`,
      unread_count: m.markRead ? sql`0` : m.countUnread ? sql`chats.unread_count + 1` : sql`chats.unread_count`,
      ...(m.reopen ? { status: 'open' as const, archived_at: null, archived_by: null } : {}),
    })
    .where('id', '=', chatId)
    .execute();
  return recomputeIndicator(db, chatId);
}

/** indicator: blue while something is unread; grey while the lead has the last word. */
export async function recomputeIndicator(db: Conn, chatId: number) {
  return db
    .updateTable('chats')
    .set({
      indicator: sql`case when chats.unread_count > 0 then 'unread' when chats.last_direction = 'in' then 'unanswered' else 'none' end`,
    })
    .where('id', '=', chatId)
    .returning(['id', 'channel_id', 'status', 'indicator'])
    .executeTakeFirstOrThrow();
}

/** Marks everything read for the team; returns the chat only when something was unread. */
export async function markChatRead(db: Conn, chatId: number) {
  const r = await db
    .updateTable('chats')
    .set({ unread_count: 0, read_up_to_message_id: sql`chats.last_message_id` })
    .where('id', '=', chatId)
    .where('unread_count', '>', 0)
    .returning('id')
    .executeTakeFirst();
  if (!r) return null;
  return recomputeIndicator(db, chatId);
}

export async function findChatLastMessageId(db: Conn, chatId: number) {
  return db.selectFrom('chats').select(['last_message_id']).where('id', '=', chatId).executeTakeFirst();
}

/** The chat's newest inbound messages (those marking it read re-renders). */
export async function latestInboundMessageIds(db: Conn, chatId: number, limit: number) {
  return db.selectFrom('messages').select('id').where('chat_id', '=', chatId).where('direction', '=', 'in').orderBy('id', 'desc').limit(limit).execute();
}

export async function setChatArchived(db: Conn, chatId: number, employeeId: number | null, archived: boolean) {
  return db
    .updateTable('chats')
    .set(archived ? { status: 'archived', archived_at: new Date(), archived_by: employeeId } : { status: 'open', archived_at: null, archived_by: null })
    .where('id', '=', chatId)
    .where('status', '=', archived ? 'open' : 'archived')
    .returning(['id', 'channel_id'])
    .executeTakeFirst();
}

// Reading (always scoped to the channels the employee may see)

/** What a list item shows (`toChatListItem`): a page reads 31 of these. */
export const listColumns = [
  'chats.id',
  'chats.channel_id',
  'chats.contact_id',
  'chats.status',
  'chats.indicator',
  'chats.last_message_at',
  'chats.preview_kind',
  'chats.preview_text',
  'contacts.name as contact_name',
  'contacts.username as contact_username',
  'contacts.avatar_key as contact_avatar_key',
  'contacts.profile_hidden as contact_hidden',
  'channels.kind as channel_kind',
  'channels.name as channel_name',
  'chats.assignee_id',
  'assignee.name as assignee_name',
] as const;

const chatColumns = [
  ...listColumns,
  'chats.client_id',
  'chats.archived_at',
  'chats.archived_by',
  'chats.last_direction',
  'chats.last_inbound_at',
  'chats.unread_count',
  'chats.lead_read_watermark',
  'chats.read_up_to_message_id',
  'contacts.external_id as contact_external_id',
  'contacts.phone as contact_phone',
  'channels.settings as channel_settings',
] as const;

/** Chats with their contact, channel and archiver: the shape `toChatView` takes. */
export function chatsQuery(db: Conn) {
  return db
    .selectFrom('chats')
    .innerJoin('contacts', 'contacts.id', 'chats.contact_id')
    .innerJoin('channels', 'channels.id', 'chats.channel_id')
    .leftJoin('employees as assignee', 'assignee.id', 'chats.assignee_id')
    .leftJoin('employees as archiver', 'archiver.id', 'chats.archived_by')
    .select([...chatColumns, 'archiver.name as archived_by_name', threadVersionOf(sql.ref('chats.id')).as('thread_version')]);
}

/** The version of what a chat's thread shows (migrations/0005): 0 before its first message. */
export function threadVersionOf(chatId: unknown) {
  return sql<number>`coalesce((select tv.version from thread_versions tv where tv.chat_id = ${chatId}), 0)`;
}

export type ChatRow = Awaited<ReturnType<typeof findChatIn>> & {};

export async function findChatIn(db: Conn, chatId: number, channelIds: readonly number[]) {
  if (channelIds.length === 0) return undefined;
  return chatInTemplate.executeTakeFirst(db, { chatId, channelIds });
}

/** The chat a page opens: built once (src/db/query-template.ts). */
const chatInTemplate = queryTemplate((db, p: { chatId: number; channelIds: readonly number[] }) => chatsQuery(db).where('chats.id', '=', p.chatId).where(inChannels(p.channelIds)));

/** `chats.channel_id` is one of `channelIds`: one array value, so one statement text for any count. */
export function inChannels(channelIds: readonly number[] | Expression<number[]>) {
  return sql<boolean>`chats.channel_id = any(${channelIds}::int[])`;
}

/** For live rendering after a change: the chat regardless of viewer (audience filters later). */
export async function findChatAny(db: Conn, chatId: number) {
  return chatsQuery(db).where('chats.id', '=', chatId).executeTakeFirst();
}

/** Message text is searched from this many characters (trigram indexes need three). */
export const MIN_TEXT_SEARCH = 3;

/** A message's attachments, oldest first, as a JSON array column (what a message view shows). */
export function attachmentsColumn(db: Conn, messageIdColumn: string) {
  return jsonArrayFrom(
    db
      .selectFrom('attachments as a')
      .select(['a.id', 'a.kind', 'a.mime', 'a.file_name', 'a.size_bytes', 'a.status', 'a.storage_key', 'a.duration_ms', 'a.transcription'])
      .where('a.message_id', '=', sql.ref<number>(messageIdColumn))
      .orderBy('a.id'),
  );
}
