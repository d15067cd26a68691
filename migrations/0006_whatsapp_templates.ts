import { sql, type Kysely } from 'kysely';

/**
 * WhatsApp message templates (H4), as the platform last listed them for a channel's WABA
 * (`GET /{waba-id}/message_templates`). A cache: refreshed from the platform, never edited in
 * Parley; every status is kept (the composer offers only APPROVED ones, the settings page shows
 * the rest with their status) so an admin can see why a template is missing.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql
    .raw(
      `CREATE TABLE whatsapp_templates (
        channel_id integer NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
        name text NOT NULL,
        language text NOT NULL,
        status text NOT NULL,
        category text,
        components jsonb NOT NULL DEFAULT '[]'::jsonb,
        fetched_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (channel_id, name, language)
      )`,
    )
    .execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql.raw('DROP TABLE IF EXISTS whatsapp_templates').execute(db);
}
