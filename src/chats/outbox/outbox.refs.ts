/** The outbox's jobs (processors in outbox.jobs.ts); enqueue them by these refs. */
import { jobRef } from '../../platform/jobs/ref.ts';

/** Tries of one send, the first included (outbox.jobs.ts counts against it). */
export const SEND_ATTEMPTS = 6;

/** Sends one queued message; the id is the message's, so a message is one job. */
export const sendMessageRef = jobRef<{ messageId: number }>({
  name: 'send-message',
  jobId: (p) => String(p.messageId),
  options: { attempts: SEND_ATTEMPTS, backoffMs: 1000 },
});

/** Re-enqueues queued messages and unprocessed deliveries; one per time slot (runtime.ts). */
export const outboxSweepRef = jobRef<{ slot: string; minAgeMs?: number }>({
  name: 'outbox-sweep',
  jobId: (p) => p.slot,
  options: { attempts: 1, backoffMs: 1000 },
});
