import { sql, type Kysely } from 'kysely';

/**
 * Voice transcription (G1–G3). The transcript belongs to the audio attachment it was made from
 * (`attachments.transcription`, from 0002, with `duration_ms` read from the stored file): every
 * way a thread reads attachments (the page, live re-renders, the send job) then shows it, and
 * the thread-version triggers on `attachments` (0005) keep kept HTML honest without new ones.
 * `transcription.status`: pending, done or failed (absent: never asked). The trigram index on
 * its text lets the chat list's message search find transcripts (C1); the partial index is the
 * sweeper's look-up of transcriptions asked for and not finished.
 *
 * `app_settings` holds settings an admin changes at runtime (Settings › Transcription), one
 * JSON document per key; secrets in it are encrypted like channel tokens.
 */
const statements = [
  `CREATE INDEX attachments_transcript_trgm_idx ON attachments USING gin ((transcription->>'text') gin_trgm_ops) WHERE transcription->>'text' IS NOT NULL`,
  `CREATE INDEX attachments_transcript_pending_idx ON attachments (id) WHERE transcription->>'status' = 'pending'`,
  `CREATE TABLE app_settings (
     key text PRIMARY KEY,
     value jsonb NOT NULL,
     updated_at timestamptz NOT NULL DEFAULT now()
   )`,
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const s of statements) await sql.raw(s).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const s of ['DROP TABLE IF EXISTS app_settings', 'DROP INDEX IF EXISTS attachments_transcript_pending_idx', 'DROP INDEX IF EXISTS attachments_transcript_trgm_idx'])
    await sql.raw(s).execute(db);
}
