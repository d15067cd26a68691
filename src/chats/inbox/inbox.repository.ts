import { sql, type Expression } from 'kysely';
import type { Conn } from '../../db/database.ts';
import { queryTemplate } from '../../db/query-template.ts';
import { chatsQuery, inChannels, listColumns, MIN_TEXT_SEARCH, type ChatRow } from '../chats.repository.ts';

// The list: one page of chats, its digest, the search (C1–C3, I1–I3)

/** Escapes LIKE wildcards so a search for "50%" means the text "50%". */
export function likePattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
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
    return o.after ? listAfterTemplate[filter].execute(db, { ...values, afterAt: o.after.at, afterId: o.after.id }) : listTemplate[filter].execute(db, values);
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
  const messageChatIds = db.selectFrom('messages as sm').select('sm.chat_id').where('sm.deleted_at', 'is', null).where('sm.text', 'is not', null).where('sm.text', 'ilike', pattern);
  // Transcripts of voice notes are message text too (G1; migrations/0007_transcription.ts).
  const transcriptChatIds = db
    .selectFrom('attachments as ta')
    .innerJoin('messages as tm', 'tm.id', 'ta.message_id')
    .select('tm.chat_id')
    .where('tm.deleted_at', 'is', null)
    .where(sql<boolean>`ta.transcription->>'text' is not null and ta.transcription->>'text' ilike ${pattern}`);
  q = q.where((eb) => eb.or([eb('chats.contact_id', 'in', contactIds), ...(real >= MIN_TEXT_SEARCH ? [eb('chats.id', 'in', messageChatIds), eb('chats.id', 'in', transcriptChatIds)] : [])]));
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
  chat: (db: Conn, chatId: number, channels: Expression<number[]>) => sql<ChatJson | null>`(select to_json(c) from (${chatsQuery(db).where('chats.id', '=', chatId).where(inChannels(channels))}) c)`,
  /** Whether a note mentions the employee in this chat (opening it clears that: notes.service.ts). */
  mentioned: (_db: Conn, chatId: number, employee: Expression<number>) => sql<boolean>`exists (select 1 from chat_mentions cm where cm.employee_id = ${employee} and cm.chat_id = ${chatId}::int)`,
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

const listWithDigestTemplate = perFilter((filter) =>
  queryTemplate((db, p: ListPageValues) =>
    db
      .with('l', () => versionedList(db, { ...withFilter(p, filter), limit: p.limit }))
      .selectFrom('l')
      .selectAll()
      .select(sql<string>`(select ${digestOfL} from l)`.as('list_digest'))
      .orderBy('l.last_message_at', 'desc')
      .orderBy('l.id', 'desc'),
  ),
);

type ListValues = Omit<ListShape, 'filter'> & { limit: number };

const listTemplate = perFilter((filter) => queryTemplate((db, p: ListValues) => listOrder(listQuery(db, withFilter(p, filter)), p.limit)));

const listAfterTemplate = perFilter((filter) =>
  queryTemplate((db, p: ListValues & { afterAt: Date; afterId: number }) => listOrder(listQuery(db, withFilter(p, filter)).where(afterCursor(p.afterAt, p.afterId)), p.limit)),
);
