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
  return db.selectFrom('webhook_inbox').select('id').where('processed_at', 'is', null).where('received_at', '<', before).where('attempts', '<', 20).orderBy('id').limit(limit).execute();
}

export async function pruneProcessedInbox(db: Db, olderThan: Date) {
  await db.deleteFrom('webhook_inbox').where('processed_at', '<', olderThan).execute();
}

// -- Changes set aside (R9) -----------------------------------------------------------------

export interface WebhookFailureInput {
  inboxId: number;
  changeKey: string;
  change: string;
  receivedAt: Date;
  channelId: number | null;
  eventType: string | null;
  contact: string | null;
  excerpt: string | null;
  error: string;
}

/** Records a change set aside; the same change of the same delivery failing again counts an attempt. */
export async function recordWebhookFailure(db: Db, f: WebhookFailureInput): Promise<number> {
  const row = await db
    .insertInto('webhook_failures')
    .values({
      inbox_id: f.inboxId,
      change_key: f.changeKey,
      change: f.change,
      received_at: f.receivedAt,
      channel_id: f.channelId,
      event_type: f.eventType,
      contact: f.contact,
      excerpt: f.excerpt,
      error: f.error,
    })
    .onConflict((oc) =>
      oc.columns(['inbox_id', 'change_key']).doUpdateSet((eb) => ({
        attempts: eb('webhook_failures.attempts', '+', 1),
        error: eb.ref('excluded.error'),
        channel_id: eb.ref('excluded.channel_id'),
        last_failed_at: new Date(),
      })),
    )
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** The open set-aside changes, newest first, with their channel's name. */
export async function listOpenWebhookFailures(db: Db, limit: number) {
  return db
    .selectFrom('webhook_failures as f')
    .leftJoin('channels as c', 'c.id', 'f.channel_id')
    .select(['f.id', 'f.channel_id', 'c.name as channel_name', 'c.kind as channel_kind', 'f.event_type', 'f.contact', 'f.excerpt', 'f.error', 'f.attempts', 'f.first_failed_at', 'f.last_failed_at'])
    .where('f.state', '=', 'open')
    .orderBy('f.id', 'desc')
    .limit(limit)
    .execute();
}

export async function countOpenWebhookFailures(db: Db): Promise<number> {
  const row = await db
    .selectFrom('webhook_failures')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('state', '=', 'open')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function findOpenWebhookFailure(db: Db, id: number) {
  return db.selectFrom('webhook_failures').selectAll().where('id', '=', id).where('state', '=', 'open').executeTakeFirst();
}

/** A Retry that failed again: the new error, one more attempt. */
export async function markWebhookFailureAttempt(db: Db, id: number, error: string) {
  await db
    .updateTable('webhook_failures')
    .set((eb) => ({ attempts: eb('attempts', '+', 1), error, last_failed_at: new Date() }))
    .where('id', '=', id)
    .execute();
}

/** Resolved (a Retry applied it) or discarded by an admin; only an open change changes state. */
export async function closeWebhookFailure(db: Db, id: number, state: 'resolved' | 'discarded', employeeId: number | null): Promise<boolean> {
  const r = await db.updateTable('webhook_failures').set({ state, resolved_at: new Date(), resolved_by: employeeId }).where('id', '=', id).where('state', '=', 'open').executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}
