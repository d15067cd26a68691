import type { Logger } from '../logger.ts';
import { backoffDelay, DeferJob, PermanentJobError, type EnqueueOptions, type JobDefinition, type JobQueue, type JobRef } from './types.ts';

/**
 * The embedded runner: the same registry and semantics as BullMQ (dedupe by job id while a job
 * is pending, retries with jittered backoff, permanent failures), inside the web process.
 * Nothing is persisted here on purpose: PostgreSQL holds the state every job is rebuilt from,
 * and the sweepers re-enqueue whatever a crash dropped.
 */
export class LocalQueue implements JobQueue {
  readonly kind = 'local' as const;
  private readonly pending = new Map<string, { def: JobRef; payload: unknown; attempt: number; timer?: NodeJS.Timeout }>();
  /** The processors by job name (startWorkers): an enqueued ref runs the one bound to its name. */
  private readonly processors = new Map<string, JobDefinition>();
  private readonly ready: string[] = [];
  private running = 0;
  private started = false;
  private closing = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly logger: Logger,
    private readonly concurrency = 4,
  ) {}

  async enqueue<P>(def: JobRef<P>, payload: P, opts: EnqueueOptions = {}): Promise<void> {
    if (this.closing) throw new Error('Job queue is shutting down');
    const id = `${def.name}:${def.jobId(payload)}`;
    if (this.pending.has(id)) return;
    this.pending.set(id, { def, payload, attempt: 0 });
    this.schedule(id, opts.delayMs ?? 0);
  }

  async startWorkers(registry: JobDefinition[]): Promise<void> {
    for (const d of registry) this.processors.set(d.name, d);
    this.started = true;
    this.pump();
  }

  private schedule(id: string, delayMs: number, due = false) {
    const entry = this.pending.get(id);
    if (!entry) return;
    if (delayMs > 0) {
      entry.timer = setTimeout(() => {
        entry.timer = undefined;
        // A deferred run is due at its time: ahead of the backlog, not behind it.
        if (due) this.ready.unshift(id);
        else this.ready.push(id);
        this.pump();
      }, delayMs);
      entry.timer.unref?.();
    } else {
      this.ready.push(id);
      queueMicrotask(() => this.pump());
    }
  }

  private pump() {
    if (!this.started) return;
    while (this.running < this.concurrency && this.ready.length > 0) {
      const id = this.ready.shift()!;
      const entry = this.pending.get(id);
      if (!entry) continue;
      this.running++;
      entry.attempt++;
      void this.run(id, entry).finally(() => {
        this.running--;
        this.pump();
        this.checkIdle();
      });
    }
    this.checkIdle();
  }

  private async run(id: string, entry: { def: JobRef; payload: unknown; attempt: number }) {
    try {
      const processor = this.processors.get(entry.def.name);
      if (!processor) throw new PermanentJobError(`no processor for job ${entry.def.name}`);
      await processor.process(entry.payload, { attempt: entry.attempt, jobId: id });
      this.pending.delete(id);
    } catch (err) {
      if (err instanceof DeferJob && !this.closing) {
        // Not an attempt: the job only waits (e.g. for its channel's next send slot).
        entry.attempt--;
        this.schedule(id, Math.max(1, Math.round(err.delayMs)), true);
        return;
      }
      const permanent = err instanceof PermanentJobError || entry.attempt >= entry.def.options.attempts;
      this.logger.warn({ job: entry.def.name, jobId: id, attempt: entry.attempt, permanent, err: (err as Error).message }, 'job failed');
      if (permanent || this.closing) this.pending.delete(id);
      else this.schedule(id, backoffDelay(entry.def.options.backoffMs, entry.attempt));
    }
  }

  private checkIdle() {
    if (this.running === 0 && this.ready.length === 0 && ![...this.pending.values()].some((e) => e.timer)) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const r of w) r();
    }
  }

  idle(): Promise<void> {
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.checkIdle();
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const e of this.pending.values()) if (e.timer) clearTimeout(e.timer);
    while (this.running > 0) await new Promise((r) => setTimeout(r, 10));
  }
}
