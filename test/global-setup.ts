import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { openDatabase } from '../src/db/database.ts';
import { migrateToLatest } from '../src/db/migrator.ts';

/**
 * Under PostgreSQL (DATABASE_URL set) the schema is migrated once into a template database;
 * every test file then clones it (CREATE DATABASE … TEMPLATE), which takes milliseconds.
 * Without DATABASE_URL each file migrates its own in-memory PGlite instead.
 */
export default async function setup(project: TestProject) {
  const url = process.env.DATABASE_URL;
  if (!url) return;
  const template = `parley_tpl_${process.pid}`;
  await admin(url, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${template}`);
    await c.query(`CREATE DATABASE ${template}`);
  });
  const database = await openDatabase({ databaseUrl: withDb(url, template) });
  await migrateToLatest(database.db);
  await database.close();
  project.provide('templateDb', template);
  return async () => {
    await admin(url, async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
      // Files that crashed before their teardown leave clones behind (named after the worker's
      // pid): sweep those whose worker is gone, leaving any other live run's alone.
      const { rows } = await c.query(`SELECT datname FROM pg_database WHERE datname LIKE 'parley\\_t\\_%'`);
      for (const r of rows as Array<{ datname: string }>) {
        const pid = Number(/^parley_t_(\d+)_/.exec(r.datname)?.[1]);
        if (pid && !alive(pid)) await c.query(`DROP DATABASE IF EXISTS ${r.datname} WITH (FORCE)`);
      }
    });
  };
}

export function withDb(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = '/' + name;
  return u.toString();
}

export async function admin(url: string, fn: (c: pg.Client) => Promise<void>) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await fn(c);
  } finally {
    await c.end();
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    templateDb: string;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
