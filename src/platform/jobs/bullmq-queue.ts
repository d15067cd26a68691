import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from '../logger.ts';
import { redisReady } from '../redis.ts';
import { PermanentJobError, type EnqueueOptions, type JobDefinition, type JobQueue } from './types.ts';

export interface BullOptions {
  redisUrl: string;
  /** Key prefix; tests use a unique one per file. */
  prefix: string;
  concurrency?: number;
}

const QUEUE = 'parley';

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
  private worker: Worker | undefined;
  private workerConn: Redis | undefined;
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
  }

  async enqueue<P>(def: JobDefinition<P>, payload: P, opts: EnqueueOptions = {}): Promise<void> {
    if (!(await redisReady(this.producerConn))) {
      throw new Error(`Redis is unavailable (${this.producerConn.status}); job ${def.name} not enqueued`);
    }
    await this.queue.add(def.name, payload, {
      // BullMQ job ids may not contain ':'; the domain key is joined with '-'.
      jobId: `${def.name}-${def.jobId(payload)}`.replace(/:/g, '-'),
      attempts: def.options.attempts,
      backoff: { type: 'exponential', delay: def.options.backoffMs, jitter: 0.5 },
      delay: opts.delayMs,
      removeOnComplete: true,
      removeOnFail: { age: 7 * 24 * 3600 },
    });
  }

  async startWorkers(registry: JobDefinition[]): Promise<void> {
    for (const d of registry) this.defs.set(d.name, d);
    this.workerConn = new Redis(this.opts.redisUrl, { maxRetriesPerRequest: null, enableOfflineQueue: true });
    this.workerConn.on('error', (e) => this.logger.debug({ err: e.message }, 'redis (worker) error'));
    this.worker = new Worker(
      QUEUE,
      async (job: Job) => {
        const def = this.defs.get(job.name);
        if (!def) throw new UnrecoverableError(`Unknown job ${job.name}`);
        try {
          await def.process(job.data, { attempt: job.attemptsMade + 1, jobId: job.id ?? '' });
        } catch (err) {
          if (err instanceof PermanentJobError) throw new UnrecoverableError(err.message);
          throw err;
        }
      },
      {
        connection: this.workerConn,
        prefix: this.opts.prefix,
        concurrency: this.opts.concurrency ?? 8,
        lockDuration: 10_000,
        stalledInterval: 5_000,
        maxStalledCount: 3,
      },
    );
    this.worker.on('failed', (job, err) =>
      this.logger.warn({ job: job?.name, jobId: job?.id, attempt: job?.attemptsMade, err: err.message }, 'job failed'),
    );
    this.worker.on('error', (e) => this.logger.debug({ err: e.message }, 'worker error'));
  }

  async idle(): Promise<void> {
    for (;;) {
      const counts = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
      if (Object.values(counts).every((n) => n === 0)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async close(): Promise<void> {
    // Worker.close() waits for active jobs to finish before resolving.
    await this.worker?.close();
    await this.queue.close();
    // BullMQ quirk: on a shared connection that never became ready (Redis down), Queue.close()
    // strips the connection's listeners while its init is still pending; disconnecting then
    // rejects that init, whose handler re-emits 'error' with no listener: an unhandled
    // rejection that crashes the process during shutdown. Keep a listener for that last error.
    (this.queue as unknown as { connection?: { on?(event: 'error', fn: () => void): unknown } }).connection?.on?.('error', () => {});
    this.workerConn?.disconnect();
    this.producerConn.disconnect();
  }

  /** Test helper: remove every key under this queue's prefix. */
  async obliterate(): Promise<void> {
    await this.queue.obliterate({ force: true });
  }
}
