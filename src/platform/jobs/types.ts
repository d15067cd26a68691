/**
 * One job registry for both runners. A job carries ids, never documents; its id comes from the
 * domain key so the same work enqueued twice is one job; its processor re-reads state and skips
 * what no longer applies (house style 6).
 */
export interface JobOptions {
  /** Total tries, the first included. */
  attempts: number;
  /** Base of the exponential backoff between tries, in ms (jittered). */
  backoffMs: number;
}

/**
 * What it takes to enqueue a job (ref.ts `jobRef`): its name, its id rule and its options,
 * typed by its payload. Declared beside the processor; code that enqueues imports only this,
 * never the processor or the registry.
 */
export interface JobRef<P = unknown> {
  readonly name: string;
  /** Derive the job id from the domain key (e.g. `send-42`), so duplicates collapse. */
  jobId(payload: P): string;
  readonly options: JobOptions;
}

/** A job ref bound to its processor (the registry in jobs.ts holds these). */
export interface JobDefinition<P = unknown> extends JobRef<P> {
  /** Runs the job. Throw `PermanentJobError` for failures a retry cannot fix. */
  process(payload: P, ctx: JobContext): Promise<void>;
}

export interface JobContext {
  attempt: number;
  jobId: string;
}

/** A failure no retry can fix (maps to BullMQ's UnrecoverableError). */
export class PermanentJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentJobError';
  }
}

/**
 * Thrown by a processor to run the same job again in `delayMs` without holding a worker
 * meanwhile and without counting an attempt (e.g. a send waiting for its channel's next send
 * slot). The deferred run does not queue behind the ordinary backlog: it is due at its time.
 */
export class DeferJob extends Error {
  constructor(readonly delayMs: number) {
    super(`deferred for ${delayMs} ms`);
    this.name = 'DeferJob';
  }
}

export interface EnqueueOptions {
  delayMs?: number;
  /**
   * A sweeper re-enqueueing work the database says is still pending: a job of the same id
   * that ran out of attempts (kept a while as failed, which makes a plain enqueue a no-op) is
   * replaced, so the work runs again.
   */
  replaceFailed?: boolean;
}

export interface JobQueue {
  readonly kind: 'bullmq' | 'local';
  /** Fails fast (throws) when the queue backend is unreachable. */
  enqueue<P>(ref: JobRef<P>, payload: P, opts?: EnqueueOptions): Promise<void>;
  /** Start processing (worker role) the jobs of this registry. */
  startWorkers(registry: JobDefinition[]): Promise<void>;
  /** Resolves when no job is queued or running (tests, demo). */
  idle(): Promise<void>;
  /** Stop taking new jobs, let active ones finish, release connections. */
  close(): Promise<void>;
}

export function defineJob<P>(def: { name: string; jobId: (payload: P) => string; options?: Partial<JobOptions>; process: (payload: P, ctx: JobContext) => Promise<void> }): JobDefinition<P> {
  return {
    name: def.name,
    jobId: def.jobId,
    options: { attempts: 5, backoffMs: 1000, ...def.options },
    process: def.process,
  };
}

export function backoffDelay(base: number, attempt: number): number {
  const exp = base * 2 ** Math.max(0, attempt - 1);
  // Full jitter keeps retries of many jobs that failed together from stampeding together.
  return Math.round(exp / 2 + Math.random() * (exp / 2));
}
