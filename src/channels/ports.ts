/**
 * What the channels feature needs from the outside, as narrow types: each function takes
 * `Pick<ChannelsPorts, 'db' | 'logger'>`-style arguments, and the composition root (`deps.ts`)
 * satisfies them structurally. This file imports only `platform/`, `db/`, the configuration
 * type and the channel contract, so nothing under `src/channels` needs `deps.ts` or `jobs.ts`.
 */
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { Enqueue } from '../platform/jobs/ref.ts';
import type { LiveHub } from '../platform/live/hub.ts';
import type { Logger } from '../platform/logger.ts';
import type { AdapterRegistry } from './adapter.ts';

/** A database handle or a transaction's (declared once, in db/). */
export type { Conn } from '../db/database.ts';

export interface ChannelsPorts {
  readonly config: Config;
  readonly db: Db;
  readonly logger: Logger;
  /** One adapter per channel kind (registry.ts). */
  readonly adapters: AdapterRegistry;
  /** Live events recorded in a transaction (the access-changed event). */
  readonly live: Pick<LiveHub, 'record'>;
  /** Starts a job by its ref (jobs.refs.ts: the jobs channels code enqueues). */
  readonly queue: { readonly enqueue: Enqueue };
}
