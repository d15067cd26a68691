import type { Transaction } from 'kysely';
import type { Conn } from '../db/database.ts';
import type { DB } from '../db/schema.ts';

/**
 * Runs `work` atomically: inside the caller's transaction when `db` already is one (another
 * feature creating a client or an order as part of its own unit of work), else in a new one.
 */
export async function atomically<T>(db: Conn, work: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
  if (db.isTransaction) return work(db as Transaction<DB>);
  return db.transaction().execute(work);
}

/** `%text%` for LIKE/ILIKE with the user's own `%`, `_` and `\` taken literally. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
}

export const PAGE_SIZE = 25;
const MAX_PAGE = 10_000;
const MAX_QUERY = 100;

export interface ListQuery {
  q: string;
  page: number;
  limit: number;
  offset: number;
}

/** `?q=&page=` from a list URL, bounded. */
export function parseListQuery(query: unknown, pageSize = PAGE_SIZE): ListQuery {
  const src = (query ?? {}) as Record<string, unknown>;
  const q = typeof src.q === 'string' ? src.q.trim().slice(0, MAX_QUERY) : '';
  const n = typeof src.page === 'string' ? Number(src.page) : 1;
  const page = Number.isSafeInteger(n) && n >= 1 ? Math.min(n, MAX_PAGE) : 1;
  return { q, page, limit: pageSize, offset: (page - 1) * pageSize };
}

export interface Pager {
  page: number;
  prevUrl: string | null;
  nextUrl: string | null;
}

/** Previous/Next links for a list fetched with `limit + 1` rows (the extra row means "more"). */
export function pagerFor(path: string, lq: ListQuery, fetched: number): Pager {
  const url = (page: number) => {
    const params = new URLSearchParams();
    if (lq.q) params.set('q', lq.q);
    if (page > 1) params.set('page', String(page));
    const s = params.toString();
    return s ? `${path}?${s}` : path;
  };
  return {
    page: lq.page,
    prevUrl: lq.page > 1 ? url(lq.page - 1) : null,
    nextUrl: fetched > lq.limit ? url(lq.page + 1) : null,
  };
}

/** A real calendar date written as YYYY-MM-DD (what `<input type=date>` sends). */
export function isIsoDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const dt = new Date(Date.UTC(y, mo - 1, d));
  return y >= 1900 && y <= 2999 && dt.getUTCMonth() === mo - 1 && dt.getUTCDate() === d;
}

/** Today's date in the server's time zone, as YYYY-MM-DD. */
export function todayIso(now: Date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}`;
}
