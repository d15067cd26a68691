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
  /**
   * Work that must be the transaction's last statements (live events take a lock that is
   * held until commit, so they are written last, their statement carrying the COMMIT, to hold
   * it as briefly as possible). Steps run in order; only the last may commit.
   */
  beforeCommit(step: () => Promise<void>): void;
  /** Scratch space for helpers that batch per transaction (keyed by helper). */
  readonly scratch: Map<string, unknown>;
}

export async function inTransaction<T>(db: Db, logger: Logger, work: (tx: Tx) => Promise<T>): Promise<T> {
  const effects: Array<() => unknown> = [];
  const result = await db.transaction().execute(async (trx) => {
    const finals: Array<() => Promise<void>> = [];
    const value = await work({ db: trx, afterCommit: (e) => void effects.push(e), beforeCommit: (f) => void finals.push(f), scratch: new Map() });
    for (const f of finals) await f();
    return value;
  });
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
