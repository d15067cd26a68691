import { sql, type Kysely } from 'kysely';

/**
 * "Read HH:MM" goes under the last outbound message the lead has read (E3). Finding it walked
 * the thread from its newest message down to the first read one (a long run of inbound
 * messages meant a long walk, on every thread render and read receipt); this partial index
 * makes it one probe.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql.raw(`CREATE INDEX messages_last_read_out_idx ON messages (chat_id, sort_at DESC, id DESC) WHERE direction = 'out' AND status = 'read'`).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql.raw('DROP INDEX IF EXISTS messages_last_read_out_idx').execute(db);
}
