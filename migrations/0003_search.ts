import { sql, type Kysely } from 'kysely';

/**
 * Search in the chat list (C1) by name, @username and message text without reading every
 * message: trigram indexes answer `ILIKE '%term%'` for terms of three characters or more.
 * pg_trgm is a trusted extension (PostgreSQL ≥ 13: the database owner may create it); PGlite
 * loads it from its contrib bundle (src/db/database.ts).
 */
const statements = [
  `CREATE EXTENSION IF NOT EXISTS pg_trgm`,
  `CREATE INDEX messages_text_trgm_idx ON messages USING gin (text gin_trgm_ops) WHERE deleted_at IS NULL AND text IS NOT NULL`,
  `CREATE INDEX contacts_name_trgm_idx ON contacts USING gin (name gin_trgm_ops) WHERE name IS NOT NULL`,
  `CREATE INDEX contacts_username_trgm_idx ON contacts USING gin (username gin_trgm_ops) WHERE username IS NOT NULL`,
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const s of statements) await sql.raw(s).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const i of ['contacts_username_trgm_idx', 'contacts_name_trgm_idx', 'messages_text_trgm_idx']) await sql.raw(`DROP INDEX IF EXISTS ${i}`).execute(db);
}
