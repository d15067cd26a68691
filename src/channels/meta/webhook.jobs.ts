import type { Deps } from '../../deps.ts';
import { defineJob, PermanentJobError } from '../../platform/jobs/types.ts';
import { findChannelByExternal } from '../channels.repository.ts';
import { applyChannelEvents } from '../../chats/ingest.service.ts';
import type { ChannelEvent } from '../adapter.ts';
import { followUpJobs } from '../../chats/follow-up.ts';
import { findInboxDelivery, markInboxAttempt, markInboxProcessed } from './inbox.repository.ts';
import { parseMetaWebhook } from './webhook-parser.ts';

const KIND_OF_OBJECT = { page: 'messenger', instagram: 'instagram', whatsapp_business_account: 'whatsapp' } as const;

/**
 * Processes one stored delivery: parse, route each entry to its channel (an unknown account
 * is logged and skipped, §10.6), apply the events (idempotent), then enqueue the follow-up
 * work (media downloads, profiles, history). Re-running it is harmless.
 */
export function processWebhookJob(deps: Deps) {
  const channelIdOf = channelLookup(deps);
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
        // An object Parley does not serve (§10.6): acknowledged, nothing to do.
        deps.logger.info({ inboxId, object: (body as { object?: unknown })?.object }, 'webhook object not handled; acknowledged');
        await markInboxProcessed(deps.db, inboxId);
        return;
      }
      const kind = KIND_OF_OBJECT[parsed.object];
      try {
        const work: Array<{ channelId: number; events: ChannelEvent[] }> = [];
        for (const entry of parsed.entries) {
          const channel = await channelIdOf(kind, entry.accountId);
          if (channel === undefined) {
            deps.logger.info({ inboxId, kind, account: entry.accountId }, 'webhook for an account Parley does not serve; acknowledged');
            continue;
          }
          // F1: post comments reach the chats only while the channel's setting is on.
          const events = channel.comments ? entry.events : entry.events.filter((e) => !isCommentEvent(e));
          if (events.length) work.push({ channelId: channel.id, events });
        }
        for (const [i, { channelId, events }] of work.entries()) {
          await applyChannelEvents(
            deps,
            { id: channelId, kind },
            events,
            (o, _e, tx) => tx.afterCommit(() => followUpJobs(deps, channelId, o)),
            // The delivery is marked processed in the transaction of its last event: one commit
            // fewer, and "processed" is never true of a delivery whose events are not all in.
            i === work.length - 1 ? { inLastTransaction: (tx) => markInboxProcessed(tx.db, inboxId) } : {},
          );
        }
        if (work.length === 0) await markInboxProcessed(deps.db, inboxId);
      } catch (err) {
        await markInboxAttempt(deps.db, inboxId, (err as Error).message.slice(0, 500));
        throw err;
      }
    },
  });
}

/** How long a (platform, account) → channel answer is reused by one worker (a changed comments setting applies within it). */
const CHANNEL_TTL_MS = 30_000;

/** Events of the comments feature: comments themselves, and what happens to them. */
function isCommentEvent(e: ChannelEvent): boolean {
  if (e.type === 'message') return e.kind === 'comment';
  if (e.type === 'moderated') return true;
  // An edit or removal from `feed` changes (Messenger's own edits come as message_edit).
  return (e.type === 'edited' || e.type === 'deleted') && e.comment === true;
}

/**
 * The channel a delivery's account belongs to. A channel's id never changes for its
 * (kind, external id), so the answer is remembered briefly instead of read for every
 * delivery; an unknown account is always looked up again (it may be connected any time).
 */
function channelLookup(deps: Deps) {
  const known = new Map<string, { channel: { id: number; comments: boolean }; at: number }>();
  return async (kind: string, accountId: string): Promise<{ id: number; comments: boolean } | undefined> => {
    const key = `${kind}:${accountId}`;
    const hit = known.get(key);
    if (hit && Date.now() - hit.at < CHANNEL_TTL_MS) return hit.channel;
    const row = await findChannelByExternal(deps.db, kind, accountId);
    const channel = row ? { id: row.id, comments: Boolean((row.settings as { comments?: boolean } | null)?.comments) } : undefined;
    if (channel) known.set(key, { channel, at: Date.now() });
    else known.delete(key);
    return channel;
  };
}
