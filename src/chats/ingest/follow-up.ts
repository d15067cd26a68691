import type { ChatsPorts } from '../ports.ts';
import type { IngestOutcome } from './ingest.service.ts';
import { findChannelKind } from '../../channels/channels.repository.ts';
import { downloadMediaRef, fetchPostRef, fetchProfileRef, importHistoryRef } from './ingest.refs.ts';

/**
 * After an event is committed: download its media now (platform URLs expire), fetch the
 * person's profile the first time, and import the conversation's history when the chat is
 * new (D4). Failures to enqueue are left to the sweepers.
 */
export async function followUpJobs(deps: Pick<ChatsPorts, 'db' | 'adapters' | 'queue'>, channelId: number, o: IngestOutcome): Promise<void> {
  for (const attachmentId of o.attachmentIds) await deps.queue.enqueue(downloadMediaRef, { attachmentId });
  if (o.postToFetch) await deps.queue.enqueue(fetchPostRef, { channelId, postId: o.postToFetch });
  if (o.contactId && o.createdChat) {
    await deps.queue.enqueue(fetchProfileRef, { contactId: o.contactId });
    const channel = await findChannelKind(deps.db, channelId);
    if (channel && deps.adapters.get(channel.kind)?.capabilities.history && o.chatId) {
      await deps.queue.enqueue(importHistoryRef, { chatId: o.chatId });
    }
  }
}
