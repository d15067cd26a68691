import { jsonArrayFrom } from 'kysely/helpers/postgres';
import { sql, type Expression } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Tx } from '../platform/tx.ts';
import type { MessageDirection, MessageStatus } from '../db/schema.ts';
import { queryTemplate } from '../db/query-template.ts';

type Conn = Db | Tx['db'];

/** Escapes LIKE wildcards so a search for "50%" means the text "50%". */
export function likePattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
}

// Contacts and chats

export async function updateContactProfile(
  db: Conn,
  id: number,
  p: { name?: string | null; username?: string | null; avatarUrl?: string | null; avatarKey?: string | null; hidden: boolean },
) {
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

export async function findContact(db: Conn, id: number) {
  return db.selectFrom('contacts').selectAll().where('id', '=', id).executeTakeFirst();
}

/** A contact's stored avatar, only if its channel is visible to the employee (avatar route). */
export async function findContactAvatarIn(db: Conn, contactId: number, channelIds: readonly number[]) {
  return db.selectFrom('contacts').select(['avatar_key']).where('id', '=', contactId).where('channel_id', 'in', channelIds).executeTakeFirst();
}

export async function findChatIdOfContact(db: Conn, contactId: number) {
  return db.selectFrom('chats').select('id').where('contact_id', '=', contactId).executeTakeFirst();
}

function chatWithContact(db: Conn, chatId: number) {
  return db.selectFrom('chats').innerJoin('contacts', 'contacts.id', 'chats.contact_id').where('chats.id', '=', chatId);
}

/** Whom a chat talks to: its channel and the contact's platform id (history import). */
export async function findChatContact(db: Conn, chatId: number) {
  return chatWithContact(db, chatId).select(['chats.channel_id', 'contacts.external_id']).executeTakeFirst();
}

/** As `findChatContact`, with the channel's state (chat-target.ts `loadChatTarget`). */
export async function findChatTarget(db: Conn, chatId: number) {
  return chatWithContact(db, chatId)
    .innerJoin('channels', 'channels.id', 'chats.channel_id')
    .select(['chats.channel_id', 'contacts.external_id', 'channels.state'])
    .executeTakeFirst();
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

export async function findMessageByIdempotencyKey(db: Conn, chatId: number, key: string) {
  return db.selectFrom('messages').select(['id']).where('chat_id', '=', chatId).where('idempotency_key', '=', key).executeTakeFirst();
}

export async function findMessageByExternalId(db: Conn, channelId: number, externalId: string) {
  return db.selectFrom('messages').selectAll().where('channel_id', '=', channelId).where('external_id', '=', externalId).executeTakeFirst();
}

export async function findMessage(db: Conn, id: number) {
  return db.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function insertAttachment(
  db: Conn,
  a: { messageId: number; kind: string; mime?: string | null; sizeBytes?: number | null; fileName?: string | null; sourceUrl?: string | null; storageKey?: string | null; status?: 'pending' | 'stored' | 'failed'; durationMs?: number | null },
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

export async function setMessageReactions(db: Conn, id: number, reactions: Record<string, string>) {
  await db.updateTable('messages').set({ reactions: JSON.stringify(reactions) }).where('id', '=', id).execute();
}

/** Replaces the text shown; `meta` keeps the earlier texts (its `edits`). */
export async function setMessageText(db: Conn, id: number, text: string, meta: Record<string, unknown>) {
  await db.updateTable('messages').set({ text, meta: JSON.stringify(meta) }).where('id', '=', id).execute();
}

/** Sets some keys of a message's meta, leaving the others as they are now (no read-modify-write). */
export async function mergeMessageMeta(db: Conn, id: number, patch: Record<string, unknown>) {
  await db.updateTable('messages').set({ meta: sql`meta || ${JSON.stringify(patch)}::jsonb` }).where('id', '=', id).execute();
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

export async function markMessageDeleted(db: Conn, id: number, at: Date) {
  await db.updateTable('messages').set({ deleted_at: at }).where('id', '=', id).execute();
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
      last_inbound_at:
        m.direction === 'in' ? sql`greatest(coalesce(chats.last_inbound_at, ${m.sortAt}::timestamptz), ${m.sortAt}::timestamptz)` : sql`chats.last_inbound_at`,
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
const listColumns = [
  'chats.id', 'chats.channel_id', 'chats.contact_id', 'chats.status', 'chats.indicator', 'chats.last_message_at',
  'chats.preview_kind', 'chats.preview_text',
  'contacts.name as contact_name', 'contacts.username as contact_username', 'contacts.avatar_key as contact_avatar_key',
  'contacts.profile_hidden as contact_hidden', 'channels.kind as channel_kind', 'channels.name as channel_name',
  'chats.assignee_id', 'assignee.name as assignee_name',
] as const;

const chatColumns = [
  ...listColumns,
  'chats.client_id', 'chats.archived_at', 'chats.archived_by', 'chats.last_direction', 'chats.last_inbound_at',
  'chats.unread_count', 'chats.lead_read_watermark', 'chats.read_up_to_message_id',
  'contacts.external_id as contact_external_id', 'contacts.phone as contact_phone', 'channels.settings as channel_settings',
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
function threadVersionOf(chatId: unknown) {
  return sql<number>`coalesce((select tv.version from thread_versions tv where tv.chat_id = ${chatId}), 0)`;
}

export type ChatRow = Awaited<ReturnType<typeof findChatIn>> & {};

/**
 * The list's preview follows its last message: an edit shows the new text, an unsent message
 * no longer shows what was removed. Returns whether the message was the chat's last one (the
 * list item then needs a re-render).
 */
export async function setPreviewIfLast(db: Conn, chatId: number, messageId: number, preview: { kind: string; text: string | null }): Promise<boolean> {
  const r = await db
    .updateTable('chats')
    .set({ preview_kind: preview.kind, preview_text: preview.text })
    .where('id', '=', chatId)
    .where('last_message_id', '=', messageId)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function findChatIn(db: Conn, chatId: number, channelIds: readonly number[]) {
  if (channelIds.length === 0) return undefined;
  return chatInTemplate.executeTakeFirst(db, { chatId, channelIds });
}

/** The chat a page opens: built once (src/db/query-template.ts). */
const chatInTemplate = queryTemplate((db, p: { chatId: number; channelIds: readonly number[] }) =>
  chatsQuery(db).where('chats.id', '=', p.chatId).where(inChannels(p.channelIds)),
);

/** `chats.channel_id` is one of `channelIds`: one array value, so one statement text for any count. */
function inChannels(channelIds: readonly number[] | Expression<number[]>) {
  return sql<boolean>`chats.channel_id = any(${channelIds}::int[])`;
}

/** For live rendering after a change: the chat regardless of viewer (audience filters later). */
export async function findChatAny(db: Conn, chatId: number) {
  return chatsQuery(db).where('chats.id', '=', chatId).executeTakeFirst();
}

/**
 * The list's assignment filter (#16): every chat, the employee's own, or nobody's. The filter
 * only narrows what the employee may see anyway (the channels stay the condition).
 */
export type ListFilter = 'all' | 'mine' | 'unassigned';
export const LIST_FILTERS: readonly ListFilter[] = ['all', 'mine', 'unassigned'];

export interface ListChatsOptions {
  status: 'open' | 'archived';
  filter?: ListFilter;
  /** The employee whose chats *Mine* shows. */
  me?: number;
  q?: string;
  /** Keyset cursor: the last item of the previous page. */
  after?: { at: Date; id: number };
  limit: number;
}

/** Message text is searched from this many characters (trigram indexes need three). */
export const MIN_TEXT_SEARCH = 3;

/**
 * The letters and digits of a search term (any script): what a trigram index can use. `%%%`
 * has none, so it cannot narrow anything down and would read every message (#21).
 */
export function realCharacters(term: string): number {
  return term.match(/[\p{L}\p{N}]/gu)?.length ?? 0;
}

/** Cancels the transaction's following statements after `ms` (PostgreSQL; PGlite ignores it). */
export async function limitStatementTime(db: Conn, ms: number): Promise<void> {
  await sql`select set_config('statement_timeout', ${String(ms)}, true)`.execute(db);
}

export async function listChats(db: Conn, channelIds: readonly number[], o: ListChatsOptions) {
  if (channelIds.length === 0) return [];
  const term = o.q?.trim();
  // The list without a search (every Chats page) is built once per shape.
  if (!term) {
    const filter = o.filter ?? 'all';
    const values = { channelIds, status: o.status, limit: o.limit, me: o.me ?? 0 };
    return o.after
      ? listAfterTemplate[filter].execute(db, { ...values, afterAt: o.after.at, afterId: o.after.id })
      : listTemplate[filter].execute(db, values);
  }
  // Only letters and digits narrow a search down: a term without any finds nothing.
  const real = realCharacters(term);
  if (real === 0) return [];
  let q = listQuery(db, { channelIds, status: o.status, filter: o.filter ?? 'all', me: o.me ?? 0 });
  if (o.after) q = q.where(afterCursor(o.after.at, o.after.id));
  const pattern = likePattern(term);
  const digits = term.replace(/\D/g, '');
  // Each condition is a set of ids the trigram indexes (migrations/0003_search.ts) find
  // without reading every row; the list then keeps its order and keyset paging. Message
  // text is searched from three letters or digits (a shorter term would read every message).
  const contactIds = db
    .selectFrom('contacts as sc')
    .select('sc.id')
    .where((eb) =>
      eb.or([
        eb.and([eb('sc.name', 'is not', null), eb('sc.name', 'ilike', pattern)]),
        eb.and([eb('sc.username', 'is not', null), eb('sc.username', 'ilike', likePattern(term.replace(/^@/, '')))]),
        ...(digits.length >= 3 ? [eb('sc.phone_normalized', 'like', likePattern(digits))] : []),
      ]),
    );
  const messageChatIds = db
    .selectFrom('messages as sm')
    .select('sm.chat_id')
    .where('sm.deleted_at', 'is', null)
    .where('sm.text', 'is not', null)
    .where('sm.text', 'ilike', pattern);
  // Transcripts of voice notes are message text too (G1; migrations/0007_transcription.ts).
  const transcriptChatIds = db
    .selectFrom('attachments as ta')
    .innerJoin('messages as tm', 'tm.id', 'ta.message_id')
    .select('tm.chat_id')
    .where('tm.deleted_at', 'is', null)
    .where(sql<boolean>`ta.transcription->>'text' is not null and ta.transcription->>'text' ilike ${pattern}`);
  q = q.where((eb) =>
    eb.or([
      eb('chats.contact_id', 'in', contactIds),
      ...(real >= MIN_TEXT_SEARCH ? [eb('chats.id', 'in', messageChatIds), eb('chats.id', 'in', transcriptChatIds)] : []),
    ]),
  );
  return listOrder(q, o.limit).execute();
}

/**
 * `channelIds` is a value, or the session statement's column of them (a prefetch); so is `me`.
 * `filter` is not a value: each filter is its own statement (a shape of its own).
 */
type ListShape = {
  channelIds: readonly number[] | Expression<number[]>;
  status: 'open' | 'archived' | Expression<'open' | 'archived'>;
  filter: ListFilter;
  me: number | Expression<number>;
};

function listQuery(db: Conn, p: ListShape) {
  const q = db
    .selectFrom('chats')
    .innerJoin('contacts', 'contacts.id', 'chats.contact_id')
    .innerJoin('channels', 'channels.id', 'chats.channel_id')
    .leftJoin('employees as assignee', 'assignee.id', 'chats.assignee_id')
    .select(listColumns)
    .where('chats.status', '=', p.status)
    .where(inChannels(p.channelIds));
  if (p.filter === 'mine') return q.where(sql<boolean>`chats.assignee_id = ${p.me}::int`);
  if (p.filter === 'unassigned') return q.where('chats.assignee_id', 'is', null);
  return q;
}

/** One template per filter (a filter changes the statement's shape). */
function perFilter<T>(make: (filter: ListFilter) => T): Record<ListFilter, T> {
  return { all: make('all'), mine: make('mine'), unassigned: make('unassigned') };
}

function listOrder<Q extends ReturnType<typeof listQuery>>(q: Q, limit: number | Expression<number>) {
  return q.orderBy('chats.last_message_at', 'desc').orderBy('chats.id', 'desc').limit(limit);
}

/**
 * A row comparison is an index bound on chats_list_idx; the equivalent OR is only a filter (a
 * deep page would read every row above it).
 */
function afterCursor(at: Date, id: number) {
  return sql<boolean>`(chats.last_message_at, chats.id) < (${at}::timestamptz, ${id}::int)`;
}

/**
 * The first page of the list as a digest: md5 over its rows' ids and row versions (`xmin`, the
 * transaction that wrote the row) of the chat, its contact and its channel, in order. Whatever a
 * list item shows lives in those three rows, so equal digests mean equal pages; a change
 * elsewhere in them only costs a render. A web process keeps the page it rendered under its
 * digest (kept-html.ts, which also lets an entry go after a while: transaction ids wrap around
 * after about four billion). Reading the digest costs PostgreSQL less than reading the rows, and
 * Node nothing of parsing and rendering 31 of them.
 */
export async function listDigest(db: Conn, channelIds: readonly number[], o: ListPageOptions): Promise<string> {
  if (channelIds.length === 0) return EMPTY_DIGEST;
  const r = await listDigestTemplate[o.filter].executeTakeFirst(db, { channelIds, status: o.status, limit: o.limit, me: o.me });
  return r?.digest ?? EMPTY_DIGEST;
}

/** The first page of a list: its status, filter (with whose chats *Mine* means) and size. */
export interface ListPageOptions {
  status: 'open' | 'archived';
  filter: ListFilter;
  me: number;
  limit: number;
}

/** The first page of the list, with its digest (read together: one snapshot). */
export async function listChatsWithDigest(db: Conn, channelIds: readonly number[], o: ListPageOptions) {
  if (channelIds.length === 0) return { rows: [], digest: EMPTY_DIGEST };
  const rows = await listWithDigestTemplate[o.filter].execute(db, { channelIds, status: o.status, limit: o.limit, me: o.me });
  return { rows, digest: rows[0]?.list_digest ?? EMPTY_DIGEST };
}

/**
 * A Chats page's reads as columns of the session statement (auth/prefetch.ts): the digest of
 * the list's first page, and the chat a deep link opens as JSON (null when the employee may
 * not see it), both limited to `channels`, the employee's.
 */
export const pagePrefetchColumns = {
  // The status and the page size are written into the statement (the prefetch's key names them):
  // with no parameter but the session's, PostgreSQL settles on one plan instead of planning the
  // statement on every request. An aggregate without GROUP BY gives one row, also for an empty
  // list (EMPTY_DIGEST).
  listDigest: (db: Conn, o: { status: 'open' | 'archived'; filter: ListFilter; limit: number }, who: { channels: Expression<number[]>; employee: Expression<number> }) =>
    sql<string>`(${digestQuery(db, { channelIds: who.channels, status: sql.lit(o.status), filter: o.filter, me: who.employee, limit: sql.lit(o.limit) })})`,
  chat: (db: Conn, chatId: number, channels: Expression<number[]>) =>
    sql<ChatJson | null>`(select to_json(c) from (${chatsQuery(db).where('chats.id', '=', chatId).where(inChannels(channels))}) c)`,
  /** Whether a note mentions the employee in this chat (opening it clears that: notes.service.ts). */
  mentioned: (_db: Conn, chatId: number, employee: Expression<number>) =>
    sql<boolean>`exists (select 1 from chat_mentions cm where cm.employee_id = ${employee} and cm.chat_id = ${chatId}::int)`,
};

/** A chat row as `to_json` gives it: its instants are ISO strings. */
type ChatJson = { [K in keyof ChatRow]: ChatRow[K] extends Date ? string : ChatRow[K] extends Date | null ? string | null : ChatRow[K] };

/** A prefetched chat (`pagePrefetchColumns.chat`) as the row `findChatIn` returns. */
export function chatRowFromJson(j: ChatJson): ChatRow {
  const at = (v: string | null) => (v === null ? null : new Date(v));
  return {
    ...j,
    last_message_at: new Date(j.last_message_at),
    last_inbound_at: at(j.last_inbound_at),
    archived_at: at(j.archived_at),
    lead_read_watermark: at(j.lead_read_watermark),
  };
}

/** The digest of an empty list (no rows: md5 of nothing). */
export const EMPTY_DIGEST = 'd41d8cd98f00b204e9800998ecf8427e';

type ListPage = ListShape & { limit: number | Expression<number> };

/** The row versions a list item depends on (see `listDigest`). */
const rowVersions = [sql<string>`chats.xmin::text`.as('chat_v'), sql<string>`contacts.xmin::text`.as('contact_v'), sql<string>`channels.xmin::text`.as('channel_v')];

/** The list's first page with its rows' versions. */
const versionedList = (db: Conn, p: ListPage) => listOrder(listQuery(db, p).select(rowVersions), p.limit);

/** md5 over the ids and versions of the rows of the list subquery `l`, in the list's order. */
const digestOfL = sql<string>`md5(coalesce(string_agg(concat_ws(':', l.id, l.chat_v, l.contact_v, l.channel_v), ',' order by l.last_message_at desc, l.id desc), ''))`;

const digestQuery = (db: Conn, p: ListPage) => db.selectFrom(versionedList(db, p).as('l')).select(digestOfL.as('digest'));

type ListPageValues = Omit<ListPage, 'filter'>;

/** A template's slots with its filter (`p` is a proxy: spreading it would copy nothing). */
const withFilter = <T extends Omit<ListShape, 'filter'>>(p: T, filter: ListFilter) => ({ channelIds: p.channelIds, status: p.status, me: p.me, filter });

const listDigestTemplate = perFilter((filter) => queryTemplate((db, p: ListPageValues) => digestQuery(db, { ...withFilter(p, filter), limit: p.limit })));

const listWithDigestTemplate = perFilter((filter) => queryTemplate((db, p: ListPageValues) =>
  db
    .with('l', () => versionedList(db, { ...withFilter(p, filter), limit: p.limit }))
    .selectFrom('l')
    .selectAll()
    .select(sql<string>`(select ${digestOfL} from l)`.as('list_digest'))
    .orderBy('l.last_message_at', 'desc')
    .orderBy('l.id', 'desc'),
));

type ListValues = Omit<ListShape, 'filter'> & { limit: number };
const listTemplate = perFilter((filter) => queryTemplate((db, p: ListValues) => listOrder(listQuery(db, withFilter(p, filter)), p.limit)));
const listAfterTemplate = perFilter((filter) =>
  queryTemplate((db, p: ListValues & { afterAt: Date; afterId: number }) => listOrder(listQuery(db, withFilter(p, filter)).where(afterCursor(p.afterAt, p.afterId)), p.limit)),
);

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
      'messages.id', 'messages.direction', 'messages.kind', 'messages.text', 'messages.status', 'messages.status_reason',
      'messages.sort_at', 'messages.read_at', 'messages.deleted_at', 'messages.reactions', 'messages.meta',
      'employees.name as sender_name',
      attachmentsColumn(db, 'messages.id').as('attachments'),
      sql<number | null>`(select c.read_up_to_message_id from chats c where c.id = ${chatId})`.as('chat_read_up_to'),
      // Read in the same snapshot as the rows: the rendered thread is kept under this version.
      threadVersionOf(chatId).as('thread_version'),
      sql<number | null>`(${lastReadOutboundQuery(db, chatId)})`.as('last_read_outbound_id'),
    ])
    .where('messages.chat_id', '=', chatId);
}

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

/** An attachment with its message, whatever the channel (the media download job). */
export async function findAttachmentToDownload(db: Conn, attachmentId: number) {
  return db
    .selectFrom('attachments')
    .innerJoin('messages', 'messages.id', 'attachments.message_id')
    .select(['attachments.id', 'attachments.status', 'attachments.source_url', 'attachments.mime', 'attachments.file_name', 'messages.chat_id', 'messages.id as message_id', 'messages.channel_id'])
    .where('attachments.id', '=', attachmentId)
    .executeTakeFirst();
}

export type DownloadOutcome =
  | { status: 'stored'; key: string; size: number; mime: string | null; fileName: string | null; durationMs?: number | null }
  | { status: 'failed'; reason: string };

/** Records how a download ended: stored (the platform URL is dropped) or failed with why. */
export async function recordAttachmentDownload(db: Conn, attachmentId: number, outcome: DownloadOutcome) {
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

export async function queuedMessagesOlderThan(db: Conn, before: Date, limit: number) {
  return db.selectFrom('messages').select('id').where('status', '=', 'queued').where('created_at', '<', before).orderBy('created_at').limit(limit).execute();
}
