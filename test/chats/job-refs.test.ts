import { describe, expect, it } from 'vitest';
import type { JobRef } from '../../src/platform/jobs/types.ts';
import { importChannelHistoryRef, processWebhookRef, refreshTemplatesRef } from '../../src/channels/jobs.refs.ts';
import { outboxSweepRef, sendMessageRef } from '../../src/chats/outbox/outbox.refs.ts';
import { markSeenRef } from '../../src/chats/thread/thread.refs.ts';
import { downloadMediaRef, fetchPostRef, fetchProfileRef, importHistoryRef } from '../../src/chats/ingest/ingest.refs.ts';

/** #22 changes no job name, id or option: the refs chats and channels enqueue say today's. */
const CASES: Array<[JobRef, unknown, string, string, { attempts: number; backoffMs: number }]> = [
  [sendMessageRef, { messageId: 42 }, 'send-message', '42', { attempts: 6, backoffMs: 1000 }],
  [outboxSweepRef, { slot: '2026-12-08T10:15' }, 'outbox-sweep', '2026-12-08T10:15', { attempts: 1, backoffMs: 1000 }],
  [markSeenRef, { chatId: 3, upToMessageId: 9 }, 'mark-seen', '3-9', { attempts: 3, backoffMs: 2000 }],
  [downloadMediaRef, { attachmentId: 5 }, 'download-media', '5', { attempts: 5, backoffMs: 2000 }],
  [fetchProfileRef, { contactId: 6 }, 'fetch-profile', '6', { attempts: 3, backoffMs: 5000 }],
  [importHistoryRef, { chatId: 7 }, 'import-history', '7', { attempts: 4, backoffMs: 5000 }],
  [fetchPostRef, { channelId: 1, postId: 'p_9' }, 'fetch-post', '1-p_9', { attempts: 3, backoffMs: 5000 }],
  [importChannelHistoryRef, { channelId: 8 }, 'import-channel-history', '8', { attempts: 3, backoffMs: 10_000 }],
  [processWebhookRef, { inboxId: 11 }, 'process-webhook', '11', { attempts: 8, backoffMs: 1000 }],
];

describe('job refs of chats and channels', () => {
  it.each(CASES.map((c) => [c[2], ...c] as const))('%s keeps its name, id rule and options', (_n, ref, sample, name, id, options) => {
    expect([ref.name, ref.jobId(sample), ref.options]).toEqual([name, id, options]);
  });

  it('refresh-templates: one per channel and ten minutes, 3 attempts, 5 s backoff', () => {
    const slot = Math.floor(Date.now() / 600_000);
    expect([refreshTemplatesRef.name, refreshTemplatesRef.options]).toEqual(['refresh-templates', { attempts: 3, backoffMs: 5000 }]);
    expect([`2-${slot}`, `2-${slot + 1}`]).toContain(refreshTemplatesRef.jobId({ channelId: 2 }));
  });
});
