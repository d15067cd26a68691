import type { Expression } from 'kysely';
import type { Db } from '../db/database.ts';

/**
 * What a page's handler reads first, fetched by the session look-up's own statement: the page
 * then costs PostgreSQL one statement, not two (each one is a round trip that wakes a backend,
 * which on a busy machine costs more than the reading). A route asks for it in its config
 * (`config: { prefetch }`); the handler finds the values in `req.prefetched` and reads them
 * itself when they are missing (a fragment, a form post, no session).
 *
 * The columns are built once per `key` with slots standing for `values`
 * (src/db/query-template.ts), and see the employee and the channels they may use as SQL.
 */
export interface PrefetchAsk {
  /** One statement shape per key. */
  key: string;
  /** The values the columns' slots stand for (route parameters, the list's state). */
  values: Record<string, unknown>;
  /**
   * `p.name` is the slot for `values.name` (src/db/query-template.ts): put it where that value goes,
   * typed as that value (`p.chatId as number`).
   */
  columns(p: Record<string, unknown>, who: { employee: Expression<number>; channels: Expression<number[]> }, db: Db): Record<string, Expression<unknown>>;
}

export type Prefetch = (req: { params: unknown; query: unknown }) => PrefetchAsk | null;
