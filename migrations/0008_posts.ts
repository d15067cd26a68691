import { sql, type Kysely } from 'kysely';

/**
 * The posts comments belong to (F1): their first words and link, fetched once per post from
 * the platform (`GET /{post-id}`), shown with every comment under them.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql
    .raw(
      `CREATE TABLE posts (
        channel_id integer NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
        external_id text NOT NULL,
        text text,
        permalink text,
        fetched_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (channel_id, external_id)
      )`,
    )
    .execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql.raw('DROP TABLE IF EXISTS posts').execute(db);
}
