import type { Conn } from '../db/database.ts';

/** One settings document (`app_settings`), or null when never saved. */
export async function readSetting<T extends Record<string, unknown>>(db: Conn, key: string): Promise<T | null> {
  const r = await db.selectFrom('app_settings').select('value').where('key', '=', key).executeTakeFirst();
  return (r?.value as T | undefined) ?? null;
}

export async function writeSetting(db: Conn, key: string, value: Record<string, unknown>): Promise<void> {
  await db
    .insertInto('app_settings')
    .values({ key, value: JSON.stringify(value), updated_at: new Date() })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value: JSON.stringify(value), updated_at: new Date() }))
    .execute();
}
