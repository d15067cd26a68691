/** Settings › Chats: webhook changes set aside (R9), listed for admins with Retry and Discard. */
import { NotFoundError } from '../../platform/errors.ts';
import { applyDeliveryChanges, channelLookup } from '../../chats/ingest/webhook.jobs.ts';
import * as inbox from '../meta/inbox.repository.ts';
import type { ChannelsPorts, Conn } from '../ports.ts';

/**
 * What Retry needs: the webhook job's own code path (chats' ingest, so this is typed by it; to
 * become a callback the root passes in, #22 item 3).
 */
export type SetAsidePorts = Pick<ChannelsPorts, 'db' | 'logger'> & Parameters<typeof applyDeliveryChanges>[0] & Parameters<typeof channelLookup>[0];

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

/**
 * Retry: the set-aside change runs through the webhook job's own code path. Applied, it is
 * resolved in the transaction that applied it; failing again, it stays listed with the new
 * error. A change that is not open (resolved, discarded, unknown) is a 404.
 */
export async function retrySetAside(deps: SetAsidePorts, id: number, employeeId: number): Promise<'resolved' | 'failed'> {
  const row = await inbox.findOpenWebhookFailure(deps.db, id);
  if (!row) throw new NotFoundError();
  let error: string | null = null;
  const { markedInLast } = await applyDeliveryChanges(deps, [{ key: row.change_key, body: JSON.parse(row.change) }], {
    receivedAt: new Date(row.received_at),
    channelOf: channelLookup(deps),
    logContext: { failureId: id },
    inLastTransaction: async (tx) => void (await inbox.closeWebhookFailure(tx.db, id, 'resolved', employeeId)),
    setAside: async (f) => {
      error = f.error;
    },
  });
  if (error !== null) {
    deps.logger.warn({ failureId: id, err: error }, 'set-aside webhook change failed again');
    await inbox.markWebhookFailureAttempt(deps.db, id, error);
    return 'failed';
  }
  if (!markedInLast) await inbox.closeWebhookFailure(deps.db, id, 'resolved', employeeId);
  return 'resolved';
}

/** Discard: the change is kept (who and when) but no longer listed. */
export async function discardSetAside(deps: Pick<ChannelsPorts, 'db'>, id: number, employeeId: number): Promise<void> {
  if (!(await inbox.closeWebhookFailure(deps.db, id, 'discarded', employeeId))) throw new NotFoundError();
}
