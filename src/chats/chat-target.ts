import type { ChatsPorts } from './ports.ts';
import type { ChannelAdapter, ChannelRuntime } from '../channels/adapter.ts';
import { loadRuntime } from '../channels/channels.service.ts';
import { findChatTarget } from './chats.repository.ts';

export interface ChatTarget {
  chatId: number;
  contactExternalId: string;
  channel: ChannelRuntime;
  adapter: ChannelAdapter;
  channelState: string;
}

/**
 * Who a chat talks to and through what: the contact's platform id, the channel with its
 * decrypted credentials, and the channel's adapter. Null when any of them is gone.
 */
export async function loadChatTarget(deps: ChatsPorts, chatId: number): Promise<ChatTarget | null> {
  const row = await findChatTarget(deps.db, chatId);
  if (!row) return null;
  const channel = await loadRuntime(deps, row.channel_id);
  const adapter = channel ? deps.adapters.get(channel.kind) : undefined;
  if (!channel || !adapter) return null;
  return { chatId, contactExternalId: row.external_id, channel, adapter, channelState: row.state };
}
