import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registryList } from '../../src/deps.ts';
import { DeferJob, defineJob } from '../../src/platform/jobs/types.ts';
import { createTestDeps, usingRedis, type TestContext } from '../helpers.ts';
import { until } from './support.ts';

/**
 * `DeferJob`: a job that waits (e.g. for its channel's send slot) without holding a worker.
 * It runs again after its delay, the wait is not an attempt, and it does not queue behind the
 * ordinary backlog.
 */
let t: TestContext;
const runs: Array<{ key: string; attempt: number; at: number }> = [];

const waiter = defineJob<{ key: string; deferMs: number }>({
  name: 'test-waiter',
  jobId: (p) => `waiter-${p.key}`,
  options: { attempts: 1, backoffMs: 10 },
  async process(p, ctx) {
    runs.push({ key: p.key, attempt: ctx.attempt, at: Date.now() });
    if (runs.filter((r) => r.key === p.key).length === 1) throw new DeferJob(p.deferMs);
  },
});

const slow = defineJob<{ key: string }>({
  name: 'test-slow',
  jobId: (p) => `slow-${p.key}`,
  options: { attempts: 1, backoffMs: 10 },
  async process(p) {
    runs.push({ key: p.key, attempt: 1, at: Date.now() });
    await new Promise((r) => setTimeout(r, 40));
  },
});

beforeAll(async () => {
  t = await createTestDeps();
  await t.deps.queue.startWorkers([...registryList(t.deps), waiter, slow]);
});
afterAll(async () => t?.close());

describe(`deferred jobs (${usingRedis ? 'BullMQ' : 'embedded runner'})`, () => {
  it('run again after their delay, and waiting is not an attempt', async () => {
    const t0 = Date.now();
    await t.deps.queue.enqueue(waiter, { key: 'once', deferMs: 300 });
    await until(async () => runs.filter((r) => r.key === 'once').length === 2, 'the deferred run');
    const mine = runs.filter((r) => r.key === 'once');
    // attempts: 1, yet it ran twice: the deferral did not use up the only attempt.
    expect(mine.map((r) => r.attempt)).toEqual([1, 1]);
    expect(mine[1]!.at - t0).toBeGreaterThanOrEqual(280);
  });

  it('are due at their time, not behind the backlog that arrived meanwhile', { timeout: 30_000 }, async () => {
    await t.deps.queue.enqueue(waiter, { key: 'due', deferMs: 200 });
    await until(async () => runs.some((r) => r.key === 'due'), 'the first run');
    // A backlog far longer than the delay: 300 jobs of 40 ms (≥ 0.7 s even 16 at a time).
    await Promise.all(Array.from({ length: 300 }, (_, i) => t.deps.queue.enqueue(slow, { key: `backlog-${i}` })));
    await t.deps.queue.idle();
    const order = runs.map((r) => r.key);
    const dueAgain = order.lastIndexOf('due');
    const lastBacklog = order.lastIndexOf('backlog-299');
    expect(dueAgain).toBeGreaterThan(-1);
    expect(dueAgain).toBeLessThan(lastBacklog);
  });
});
