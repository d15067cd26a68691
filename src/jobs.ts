import { maintenanceJob, maintenanceRef } from './platform/maintenance.jobs.ts';
import { checkRegistry } from './platform/jobs/ref.ts';
import type { JobDefinition } from './platform/jobs/types.ts';
import { endExpiredSessions } from './auth/auth.service.ts';
import { importChannelHistoryRef, processWebhookRef, refreshTemplatesRef } from './channels/jobs.refs.ts';
import { refreshTemplatesJob } from './channels/whatsapp/templates.service.ts';
import { outboxSweepJob, sendMessageJob } from './chats/outbox/outbox.jobs.ts';
import { outboxSweepRef, sendMessageRef } from './chats/outbox/outbox.refs.ts';
import { markSeenJob } from './chats/thread/seen.jobs.ts';
import { markSeenRef } from './chats/thread/thread.refs.ts';
import { downloadMediaJob } from './chats/ingest/media.jobs.ts';
import { fetchProfileJob } from './chats/ingest/profile.jobs.ts';
import { importChannelHistoryJob, importHistoryJob } from './chats/ingest/history.jobs.ts';
import { processWebhookJob } from './chats/ingest/webhook.jobs.ts';
import { fetchPostJob } from './chats/ingest/posts.jobs.ts';
import { downloadMediaRef, fetchPostRef, fetchProfileRef, importHistoryRef } from './chats/ingest/ingest.refs.ts';
import { transcribeJob, transcribeRef } from './transcription/transcription.service.ts';

/** Every job Parley declares (each ref lives beside its processor). */
export const JOB_REFS = [
  maintenanceRef,
  sendMessageRef,
  outboxSweepRef,
  markSeenRef,
  processWebhookRef,
  downloadMediaRef,
  fetchProfileRef,
  importHistoryRef,
  importChannelHistoryRef,
  refreshTemplatesRef,
  transcribeRef,
  fetchPostRef,
] as const;

/**
 * What the processors need, as each declares it: the composition root (deps.ts) satisfies it
 * structurally, so this file does not import deps.ts (no cycle between the two).
 */
export type JobRegistryPorts = Parameters<typeof sendMessageJob>[0] &
  Parameters<typeof outboxSweepJob>[0] &
  Parameters<typeof markSeenJob>[0] &
  Parameters<typeof processWebhookJob>[0] &
  Parameters<typeof downloadMediaJob>[0] &
  Parameters<typeof fetchProfileJob>[0] &
  Parameters<typeof importHistoryJob>[0] &
  Parameters<typeof importChannelHistoryJob>[0] &
  Parameters<typeof refreshTemplatesJob>[0] &
  Parameters<typeof transcribeJob>[0] &
  Parameters<typeof fetchPostJob>[0] &
  Parameters<typeof endExpiredSessions>[0];

/**
 * The one job registry: every background job Parley runs, by name, each ref bound to its
 * processor here and nowhere else. Both runners (BullMQ and the embedded one) take their
 * processors from here; a ref without a processor, or with two, stops the boot.
 */
export function createJobRegistry(deps: JobRegistryPorts) {
  const registry = {
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
  checkRegistry(JOB_REFS, Object.values(registry) as JobDefinition[]);
  return registry;
}
