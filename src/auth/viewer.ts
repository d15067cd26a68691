import type { Viewer } from '../platform/live/hub.ts';
import { pickLocale } from '../platform/i18n/index.ts';
import { findEmployeeAccess } from './auth.repository.ts';
import type { AuthPorts } from './ports.ts';

/**
 * What an employee's live stream may carry: rebuilt from the database whenever access changes
 * (role, channel lists, disabling).
 */
export async function loadViewer(deps: Pick<AuthPorts, 'db' | 'channelAccess'>, employeeId: number, acceptLanguage?: string): Promise<Viewer | null> {
  const row = await findEmployeeAccess(deps.db, employeeId);
  if (!row || row.disabled_at) return null;
  const canChats = row.is_admin || row.permissions.includes('chats');
  return {
    employeeId: row.id,
    isAdmin: row.is_admin,
    canChats,
    channelIds: canChats ? new Set(await deps.channelAccess.visibleChannelIds(deps.db, employeeId)) : new Set<number>(),
    locale: pickLocale(row.locale, acceptLanguage),
  };
}
