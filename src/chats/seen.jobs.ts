import type { Deps } from '../deps.ts';
import { defineJob } from '../platform/jobs/types.ts';
import { loadRuntime } from '../channels/channels.service.ts';
import { PlatformError } from '../channels/adapter.ts';

/**
 * E4: tells the platform the lead's messages were seen. The job id is the chat and the last
 * message read, so opening the chat many times sends one mark_seen for the same messages.
 */
export function markSeenJob(deps: Deps) {
  return defineJob<{ chatId: number; upToMessageId: number }>({
    name: 'mark-seen',
    jobId: (p) => `${p.chatId}-${p.upToMessageId}`,
    options: { attempts: 3, backoffMs: 2000 },
    async process({ chatId }) {
      const chat = await deps.db
        .selectFrom('chats')
        .innerJoin('contacts', 'contacts.id', 'chats.contact_id')
        .select(['chats.channel_id', 'contacts.external_id'])
        .where('chats.id', '=', chatId)
        .executeTakeFirst();
      if (!chat) return;
      const channel = await loadRuntime(deps, chat.channel_id);
      const adapter = channel ? deps.adapters.get(channel.kind) : undefined;
      if (!channel || !adapter?.capabilities.markSeen || !adapter.markSeen) return;
      try {
        await adapter.markSeen(channel, chat.external_id);
      } catch (err) {
        // Seen receipts are a courtesy: a permanent refusal is logged, not retried forever.
        if (err instanceof PlatformError && !err.opts.retryable) {
          deps.logger.info({ chatId, reason: err.reason }, 'mark_seen refused');
          return;
        }
        throw err;
      }
    },
  });
}
