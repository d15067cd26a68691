import type { ChannelAdapter } from './adapter.ts';
import { createGraphClient } from './meta/graph-client.ts';
import { MetaMessagingAdapter } from './meta/meta.adapter.ts';
import type { ChannelsPorts } from './ports.ts';
import { WhatsAppAdapter } from './whatsapp/whatsapp.adapter.ts';

/** Every channel kind Parley speaks. Platform adapters register here as they land. */
export function createAdapters(deps: Pick<ChannelsPorts, 'config'>): ChannelAdapter[] {
  const graph = createGraphClient(deps);
  return [new MetaMessagingAdapter('messenger', graph), new MetaMessagingAdapter('instagram', graph), new WhatsAppAdapter(graph)];
}
