/** Settings › Chats: webhook changes set aside (R9), listed for admins with Retry and Discard. */
import * as inbox from '../meta/inbox.repository.ts';
import { NotFoundError } from '../../platform/errors.ts';
import type { ChannelsPorts, Conn } from '../ports.ts';

/** Retry applies the change again through chats' ingest: a hook the root passes in. */
export type SetAsidePorts = Pick<ChannelsPorts, 'db' | 'channelHooks'>;

/** How many set-aside changes the page lists (newest first); the total is shown too. */
const SET_ASIDE_SHOWN = 50;

export interface SetAsideRow {
  id: number;
  channelName: string | null;
  channelKind: string | null;
  eventType: string | null;
  contact: string | null;
  excerpt: string | null;
  error: string;
  attempts: number;
  firstFailedAt: Date;
  lastFailedAt: Date;
}

export async function listSetAside(db: Conn): Promise<{ rows: SetAsideRow[]; total: number }> {
  const [rows, total] = await Promise.all([inbox.listOpenWebhookFailures(db, SET_ASIDE_SHOWN), inbox.countOpenWebhookFailures(db)]);
  return {
    total,
    rows: rows.map((r) => ({
      id: Number(r.id),
      channelName: r.channel_name ?? null,
      channelKind: r.channel_kind ?? null,
      eventType: r.event_type,
      contact: r.contact,
      excerpt: r.excerpt,
      error: r.error,
      attempts: r.attempts,
      firstFailedAt: new Date(r.first_failed_at),
      lastFailedAt: new Date(r.last_failed_at),
    })),
  };
}

/** Discard: the change is kept (who and when) but no longer listed. */
export async function discardSetAside(deps: Pick<ChannelsPorts, 'db'>, id: number, employeeId: number): Promise<void> {
  if (!(await inbox.closeWebhookFailure(deps.db, id, 'discarded', employeeId))) throw new NotFoundError();
}
