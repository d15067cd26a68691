import type { RuntimePorts } from './ports.ts';
import type { ChannelAdapter, ChannelRuntime } from '../channels/adapter.ts';
import { loadRuntimeWithAdapter } from '../channels/runtimes.ts';
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
export async function loadChatTarget(deps: RuntimePorts, chatId: number): Promise<ChatTarget | null> {
  const row = await findChatTarget(deps.db, chatId);
  if (!row) return null;
  const loaded = await loadRuntimeWithAdapter(deps, row.channel_id);
  if (!loaded) return null;
  return { chatId, contactExternalId: row.external_id, channel: loaded.channel, adapter: loaded.adapter, channelState: row.state };
}
