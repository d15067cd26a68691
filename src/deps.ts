import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from './config.ts';
import { openDatabase, pgliteDirFor, type Database, type Db } from './db/database.ts';
import { migrateToLatest } from './db/migrator.ts';
import { LocalBus, RedisBus, type Bus } from './platform/bus.ts';
import { BullQueue } from './platform/jobs/bullmq-queue.ts';
import { LocalQueue } from './platform/jobs/local-queue.ts';
import type { JobDefinition, JobQueue } from './platform/jobs/types.ts';
import { LiveHub } from './platform/live/hub.ts';
import { liveSessionHashes } from './platform/live/live.repository.ts';
import { createLogger, type Logger } from './platform/logger.ts';
import { createEta, type ViewEngine } from './platform/views.ts';
import { ShopCurrency } from './shop/currency.ts';
import { DEFAULT_SESSION_POLICY, type SessionPolicy } from './auth/auth.service.ts';
import { loadViewer } from './auth/viewer.ts';
import type { ChannelAccessColumns } from './auth/ports.ts';
import { employeesSeeingChannel, redDotInChannelsColumn, visibleChannelIds, visibleChannelIdsColumn } from './chats/access.repository.ts';
import { channelAudienceChanged } from './chats/live/chats.live.ts';
import { retrySetAside } from './chats/ingest/set-aside-retry.ts';
import type { ChannelHooks } from './channels/ports.ts';
import { createJobRegistry } from './jobs.ts';
import { useFeatureDictionaries } from './dictionaries.ts';
import type { AdapterRegistry, ChannelAdapter } from './channels/adapter.ts';
import { createAdapters } from './channels/registry.ts';
import { MediaStorage } from './platform/storage.ts';
import { RateLimiter } from './chats/outbox/rate-limiter.ts';
import { sweepTranscriptions } from './transcription/transcription.service.ts';
import { Redis } from 'ioredis';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Everything a route, job or command needs, built once (house style 1). */
export interface Deps {
  readonly config: Config;
  readonly logger: Logger;
  readonly database: Database;
  readonly db: Db;
  readonly queue: JobQueue;
  readonly bus: Bus;
  readonly live: LiveHub;
  readonly eta: ViewEngine;
  /** The shop's currency (Settings › Shop), read from memory by every render. */
  readonly currency: ShopCurrency;
  readonly sessionPolicy: SessionPolicy;
  readonly jobs: ReturnType<typeof createJobRegistry>;
  /** One adapter per channel kind; domain code asks them, never branches on a platform. */
  readonly adapters: AdapterRegistry;
  readonly storage: MediaStorage;
  readonly rateLimiter: RateLimiter;
  /** Chats' access rules as SQL, passed down to auth (the session statement, a stream's viewer). */
  readonly channelAccess: ChannelAccessColumns;
  /** Chats' answers to channel changes (red dots, who sees a channel, Retry of a set-aside change). */
  readonly channelHooks: ChannelHooks;
  /** Sweeps of features above chats, run by chats' outbox sweep (chats/ports.ts `sweeps`). */
  readonly sweeps: ReadonlyArray<() => Promise<void>>;
  readonly root: string;
  close(): Promise<void>;
}

export interface DepsOptions {
  logger?: Logger;
  /** Redis key prefix for queues and pub/sub (tests use one per file). */
  redisPrefix?: string;
  /** PGlite location; defaults to DATA_DIR/pglite. `memory://` for tests. */
  pgliteDir?: string;
  sessionPolicy?: SessionPolicy;
  /** Skip migrations (the CLI's migrate command runs them itself). */
  migrate?: boolean;
  /** How often live streams' sessions are re-checked for expiry (hub.ts; tests shorten it). */
  liveSessionCheckMs?: number;
  /** Extra or replacement channel adapters (tests register a test adapter). */
  adapters?: ChannelAdapter[];
}

export async function createDeps(config: Config, opts: DepsOptions = {}): Promise<Deps> {
  // Every feature's strings join platform/i18n's (the root assembles them: src/dictionaries.ts).
  useFeatureDictionaries();
  const logger = opts.logger ?? createLogger(config.logLevel);
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    poolSize: config.databasePoolSize,
    pgliteDir: opts.pgliteDir ?? pgliteDirFor(config.dataDir),
  });
  const db = database.db;
  if (opts.migrate !== false) {
    const applied = await migrateToLatest(db);
    if (applied.length) logger.info({ applied }, 'migrations applied');
  }
  // REDIS_PREFIX (config.ts): keys, queues, the rate limiter and pub/sub channels; tests pass one per file.
  const prefix = opts.redisPrefix ?? config.redisPrefix;
  const queue: JobQueue = config.redisUrl ? new BullQueue({ redisUrl: config.redisUrl, prefix }, logger) : new LocalQueue(logger);
  const bus: Bus = config.redisUrl ? new RedisBus(config.redisUrl, `${prefix}:bus:`, logger) : new LocalBus();
  const sessionPolicy = opts.sessionPolicy ?? DEFAULT_SESSION_POLICY;
  const channelAccess: ChannelAccessColumns = { visibleChannelIdsColumn, redDotInChannelsColumn, visibleChannelIds };
  const live = new LiveHub(
    db,
    bus,
    logger,
    (id, acceptLanguage) => loadViewer({ db, channelAccess }, id, acceptLanguage),
    (hashes) => liveSessionHashes(db, hashes, new Date(), new Date(Date.now() - sessionPolicy.idleMs)),
    { sessionCheckMs: opts.liveSessionCheckMs },
  );
  const currency = new ShopCurrency(db, config.locale, logger);
  // Read once before the first page (the CLI's own migrate skips it: no table yet).
  if (opts.migrate !== false) await currency.refresh();
  const eta = createEta(ROOT, process.env.NODE_ENV !== 'development', () => currency.current());

  const deps: Deps = {
    config,
    logger,
    database,
    db,
    queue,
    bus,
    live,
    eta,
    currency,
    sessionPolicy,
    jobs: undefined as unknown as ReturnType<typeof createJobRegistry>,
    adapters: undefined as unknown as AdapterRegistry,
    storage: new MediaStorage(join(config.dataDir, 'media')),
    // With Redis the per-channel pace holds across every worker process (P8).
    rateLimiter: new RateLimiter(config.redisUrl ? rateLimitRedis(config.redisUrl, logger) : undefined, prefix),
    // Asked-for transcriptions whose job was lost (transcription is above chats: passed in).
    sweeps: [() => sweepTranscriptions(deps)],
    channelAccess,
    channelHooks: {
      employeesSeeingChannel,
      audienceChanged: (tx, channelId, seeingBefore) => channelAudienceChanged(deps, tx, channelId, seeingBefore),
      retrySetAside: (id, employeeId) => retrySetAside(deps, id, employeeId),
    },
    root: ROOT,
    async close() {
      await live.close();
      await queue.close();
      deps.rateLimiter.close();
      await bus.close();
      await currency.settle();
      await database.close();
    },
  };
  const adapters = new Map<string, ChannelAdapter>(createAdapters(deps).map((a) => [a.kind, a]));
  for (const a of opts.adapters ?? []) adapters.set(a.kind, a);
  (deps as { adapters: AdapterRegistry }).adapters = adapters;
  (deps as { jobs: ReturnType<typeof createJobRegistry> }).jobs = createJobRegistry(deps);
  return deps;
}

function rateLimitRedis(url: string, logger: Logger): Redis {
  const r = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  r.on('error', (e) => logger.debug({ err: e.message }, 'redis (rate limiter) error'));
  return r;
}

export function registryList(deps: Deps): JobDefinition[] {
  return Object.values(deps.jobs);
}
