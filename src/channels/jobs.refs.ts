/**
 * The jobs channels code enqueues, declared here (below chats) so channels never imports the
 * features that run them: `processWebhook` and `importChannelHistory` are processed by chats'
 * ingest (chats/ingest/webhook.jobs.ts, history.jobs.ts), `refreshTemplates` by
 * channels/whatsapp/templates.service.ts. Names, id rules and options are the registry's.
 */
import { jobRef } from '../platform/jobs/ref.ts';

/** A stored webhook delivery (`process-webhook`), by its inbox row. */
export const processWebhookRef = jobRef<{ inboxId: number }>({
  name: 'process-webhook',
  jobId: (p) => String(p.inboxId),
  options: { attempts: 8, backoffMs: 1000 },
});

/** D4 at connect time: a new channel's recent conversations (`import-channel-history`). */
export const importChannelHistoryRef = jobRef<{ channelId: number }>({
  name: 'import-channel-history',
  jobId: (p) => String(p.channelId),
  options: { attempts: 3, backoffMs: 10_000 },
});

/** H4: a WhatsApp number's template cache (`refresh-templates`). */
export const refreshTemplatesRef = jobRef<{ channelId: number }>({
  name: 'refresh-templates',
  // One per channel and ten minutes: a job that failed for good (kept a while by the queue)
  // does not block the next refresh.
  jobId: (p) => `${p.channelId}-${Math.floor(Date.now() / 600_000)}`,
  options: { attempts: 3, backoffMs: 5000 },
});
