import { DelayedError, Queue, UnrecoverableError, Worker, type Job, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from '../logger.ts';
import { redisReady } from '../redis.ts';
import { databaseUnavailable } from '../../db/unavailable.ts';
import { DeferJob, PermanentJobError, type EnqueueOptions, type JobDefinition, type JobQueue, type JobRef } from './types.ts';

export interface BullOptions {
  redisUrl: string;
  /** Key prefix; tests use a unique one per file. */
  prefix: string;
  concurrency?: number;
}

const QUEUE = 'parley';
/**
 * Deferred runs (`DeferJob`) wait in a queue of their own: a delayed job of the main queue
 * is promoted to the back of its backlog, so a send waiting for its channel's slot would come
 * back seconds late behind thousands of others. Here each one is due at its own time.
 */
const DEFERRED_QUEUE = 'parley-deferred';

/** A deferred run's data: the payload and the attempts already made before it was deferred. */
interface DeferredData {
  p: unknown;
  a: number;
}

const DEFAULT_CONCURRENCY = 16;
/** How soon a job that met PostgreSQL away runs again (not counted as an attempt). */
const DATABASE_RETRY_MS = 1_000;

/**
 * BullMQ runner. Producers use a connection with no offline queue so that enqueueing fails at
 * once while Redis is down (the caller has already committed; a sweeper re-enqueues later).
 * Workers use their own connection that retries forever: they wait for Redis to come back.
 * Short lock and stall intervals bring a killed worker's jobs back within ~9 s (R3).
 */
export class BullQueue implements JobQueue {
  readonly kind = 'bullmq' as const;
  private readonly producerConn: Redis;
  private readonly queue: Queue;
  private readonly deferred: Queue;
  private workers: Worker[] = [];
  private workerConns: Redis[] = [];
  private readonly defs = new Map<string, JobDefinition>();

  constructor(
    private readonly opts: BullOptions,
    private readonly logger: Logger,
  ) {
    this.producerConn = new Redis(opts.redisUrl, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      lazyConnect: false,
    });
    this.producerConn.on('error', (e) => logger.debug({ err: e.message }, 'redis (producer) error'));
    this.queue = new Queue(QUEUE, { connection: this.producerConn, prefix: opts.prefix });
    this.queue.on('error', (e) => logger.debug({ err: e.message }, 'queue error'));
    this.deferred = new Queue(DEFERRED_QUEUE, { connection: this.producerConn, prefix: opts.prefix });
    this.deferred.on('error', (e) => logger.debug({ err: e.message }, 'queue error'));
  }

  private jobOptions(def: JobRef, attemptsBefore = 0): JobsOptions {
    return {
      attempts: Math.max(1, def.options.attempts - attemptsBefore),
      backoff: { type: 'exponential', delay: def.options.backoffMs, jitter: 0.5 },
      removeOnComplete: true,
      removeOnFail: { age: 7 * 24 * 3600 },
    };
  }

  private bullJobId<P>(def: JobRef<P>, payload: P): string {
    // BullMQ job ids may not contain ':'; the domain key is joined with '-'.
    return `${def.name}-${def.jobId(payload)}`.replace(/:/g, '-');
  }

  /**
   * Calls `fn` each time the connection to Redis is ready again after it was lost (not at the
   * first connection): jobs that were in Redis may be gone (a restart without persistence).
   */
  onReconnect(fn: () => void): void {
    let connectedBefore = this.producerConn.status === 'ready';
    this.producerConn.on('ready', () => {
      if (connectedBefore) fn();
      connectedBefore = true;
    });
  }

  /** Enqueues under way: close() lets them land first (see there). */
  private readonly adding = new Set<Promise<void>>();

  enqueue<P>(def: JobRef<P>, payload: P, opts: EnqueueOptions = {}): Promise<void> {
    const p = this.add(def, payload, opts);
    this.adding.add(p);
    const done = () => void this.adding.delete(p);
    p.then(done, done);
    return p;
  }

  private async add<P>(def: JobRef<P>, payload: P, opts: EnqueueOptions): Promise<void> {
    if (!(await redisReady(this.producerConn))) {
      throw new Error(`Redis is unavailable (${this.producerConn.status}); job ${def.name} not enqueued`);
    }
    const jobId = this.bullJobId(def, payload);
    if (opts.replaceFailed) {
      // A failed job is kept (removeOnFail: 7 days) and its id blocks a new one: work whose
      // every attempt met PostgreSQL down (chaos (c) with a 30 s outage: a send's last attempt
      // could not even mark it failed) would stay queued for a week. Only sweepers ask this
      // (one extra round trip), never the hot path.
      const existing = await this.queue.getJob(jobId);
      if (existing && (await existing.isFailed())) await existing.remove();
    }
    await this.queue.add(def.name, payload, { ...this.jobOptions(def), jobId, delay: opts.delayMs });
  }

  async startWorkers(registry: JobDefinition[]): Promise<void> {
    for (const d of registry) this.defs.set(d.name, d);
    const concurrency = this.opts.concurrency ?? DEFAULT_CONCURRENCY;
    this.workers = [
      this.startWorker(QUEUE, concurrency, (job, token) => this.run(job, token, job.data, 0, false)),
      this.startWorker(DEFERRED_QUEUE, concurrency, (job, token) => {
        const d = job.data as DeferredData;
        return this.run(job, token, d.p, d.a, true);
      }),
    ];
  }

  private startWorker(name: string, concurrency: number, processor: (job: Job, token: string | undefined) => Promise<void>): Worker {
    const conn = new Redis(this.opts.redisUrl, { maxRetriesPerRequest: null, enableOfflineQueue: true });
    conn.on('error', (e) => this.logger.debug({ err: e.message }, 'redis (worker) error'));
    this.workerConns.push(conn);
    const worker = new Worker(name, processor, {
      connection: conn,
      prefix: this.opts.prefix,
      concurrency,
      // A killed worker's job is free again once its lock lapses (renewed every lockDuration/2)
      // and the next stall check sees it: at most lockDuration + stalledInterval after the kill.
      // 10 s + 5 s left no room in R3's 15 s for the job itself (chaos (a) measured 14.3 s from
      // the restart); 6 s + 3 s brings it back within 9 s.
      lockDuration: 6_000,
      stalledInterval: 3_000,
      maxStalledCount: 3,
    });
    worker.on('failed', (job, err) => this.logger.warn({ job: job?.name, jobId: job?.id, attempt: job?.attemptsMade, err: err.message }, 'job failed'));
    worker.on('error', (e) => this.logger.debug({ err: e.message }, 'worker error'));
    return worker;
  }

  private async run(job: Job, token: string | undefined, payload: unknown, attemptsBefore: number, deferred: boolean): Promise<void> {
    const def = this.defs.get(job.name);
    if (!def) throw new UnrecoverableError(`Unknown job ${job.name}`);
    const attempt = attemptsBefore + job.attemptsMade + 1;
    try {
      await def.process(payload, { attempt, jobId: job.id ?? '' });
    } catch (caught) {
      // PostgreSQL away (restarting, unreachable) is no failure of the job: it runs again in
      // DATABASE_RETRY_MS without spending an attempt. Counted as failures, a 30 s outage pushed
      // the exponential backoff to 30–60 s and the backlog drained 80 s after PostgreSQL was
      // back (chaos (c) with CHAOS_PG_DOWN_S=30; 13 s after a 5 s outage, close to R3's 15 s).
      // A deadlock victim (40P01) or serialization failure (40001) is retried the same way, after
      // a short jittered pause: the backlog after an outage is processed by many jobs at once,
      // and backing them off exponentially stretched the drain by seconds (chaos (c)).
      const code = (caught as { code?: unknown } | null)?.code;
      const err = databaseUnavailable(caught) ? new DeferJob(DATABASE_RETRY_MS) : code === '40P01' || code === '40001' ? new DeferJob(100 + Math.random() * 300) : caught;
      if (err instanceof DeferJob) {
        const at = Date.now() + Math.max(0, Math.round(err.delayMs));
        if (deferred) {
          // Already in the deferred queue: this very job waits again (an add under its own
          // id would be ignored while it is active).
          await job.moveToDelayed(at, token);
          throw new DelayedError();
        }
        // The main queue's job is done; the deferred run carries the attempts made so far.
        // An existing deferred run of the same job id makes this add a no-op: it is due anyway.
        const data: DeferredData = { p: payload, a: attempt - 1 };
        await this.deferred.add(def.name, data, { ...this.jobOptions(def, attempt - 1), jobId: this.bullJobId(def, payload), delay: at - Date.now() });
        return;
      }
      if (err instanceof PermanentJobError) throw new UnrecoverableError(err.message);
      throw err;
    }
  }

  async idle(): Promise<void> {
    for (;;) {
      let pending = 0;
      for (const q of [this.queue, this.deferred]) {
        const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
        pending += Object.values(counts).reduce((a, b) => a + b, 0);
      }
      if (pending === 0) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async close(): Promise<void> {
    // A webhook is answered 200 before its job is enqueued, and jobs go out after commit, both
    // without waiting: at SIGTERM such an enqueue was still on its way when the connection
    // closed, and the work waited for the sweeper (10–25 s; chaos (e) drained 18 s after the
    // restart). They get a moment to land first.
    if (this.adding.size) await Promise.race([Promise.allSettled([...this.adding]), new Promise((r) => setTimeout(r, 2000).unref())]);
    // Worker.close() waits for active jobs to finish before resolving.
    await Promise.all(this.workers.map((w) => w.close()));
    await this.queue.close();
    await this.deferred.close();
    // BullMQ quirk: on a shared connection that never became ready (Redis down), Queue.close()
    // strips the connection's listeners while its init is still pending; disconnecting then
    // rejects that init, whose handler re-emits 'error' with no listener: an unhandled
    // rejection that crashes the process during shutdown. Keep a listener for that last error.
    for (const q of [this.queue, this.deferred]) {
      (q as unknown as { connection?: { on?(event: 'error', fn: () => void): unknown } }).connection?.on?.('error', () => {});
    }
    for (const c of this.workerConns) c.disconnect();
    this.producerConn.disconnect();
  }

  /** Test helper: remove every key under this queue's prefix. */
  async obliterate(): Promise<void> {
    await this.queue.obliterate({ force: true });
    await this.deferred.obliterate({ force: true });
  }
}
