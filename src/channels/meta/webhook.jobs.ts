import type { Deps } from '../../deps.ts';
import { defineJob, PermanentJobError } from '../../platform/jobs/types.ts';
import { findChannelByExternal } from '../channels.repository.ts';
import { applyChannelEvents, type IngestOutcome } from '../../chats/ingest.service.ts';
import { followUpJobs } from '../../chats/follow-up.ts';
import { findInboxDelivery, markInboxAttempt, markInboxProcessed } from './inbox.repository.ts';
import { parseMetaWebhook } from './webhook-parser.ts';

const KIND_OF_OBJECT = { page: 'messenger', instagram: 'instagram' } as const;

/**
 * Processes one stored delivery: parse, route each entry to its channel (an unknown account
 * is logged and skipped, §10.6), apply the events (idempotent), then enqueue the follow-up
 * work (media downloads, profiles, history). Re-running it is harmless.
 */
export function processWebhookJob(deps: Deps) {
  return defineJob<{ inboxId: number }>({
    name: 'process-webhook',
    jobId: (p) => String(p.inboxId),
    options: { attempts: 8, backoffMs: 1000 },
    async process({ inboxId }) {
      const row = await findInboxDelivery(deps.db, inboxId);
      if (!row || row.processed_at) return;
      let body: unknown;
      try {
        body = JSON.parse(row.body);
      } catch {
        await markInboxAttempt(deps.db, inboxId, 'body is not JSON');
        await markInboxProcessed(deps.db, inboxId);
        throw new PermanentJobError('webhook body is not JSON');
      }
      const parsed = parseMetaWebhook(body);
      if (!parsed) {
        // WhatsApp and other objects are handled by their own channels when they exist.
        deps.logger.info({ inboxId, object: (body as { object?: unknown })?.object }, 'webhook object not handled; acknowledged');
        await markInboxProcessed(deps.db, inboxId);
        return;
      }
      const kind = KIND_OF_OBJECT[parsed.object];
      try {
        for (const entry of parsed.entries) {
          const channel = await findChannelByExternal(deps.db, kind, entry.accountId);
          if (!channel) {
            deps.logger.info({ inboxId, kind, account: entry.accountId }, 'webhook for an account Parley does not serve; acknowledged');
            continue;
          }
          const outcomes: IngestOutcome[] = [];
          await applyChannelEvents(deps, { id: channel.id, kind }, entry.events, (o, _e, tx) => {
            outcomes.push(o);
            tx.afterCommit(() => followUpJobs(deps, channel.id, o));
          });
        }
        await markInboxProcessed(deps.db, inboxId);
      } catch (err) {
        await markInboxAttempt(deps.db, inboxId, (err as Error).message.slice(0, 500));
        throw err;
      }
    },
  });
}
