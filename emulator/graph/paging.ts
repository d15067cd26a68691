// Cursor paging as Graph does it: `paging.cursors.{before,after}` plus `next`/`previous` URLs.
// Cursors are opaque base64 strings (time-based paging is not available, §2.10).

export interface Page<T> {
  data: T[];
  paging?: { cursors: { before: string; after: string }; next?: string; previous?: string };
}

const encode = (n: number): string => Buffer.from(`cursor:${n}`).toString('base64url');

function decode(cursor: string | undefined): number | undefined {
  if (!cursor) return undefined;
  const match = /^cursor:(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return match ? Number(match[1]) : undefined;
}

/**
 * @param selfUrl URL of this request without paging params; `next`/`previous` are built from it.
 */
export function paginate<T, R>(items: T[], query: Record<string, string>, defaultLimit: number, selfUrl: string, map: (item: T, index: number) => R): Page<R> {
  const limit = Math.max(1, Math.min(Number(query.limit) || defaultLimit, 500));
  const after = decode(query.after);
  const before = decode(query.before);
  let start = after !== undefined ? after + 1 : 0;
  if (before !== undefined) start = Math.max(0, before - limit);
  const end = Math.min(items.length, before !== undefined ? before : start + limit);
  const slice = items.slice(start, end);
  const data = slice.map((item, i) => map(item, start + i));
  if (!data.length) return { data };
  const link = (key: 'after' | 'before', value: string): string => {
    const url = new URL(selfUrl);
    url.searchParams.delete('after');
    url.searchParams.delete('before');
    url.searchParams.set('limit', String(limit));
    url.searchParams.set(key, value);
    return url.toString();
  };
  const page: Page<R> = { data, paging: { cursors: { before: encode(start), after: encode(end - 1) } } };
  if (end < items.length && page.paging) page.paging.next = link('after', encode(end - 1));
  if (start > 0 && page.paging) page.paging.previous = link('before', encode(start));
  return page;
}
