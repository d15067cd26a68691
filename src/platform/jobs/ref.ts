import type { EnqueueOptions, JobContext, JobDefinition, JobOptions, JobRef } from './types.ts';

/**
 * Declares a job: its name, its id rule (the domain key, so the same work enqueued twice is one
 * job) and its options, typed by its payload. A ref lives beside its processor; code that
 * enqueues imports only the ref, so a feature never depends on the job registry (jobs.ts) or on
 * the processors of other features.
 */
export function jobRef<P>(def: { name: string; jobId: (payload: P) => string; options?: Partial<JobOptions> }): JobRef<P> {
  return { name: def.name, jobId: def.jobId, options: { attempts: 5, backoffMs: 1000, ...def.options } };
}

/** Binds a ref to the function that runs it (the registry, jobs.ts, collects these). */
export function processorOf<P>(ref: JobRef<P>, process: (payload: P, ctx: JobContext) => Promise<void>): JobDefinition<P> {
  return { ...ref, process };
}

/** What a feature needs to start a job: a ref and its payload, never the registry. */
export type Enqueue = <P>(ref: JobRef<P>, payload: P, opts?: EnqueueOptions) => Promise<void>;

/**
 * The registry's check, at boot: every declared ref has exactly one processor, and every
 * processor was declared. A ref without one would be enqueued and never run; two would run
 * whichever the runner met last.
 */
export function checkRegistry(refs: readonly JobRef[], processors: readonly JobDefinition[]): void {
  const problems: string[] = [];
  const byName = new Map<string, number>();
  for (const p of processors) byName.set(p.name, (byName.get(p.name) ?? 0) + 1);
  for (const [name, n] of byName) if (n > 1) problems.push(`job ${name} has ${n} processors`);
  const declared = new Set(refs.map((r) => r.name));
  for (const r of refs) if (!byName.has(r.name)) problems.push(`job ${r.name} has no processor`);
  for (const name of byName.keys()) if (!declared.has(name)) problems.push(`job ${name} has a processor but no declared ref`);
  if (problems.length) throw new Error(`Job registry: ${problems.join('; ')}`);
}
