/**
 * Ingest's follow-up jobs (processors in media.jobs.ts, profile.jobs.ts, history.jobs.ts,
 * posts.jobs.ts); enqueue them by these refs. The webhook and channel-history refs live in
 * channels/jobs.refs.ts: channels enqueues them.
 */
import { jobRef } from '../../platform/jobs/ref.ts';

/** An inbound attachment into storage; one per attachment. */
export const downloadMediaRef = jobRef<{ attachmentId: number }>({
  name: 'download-media',
  jobId: (p) => String(p.attachmentId),
  options: { attempts: 5, backoffMs: 2000 },
});

/** A contact's profile (name, avatar); one per contact. */
export const fetchProfileRef = jobRef<{ contactId: number }>({
  name: 'fetch-profile',
  jobId: (p) => String(p.contactId),
  options: { attempts: 3, backoffMs: 5000 },
});

/** D4: a new chat's history; one per chat. */
export const importHistoryRef = jobRef<{ chatId: number }>({
  name: 'import-history',
  jobId: (p) => String(p.chatId),
  options: { attempts: 4, backoffMs: 5000 },
});

/** F1: a post shown with its comments; one per channel and post. */
export const fetchPostRef = jobRef<{ channelId: number; postId: string }>({
  name: 'fetch-post',
  jobId: (p) => `${p.channelId}-${p.postId}`,
  options: { attempts: 3, backoffMs: 5000 },
});
