import type { ChangePorts } from '../ports.ts';
import { inTransaction, type Tx } from '../../platform/tx.ts';
import type { ChannelEvent } from '../../channels/adapter.ts';
import { normalizePhone } from '../../crm/phone.ts';
import * as repo from '../chats.repository.ts';
import { publishChatChange, type ChatChange } from '../live/chats.live.ts';
import { lastReadOutboundId, quoteOf } from '../thread/thread.ts';
import * as ingestRepo from './ingest.repository.ts';
import { MEDIA_ID } from './media.jobs.ts';
import { findPost } from './posts.repository.ts';
import { toAttachmentView, uiStatus, type AttachmentView, type MessageView } from '../chats.view.ts';

export interface IngestChannel {
  id: number;
  kind: string;
}

export interface IngestOutcome {
  chatId: number | null;
  /** The chat was created by this event (history import, profile fetch follow). */
  createdChat: boolean;
  contactId: number | null;
  messageId: number | null;
  attachmentIds: number[];
  /** A comment's post Parley has not fetched yet (F1: fetched once per post). */
  postToFetch?: string;
}

/**
 * Applies normalized platform events to the chats, channel-agnostically. Each event is its own
 * short transaction; unique keys on platform ids make redeliveries no-ops (R2), and events are
 * applied in platform-timestamp order. Jobs (media download, profile, history) are enqueued
 * after commit by the caller through `onApplied`.
 */
export async function applyChannelEvents(
  deps: ChangePorts,
  channel: IngestChannel,
  events: ChannelEvent[],
  onApplied?: (outcome: IngestOutcome, event: ChannelEvent, tx: Tx) => void,
  opts: { inLastTransaction?: (tx: Tx) => Promise<void> } = {},
): Promise<IngestOutcome[]> {
  const ordered = [...events].sort((a, b) => a.timestamp.getTime() - b.timestamp.getTime());
  const outcomes: IngestOutcome[] = [];
  for (const [i, event] of ordered.entries()) {
    const outcome = await inTransaction(deps.db, deps.logger, async (tx) => {
      const o = await applyOne(deps, tx, channel, event);
      onApplied?.(o, event, tx);
      // E.g. the webhook job marks its delivery processed with the delivery's last event.
      if (i === ordered.length - 1) await opts.inLastTransaction?.(tx);
      return o;
    });
    outcomes.push(outcome);
  }
  return outcomes;
}

/**
 * The shop's own comment, echoed by the platform (F1: "the shop's own comments and replies are
 * not new inbound items but appear as the shop's replies"): an outbound comment in the chat of
 * the comment it answers. Parley's own public replies are already there (the send recorded the
 * id; if the echo is first, the send merges it, outbox.repository.ts). A reply to nothing
 * Parley has is not shown.
 */
async function applyOwnComment(deps: ChangePorts, tx: Tx, channel: IngestChannel, e: Extract<ChannelEvent, { type: 'message' }>): Promise<IngestOutcome> {
  const parent = e.replyToExternalId ? await ingestRepo.findMessageByExternalId(tx.db, channel.id, e.replyToExternalId) : undefined;
  if (!parent) return none();
  const chat = await ingestRepo.insertMessageIntoChat(tx.db, {
    chatId: parent.chat_id,
    channelId: channel.id,
    direction: 'out',
    kind: 'comment',
    text: e.text ?? null,
    externalId: e.externalId,
    status: 'sent',
    sortAt: e.timestamp,
    sentAt: e.timestamp,
    replyToMessageId: parent.id,
    meta: { ...(e.meta ?? {}), echo: true, replyTo: quoteOf(parent) },
    countUnread: false,
    reopen: false,
    markRead: true,
  });
  if (!chat) return { ...none(), chatId: parent.chat_id };
  await publishChatChange(deps, tx, parent.chat_id, { moved: true, newMessageIds: [chat.message_id] }, { chat });
  return { ...none(), chatId: parent.chat_id, messageId: chat.message_id };
}

const none = (): IngestOutcome => ({ chatId: null, createdChat: false, contactId: null, messageId: null, attachmentIds: [] });

async function applyOne(deps: ChangePorts, tx: Tx, channel: IngestChannel, e: ChannelEvent): Promise<IngestOutcome> {
  switch (e.type) {
    case 'message': {
      // The shop's own comment (a reply under a comment): it belongs where its parent is.
      if (e.kind === 'comment' && e.direction === 'out') return applyOwnComment(deps, tx, channel, e);
      let cc = await ingestRepo.upsertContactAndChat(tx.db, {
        channelId: channel.id,
        externalId: e.contactExternalId,
        name: e.contactName ?? null,
        username: e.contactUsername ?? null,
        phone: e.contactPhone ?? null,
        phoneNormalized: e.contactPhone ? normalizePhone(e.contactPhone) : null,
        at: e.timestamp,
      });
      if (cc.chat_id === null) {
        // Created by a concurrent transaction after this statement's snapshot: read it now.
        const chat = await ingestRepo.lockChatOfContact(tx.db, cc.contact_id);
        cc = { ...cc, chat_id: chat.id, status: chat.status, indicator: chat.indicator, lead_read_watermark: chat.lead_read_watermark };
      }
      const chatId = cc.chat_id!;
      const outcome: IngestOutcome = { chatId, createdChat: cc.created, contactId: cc.contact_id, messageId: null, attachmentIds: [] };
      if (e.direction === 'out' && typeof e.meta?.parleyMessageId === 'number') {
        // The echo of a message Parley sent (its metadata names our row): merge, don't add.
        const merged = await ingestRepo.mergeEcho(tx.db, e.meta.parleyMessageId, channel.id, e.externalId);
        const ours = await repo.findMessage(tx.db, e.meta.parleyMessageId);
        if (merged || (ours && ours.channel_id === channel.id)) return outcome;
      }
      // A read receipt can arrive before the echo it covers (§10.5): honour the watermark.
      const alreadyRead = e.direction === 'out' && cc.lead_read_watermark !== null && e.timestamp <= cc.lead_read_watermark;
      // An echo of Parley's own send carries the id the Send API returned: already here.
      const replyTo = e.replyToExternalId ? await ingestRepo.findMessageByExternalId(tx.db, channel.id, e.replyToExternalId) : undefined;
      const status = e.direction === 'in' ? 'received' : alreadyRead ? 'read' : 'sent';
      const meta: Record<string, unknown> = { ...(e.meta ?? {}), ...(e.direction === 'out' ? { echo: true } : {}), ...(e.replyToExternalId ? { replyTo: quoteOf(replyTo) } : {}) };
      let postToFetch: string | undefined;
      if (e.kind === 'comment' && typeof meta.postId === 'string') {
        const post = await findPost(tx.db, channel.id, meta.postId);
        if (post) meta.post = post;
        else postToFetch = meta.postId;
      }
      const chat = await ingestRepo.insertMessageIntoChat(tx.db, {
        chatId,
        channelId: channel.id,
        direction: e.direction,
        kind: e.kind,
        text: e.text ?? null,
        externalId: e.externalId,
        status,
        sortAt: e.timestamp,
        sentAt: e.direction === 'out' ? e.timestamp : null,
        replyToMessageId: replyTo?.id ?? null,
        meta,
        countUnread: e.direction === 'in' && !e.meta?.history,
        reopen: e.direction === 'in' && !e.meta?.history,
        // A reply from the phone or Meta's inbox means someone there read the chat.
        markRead: e.direction === 'out' && !e.meta?.history,
      });
      if (!chat) return outcome;
      const messageId = chat.message_id;
      outcome.messageId = messageId;
      if (postToFetch) outcome.postToFetch = postToFetch;
      const attachments: AttachmentView[] = [];
      for (const a of e.attachments ?? []) {
        if (a.kind === 'sticker' && !a.url && !a.mediaId) continue;
        const row = {
          messageId,
          kind: a.kind,
          mime: a.mime ?? null,
          fileName: a.fileName ?? null,
          sizeBytes: a.sizeBytes ?? null,
          sourceUrl: a.url ?? (a.mediaId ? MEDIA_ID + a.mediaId : null),
        };
        const id = await repo.insertAttachment(tx.db, row);
        outcome.attachmentIds.push(id);
        attachments.push(toAttachmentView({ id, kind: row.kind, mime: row.mime, file_name: row.fileName, size_bytes: row.sizeBytes, status: 'pending', storage_key: null }));
      }
      // The new message's view is known from what was just written, except "Read HH:MM" for
      // an echo that lands read (it may move from an older message): that one is read back.
      const view: MessageView | undefined =
        status === 'read'
          ? undefined
          : {
              id: messageId,
              direction: e.direction,
              kind: e.kind,
              text: e.text ?? null,
              status: uiStatus({ direction: e.direction, status, id: messageId }, chat.read_up_to_message_id),
              statusReason: null,
              senderName: null,
              at: e.timestamp,
              readAt: null,
              deleted: false,
              reactions: [],
              attachments,
              meta,
              showReadAt: false,
            };
      const attention = (s: { status: string | null; indicator: string | null }) => s.status === 'open' && s.indicator !== null && s.indicator !== 'none';
      await publishChatChange(
        deps,
        tx,
        chatId,
        { moved: true, newMessageIds: [messageId], header: true },
        // Everyone's red dot can only flip when this chat starts or stops needing attention.
        { chat, ...(view ? { messages: [view] } : {}), redDots: cc.created || attention(cc) !== attention(chat) },
      );
      return outcome;
    }
    case 'delivery':
    case 'read': {
      const chat = await ingestRepo.findChatOfContact(tx.db, channel.id, e.contactExternalId);
      if (!chat) return none();
      const target = e.type === 'read' ? 'read' : 'delivered';
      let upTo: Date | undefined = e.watermark;
      if (!upTo && e.type === 'read' && e.externalId) {
        // Instagram names the last message read (read.mid). When that message is not here yet
        // (its echo comes later, §10.5), the read's own time is the watermark: the person had
        // read everything sent before it, and the late echo then lands as read.
        upTo = (await ingestRepo.findMessageByExternalId(tx.db, channel.id, e.externalId))?.sort_at ?? e.timestamp;
      }
      const previousLastRead = await lastReadOutboundId(tx.db, chat.id);
      const covers = e.type === 'delivery' && e.externalIds?.length ? { externalIds: e.externalIds } : upTo ? { upTo } : null;
      if (!covers) return { ...none(), chatId: chat.id };
      const changed = await ingestRepo.applyReceipt(tx.db, chat.id, target, e.timestamp, covers);
      if (target === 'read' && upTo) await ingestRepo.raiseLeadReadWatermark(tx.db, chat.id, upTo);
      if (changed.length) {
        const ids = changed.map((c) => c.id);
        if (previousLastRead && !ids.includes(previousLastRead)) ids.push(previousLastRead);
        await publishChatChange(deps, tx, chat.id, { changedMessageIds: ids });
      }
      return { ...none(), chatId: chat.id };
    }
    case 'reaction': {
      const m = await ingestRepo.findMessageByExternalId(tx.db, channel.id, e.targetExternalId);
      if (!m) return none();
      const reactions = { ...(m.reactions ?? {}) };
      if (e.action === 'react' && e.emoji) reactions[e.contactExternalId] = e.emoji;
      else delete reactions[e.contactExternalId];
      await ingestRepo.setMessageReactions(tx.db, m.id, reactions);
      await publishChatChange(deps, tx, m.chat_id, { changedMessageIds: [m.id] });
      return { ...none(), chatId: m.chat_id };
    }
    case 'edited': {
      const m = await ingestRepo.findMessageByExternalId(tx.db, channel.id, e.externalId);
      if (!m || m.text === e.text) return none();
      // Keep what the person wrote before: the edit replaces the text shown, not the record.
      const history = Array.isArray(m.meta?.edits) ? (m.meta.edits as unknown[]) : [];
      await repo.setMessageText(tx.db, m.id, e.text, { ...m.meta, edits: [...history, { text: m.text, at: e.timestamp.toISOString() }] });
      const wasLast = await ingestRepo.setPreviewIfLast(tx.db, m.chat_id, m.id, { kind: m.kind, text: e.text });
      await publishChatChange(deps, tx, m.chat_id, { item: wasLast, changedMessageIds: [m.id] });
      return { ...none(), chatId: m.chat_id };
    }
    case 'deleted': {
      const m = await ingestRepo.findMessageByExternalId(tx.db, channel.id, e.externalId);
      if (!m || m.deleted_at) return none();
      await ingestRepo.markMessageDeleted(tx.db, m.id, e.timestamp);
      // The chat list's preview must not keep showing what the person removed (§10.14).
      const wasLast = await ingestRepo.setPreviewIfLast(tx.db, m.chat_id, m.id, { kind: 'deleted', text: null });
      await publishChatChange(deps, tx, m.chat_id, { item: wasLast, changedMessageIds: [m.id] });
      return { ...none(), chatId: m.chat_id };
    }
    case 'moderated': {
      const m = await ingestRepo.findMessageByExternalId(tx.db, channel.id, e.externalId);
      if (!m || Boolean(m.meta?.hidden) === e.hidden) return none();
      await repo.mergeMessageMeta(tx.db, m.id, { hidden: e.hidden });
      await publishChatChange(deps, tx, m.chat_id, { changedMessageIds: [m.id] });
      return { ...none(), chatId: m.chat_id };
    }
    case 'status': {
      let m = await ingestRepo.findMessageByExternalId(tx.db, channel.id, e.externalId);
      if (!m && e.parleyMessageId) {
        // The status overtook the send's answer (or the answer was lost): our own id, echoed
        // back by the platform, names the message; it takes the platform id now (R2).
        const ours = await repo.findMessage(tx.db, e.parleyMessageId);
        if (ours && ours.channel_id === channel.id && ours.direction === 'out' && (ours.external_id === null || ours.external_id === e.externalId)) {
          if (ours.external_id === null) await ingestRepo.mergeEcho(tx.db, ours.id, channel.id, e.externalId);
          m = { ...ours, external_id: e.externalId };
        }
      }
      if (m?.direction !== 'out') return none();
      const previousLastRead = await lastReadOutboundId(tx.db, m.chat_id);
      // Statuses only move forward, whatever order they arrive in (§4.4): a late "delivered"
      // after "read" changes nothing, "failed" is final. The row's current status decides in
      // the update itself, so two deliveries applied at once cannot lower it either.
      const changed = await ingestRepo.advanceStatus(tx.db, m.id, e.status, e.timestamp, e.reason ?? null);
      if (!changed) return { ...none(), chatId: m.chat_id };
      const ids = [m.id, ...(previousLastRead && previousLastRead !== m.id ? [previousLastRead] : [])];
      const change: ChatChange = { changedMessageIds: ids };
      await publishChatChange(deps, tx, m.chat_id, change);
      return { ...none(), chatId: m.chat_id };
    }
  }
}
