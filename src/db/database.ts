import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { DB } from './schema.ts';
import { pgliteDialect } from './pglite-dialect.ts';
import { PreparingClient } from './prepared-client.ts';
import { timestampParser } from './timestamp.ts';

export type Db = Kysely<DB>;

export interface Database {
  db: Db;
  kind: 'postgres' | 'pglite';
  close(): Promise<void>;
}

// Ids and counters are bigints in SQL but stay far below 2^53; the driver hands them to us as
// numbers so that both engines (pg returns strings by default, PGlite numbers) agree.
pg.types.setTypeParser(20, (v) => Number(v));
// DATE columns stay 'YYYY-MM-DD' strings: a calendar date has no time zone to shift it.
pg.types.setTypeParser(1082, (v) => v);
// timestamptz: a fast path for the usual text form, the driver's parser for the rest.
pg.types.setTypeParser(1184, timestampParser(pg.types.getTypeParser(1184)));

export interface DatabaseOptions {
  databaseUrl?: string | undefined;
  /** Directory for PGlite files; `memory://` keeps it in memory (tests). */
  pgliteDir?: string;
  poolSize?: number;
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  if (opts.databaseUrl) {
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: opts.poolSize ?? 10, Client: PreparingClient });
    // An idle client losing its server (PostgreSQL restart) must not crash the process.
    pool.on('error', () => {});
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
    return { db, kind: 'postgres', close: () => db.destroy() };
  }
  const dir = opts.pgliteDir ?? 'memory://';
  if (!dir.startsWith('memory://')) mkdirSync(dir, { recursive: true });
  const { PGlite } = await import('@electric-sql/pglite');
  // Trigram search (migrations/0003_search.ts) comes from PGlite's contrib bundle.
  const { pg_trgm } = await import('@electric-sql/pglite/contrib/pg_trgm');
  const lite = await PGlite.create(dir, { parsers: { 1082: (v: string) => v }, extensions: { pg_trgm } });
  const db = new Kysely<DB>({ dialect: pgliteDialect(lite) });
  return {
    db,
    kind: 'pglite',
    close: async () => {
      await db.destroy();
      await lite.close();
    },
  };
}

export function pgliteDirFor(dataDir: string): string {
  return join(dataDir, 'pglite');
}
