import type { Deps } from '../deps.ts';
import type { ChannelAdapter } from './adapter.ts';

/** Every channel kind Parley speaks. Platform adapters register here as they land. */
export function createAdapters(_deps: Deps): ChannelAdapter[] {
  return [];
}
