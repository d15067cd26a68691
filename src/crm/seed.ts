import type { Db } from '../db/database.ts';

/** Demo clients, documents and calls (CRM feature fills this in). */
export async function seedDemo(_db: Db, _opts: { force: boolean }): Promise<string> {
  return 'nothing seeded yet';
}
