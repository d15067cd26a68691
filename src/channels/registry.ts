import type { Deps } from '../deps.ts';
import type { ChannelAdapter } from './adapter.ts';
import { GraphClient } from './meta/graph-client.ts';
import { MetaMessagingAdapter } from './meta/meta.adapter.ts';
import { WhatsAppAdapter } from './whatsapp/whatsapp.adapter.ts';

/** Every channel kind Parley speaks. Platform adapters register here as they land. */
export function createAdapters(deps: Pick<Deps, 'config'>): ChannelAdapter[] {
  const graph = new GraphClient({ baseUrl: deps.config.meta.graphUrl, version: deps.config.meta.graphVersion });
  return [new MetaMessagingAdapter('messenger', graph), new MetaMessagingAdapter('instagram', graph), new WhatsAppAdapter(graph)];
}
