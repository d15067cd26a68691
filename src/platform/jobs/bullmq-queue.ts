import { DelayedError, Queue, UnrecoverableError, Worker, type Job, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from '../logger.ts';
import { redisReady } from '../redis.ts';
import { DeferJob, PermanentJobError, type EnqueueOptions, type JobDefinition, type JobQueue } from './types.ts';

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

/**
 * BullMQ runner. Producers use a connection with no offline queue so that enqueueing fails at
 * once while Redis is down (the caller has already committed; a sweeper re-enqueues later).
 * Workers use their own connection that retries forever: they wait for Redis to come back.
 * Short lock and stall intervals bring a killed worker's jobs back within ~15 s (R3).
 */
export class BullQueue implements JobQueue {
  readonly kind = 'bullmq' as const;
  private readonly producerConn: Redis;
  private readonly queue: Queue;
  private readonly deferred: Queue;
  private workers: Worker[] = [];
  private workerConns: Redis[] = [];
  private readonly defs = new Map<string, JobDefinition>();

  constructor(private readonly opts: BullOptions, private readonly logger: Logger) {
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

  private jobOptions(def: JobDefinition, attemptsBefore = 0): JobsOptions {
    return {
      attempts: Math.max(1, def.options.attempts - attemptsBefore),
      backoff: { type: 'exponential', delay: def.options.backoffMs, jitter: 0.5 },
      removeOnComplete: true,
      removeOnFail: { age: 7 * 24 * 3600 },
    };
  }

  private bullJobId<P>(def: JobDefinition<P>, payload: P): string {
    // BullMQ job ids may not contain ':'; the domain key is joined with '-'.
    return `${def.name}-${def.jobId(payload)}`.replace(/:/g, '-');
  }

  async enqueue<P>(def: JobDefinition<P>, payload: P, opts: EnqueueOptions = {}): Promise<void> {
    if (!(await redisReady(this.producerConn))) {
      throw new Error(`Redis is unavailable (${this.producerConn.status}); job ${def.name} not enqueued`);
    }
    await this.queue.add(def.name, payload, { ...this.jobOptions(def), jobId: this.bullJobId(def, payload), delay: opts.delayMs });
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
      lockDuration: 10_000,
      stalledInterval: 5_000,
      maxStalledCount: 3,
    });
    worker.on('failed', (job, err) =>
      this.logger.warn({ job: job?.name, jobId: job?.id, attempt: job?.attemptsMade, err: err.message }, 'job failed'),
    );
    worker.on('error', (e) => this.logger.debug({ err: e.message }, 'worker error'));
    return worker;
  }

  private async run(job: Job, token: string | undefined, payload: unknown, attemptsBefore: number, deferred: boolean): Promise<void> {
    const def = this.defs.get(job.name);
    if (!def) throw new UnrecoverableError(`Unknown job ${job.name}`);
    const attempt = attemptsBefore + job.attemptsMade + 1;
    try {
      await def.process(payload, { attempt, jobId: job.id ?? '' });
    } catch (err) {
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
