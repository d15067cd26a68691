import type { ChatsPorts, ChangePorts, RuntimePorts } from '../ports.ts';
import { DeferJob } from '../../platform/jobs/types.ts';
import { inTransaction } from '../../platform/tx.ts';
import { PlatformError, type OutboundMessage } from '../../channels/adapter.ts';
import { updateChannel } from '../../channels/channels.repository.ts';
import { channelRuntimes } from '../../channels/runtimes.ts';
import * as repo from '../chats.repository.ts';
import { findOutgoing, markFailed, markSent, nextQueuedPart, sentChange, type OutgoingRow, queuedMessagesOlderThan } from './outbox.repository.ts';
import { toMessageView, type MessageView } from '../chats.view.ts';
import { inOneStatement, publishChatChange, toLiveMessageView, type ChatChange } from '../live/chats.live.ts';
import { pendingInboxOlderThan } from '../../channels/meta/inbox.repository.ts';
import { databaseUnavailable } from '../../db/unavailable.ts';

/** Stored reasons that are Parley's own are message keys, marked so the view translates them. */
export { I18N_REASON } from '../../platform/i18n/reasons.ts';
import { I18N_REASON } from '../../platform/i18n/reasons.ts';
import { outboxSweepRef, SEND_ATTEMPTS, sendMessageRef } from './outbox.refs.ts';
import { processWebhookRef } from '../../channels/jobs.refs.ts';
import { processorOf } from '../../platform/jobs/ref.ts';

/**
 * Sends one queued message. Re-reads state first (a retried or duplicate job for a message
 * already sent does nothing); retryable platform errors throw for BullMQ's jittered backoff;
 * permanent ones mark the message failed with the platform's reason; an invalid token also
 * marks the channel as needing reconnection.
 *
 * A channel with a send rate limit has its sends paced (rate-limiter.ts): the message's slot
 * is reserved once; a job whose slot is more than a moment away is deferred to it instead of
 * sleeping in a worker, so a paced channel never holds up the sends of the others.
 *
 * One read before the send and, usually, one statement after it: the message's new state
 * with its live events (chats.live.ts `inOneStatement`).
 */
export function sendMessageJob(deps: ChangePorts & RuntimePorts & Pick<ChatsPorts, 'storage' | 'queue' | 'rateLimiter'>) {
  const limiter = deps.rateLimiter;
  // Decrypted credentials kept by ciphertext (runtimes.ts): the send's hot path.
  const runtimes = channelRuntimes(deps, { cache: 'credentials' });
  return processorOf(sendMessageRef, async ({ messageId }, ctx) => {
    const m = await findOutgoing(deps.db, messageId);
    if (m?.status !== 'queued' || m.direction !== 'out') return;
    if (m.external_id !== null) {
      // The platform already has it: its echo named this message (`metadata: parley:<id>`,
      // ingest's mergeEcho) while it was still queued. That happens when an earlier run sent it
      // and died before recording the answer (a worker killed mid-send, Redis losing the job):
      // the run that finds it again must record it, never post it a second time (chaos (a)).
      const next = await recordSent(deps, m, { id: m.id, channelId: m.channel_id, externalId: m.external_id, sentAt: new Date() }, { changedMessageIds: [m.id] });
      if (next) await enqueueNext(deps, next);
      return;
    }
    const adapter = m.ch_kind ? deps.adapters.get(m.ch_kind) : undefined;
    if (m.ch_id === null || m.contact_external_id === null || !adapter || m.ch_state !== 'connected') {
      return fail(deps, m.id, I18N_REASON + 'chats.error.channel_unavailable');
    }
    const channel = runtimes.fromRow({
      id: m.ch_id,
      kind: m.ch_kind!,
      name: m.ch_name!,
      external_id: m.ch_external_id!,
      parent_external_id: m.ch_parent_external_id,
      credentials_enc: m.ch_credentials_enc,
      settings: m.ch_settings ?? {},
    });
    const ticket = `m${m.id}`;
    const slot = await limiter.waitForSlot(channel.id, channel.settings.rateLimitPerSecond, ticket);
    // Another run is sending it right now: look again once its claim lapses (it sent the
    // message by then, or died trying and this run sends it).
    if (slot.kind === 'taken') throw new DeferJob(slot.retryInMs);
    if (slot.kind === 'later') throw new DeferJob(slot.waitMs - WAKE_EARLY_MS);
    try {
      const meta = m.meta as { messagingType?: string; tag?: string; commentExternalId?: string; publicReplyTo?: string; template?: OutboundMessage['template']; sendAttemptedAt?: string };
      // Comment replies have no platform idempotency key: an attempt is noted before it is made,
      // and a later run (a retry, a job re-run after a crash) has the adapter look first.
      const commentReply = Boolean(meta.publicReplyTo || meta.commentExternalId);
      const possiblyDelivered = commentReply && Boolean(meta.sendAttemptedAt);
      if (commentReply && !meta.sendAttemptedAt) await repo.mergeMessageMeta(deps.db, m.id, { sendAttemptedAt: new Date().toISOString() });
      const first = m.attachments[0];
      const attachment =
        first?.storage_key && first.status === 'stored'
          ? {
              kind: first.kind as 'image' | 'file',
              data: await deps.storage.read(first.storage_key),
              ...(first.file_name ? { fileName: first.file_name } : {}),
              ...(first.mime ? { mime: first.mime } : {}),
            }
          : undefined;
      const result = await adapter.send(channel, {
        messageId: m.id,
        recipientExternalId: m.contact_external_id,
        ...(attachment ? { attachment } : {}),
        ...(m.text && !attachment ? { text: m.text } : {}),
        ...(meta.messagingType ? { messagingType: meta.messagingType } : {}),
        ...(meta.tag ? { tag: meta.tag } : {}),
        ...(meta.commentExternalId ? { commentExternalId: meta.commentExternalId } : {}),
        ...(meta.publicReplyTo ? { publicReplyToCommentId: meta.publicReplyTo } : {}),
        ...(m.reply_to_external_id && !meta.publicReplyTo && !meta.commentExternalId ? { replyToExternalId: m.reply_to_external_id } : {}),
        ...(meta.template ? { template: meta.template } : {}),
        ...(possiblyDelivered ? { possiblyDelivered } : {}),
      });
      const sent = { id: m.id, channelId: m.channel_id, externalId: result.externalId, sentAt: result.sentAt };
      const change = { changedMessageIds: [m.id] };
      // Usually one statement: the message as sent with its live re-render, rendered from
      // what was read before the send.
      // The platform has the message now: from here on nothing may send it again. A failure to
      // record it is retried here, never by the job (its retry would post it a second time).
      const next = await recordSent(deps, m, sent, change);
      if (next) await enqueueNext(deps, next);
    } catch (err) {
      // The slot was used or is lost; a retry reserves its own.
      if (channel.settings.rateLimitPerSecond) await limiter.release(channel.id, ticket);
      if (err instanceof PlatformError) {
        if (err.opts.reconnect) {
          await updateChannel(deps.db, channel.id, { state: 'needs_reconnect', stateReason: err.reason });
        }
        if (err.opts.retryable && ctx.attempt < SEND_ATTEMPTS) throw err;
        return fail(deps, m.id, err.reason);
      }
      if (ctx.attempt < SEND_ATTEMPTS) throw err;
      return fail(deps, m.id, I18N_REASON + 'chats.error.platform_unavailable');
    }
  });
}

/**
 * PostgreSQL's answers that recording the send again can fix: a deadlock, a serialization
 * failure, and a unique violation on the platform id — the platform's echo of this very send
 * (a comment, a message from another app) was being ingested as a row of its own while we
 * recorded ours; once it is committed, `markSent` merges it.
 */
const TRANSIENT = new Set(['40P01', '40001', '23505']);

/**
 * PostgreSQL unreachable or restarting: recording an accepted send waits for it to come back
 * (this long at most). Failing the job instead made its retry post the message again (chaos (c)).
 */
const RECORD_BUDGET_MS = 60_000;

/**
 * Records an accepted send, usually in one statement (the message as sent with its live
 * re-render). When that statement meets a transaction ingesting the platform's echo or a status
 * of the same chat (a deadlock, or the echo's row taking the platform id first), and when a
 * read receipt overtook the send, it is recorded in a short transaction instead, retried a few
 * times. Never by failing the job: its retry would post the message a second time.
 */
async function recordSent(deps: ChangePorts, m: OutgoingRow, sent: { id: number; channelId: number; externalId: string; sentAt: Date }, change: ChatChange): Promise<number | null> {
  try {
    const [fast] = await inOneStatement(deps, sentChange(deps.db, sent), (tx) => publishChatChange(deps, tx, m.chat_id, change, { messages: [sentView(m)], channelId: m.channel_id }));
    if (fast) return fast.next_id;
  } catch (err) {
    if (!TRANSIENT.has((err as { code?: string }).code ?? '') && !databaseUnavailable(err)) throw err;
    deps.logger.info({ messageId: m.id, code: (err as { code?: string }).code }, 'recording a send: retried in a transaction');
  }
  const deadline = Date.now() + RECORD_BUDGET_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await inTransaction(deps.db, deps.logger, async (tx) => {
        const row = await markSent(tx.db, sent);
        // A status webhook got there first (it carried our id, ingest recorded it).
        if (!row) return nextQueuedPart(tx.db, m.id);
        await publishChatChange(deps, tx, m.chat_id, change, { messages: [toLiveMessageView(row)], channelId: row.channel_id });
        return row.next_id;
      });
    } catch (err) {
      if (databaseUnavailable(err) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (attempt >= 5 || !TRANSIENT.has((err as { code?: string }).code ?? '')) throw err;
      await new Promise((r) => setTimeout(r, 20 * attempt));
    }
  }
}

/** The message as the thread shows it once sent (its state read before the send). */
function sentView(m: OutgoingRow): MessageView {
  return toMessageView({ ...m, status: 'sent', status_reason: null }, null, null);
}

/** A deferred send comes back this long before its slot, to be there on time. */
const WAKE_EARLY_MS = 50;

async function fail(deps: ChangePorts & Pick<ChatsPorts, 'queue'>, messageId: number, reason: string) {
  const next = await inTransaction(deps.db, deps.logger, async (tx) => {
    const r = await markFailed(tx.db, messageId, reason);
    if (!r) return nextQueuedPart(tx.db, messageId);
    await publishChatChange(deps, tx, r.chat_id, { changedMessageIds: [messageId] }, { channelId: r.channel_id });
    return r.next_id;
  });
  // The submit's next part (its text after a failed file) still goes out.
  if (next) await enqueueNext(deps, next);
}

/** Messages of one submit (a file, then its text) go out in order: the next one follows. */
async function enqueueNext(deps: Pick<ChatsPorts, 'queue'>, messageId: number) {
  await deps.queue.enqueue(sendMessageRef, { messageId }).catch(() => {});
}

/**
 * Re-enqueues messages left `queued` (crash between commit and enqueue, Redis away). The
 * periodic sweep leaves alone what is younger than 20 s (10 s for deliveries): their jobs are
 * normally on their way. `minAgeMs: 0` is the sweep run when Redis comes back (runtime.ts):
 * every job that was in Redis may be gone, so everything pending is enqueued again at once
 * (job ids collapse the ones that did survive; processors skip what is done). Without it, work
 * lost with Redis waited up to 15 s + 20 s for the periodic sweep (chaos (d): 22 s, R3 15 s).
 */
export function outboxSweepJob(deps: Pick<ChatsPorts, 'db' | 'queue' | 'sweeps'>) {
  return processorOf(outboxSweepRef, async ({ minAgeMs }) => {
    const stuck = await queuedMessagesOlderThan(deps.db, new Date(Date.now() - (minAgeMs ?? 20_000)), 500);
    // replaceFailed: a job that ran out of attempts while its message stayed queued (every
    // try met PostgreSQL down, even the one that would have marked it failed) runs again.
    for (const m of stuck) await deps.queue.enqueue(sendMessageRef, { messageId: m.id }, { replaceFailed: true });
    // Webhook deliveries stored while Redis was down (or whose job was lost) get processed.
    const inbox = await pendingInboxOlderThan(deps.db, new Date(Date.now() - (minAgeMs ?? 10_000)), 500);
    for (const d of inbox) await deps.queue.enqueue(processWebhookRef, { inboxId: d.id }, { replaceFailed: true });
    // The sweeps of features above chats the root passed in (transcriptions whose job was lost).
    for (const sweep of deps.sweeps) await sweep();
  });
}
