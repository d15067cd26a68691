/** The thread's jobs (processor in seen.jobs.ts); enqueue them by these refs. */
import { jobRef } from '../../platform/jobs/ref.ts';

/** E4: the lead's messages seen; one per chat and last message read. */
export const markSeenRef = jobRef<{ chatId: number; upToMessageId: number }>({
  name: 'mark-seen',
  jobId: (p) => `${p.chatId}-${p.upToMessageId}`,
  options: { attempts: 3, backoffMs: 2000 },
});
