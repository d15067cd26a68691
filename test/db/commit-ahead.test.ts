import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMITS_TRANSACTION } from '../../src/db/prepared-client.ts';
import { insertLiveEvents } from '../../src/platform/live/live.repository.ts';
import { inTransaction } from '../../src/platform/tx.ts';
import { createTestDeps, usingPostgres, type TestContext } from '../helpers.ts';

let t: TestContext;
beforeAll(async () => {
  // The smallest pool (reused last-in first-out): what a transaction leaves behind on its
  // connection, the next one meets.
  t = await createTestDeps({ env: { DATABASE_POOL_SIZE: '2' } });
  await sql`create table commit_ahead (id serial primary key, note text not null check (note <> 'bad'))`.execute(t.deps.db);
});
afterAll(async () => t?.close());

const notes = async () => (await sql<{ note: string }>`select note from commit_ahead order by id`.execute(t.deps.db)).rows.map((r) => r.note);
/** A second connection, outside the pool under test: what other sessions can see. */
async function visibleElsewhere(note: string): Promise<boolean> {
  const pg = (await import('pg')).default;
  const c = new pg.Client({ connectionString: t.config.databaseUrl });
  await c.connect();
  try {
    return (await c.query('select 1 from commit_ahead where note = $1', [note])).rowCount === 1;
  } finally {
    await c.end();
  }
}

describe('a transaction whose last statement carries its COMMIT', () => {
  it('returns the statement’s rows and commits everything before it', async () => {
    const out = await inTransaction(t.deps.db, t.deps.logger, async (tx) => {
      await sql`insert into commit_ahead (note) values ('first')`.execute(tx.db);
      const r = await sql<{ id: number; note: string }>`${sql.raw(COMMITS_TRANSACTION)} insert into commit_ahead (note) values ('second'), ('third') returning id, note`.execute(tx.db);
      return r.rows.map((x) => x.note);
    });
    expect(out).toEqual(['second', 'third']);
    expect(await notes()).toEqual(['first', 'second', 'third']);
  });

  it.skipIf(!usingPostgres)('is committed when the statement returns, before this process sends anything else', async () => {
    await inTransaction(t.deps.db, t.deps.logger, async (tx) => {
      await sql`${sql.raw(COMMITS_TRANSACTION)} insert into commit_ahead (note) values ('early')`.execute(tx.db);
      // Still inside the unit of work: another session already sees the row.
      expect(await visibleElsewhere('early')).toBe(true);
    });
  });

  it.skipIf(!usingPostgres)('refuses a statement after the committing one, loudly', async () => {
    await expect(
      inTransaction(t.deps.db, t.deps.logger, async (tx) => {
        await sql`${sql.raw(COMMITS_TRANSACTION)} insert into commit_ahead (note) values ('closing')`.execute(tx.db);
        await sql`insert into commit_ahead (note) values ('too late')`.execute(tx.db);
      }),
    ).rejects.toThrow(/after the transaction's committing statement/);
    expect(await notes()).not.toContain('too late');
  });

  it.skipIf(!usingPostgres)('lets an error thrown after the committing statement through as it is (the work is committed)', async () => {
    await expect(
      inTransaction(t.deps.db, t.deps.logger, async (tx) => {
        await sql`${sql.raw(COMMITS_TRANSACTION)} insert into commit_ahead (note) values ('kept anyway')`.execute(tx.db);
        throw new Error('the caller failed afterwards');
      }),
    ).rejects.toThrow('the caller failed afterwards');
    expect(await notes()).toContain('kept anyway');
  });

  it('rolls everything back when the committing statement fails, and the connection stays usable', async () => {
    await expect(
      inTransaction(t.deps.db, t.deps.logger, async (tx) => {
        await sql`insert into commit_ahead (note) values ('undone')`.execute(tx.db);
        await sql`${sql.raw(COMMITS_TRANSACTION)} insert into commit_ahead (note) values ('bad')`.execute(tx.db);
      }),
    ).rejects.toThrow(/check constraint/);
    expect(await notes()).not.toContain('undone');
    await inTransaction(t.deps.db, t.deps.logger, async (tx) => {
      await sql`insert into commit_ahead (note) values ('after')`.execute(tx.db);
    });
    expect(await notes()).toContain('after');
  });

  it('outside a transaction is an ordinary statement', async () => {
    await sql`${sql.raw(COMMITS_TRANSACTION)} insert into commit_ahead (note) values ('alone')`.execute(t.deps.db);
    await inTransaction(t.deps.db, t.deps.logger, async (tx) => {
      await sql`insert into commit_ahead (note) values ('next')`.execute(tx.db);
    });
    expect((await notes()).slice(-2)).toEqual(['alone', 'next']);
  });

  it.skipIf(!usingPostgres)('live events: the lock is released as the insert returns, not when this process gets round to COMMIT', async () => {
    await inTransaction(t.deps.db, t.deps.logger, async (tx) => {
      await insertLiveEvents(tx, [{ audience: 'all', name: 'probe', data: { n: 1 } }]);
      // Another session takes the live events' lock without waiting.
      const pg = (await import('pg')).default;
      const c = new pg.Client({ connectionString: t.config.databaseUrl });
      await c.connect();
      try {
        const r = await c.query(`select pg_try_advisory_lock(${0x7061726c}) as got`);
        expect(r.rows[0].got).toBe(true);
        await c.query(`select pg_advisory_unlock(${0x7061726c})`);
      } finally {
        await c.end();
      }
    });
  });
});
