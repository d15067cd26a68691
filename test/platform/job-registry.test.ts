import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registryList } from '../../src/deps.ts';
import { createTestDeps, type TestContext } from '../helpers.ts';

/**
 * The jobs Parley runs, as BullMQ and the sweepers know them: their names, id rules and options
 * must not move when code moves (a renamed job or a new id rule would orphan queued work, and
 * an id that no longer collapses duplicates would run the same work twice). Taken from the
 * registry before the layout change (#22); a change here is a change of behaviour.
 */
const EXPECTED: Record<string, { sample: Record<string, unknown>; id: string; attempts: number; backoffMs: number }> = {
  'send-message': { sample: { messageId: 42 }, id: '42', attempts: 6, backoffMs: 1000 },
  'outbox-sweep': { sample: { slot: '2026-12-08T10:15' }, id: '2026-12-08T10:15', attempts: 1, backoffMs: 1000 },
  'mark-seen': { sample: { chatId: 3, upToMessageId: 9 }, id: '3-9', attempts: 3, backoffMs: 2000 },
  'download-media': { sample: { attachmentId: 5 }, id: '5', attempts: 5, backoffMs: 2000 },
  'fetch-profile': { sample: { contactId: 6 }, id: '6', attempts: 3, backoffMs: 5000 },
  'import-history': { sample: { chatId: 7 }, id: '7', attempts: 4, backoffMs: 5000 },
  'import-channel-history': { sample: { channelId: 8 }, id: '8', attempts: 3, backoffMs: 10_000 },
  'process-webhook': { sample: { inboxId: 11 }, id: '11', attempts: 8, backoffMs: 1000 },
  'refresh-templates': { sample: { channelId: 2 }, id: `2-${Math.floor(Date.now() / 600_000)}`, attempts: 3, backoffMs: 5000 },
  transcribe: { sample: { messageId: 12 }, id: '12', attempts: 3, backoffMs: 2000 },
  'fetch-post': { sample: { channelId: 1, postId: 'p_9' }, id: '1-p_9', attempts: 3, backoffMs: 5000 },
  maintenance: { sample: { hour: '2026-12-08T10' }, id: '2026-12-08T10', attempts: 3, backoffMs: 10_000 },
};

let t: TestContext;
beforeAll(async () => {
  t = await createTestDeps();
});
afterAll(async () => {
  await t?.close();
});

describe('the job registry', () => {
  it('holds exactly the jobs it held, with the same names, id rules and options', () => {
    const jobs = registryList(t.deps);
    expect(jobs.map((j) => j.name).sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const j of jobs) {
      const e = EXPECTED[j.name]!;
      expect({ name: j.name, id: j.jobId(e.sample as never), options: j.options }).toEqual({ name: j.name, id: e.id, options: { attempts: e.attempts, backoffMs: e.backoffMs } });
    }
  });
});
