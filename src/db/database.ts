import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, PostgresDialect, type Transaction } from 'kysely';
import pg from 'pg';
import type { DB } from './schema.ts';
import { pgliteDialect } from './pglite-dialect.ts';
import { PreparingClient } from './prepared-client.ts';
import { timestampParser } from './timestamp.ts';

export type Db = Kysely<DB>;

/** A connection: the app's Kysely instance or an open transaction's (`Tx['db']`). The one declaration. */
export type Conn = Db | Transaction<DB>;

export interface Database {
  db: Db;
  kind: 'postgres' | 'pglite';
  /**
   * Opens up to `connections` pool connections ahead of traffic and loads each backend's
   * catalog caches for the hot tables (PGlite: nothing to do).
   */
  warm(connections: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A fresh PostgreSQL backend reads the catalog for every table and index a query touches the
 * first time: planning a query that names the hot tables does it once, before traffic (P3: the
 * first seconds of a new worker were 10× slower than the rest).
 */
const WARM_SQL = `select 1 from chats c
  join contacts ct on ct.id = c.contact_id join channels ch on ch.id = c.channel_id
  join messages m on m.chat_id = c.id join attachments a on a.message_id = m.id
  join employees e on e.id = m.sender_employee_id join roles r on r.id = e.role_id
  join sessions s on s.employee_id = e.id join channel_access ca on ca.channel_id = ch.id
  join live_events le on le.id = m.id join webhook_inbox wi on wi.id = m.id
  where false`;

/**
 * Idle connections stay open this long: closing them after pg's default 10 s would make the
 * first message after every quiet spell pay for a new backend and its cold caches.
 */
const IDLE_MS = 10 * 60_000;

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
    const max = opts.poolSize ?? 10;
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max, idleTimeoutMillis: IDLE_MS, Client: PreparingClient });
    // An idle client losing its server (PostgreSQL restart) must not crash the process.
    pool.on('error', () => {});
    // Nor may a checked-out one: the pool listens to its clients only while they are idle, and a
    // client held between two statements (inside a transaction, during a warm-up) whose server
    // goes away emits 'error' with no query to fail. Unheard, that killed web and worker
    // processes when PostgreSQL stopped (chaos (c)). The statement in flight, if any, still
    // fails; the broken client is discarded when it is released (pg-pool drops unqueryable ones).
    pool.on('connect', (client) => client.on('error', () => {}));
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
    const warm = async (connections: number) => {
      const clients = await Promise.all(Array.from({ length: Math.min(connections, max) }, () => pool.connect()));
      try {
        await Promise.all(clients.map((c) => c.query(WARM_SQL)));
      } finally {
        for (const c of clients) c.release();
      }
    };
    return { db, kind: 'postgres', warm, close: () => db.destroy() };
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
    warm: async () => {},
    close: async () => {
      await db.destroy();
      await lite.close();
    },
  };
}

export function pgliteDirFor(dataDir: string): string {
  return join(dataDir, 'pglite');
}
