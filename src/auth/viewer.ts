import type { Db } from '../db/database.ts';
import type { Viewer } from '../platform/live/hub.ts';

/**
 * What an employee's live stream may carry: rebuilt from the database whenever access changes.
 * Channel visibility joins in once channels exist (chats feature); until then no channel events.
 */
export async function loadViewer(db: Db, employeeId: number): Promise<Viewer | null> {
  const row = await db
    .selectFrom('employees as e')
    .innerJoin('roles as r', 'r.id', 'e.role_id')
    .select(['e.id', 'e.disabled_at', 'r.is_admin', 'r.permissions'])
    .where('e.id', '=', employeeId)
    .executeTakeFirst();
  if (!row || row.disabled_at) return null;
  return {
    employeeId: row.id,
    isAdmin: row.is_admin,
    canChats: row.is_admin || row.permissions.includes('chats'),
    channelIds: new Set<number>(),
  };
}
