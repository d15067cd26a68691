import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registryList } from '../../src/deps.ts';
import { BullQueue } from '../../src/platform/jobs/bullmq-queue.ts';
import { defineJob, PermanentJobError } from '../../src/platform/jobs/types.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { inTransaction } from '../../src/platform/tx.ts';
import { createTestDeps, usingRedis, type TestContext } from '../helpers.ts';
import { until } from './support.ts';

/**
 * The job runner behind `JobQueue`, in whichever mode the suite runs (LocalQueue embedded,
 * BullMQ with REDIS_URL): after-commit enqueueing, dedupe by domain key, retries with backoff,
 * permanent failures.
 */
let t: TestContext;

type Call = { key: string; attempt: number; at: number; roleVisible?: boolean };
const calls: Call[] = [];
const callsFor = (key: string) => calls.filter((c) => c.key === key);

/** Jobs wait here while a test holds their gate open. */
const gates = new Map<string, { open: Promise<void>; release: () => void }>();
function gate(key: string) {
  let release!: () => void;
  const open = new Promise<void>((r) => (release = r));
  gates.set(key, { open, release });
  return release;
}

const recorder = defineJob<{ key: string }>({
  name: 'test-recorder',
  jobId: (p) => `rec-${p.key}`,
  options: { attempts: 1, backoffMs: 10 },
  async process(p, ctx) {
    // Reads what the enqueueing transaction wrote: it must already be committed.
    const role = await t.deps.db.selectFrom('roles').select('id').where('name', '=', `job-${p.key}`).executeTakeFirst();
    calls.push({ key: p.key, attempt: ctx.attempt, at: Date.now(), roleVisible: Boolean(role) });
    await gates.get(p.key)?.open;
  },
});

const BACKOFF_MS = 100;
const flaky = defineJob<{ key: string; failures: number }>({
  name: 'test-flaky',
  jobId: (p) => `flaky-${p.key}`,
  options: { attempts: 4, backoffMs: BACKOFF_MS },
  async process(p, ctx) {
    calls.push({ key: p.key, attempt: ctx.attempt, at: Date.now() });
    if (ctx.attempt <= p.failures) throw new Error(`transient failure ${ctx.attempt}`);
  },
});

const doomed = defineJob<{ key: string; permanent: boolean }>({
  name: 'test-doomed',
  jobId: (p) => `doomed-${p.key}`,
  options: { attempts: 3, backoffMs: 20 },
  async process(p, ctx) {
    calls.push({ key: p.key, attempt: ctx.attempt, at: Date.now() });
    if (p.permanent) throw new PermanentJobError('the platform said this will never work');
    throw new Error('still failing');
  },
});

beforeAll(async () => {
  t = await createTestDeps();
  await t.deps.queue.startWorkers([...registryList(t.deps), recorder, flaky, doomed]);
});
afterAll(async () => t?.close());

describe(`jobs (${usingRedis ? 'BullMQ' : 'embedded runner'})`, () => {
  it('uses the runner of the mode', () => {
    expect(t.deps.queue.kind).toBe(usingRedis ? 'bullmq' : 'local');
  });

  it('a job enqueued in a transaction that rolls back never runs; one that commits runs after the commit', async () => {
    await expect(
      inTransaction(t.deps.db, t.deps.logger, async (tx) => {
        await tx.db.insertInto('roles').values({ name: 'job-rolled-back' }).execute();
        tx.afterCommit(() => t.deps.queue.enqueue(recorder, { key: 'rolled-back' }));
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');

    await inTransaction(t.deps.db, t.deps.logger, async (tx) => {
      await tx.db.insertInto('roles').values({ name: 'job-committed' }).execute();
      tx.afterCommit(() => t.deps.queue.enqueue(recorder, { key: 'committed' }));
    });
    await until(() => callsFor('committed').length === 1, 'the committed job');
    await t.deps.queue.idle();

    expect(callsFor('rolled-back')).toEqual([]);
    // The processor saw the committed row: enqueueing waited for the commit.
    expect(callsFor('committed')).toMatchObject([{ attempt: 1, roleVisible: true }]);
    expect(await t.deps.db.selectFrom('roles').select('id').where('name', '=', 'job-rolled-back').executeTakeFirst()).toBeUndefined();
  });

  it('an after-commit effect that fails does not undo or fail the committed work', async () => {
    const result = await inTransaction(t.deps.db, t.deps.logger, async (tx) => {
      await tx.db.insertInto('roles').values({ name: 'job-effect-fails' }).execute();
      tx.afterCommit(() => {
        throw new Error('queue down');
      });
      tx.afterCommit(() => t.deps.queue.enqueue(recorder, { key: 'effect-fails' }));
      return 'done';
    });
    expect(result).toBe('done');
    await until(() => callsFor('effect-fails').length === 1, 'the second effect');
    expect(await t.deps.db.selectFrom('roles').select('id').where('name', '=', 'job-effect-fails').executeTakeFirst()).toBeDefined();
  });

  it('runs exactly once when enqueued several times with the same domain key (waiting or active)', async () => {
    const release = gate('once');
    await Promise.all([1, 2, 3].map(() => t.deps.queue.enqueue(recorder, { key: 'once' })));
    await until(() => callsFor('once').length === 1, 'the first run to start');
    // Active now: more copies with the same key are still the same job.
    await t.deps.queue.enqueue(recorder, { key: 'once' });
    await Promise.all([1, 2, 3].map(() => t.deps.queue.enqueue(recorder, { key: 'once' })));
    release();
    await t.deps.queue.idle();
    expect(callsFor('once')).toHaveLength(1);

    // A different key is a different job.
    await t.deps.queue.enqueue(recorder, { key: 'once-other' });
    await t.deps.queue.idle();
    expect(callsFor('once-other')).toHaveLength(1);
  });

  it('retries a failing job with growing backoff, then succeeds', async () => {
    await t.deps.queue.enqueue(flaky, { key: 'flaky', failures: 2 });
    await until(() => callsFor('flaky').length === 3, 'three attempts');
    await t.deps.queue.idle();
    const runs = callsFor('flaky');
    expect(runs.map((r) => r.attempt)).toEqual([1, 2, 3]);
    // Jittered exponential backoff: after attempt n the wait is in [base·2^(n-1)/2, base·2^(n-1)].
    // Only lower bounds are asserted (upper bounds depend on the machine's load).
    const gap1 = runs[1]!.at - runs[0]!.at;
    const gap2 = runs[2]!.at - runs[1]!.at;
    expect(gap1).toBeGreaterThanOrEqual(BACKOFF_MS / 2 - 5);
    expect(gap2).toBeGreaterThanOrEqual(BACKOFF_MS - 5);
  });

  it('gives up after `attempts` tries', async () => {
    await t.deps.queue.enqueue(doomed, { key: 'exhausted', permanent: false });
    await until(() => callsFor('exhausted').length === 3, 'three attempts');
    await t.deps.queue.idle();
    expect(callsFor('exhausted').map((c) => c.attempt)).toEqual([1, 2, 3]);
  });

  it('does not retry a PermanentJobError', async () => {
    await t.deps.queue.enqueue(doomed, { key: 'permanent', permanent: true });
    await until(() => callsFor('permanent').length >= 1, 'the attempt');
    await t.deps.queue.idle();
    // A later job through the same runner proves the runner moved on without a retry.
    await t.deps.queue.enqueue(recorder, { key: 'after-permanent' });
    await until(() => callsFor('after-permanent').length === 1, 'the next job');
    await t.deps.queue.idle();
    expect(callsFor('permanent')).toHaveLength(1);
  });

  it('delayed jobs wait for their delay', async () => {
    const enqueuedAt = Date.now();
    await t.deps.queue.enqueue(recorder, { key: 'delayed' }, { delayMs: 150 });
    await until(() => callsFor('delayed').length === 1, 'the delayed job');
    expect(callsFor('delayed')[0]!.at - enqueuedAt).toBeGreaterThanOrEqual(145);
  });
});

describe('BullMQ producer without Redis', () => {
  it('fails fast instead of queueing in memory (the committed state is swept up later)', async () => {
    const logger = createLogger('silent');
    const q = new BullQueue({ redisUrl: 'redis://127.0.0.1:1', prefix: 'parleytest:down' }, logger);
    try {
      const started = Date.now();
      await expect(q.enqueue(recorder, { key: 'nowhere' })).rejects.toThrow(/Redis is unavailable/);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await Promise.race([q.close(), new Promise((r) => setTimeout(r, 2000))]);
    }
  });
});
