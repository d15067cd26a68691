/**
 * What the chats feature needs from the outside, as narrow types: each function takes
 * `Pick<ChatsPorts, 'db' | 'live'>`-style arguments (route plugins, which need most of it, take
 * the whole), and the composition root (`deps.ts`) satisfies them structurally. This file
 * imports only `platform/`, `db/`, the configuration type, the channel contract and chats' own
 * rate limiter, so nothing under `src/chats` needs `deps.ts`, `jobs.ts`, `app.ts` or `runtime.ts`.
 */
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { Enqueue } from '../platform/jobs/ref.ts';
import type { LiveHub } from '../platform/live/hub.ts';
import type { Logger } from '../platform/logger.ts';
import type { MediaStorage } from '../platform/storage.ts';
import type { ViewEngine } from '../platform/views.ts';
import type { AdapterRegistry } from '../channels/adapter.ts';
import type { RateLimiter } from './outbox/rate-limiter.ts';

export interface ChatsPorts {
  readonly config: Config;
  readonly db: Db;
  readonly logger: Logger;
  /** One adapter per channel kind (channels/registry.ts); chats asks them, never branches on a platform. */
  readonly adapters: AdapterRegistry;
  /** Live events recorded in a transaction, fanned out to the channel's audience. */
  readonly live: Pick<LiveHub, 'record'>;
  /** Partials rendered for live pushes and kept HTML. */
  readonly eta: ViewEngine;
  /** Stored media (attachments, avatars). */
  readonly storage: MediaStorage;
  /** Per-channel send pace and the Conversations API's pace (outbox/rate-limiter.ts). */
  readonly rateLimiter: RateLimiter;
  /** Starts a job by its ref (the refs live beside their processors); never the registry. */
  readonly queue: { readonly enqueue: Enqueue };
  /**
   * Sweeps of features above chats that the outbox sweep runs on each pass (the root passes
   * transcription's: asked-for transcriptions whose job was lost).
   */
  readonly sweeps: ReadonlyArray<() => Promise<void>>;
}

/** Rendering a chat's change and recording it live (live/chats.live.ts `publishChatChange`). */
export type LivePorts = Pick<ChatsPorts, 'eta' | 'live'>;

/** A transaction and the live events it records: what most chat writes need. */
export type ChangePorts = Pick<ChatsPorts, 'db' | 'logger' | 'eta' | 'live'>;

/** Loading a channel's runtime and its adapter (channels/runtimes.ts). */
export type RuntimePorts = Pick<ChatsPorts, 'db' | 'config' | 'adapters'>;
