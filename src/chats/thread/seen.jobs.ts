import type { ChatsPorts, RuntimePorts } from '../ports.ts';
import { loadChatTarget } from '../chat-target.ts';
import { PlatformError } from '../../channels/adapter.ts';
import { lastInboundExternalId } from './thread.repository.ts';
import { markSeenRef } from './thread.refs.ts';
import { processorOf } from '../../platform/jobs/ref.ts';

/**
 * E4: tells the platform the lead's messages were seen. The job id is the chat and the last
 * message read, so opening the chat many times sends one mark_seen for the same messages.
 */
export function markSeenJob(deps: RuntimePorts & Pick<ChatsPorts, 'logger'>) {
  return processorOf(markSeenRef, async ({ chatId, upToMessageId }) => {
    const target = await loadChatTarget(deps, chatId);
    if (!target?.adapter.capabilities.markSeen || !target.adapter.markSeen) return;
    // WhatsApp marks by message (§4.7): the newest inbound message the employee saw.
    const last = await lastInboundExternalId(deps.db, chatId, upToMessageId);
    try {
      await target.adapter.markSeen(target.channel, target.contactExternalId, last ?? undefined);
    } catch (err) {
      // Seen receipts are a courtesy: a permanent refusal is logged, not retried forever.
      if (err instanceof PlatformError && !err.opts.retryable) {
        deps.logger.info({ chatId, reason: err.reason }, 'mark_seen refused');
        return;
      }
      throw err;
    }
  });
}
