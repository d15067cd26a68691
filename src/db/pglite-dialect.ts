import type { PGlite } from '@electric-sql/pglite';
import { PostgresDialect, type PostgresPool } from 'kysely';

/**
 * PGlite is one in-process connection. Kysely's Postgres dialect wants a pg-style pool, so this
 * hands the single connection out to one borrower at a time (a FIFO mutex): a transaction owns
 * it from BEGIN to COMMIT and everyone else waits. Code that opens a transaction and then uses
 * the outer `db` inside it deadlocks here; that is a bug in that code under PostgreSQL too.
 */
export function pgliteDialect(pg: PGlite): PostgresDialect {
  let busy = false;
  const waiters: Array<() => void> = [];

  const client = {
    async query(sql: string, params: unknown[] = []) {
      const res = await pg.query(sql, params, { rowMode: 'object' });
      const command = sql.trimStart().slice(0, 6).toUpperCase();
      return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length, command };
    },
    release() {
      const next = waiters.shift();
      if (next) next();
      else busy = false;
    },
  };

  const pool = {
    async connect() {
      if (busy) await new Promise<void>((r) => waiters.push(r));
      busy = true;
      return client;
    },
    async end() {
      /* the PGlite instance is closed by its owner */
    },
  };
  // The part of a pg pool Kysely uses without a cursor (no `stream()` here): not the whole PostgresPool type.
  return new PostgresDialect({ pool: pool as unknown as PostgresPool });
}
