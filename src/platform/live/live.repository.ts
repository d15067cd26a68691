import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
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

/**
 * Inserts a transaction's events, as its last statement. Under PostgreSQL a transaction-scoped
 * advisory lock taken just before the insert makes event-writing transactions commit in id
 * order, so "every id below N is committed or never will be" holds whenever N is visible. The
 * SSE catch-up and Last-Event-ID replay rely on that to be gap-free (R7). Because this runs
 * last (Tx.beforeCommit), the lock is held only for this insert and the commit.
 */
export async function insertLiveEvents(tx: Tx, events: LiveEventInput[]): Promise<LiveEventRow[]> {
  if (events.length === 0) return [];
  await sql`select pg_advisory_xact_lock(${LIVE_EVENT_LOCK})`.execute(tx.db);
  return tx.db
    .insertInto('live_events')
    .values(
      events.map((e) => ({
        audience: e.audience,
        employee_id: e.employeeId ?? null,
        channel_id: e.channelId ?? null,
        name: e.name,
        html: e.html ?? '',
        data: e.data === undefined ? null : JSON.stringify(e.data),
        locale: e.locale ?? null,
      })),
    )
    .returning(['id', 'audience', 'employee_id', 'channel_id', 'name', 'html', 'data', 'locale'])
    .execute()
    .then((rows) => rows.sort((a, b) => a.id - b.id));
}

export async function latestLiveEventId(db: Db): Promise<number> {
  const r = await db.selectFrom('live_events').select((eb) => eb.fn.max('id').as('max')).executeTakeFirst();
  return Number(r?.max ?? 0);
}

export async function oldestLiveEventId(db: Db): Promise<number | null> {
  const r = await db.selectFrom('live_events').select((eb) => eb.fn.min('id').as('min')).executeTakeFirst();
  return r?.min == null ? null : Number(r.min);
}

export async function listLiveEventsAfter(db: Db, afterId: number, limit: number, upToId?: number): Promise<LiveEventRow[]> {
  let q = db
    .selectFrom('live_events')
    .select(['id', 'audience', 'employee_id', 'channel_id', 'name', 'html', 'data', 'locale'])
    .where('id', '>', afterId)
    .orderBy('id')
    .limit(limit);
  if (upToId !== undefined) q = q.where('id', '<=', upToId);
  return q.execute();
}

export async function pruneLiveEvents(db: Db, olderThan: Date): Promise<number> {
  const r = await db.deleteFrom('live_events').where('created_at', '<', olderThan).executeTakeFirst();
  return Number(r.numDeletedRows ?? 0);
}
