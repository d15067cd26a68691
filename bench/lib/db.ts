import pg from 'pg';
import { Redis } from 'ioredis';
import { PG_ADMIN_URL, REDIS_URL } from './env.ts';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrator.ts';

const BENCH_DB = /^parley_bench[a-z0-9_]*$/;

export async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Drops (if there) and creates one of the bench's own databases; refuses any other name. */
export async function recreateDatabase(name: string): Promise<void> {
  if (!BENCH_DB.test(name)) throw new Error(`refusing to drop ${name}: not a bench database`);
  await admin(async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${name}`);
  });
}

export async function databaseExists(name: string): Promise<boolean> {
  return admin(async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1);
}

/** A fresh, migrated scratch database; returns an open handle (close it). */
export async function freshDatabase(name: string, url: string): Promise<Database> {
  await recreateDatabase(name);
  const database = await openDatabase({ databaseUrl: url });
  await migrateToLatest(database.db);
  return database;
}

/** Deletes every Redis key under the prefix (the bench's own, unique per run and scenario). */
export async function deleteRedisPrefix(prefix: string): Promise<number> {
  if (!prefix.startsWith('parleybench:')) throw new Error(`refusing to delete keys under ${prefix}`);
  const r = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) deleted += await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
  return deleted;
}
