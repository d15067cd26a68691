import type { Deps } from '../deps.ts';
import { defineJob } from '../platform/jobs/types.ts';
import { inTransaction } from '../platform/tx.ts';
import { PlatformError } from '../channels/adapter.ts';
import { loadChatTarget } from './chat-target.ts';
import { updateChannel } from '../channels/channels.repository.ts';
import * as repo from './chats.repository.ts';
import { publishChatChange } from './chats.live.ts';
import { RateLimiter } from './rate-limiter.ts';
import { pendingInboxOlderThan } from '../channels/meta/inbox.repository.ts';

const SEND_ATTEMPTS = 6;

/** Stored reasons that are Parley's own are message keys, marked so the view translates them. */
export const I18N_REASON = 'i18n:';

/**
 * Sends one queued message. Re-reads state first (a retried or duplicate job for a message
 * already sent does nothing); retryable platform errors throw for BullMQ's jittered backoff;
 * permanent ones mark the message failed with the platform's reason; an invalid token also
 * marks the channel as needing reconnection.
 */
export function sendMessageJob(deps: Deps, limiter: RateLimiter) {
  return defineJob<{ messageId: number }>({
    name: 'send-message',
    jobId: (p) => String(p.messageId),
    options: { attempts: SEND_ATTEMPTS, backoffMs: 1000 },
    async process({ messageId }, ctx) {
      const m = await repo.findMessage(deps.db, messageId);
      if (!m || m.status !== 'queued' || m.direction !== 'out') return;
      const target = await loadChatTarget(deps, m.chat_id);
      if (!target || target.channelState !== 'connected') {
        return fail(deps, m.id, m.chat_id, I18N_REASON + 'chats.error.channel_unavailable');
      }
      const { channel, adapter } = target;
      await limiter.take(channel.id, channel.settings.rateLimitPerSecond);
      try {
        const meta = m.meta as { messagingType?: string; tag?: string; commentExternalId?: string };
        const att = await deps.db.selectFrom('attachments').selectAll().where('message_id', '=', m.id).orderBy('id').executeTakeFirst();
        const attachment =
          att?.storage_key && att.status === 'stored'
            ? {
                kind: att.kind as 'image' | 'file',
                data: await readAll(deps.storage.open(att.storage_key)),
                ...(att.file_name ? { fileName: att.file_name } : {}),
                ...(att.mime ? { mime: att.mime } : {}),
              }
            : undefined;
        const result = await adapter.send(channel, {
          messageId: m.id,
          recipientExternalId: target.contactExternalId,
          ...(attachment ? { attachment } : {}),
          ...(m.text && !attachment ? { text: m.text } : {}),
          ...(meta.messagingType ? { messagingType: meta.messagingType } : {}),
          ...(meta.tag ? { tag: meta.tag } : {}),
          ...(meta.commentExternalId ? { commentExternalId: meta.commentExternalId } : {}),
        });
        await inTransaction(deps.db, deps.logger, async (tx) => {
          // The platform's echo of this very send may have been ingested first, as a message
          // of its own: merge it into ours by its id.
          await tx.db
            .deleteFrom('messages')
            .where('channel_id', '=', m.channel_id)
            .where('external_id', '=', result.externalId)
            .where('id', '<>', m.id)
            .where('sender_employee_id', 'is', null)
            .execute();
          await tx.db
            .updateTable('messages')
            .set({ status: 'sent', status_reason: null, external_id: result.externalId, sent_at: result.sentAt })
            .where('id', '=', m.id)
            .where('status', '=', 'queued')
            .execute();
          // A read receipt can overtake this commit (the person read the message at once and the
          // webhook was applied while it was still queued, §10.5): the chat's read watermark
          // already covers it, so it is read, not merely sent.
          const chatRead = await tx.db.selectFrom('chats').select('lead_read_watermark').where('id', '=', m.chat_id).executeTakeFirst();
          const wm = chatRead?.lead_read_watermark;
          if (wm && wm >= m.sort_at) {
            await tx.db
              .updateTable('messages')
              .set((eb) => ({ status: 'read', read_at: wm, delivered_at: eb.fn.coalesce('delivered_at', eb.val(wm)) }))
              .where('id', '=', m.id)
              .where('status', '=', 'sent')
              .execute();
          }
          await publishChatChange(deps, tx, m.chat_id, { changedMessageIds: [m.id] });
        });
        await enqueueNextInChat(deps, m.chat_id, m.id);
      } catch (err) {
        if (err instanceof PlatformError) {
          if (err.opts.reconnect) {
            await updateChannel(deps.db, channel.id, { state: 'needs_reconnect', stateReason: err.reason });
          }
          if (err.opts.retryable && ctx.attempt < SEND_ATTEMPTS) throw err;
          return fail(deps, m.id, m.chat_id, err.reason);
        }
        if (ctx.attempt < SEND_ATTEMPTS) throw err;
        return fail(deps, m.id, m.chat_id, I18N_REASON + 'chats.error.platform_unavailable');
      }
    },
  });
}

async function fail(deps: Deps, messageId: number, chatId: number, reason: string) {
  await inTransaction(deps.db, deps.logger, async (tx) => {
    await repo.updateMessageStatus(tx.db, messageId, { status: 'failed', reason });
    await publishChatChange(deps, tx, chatId, { changedMessageIds: [messageId] });
  });
  await enqueueNextInChat(deps, chatId, messageId);
}

/** Messages of one submit (a file, then its text) go out in order: the next one follows. */
async function enqueueNextInChat(deps: Deps, chatId: number, afterId: number) {
  const next = await deps.db
    .selectFrom('messages')
    .select('id')
    .where('chat_id', '=', chatId)
    .where('direction', '=', 'out')
    .where('status', '=', 'queued')
    .where('id', '>', afterId)
    .orderBy('id')
    .limit(1)
    .executeTakeFirst();
  if (next) await deps.queue.enqueue(deps.jobs.sendMessage, { messageId: next.id }).catch(() => {});
}

/** Re-enqueues messages left `queued` (crash between commit and enqueue, Redis away). */
export function outboxSweepJob(deps: Deps) {
  return defineJob<{ slot: string }>({
    name: 'outbox-sweep',
    jobId: (p) => p.slot,
    options: { attempts: 1, backoffMs: 1000 },
    async process() {
      const stuck = await repo.queuedMessagesOlderThan(deps.db, new Date(Date.now() - 20_000), 500);
      for (const m of stuck) await deps.queue.enqueue(deps.jobs.sendMessage, { messageId: m.id });
      // Webhook deliveries stored while Redis was down (or whose job was lost) get processed.
      const inbox = await pendingInboxOlderThan(deps.db, new Date(Date.now() - 10_000), 500);
      for (const d of inbox) await deps.queue.enqueue(deps.jobs.processWebhook, { inboxId: d.id });
    },
  });
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(chunks);
}
