/**
 * Settings › Chats › Retry of a webhook change set aside (R9): the webhook job's own code path,
 * for one change. Channels' settings call it through `ChannelHooks.retrySetAside` (the root
 * wires it), as channels sits below chats.
 */
import { NotFoundError } from '../../platform/errors.ts';
import * as inbox from '../../channels/meta/inbox.repository.ts';
import type { ChangePorts, ChatsPorts } from '../ports.ts';
import { applyDeliveryChanges, channelLookup } from './webhook.jobs.ts';

/**
 * Retry: the set-aside change runs through the webhook job's own code path. Applied, it is
 * resolved in the transaction that applied it; failing again, it stays listed with the new
 * error. A change that is not open (resolved, discarded, unknown) is a 404.
 */
export async function retrySetAside(deps: ChangePorts & Pick<ChatsPorts, 'adapters' | 'queue'>, id: number, employeeId: number): Promise<'resolved' | 'failed'> {
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
