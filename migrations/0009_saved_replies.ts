import { sql, type Kysely } from 'kysely';

/**
 * Saved replies (#16 item 3): short texts an employee inserts in the composer by typing
 * `/shortcut`. `owner_employee_id` null = shared by the shop (admins manage them); a shortcut is
 * unique per owner (shared ones form their own group), whatever its case.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql
    .raw(
      `CREATE TABLE saved_replies (
        id serial PRIMARY KEY,
        owner_employee_id integer REFERENCES employees(id) ON DELETE CASCADE,
        shortcut text NOT NULL CHECK (shortcut ~ '^[A-Za-z0-9_-]{1,30}$'),
        text text NOT NULL CHECK (char_length(text) BETWEEN 1 AND 1000),
        created_at timestamptz NOT NULL DEFAULT now()
      )`,
    )
    .execute(db);
  await sql.raw('CREATE UNIQUE INDEX saved_replies_shortcut_idx ON saved_replies ((coalesce(owner_employee_id, 0)), lower(shortcut))').execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql.raw('DROP TABLE IF EXISTS saved_replies').execute(db);
}
