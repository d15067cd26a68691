/**
 * What the channels feature needs from the outside, as narrow types: each function takes
 * `Pick<ChannelsPorts, 'db' | 'logger'>`-style arguments, and the composition root (`deps.ts`)
 * satisfies them structurally. This file imports only `platform/`, `db/`, the configuration
 * type and the channel contract, so nothing under `src/channels` needs `deps.ts` or `jobs.ts`.
 */
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { JobDefinition, JobQueue } from '../platform/jobs/types.ts';
import type { LiveHub } from '../platform/live/hub.ts';
import type { Logger } from '../platform/logger.ts';
import type { AdapterRegistry } from './adapter.ts';

/** A database handle or a transaction's (declared once, in db/). */
export type { Conn } from '../db/database.ts';

/**
 * The jobs channels code enqueues, by the registry's names. For now the `queue` + `jobs` pair,
 * typed down to these three definitions (a later phase replaces them with job references).
 */
export interface ChannelJobs {
  /** D4: a new channel's recent conversations (`import-channel-history`). */
  readonly importChannelHistory: JobDefinition<{ channelId: number }>;
  /** H4: a WhatsApp number's template cache (`refresh-templates`). */
  readonly refreshTemplates: JobDefinition<{ channelId: number }>;
  /** A stored webhook delivery (`process-webhook`). */
  readonly processWebhook: JobDefinition<{ inboxId: number }>;
}

export interface ChannelsPorts {
  readonly config: Config;
  readonly db: Db;
  readonly logger: Logger;
  /** One adapter per channel kind (registry.ts). */
  readonly adapters: AdapterRegistry;
  /** Live events recorded in a transaction (the access-changed event). */
  readonly live: Pick<LiveHub, 'record'>;
  readonly queue: Pick<JobQueue, 'enqueue'>;
  readonly jobs: ChannelJobs;
}
