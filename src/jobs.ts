import type { Deps } from './deps.ts';
import { maintenanceJob } from './platform/maintenance.jobs.ts';
import { endExpiredSessions } from './auth/auth.service.ts';
import { outboxSweepJob, sendMessageJob } from './chats/outbox/outbox.jobs.ts';
import { markSeenJob } from './chats/thread/seen.jobs.ts';
import { downloadMediaJob } from './chats/ingest/media.jobs.ts';
import { fetchProfileJob } from './chats/ingest/profile.jobs.ts';
import { importChannelHistoryJob, importHistoryJob } from './chats/ingest/history.jobs.ts';
import { processWebhookJob } from './chats/ingest/webhook.jobs.ts';
import { refreshTemplatesJob } from './channels/whatsapp/templates.service.ts';
import { transcribeJob } from './transcription/transcription.service.ts';
import { fetchPostJob } from './chats/ingest/posts.jobs.ts';

/**
 * The one job registry: every background job Parley runs, by name. Both runners (BullMQ and
 * the embedded one) take their processors from here.
 */
export function createJobRegistry(deps: Deps) {
  return {
    maintenance: maintenanceJob({ db: deps.db, chores: [(now) => endExpiredSessions(deps, now)] }),
    sendMessage: sendMessageJob(deps),
    outboxSweep: outboxSweepJob(deps),
    markSeen: markSeenJob(deps),
    processWebhook: processWebhookJob(deps),
    downloadMedia: downloadMediaJob(deps),
    fetchProfile: fetchProfileJob(deps),
    importHistory: importHistoryJob(deps),
    importChannelHistory: importChannelHistoryJob(deps),
    refreshTemplates: refreshTemplatesJob(deps),
    transcribe: transcribeJob(deps),
    fetchPost: fetchPostJob(deps),
  };
}
