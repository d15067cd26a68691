import type { ChatsPorts, ChangePorts, RuntimePorts } from '../ports.ts';
import { platformRefusal } from '../../channels/channels.service.ts';
import { loadRuntime } from '../../channels/runtimes.ts';
import { applyChannelEvents } from './ingest.service.ts';
import { followUpJobs } from './follow-up.ts';
import { findChatContact } from './ingest.repository.ts';
import { downloadMediaRef, fetchProfileRef, importHistoryRef } from './ingest.refs.ts';
import { importChannelHistoryRef } from '../../channels/jobs.refs.ts';
import { processorOf } from '../../platform/jobs/ref.ts';

/** D4: the last 500 messages of a conversation. */
export const HISTORY_LIMIT = 500;
/** The Conversations API allows about 2 calls per second per Page (§7). */
const CONVERSATIONS_PER_SECOND = 2;

/**
 * Imports a chat's history when the chat is first created. Messages are applied through the
 * same ingest as webhooks, keyed by platform id, so whichever arrives first wins and nothing is
 * doubled. Imported messages neither reopen the chat nor count as unread.
 */
export function importHistoryJob(deps: ChangePorts & RuntimePorts & Pick<ChatsPorts, 'rateLimiter' | 'queue'>) {
  return processorOf(importHistoryRef, async ({ chatId }) => {
    const chat = await findChatContact(deps.db, chatId);
    if (!chat) return;
    const channel = await loadRuntime(deps, chat.channel_id);
    const adapter = channel ? deps.adapters.get(channel.kind) : undefined;
    if (!channel || !adapter?.importHistory) return;
    const events = await adapter
      .importHistory(channel, chat.external_id, {
        limit: HISTORY_LIMIT,
        pace: () => deps.rateLimiter.take(`conversations:${channel.id}`, CONVERSATIONS_PER_SECOND),
      })
      .catch((err: unknown) => platformRefusal(deps, channel.id, err));
    await applyChannelEvents(deps, { id: channel.id, kind: channel.kind }, events, (o, _e, tx) => {
      tx.afterCommit(() => Promise.all(o.attachmentIds.map((attachmentId) => deps.queue.enqueue(downloadMediaRef, { attachmentId }))));
    });
  });
}

/** D4 at connect time: history of the most recent conversations of a newly connected channel. */
export function importChannelHistoryJob(deps: ChangePorts & RuntimePorts & Pick<ChatsPorts, 'rateLimiter' | 'queue'>) {
  return processorOf(importChannelHistoryRef, async ({ channelId }) => {
    const channel = await loadRuntime(deps, channelId);
    const adapter = channel ? deps.adapters.get(channel.kind) : undefined;
    if (!channel || !adapter?.recentConversations || !adapter.importHistory) return;
    const pace = () => deps.rateLimiter.take(`conversations:${channel.id}`, CONVERSATIONS_PER_SECOND);
    const contacts = await adapter.recentConversations(channel, { limit: HISTORY_LIMIT, pace, conversations: 25 }).catch((err: unknown) => platformRefusal(deps, channel.id, err));
    for (const contact of contacts) {
      const events = await adapter.importHistory(channel, contact, { limit: HISTORY_LIMIT, pace }).catch((err: unknown) => platformRefusal(deps, channel.id, err));
      await applyChannelEvents(deps, { id: channel.id, kind: channel.kind }, events, (o, _e, tx) => {
        tx.afterCommit(() =>
          followUpJobs(deps, channel.id, { ...o, createdChat: false }).then(async () => {
            if (o.createdChat && o.contactId) await deps.queue.enqueue(fetchProfileRef, { contactId: o.contactId });
          }),
        );
      });
    }
  });
}
