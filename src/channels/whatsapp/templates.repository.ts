import type { Conn } from '../../db/database.ts';
import type { TemplateComponent } from '../../db/schema.ts';
import type { Tx } from '../../platform/tx.ts';

export interface TemplateRow {
  channel_id: number;
  name: string;
  language: string;
  status: string;
  category: string | null;
  components: TemplateComponent[];
  fetched_at: Date;
}

/** The platform's list replaces the cached one (a template deleted on Meta's side goes too). */
export async function replaceTemplates(db: Tx['db'], channelId: number, list: Array<Omit<TemplateRow, 'channel_id' | 'fetched_at'>>, at: Date): Promise<void> {
  await db.deleteFrom('whatsapp_templates').where('channel_id', '=', channelId).execute();
  if (!list.length) return;
  await db
    .insertInto('whatsapp_templates')
    .values(list.map((t) => ({ channel_id: channelId, name: t.name, language: t.language, status: t.status, category: t.category, components: JSON.stringify(t.components), fetched_at: at })))
    .onConflict((oc) => oc.columns(['channel_id', 'name', 'language']).doNothing())
    .execute();
}

/** Every cached template of the channel (settings page), by name then language. */
export async function listTemplates(db: Conn, channelId: number): Promise<TemplateRow[]> {
  return db.selectFrom('whatsapp_templates').selectAll().where('channel_id', '=', channelId).orderBy('name').orderBy('language').execute();
}

export async function findTemplate(db: Conn, channelId: number, name: string, language: string): Promise<TemplateRow | undefined> {
  return db.selectFrom('whatsapp_templates').selectAll().where('channel_id', '=', channelId).where('name', '=', name).where('language', '=', language).executeTakeFirst();
}
