import type { Deps } from './deps.ts';
import { maintenanceJob } from './platform/maintenance.jobs.ts';
import { outboxSweepJob, sendMessageJob } from './chats/outbox.jobs.ts';
import { markSeenJob } from './chats/seen.jobs.ts';

/**
 * The one job registry: every background job Parley runs, by name. Both runners (BullMQ and
 * the embedded one) take their processors from here.
 */
export function createJobRegistry(deps: Deps) {
  return {
    maintenance: maintenanceJob(deps),
    sendMessage: sendMessageJob(deps, deps.rateLimiter),
    outboxSweep: outboxSweepJob(deps),
    markSeen: markSeenJob(deps),
  };
}
