import type { ChatsPorts, ChangePorts } from '../ports.ts';
import { PermanentJobError } from '../../platform/jobs/types.ts';
import type { Tx } from '../../platform/tx.ts';
import { databaseUnavailable } from '../../db/unavailable.ts';
import { findChannelByExternal } from '../../channels/channels.repository.ts';
import { applyChannelEvents } from './ingest.service.ts';
import type { ChannelEvent } from '../../channels/adapter.ts';
import { followUpJobs } from './follow-up.ts';
import { findInboxDelivery, markInboxAttempt, markInboxProcessed, recordWebhookFailure } from '../../channels/meta/inbox.repository.ts';
import { parseMetaWebhook } from '../../channels/meta/webhook-parser.ts';
import { splitDelivery, type DeliveryChange } from './changes.ts';
import { cleanString } from '../../channels/meta/clean.ts';
import { processWebhookRef } from '../../channels/jobs.refs.ts';
import { processorOf } from '../../platform/jobs/ref.ts';

const KIND_OF_OBJECT = { page: 'messenger', instagram: 'instagram', whatsapp_business_account: 'whatsapp' } as const;

/**
 * Processes one stored delivery change by change (R9): each change (a messaging item, a comment
 * change, a WhatsApp message or status) is parsed and applied on its own, in its own
 * transaction, so a change that fails is set aside (webhook_failures, shown to admins in
 * Settings › Chats) and never takes its neighbours with it; the delivery is then processed,
 * never stuck. An unknown account is logged and skipped (§10.6). Only a database that is
 * unreachable or busy fails the job, which is retried as before; re-running it is harmless
 * (applied changes are no-ops by their platform ids, a set-aside change counts an attempt).
 */
export function processWebhookJob(deps: ChangePorts & Pick<ChatsPorts, 'adapters' | 'queue'>) {
  const channelOf = channelLookup(deps);
  return processorOf(processWebhookRef, async ({ inboxId }) => {
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
    const changes = splitDelivery(body);
    if (!changes) {
      // An object Parley does not serve (§10.6): acknowledged, nothing to do.
      deps.logger.info({ inboxId, object: (body as { object?: unknown })?.object }, 'webhook object not handled; acknowledged');
      await markInboxProcessed(deps.db, inboxId);
      return;
    }
    const receivedAt = new Date(row.received_at);
    try {
      const { markedInLast } = await applyDeliveryChanges(deps, changes, {
        receivedAt,
        channelOf,
        logContext: { inboxId },
        // The delivery is marked processed in the transaction of its last event: one commit
        // fewer, and "processed" is never true of a delivery whose events are not all in.
        inLastTransaction: (tx) => markInboxProcessed(tx.db, inboxId),
        // Recorded before anything later commits, so a crash cannot lose a set-aside change.
        setAside: async (f) => {
          deps.logger.warn({ inboxId, change: f.change.key, channelId: f.channelId, err: f.error }, 'webhook change set aside');
          await recordWebhookFailure(deps.db, { inboxId, changeKey: f.change.key, change: JSON.stringify(f.change.body), receivedAt, ...summaryOf(f) });
        },
      });
      if (!markedInLast) await markInboxProcessed(deps.db, inboxId);
    } catch (err) {
      await markInboxAttempt(deps.db, inboxId, (err as Error).message.slice(0, 500)).catch(() => {});
      throw err;
    }
  });
}

export interface SetAsideChange {
  change: DeliveryChange;
  channelId: number | null;
  event: ChannelEvent | null;
  error: string;
}

export interface ApplyChangesOptions {
  receivedAt: Date;
  channelOf: ReturnType<typeof channelLookup>;
  inLastTransaction?: (tx: Tx) => Promise<void>;
  setAside: (f: SetAsideChange) => Promise<void>;
  logContext?: Record<string, unknown>;
}

/**
 * Parses and applies changes one by one (the job, and Retry in Settings › Chats). Events are
 * applied per channel in platform-time order, each in its own transaction; `inLastTransaction`
 * joins the last one's. A change that fails for any reason but the database being unavailable
 * goes to `setAside`; that reason is thrown, to retry the whole (idempotent) run later.
 */
export async function applyDeliveryChanges(deps: ChangePorts & Pick<ChatsPorts, 'adapters' | 'queue'>, changes: DeliveryChange[], opts: ApplyChangesOptions): Promise<{ markedInLast: boolean }> {
  const work: Array<{ change: DeliveryChange; channel: { id: number; kind: string }; event: ChannelEvent }> = [];
  const unserved = new Set<string>();
  for (const change of changes) {
    let parsed: ReturnType<typeof parseMetaWebhook>;
    try {
      parsed = parseMetaWebhook(change.body, { receivedAt: opts.receivedAt });
    } catch (err) {
      await opts.setAside({ change, channelId: null, event: null, error: errorText(err) });
      continue;
    }
    if (!parsed) continue;
    const kind = KIND_OF_OBJECT[parsed.object];
    for (const entry of parsed.entries) {
      if (!entry.events.length) continue;
      const channel = await opts.channelOf(kind, entry.accountId);
      if (channel === undefined) {
        if (!unserved.has(entry.accountId)) deps.logger.info({ ...opts.logContext, kind, account: entry.accountId }, 'webhook for an account Parley does not serve; acknowledged');
        unserved.add(entry.accountId);
        continue;
      }
      for (const event of entry.events) {
        // F1: post comments reach the chats only while the channel's setting is on.
        if (!channel.comments && isCommentEvent(event)) continue;
        work.push({ change, channel: { id: channel.id, kind }, event });
      }
    }
  }
  // Channel by channel (in the order they appear), each channel's events in platform-time order.
  const channelOrder = [...new Set(work.map((w) => w.channel.id))];
  const ordered = work.sort((a, b) => channelOrder.indexOf(a.channel.id) - channelOrder.indexOf(b.channel.id) || a.event.timestamp.getTime() - b.event.timestamp.getTime());
  let markedInLast = false;
  for (const [i, { change, channel, event }] of ordered.entries()) {
    const last = i === ordered.length - 1;
    try {
      await applyChannelEvents(
        deps,
        channel,
        [event],
        (o, _e, tx) => tx.afterCommit(() => followUpJobs(deps, channel.id, o)),
        last && opts.inLastTransaction ? { inLastTransaction: opts.inLastTransaction } : {},
      );
      markedInLast = last && Boolean(opts.inLastTransaction);
    } catch (err) {
      if (retryable(err)) throw err;
      await opts.setAside({ change, channelId: channel.id, event, error: errorText(err) });
    }
  }
  return { markedInLast };
}

/**
 * Database errors a later run fixes by itself: unavailable, restarting or shutting down (57P0x,
 * 08xxx), busy (53xxx, a lock not available 55P03, a statement or idle-in-transaction timeout
 * 57014 / 25P03), a lost race (40001, 40P01). Anything else is the change's own fault.
 */
const RETRYABLE_SQLSTATE = /^(40001|40P01|55P03|53\d{3}|57014|57P0\d|25P03|08\d{3})$/;

export function retryable(err: unknown): boolean {
  if (databaseUnavailable(err)) return true;
  const e = err as { code?: unknown; message?: unknown } | null;
  if (typeof e?.code === 'string' && RETRYABLE_SQLSTATE.test(e.code)) return true;
  return typeof e?.message === 'string' && /timeout exceeded when trying to connect|Connection terminated/i.test(e.message);
}

const errorText = (err: unknown): string => cleanString(String((err as Error)?.message ?? err)).slice(0, 500) || 'error';

/** What the admins' list shows of a set-aside change (the event, if it was parsed). */
export function summaryOf(f: SetAsideChange): { channelId: number | null; eventType: string | null; contact: string | null; excerpt: string | null; error: string } {
  const e = f.event as (ChannelEvent & { contactName?: string; contactExternalId?: string; text?: string }) | null;
  const contact = e?.contactName || e?.contactExternalId || null;
  const excerpt = typeof e?.text === 'string' && e.text ? [...e.text].slice(0, 140).join('') : null;
  return { channelId: f.channelId, eventType: e?.type ?? null, contact, excerpt, error: f.error };
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
export function channelLookup(deps: Pick<ChatsPorts, 'db'>) {
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
