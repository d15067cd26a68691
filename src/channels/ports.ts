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
import type { Tx } from '../platform/tx.ts';
import type { Conn } from '../db/database.ts';
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
  /** What the features above channels do when a channel changes; the root passes chats' in. */
  readonly channelHooks: ChannelHooks;
}

/**
 * Callbacks into the features above channels (chats), passed in by the root so that channels
 * never imports them: who sees a channel and the red dots are chats' rules, and a set-aside
 * webhook change is applied again by chats' ingest.
 */
export interface ChannelHooks {
  /** The employees who see the channel now (chats' access rules). */
  employeesSeeingChannel(db: Conn, channelId: number): Promise<number[]>;
  /** In the transaction that changed who sees the channel: red dots follow (for those who lost it too). */
  audienceChanged(tx: Tx, channelId: number, seeingBefore: number[]): Promise<void>;
  /** Settings › Chats › Retry: applies a set-aside webhook change again; resolved or failed again. */
  retrySetAside(failureId: number, employeeId: number): Promise<'resolved' | 'failed'>;
}
