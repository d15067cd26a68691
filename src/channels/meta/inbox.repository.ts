import type { Db } from '../../db/database.ts';

/** Inserts deliveries in one statement; returns their ids in the order given. */
export async function insertInboxDeliveries(db: Db, rows: Array<{ source: string; body: string }>): Promise<number[]> {
  const inserted = await db.insertInto('webhook_inbox').values(rows).returning('id').execute();
  // Serial ids are drawn in VALUES order: sorted, they match the rows' order.
  return inserted.map((r) => r.id).sort((a, b) => a - b);
}

export async function findInboxDelivery(db: Db, id: number) {
  return db.selectFrom('webhook_inbox').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function markInboxProcessed(db: Db, id: number) {
  await db.updateTable('webhook_inbox').set({ processed_at: new Date(), error: null }).where('id', '=', id).execute();
}

export async function markInboxAttempt(db: Db, id: number, error: string | null) {
  await db
    .updateTable('webhook_inbox')
    .set((eb) => ({ attempts: eb('attempts', '+', 1), error }))
    .where('id', '=', id)
    .execute();
}

export async function pendingInboxOlderThan(db: Db, before: Date, limit: number) {
  return db
    .selectFrom('webhook_inbox')
    .select('id')
    .where('processed_at', 'is', null)
    .where('received_at', '<', before)
    .where('attempts', '<', 20)
    .orderBy('id')
    .limit(limit)
    .execute();
}

export async function pruneProcessedInbox(db: Db, olderThan: Date) {
  await db.deleteFrom('webhook_inbox').where('processed_at', '<', olderThan).execute();
}
