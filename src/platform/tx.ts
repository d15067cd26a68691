import type { Transaction } from 'kysely';
import type { Db } from '../db/database.ts';
import type { DB } from '../db/schema.ts';
import type { Logger } from './logger.ts';

/**
 * A unit of work: the transaction plus the side effects that must wait for its commit
 * (enqueueing jobs, publishing live events). If the transaction rolls back they never run.
 */
export interface Tx {
  readonly db: Transaction<DB>;
  afterCommit(effect: () => unknown): void;
}

export async function inTransaction<T>(db: Db, logger: Logger, work: (tx: Tx) => Promise<T>): Promise<T> {
  const effects: Array<() => unknown> = [];
  const result = await db.transaction().execute((trx) => work({ db: trx, afterCommit: (e) => void effects.push(e) }));
  for (const effect of effects) {
    try {
      await effect();
    } catch (err) {
      // The data is committed; whatever this effect would have triggered is recovered by the
      // sweepers (jobs) or by the durable event log (live updates). Never fail the request.
      logger.warn({ err: (err as Error).message }, 'after-commit effect failed');
    }
  }
  return result;
}
