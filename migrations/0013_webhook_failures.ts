import { sql, type Kysely } from 'kysely';

/**
 * Changes of a webhook delivery set aside (R9, issue #21): a change that failed for a reason a
 * retry of the job cannot fix is stored here, its delivery is marked processed, and admins see
 * it in Settings › Chats with Retry and Discard. `change` is the change alone as a one-item
 * delivery of the same shape (JSON text: escaped, so it holds what text columns cannot), so
 * Retry runs it through the job's own code path. One row per (delivery, change): a delivery
 * processed again counts an attempt instead of adding a row. Deliveries are pruned from
 * webhook_inbox; their set-aside changes stay, hence no foreign key on `inbox_id`.
 */
const statements = [
  `CREATE TABLE webhook_failures (
     id bigserial PRIMARY KEY,
     inbox_id bigint NOT NULL,
     change_key text NOT NULL,
     change text NOT NULL,
     received_at timestamptz NOT NULL,
     channel_id integer REFERENCES channels(id) ON DELETE SET NULL,
     event_type text,
     contact text,
     excerpt text,
     error text NOT NULL,
     attempts integer NOT NULL DEFAULT 1,
     first_failed_at timestamptz NOT NULL DEFAULT now(),
     last_failed_at timestamptz NOT NULL DEFAULT now(),
     state text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'resolved', 'discarded')),
     resolved_at timestamptz,
     resolved_by integer REFERENCES employees(id) ON DELETE SET NULL
   )`,
  `CREATE UNIQUE INDEX webhook_failures_change_key ON webhook_failures (inbox_id, change_key)`,
  `CREATE INDEX webhook_failures_open_idx ON webhook_failures (id) WHERE state = 'open'`,
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const s of statements) await sql.raw(s).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql.raw('DROP TABLE IF EXISTS webhook_failures').execute(db);
}
