import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../../db/database.ts';
import { COMMITS_TRANSACTION } from '../../db/prepared-client.ts';
import type { Audience } from '../../db/schema.ts';
import type { Tx } from '../tx.ts';

export interface LiveEventInput {
  audience: Audience;
  employeeId?: number | null;
  channelId?: number | null;
  /** SSE event name: `ui` carries out-of-band HTML swaps; others are signals. */
  name: string;
  html?: string;
  data?: unknown;
  /** Only viewers whose pages are in this language receive it (HTML rendered per language). */
  locale?: string | null;
}

export interface LiveEventRow {
  id: number;
  audience: Audience;
  employee_id: number | null;
  channel_id: number | null;
  name: string;
  html: string;
  data: unknown;
  locale: string | null;
}

const LIVE_EVENT_LOCK = 0x7061726c; // 'parl'

/** `Tx.scratch` key of a `LiveChange`: the unit of work is that one statement. */
export const LIVE_CHANGE = 'live:change';

/**
 * A data change written in the same statement as its live events (a one-statement unit of
 * work, autocommitted): the advisory lock is then taken and released inside the server, with
 * no round trip to the client in between. `ctes` are data-modifying CTEs (`name as (...)`,
 * comma-separated); the events are written only when the `gate` CTE returns a row (the change
 * applied); `select` reads the change's result from the CTEs, a row at least whenever the gate
 * has one. Filled in: `rows`.
 */
export interface LiveChange<R> {
  db: Db;
  ctes: RawBuilder<unknown>;
  gate: string;
  select: RawBuilder<R>;
  rows?: R[];
}

/** Runs a `LiveChange` that recorded no event: the change alone. */
export async function runLiveChange<R>(change: LiveChange<R>): Promise<R[]> {
  const r = await sql<R>`with ${change.ctes} ${change.select}`.execute(change.db);
  change.rows = r.rows;
  return r.rows;
}

/**
 * Inserts a transaction's events, as its last statement. Under PostgreSQL a transaction-scoped
 * advisory lock makes event-writing transactions commit in id order, so "every id below N is
 * committed or never will be" holds whenever N is visible. The SSE catch-up and Last-Event-ID
 * replay rely on that to be gap-free (R7).
 *
 * The lock and the insert are one statement (the lock is joined in, so it is taken before any
 * id is drawn), sent together with the COMMIT (`COMMITS_TRANSACTION`): the lock is held while
 * the server inserts and commits, never while this process is busy elsewhere. Nothing may run
 * in the transaction after it (the client refuses). The events
 * go in as arrays (one SQL text whatever their number, so one prepared statement), in order.
 */
export async function insertLiveEvents(tx: Tx, events: LiveEventInput[]): Promise<LiveEventRow[]> {
  if (events.length === 0) return [];
  const rows = events.map((e) => ({
    audience: e.audience,
    employee_id: e.employeeId ?? null,
    channel_id: e.channelId ?? null,
    name: e.name,
    html: e.html ?? '',
    data: e.data === undefined ? null : e.data,
    locale: e.locale ?? null,
  }));
  const change = tx.scratch.get(LIVE_CHANGE) as LiveChange<Record<string, unknown>> | undefined;
  const insert = (gate: RawBuilder<unknown>, lead = sql``) => sql`${lead}
    insert into live_events (audience, employee_id, channel_id, name, html, data, locale)
    select v.audience, v.employee_id, v.channel_id, v.name, v.html, v.data, v.locale
    from unnest(${rows.map((x) => x.audience)}::text[], ${rows.map((x) => x.employee_id)}::int[], ${rows.map((x) => x.channel_id)}::int[],
                ${rows.map((x) => x.name)}::text[], ${rows.map((x) => x.html)}::text[],
                ${rows.map((x) => (x.data === null ? null : JSON.stringify(x.data)))}::jsonb[], ${rows.map((x) => x.locale)}::text[])
         with ordinality as v(audience, employee_id, channel_id, name, html, data, locale, ord)
    cross join (select pg_advisory_xact_lock(${LIVE_EVENT_LOCK})) as l
    ${gate}
    order by v.ord
    returning id`;
  let ids: number[];
  if (change) {
    const r = await sql<Record<string, unknown> & { live_event_ids: number[] | null }>`
      with ${change.ctes}, ev as (${insert(sql`where exists (select 1 from ${sql.table(change.gate)})`)})
      select s.*, (select array_agg(id) from ev) as live_event_ids from (${change.select}) as s`.execute(change.db);
    change.rows = r.rows.map(({ live_event_ids: _, ...row }) => row);
    ids = (r.rows[0]?.live_event_ids ?? []).map(Number);
    if (ids.length === 0) return [];
  } else {
    // The transaction's last statement, sent with its COMMIT: the lock is held for the insert
    // and the commit inside the server, never across a round trip back to this process.
    ids = (await insert(sql``, sql.raw(COMMITS_TRANSACTION)).execute(tx.db)).rows.map((x) => Number((x as { id: number }).id));
  }
  // Ids are drawn in the order the rows are inserted (v.ord): sorted, they match the events.
  ids.sort((a, b) => a - b);
  return rows.map((x, i) => ({ id: ids[i]!, ...x }));
}

export async function latestLiveEventId(db: Db): Promise<number> {
  const r = await db
    .selectFrom('live_events')
    .select((eb) => eb.fn.max('id').as('max'))
    .executeTakeFirst();
  return Number(r?.max ?? 0);
}

export async function oldestLiveEventId(db: Db): Promise<number | null> {
  const r = await db
    .selectFrom('live_events')
    .select((eb) => eb.fn.min('id').as('min'))
    .executeTakeFirst();
  return r?.min == null ? null : Number(r.min);
}

export async function listLiveEventsAfter(db: Db, afterId: number, limit: number, upToId?: number): Promise<LiveEventRow[]> {
  let q = db.selectFrom('live_events').select(['id', 'audience', 'employee_id', 'channel_id', 'name', 'html', 'data', 'locale']).where('id', '>', afterId).orderBy('id').limit(limit);
  if (upToId !== undefined) q = q.where('id', '<=', upToId);
  return q.execute();
}

export async function pruneLiveEvents(db: Db, olderThan: Date): Promise<number> {
  const r = await db.deleteFrom('live_events').where('created_at', '<', olderThan).executeTakeFirst();
  return Number(r.numDeletedRows ?? 0);
}

/**
 * Of these sessions (`sessions.id_hash`), those that still hold: not ended (logout, password
 * change, disabling delete the row), not past their absolute expiry, used since `idleCutoff`
 * (an open stream is not use), their employee not disabled. The live hub closes the streams of
 * the others (S11: a stream ends with its session). One statement whatever the number.
 */
export async function liveSessionHashes(db: Db, hashes: string[], now: Date, idleCutoff: Date): Promise<Set<string>> {
  if (hashes.length === 0) return new Set();
  const r = await sql<{ id_hash: string }>`
    select s.id_hash from sessions s join employees e on e.id = s.employee_id
    where s.id_hash = any(${hashes}::text[]) and s.expires_at > ${now} and s.last_seen_at >= ${idleCutoff} and e.disabled_at is null`.execute(db);
  return new Set(r.rows.map((x) => x.id_hash));
}
