import type { ChannelAdapter, ChannelEvent, ChannelRuntime, HistoryOptions, OutboundMessage, PostInfo, Profile, SendPolicy, SendPolicyInput, SendResult } from '../adapter.ts';
import { PlatformError } from '../adapter.ts';
import type { MessageKey } from '../../platform/i18n/index.ts';
import type { GraphClient } from './graph-client.ts';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

/** Comment refusals in Parley's words (§6: 10900 already replied, 10903 cannot be replied to). */
const COMMENT_REASONS: Record<number, string> = { 10900: 'i18n:chats.error.private_reply_used', 10903: 'i18n:chats.error.private_reply_refused' };
function commentRefusal(err: unknown): unknown {
  if (err instanceof PlatformError && err.opts.code !== undefined && Object.hasOwn(COMMENT_REASONS, err.opts.code)) return new PlatformError(COMMENT_REASONS[err.opts.code]!, err.opts);
  return err;
}

/** The tags the help article offers after 7 days; Meta retired them on 2026-04-27 (§2.6). */
export const LEGACY_TAGS = ['ACCOUNT_UPDATE', 'POST_PURCHASE_UPDATE', 'CONFIRMED_EVENT_UPDATE'] as const;

type Platform = 'messenger' | 'instagram';

/**
 * Messenger and Instagram share the Messenger Platform: the same Send API, sender actions,
 * Conversations API and error codes; they differ in windows after 7 days, text limits,
 * profile fields and read receipts. One class, parameterised by platform.
 */
export class MetaMessagingAdapter implements ChannelAdapter {
  readonly kind: Platform;
  readonly labelKey: MessageKey;
  readonly capabilities;

  constructor(
    private readonly platform: Platform,
    private readonly graph: GraphClient,
  ) {
    this.kind = platform;
    this.labelKey = platform === 'messenger' ? 'kind.messenger' : 'kind.instagram';
    this.capabilities = {
      // E4: the help article offers "seen" on Messenger only.
      markSeen: platform === 'messenger',
      comments: true,
      templates: false,
      history: true,
      replies: false,
      maxTextLength: platform === 'messenger' ? 2000 : 1000,
    };
  }

  /** H1, H2, H4: what the composer may send now, measured from the lead's last message. */
  sendPolicy({ channel, lastInboundAt, now }: SendPolicyInput): SendPolicy {
    if (!lastInboundAt) return { action: 'refuse', reasonKey: 'chats.policy.no_inbound' };
    const age = now.getTime() - lastInboundAt.getTime();
    const dayCloses = new Date(lastInboundAt.getTime() + DAY);
    const weekCloses = new Date(lastInboundAt.getTime() + 7 * DAY);
    if (age <= DAY) return { action: 'send', messagingType: 'RESPONSE', closesAt: dayCloses };
    if (age <= 7 * DAY) {
      if (channel.settings.humanAgent) return { action: 'send', messagingType: 'MESSAGE_TAG', tag: 'HUMAN_AGENT', closesAt: weekCloses };
      return { action: 'refuse', reasonKey: 'chats.policy.window_closed_no_human_agent', closedAt: dayCloses };
    }
    if (this.platform === 'instagram') return { action: 'refuse', reasonKey: 'chats.policy.ig_window_closed', closedAt: weekCloses };
    return {
      action: 'tag-required',
      reasonKey: 'chats.policy.window_closed_7d',
      closedAt: weekCloses,
      tags: [...LEGACY_TAGS],
      tagsUsable: Boolean(channel.settings.legacyTags),
    };
  }

  validateText(text: string): MessageKey | null {
    // Instagram counts UTF-8 bytes (§3.4); Messenger characters (§2.5).
    if (this.platform === 'instagram') return Buffer.byteLength(text, 'utf8') > 1000 ? 'chats.composer.too_long_bytes' : null;
    return [...text].length >= 2000 ? 'chats.composer.too_long' : null;
  }

  /** §2.5: 25 MB per Messenger attachment; §3.4: Instagram images 8 MB, the rest 25 MB. */
  maxAttachmentBytes(kind: string): number {
    if (this.platform === 'instagram' && (kind === 'image' || kind === 'sticker')) return 8 * 1024 * 1024;
    return 25 * 1024 * 1024;
  }

  private token(channel: ChannelRuntime): string {
    const t = channel.credentials.accessToken;
    if (typeof t !== 'string' || !t) throw new PlatformError('The channel has no access token', { retryable: false, reconnect: true, code: 190 });
    return t;
  }

  /** Instagram with Facebook Login sends through the linked Page (§3.1). */
  private sendPath(channel: ChannelRuntime): string {
    const pageId = this.platform === 'instagram' ? (channel.parentExternalId ?? channel.externalId) : channel.externalId;
    return `${pageId}/messages`;
  }

  async send(channel: ChannelRuntime, msg: OutboundMessage): Promise<SendResult> {
    if (msg.commentExternalId) return this.privateReply(channel, msg);
    if (msg.publicReplyToCommentId) return this.replyUnderComment(channel, msg.publicReplyToCommentId, msg.text ?? '', Boolean(msg.possiblyDelivered));
    const recipient = msg.commentExternalId ? { comment_id: msg.commentExternalId } : { id: msg.recipientExternalId };
    const message: Record<string, unknown> = { metadata: `parley:${msg.messageId}` };
    const att = msg.attachment;
    const type = att ? (att.kind === 'sticker' ? 'image' : att.kind) : undefined;
    if (att?.url) message.attachment = { type, payload: { url: att.url, is_reusable: true } };
    else if (att?.data) message.attachment = { type, payload: { is_reusable: true } };
    else message.text = msg.text ?? '';
    const body: Record<string, unknown> = { recipient, message };
    if (!msg.commentExternalId) {
      body.messaging_type = msg.messagingType ?? 'RESPONSE';
      if (msg.tag) body.tag = msg.tag;
    }
    // Parley's media URLs sit behind employee logins, so files are uploaded with the message
    // (multipart `filedata`) rather than offered by URL.
    const r =
      att?.data && !att.url
        ? await this.graph.postForm<{ message_id?: string }>(this.sendPath(channel), this.token(channel), body, {
            name: att.fileName ?? 'file',
            data: att.data,
            mime: att.mime ?? 'application/octet-stream',
          })
        : await this.graph.post<{ message_id?: string; recipient_id?: string }>(this.sendPath(channel), this.token(channel), body);
    if (!r?.message_id) throw new PlatformError('The platform accepted the message but returned no id', { retryable: true });
    return { externalId: r.message_id, sentAt: new Date() };
  }

  /** F2: one Messenger/Instagram message to a comment's author (`recipient: {comment_id}`). */
  private async privateReply(channel: ChannelRuntime, msg: OutboundMessage): Promise<SendResult> {
    const body = { recipient: { comment_id: msg.commentExternalId }, message: { text: msg.text ?? '', metadata: `parley:${msg.messageId}` } };
    let r: { message_id?: string };
    try {
      r = await this.graph.post<{ message_id?: string }>(this.sendPath(channel), this.token(channel), body);
    } catch (err) {
      // "Already replied" after an attempt whose answer was lost: that attempt was this message.
      if (msg.possiblyDelivered && err instanceof PlatformError && err.opts.code === 10900) return { externalId: `private-reply:${msg.commentExternalId}`, sentAt: new Date() };
      throw commentRefusal(err);
    }
    if (!r?.message_id) throw new PlatformError('The platform accepted the message but returned no id', { retryable: true });
    return { externalId: r.message_id, sentAt: new Date() };
  }

  /** F2: a public reply under a comment (Facebook `/comments`, Instagram `/replies`, §2.8, §3.3). */
  private async replyUnderComment(channel: ChannelRuntime, commentId: string, text: string, possiblyDelivered: boolean): Promise<SendResult> {
    const edge = this.platform === 'instagram' ? 'replies' : 'comments';
    if (possiblyDelivered) {
      // The Graph comment API has no idempotency key: an earlier attempt's reply, if it is
      // there, is this message (same account, same text), and it is not posted again.
      const own = new Set([channel.externalId, channel.parentExternalId].filter(Boolean));
      const list = await this.graph.get<{ data?: Array<{ id?: string; message?: string; text?: string; from?: { id?: string } }> }>(`${commentId}/${edge}`, this.token(channel), {
        fields: 'id,message,text,from',
        limit: 100,
      });
      const earlier = (list?.data ?? []).find((c) => c.id && own.has(String(c.from?.id ?? '')) && (c.message ?? c.text) === text);
      if (earlier?.id) return { externalId: earlier.id, sentAt: new Date() };
    }
    const r = await this.graph.post<{ id?: string }>(`${commentId}/${edge}`, this.token(channel), { message: text }).catch((err: unknown) => {
      throw commentRefusal(err);
    });
    if (!r?.id) throw new PlatformError('The platform accepted the reply but returned no id', { retryable: true });
    return { externalId: r.id, sentAt: new Date() };
  }

  /** F1: the post's first words and link. */
  async fetchPost(channel: ChannelRuntime, postId: string): Promise<PostInfo> {
    if (this.platform === 'instagram') {
      const m = await this.graph.get<{ caption?: string; permalink?: string }>(postId, this.token(channel), { fields: 'caption,permalink,media_product_type' });
      return { text: m?.caption ?? null, permalink: m?.permalink ?? null };
    }
    const p = await this.graph.get<{ message?: string; permalink_url?: string }>(postId, this.token(channel), { fields: 'message,permalink_url' });
    return { text: p?.message ?? null, permalink: p?.permalink_url ?? null };
  }

  /** F2 moderation: Facebook `is_hidden`, Instagram `hide` (§2.8, §3.3). */
  async moderateComment(channel: ChannelRuntime, commentId: string, hidden: boolean): Promise<void> {
    const param = this.platform === 'instagram' ? 'hide' : 'is_hidden';
    await this.graph.post(commentId, this.token(channel), undefined, { [param]: String(hidden) }).catch((err: unknown) => {
      throw commentRefusal(err);
    });
  }

  async markSeen(channel: ChannelRuntime, contactExternalId: string): Promise<void> {
    await this.graph.post(this.sendPath(channel), this.token(channel), { recipient: { id: contactExternalId }, sender_action: 'mark_seen' });
  }

  /**
   * Name (and @username on Instagram) and picture. Privacy refusals (Messenger 2018218, an
   * empty profile; Instagram consent error 230) are an answer, not a failure: the contact is
   * shown as "Unknown client" and not asked again on every message.
   */
  async fetchProfile(channel: ChannelRuntime, contactExternalId: string): Promise<Profile> {
    const fields = this.platform === 'messenger' ? 'first_name,last_name,name,profile_pic' : 'name,username,profile_pic';
    try {
      const p = await this.graph.get<{ first_name?: string; last_name?: string; name?: string | null; username?: string; profile_pic?: string | null }>(contactExternalId, this.token(channel), {
        fields,
      });
      const name = p?.name || [p?.first_name, p?.last_name].filter(Boolean).join(' ') || undefined;
      if (!name && !p?.username) return { hidden: true };
      return {
        hidden: false,
        ...(name ? { name } : {}),
        ...(p.username ? { username: p.username } : {}),
        ...(p.profile_pic ? { avatarUrl: p.profile_pic } : {}),
      };
    } catch (err) {
      if (err instanceof PlatformError && (err.opts.subcode === 2018218 || err.opts.code === 230 || /consent/i.test(err.reason))) return { hidden: true };
      throw err;
    }
  }

  async recentConversations(channel: ChannelRuntime, opts: HistoryOptions & { conversations: number }): Promise<string[]> {
    await opts.pace();
    const r = await this.graph.get<{ data?: Array<{ id: string; participants?: { data?: Array<{ id: string }> } }> }>(`${this.accountPath(channel)}/conversations`, this.token(channel), {
      platform: this.platform,
      fields: 'participants,updated_time',
      limit: opts.conversations,
    });
    const own = new Set([channel.externalId, channel.parentExternalId]);
    const contacts: string[] = [];
    for (const c of r?.data ?? []) {
      const other = c.participants?.data?.find((p) => !own.has(p.id));
      if (other) contacts.push(other.id);
    }
    return contacts;
  }

  private accountPath(channel: ChannelRuntime): string {
    return this.platform === 'instagram' ? (channel.parentExternalId ?? channel.externalId) : channel.externalId;
  }

  /**
   * D4 via the Conversations API (§2.10): find the thread, page through its message ids, read
   * details (only the most recent ones come with them; older ones are fetched one by one and
   * skipped when the platform no longer serves them).
   */
  async importHistory(channel: ChannelRuntime, contactExternalId: string, opts: HistoryOptions): Promise<ChannelEvent[]> {
    const token = this.token(channel);
    await opts.pace();
    const convs = await this.graph.get<{ data?: Array<{ id: string }> }>(`${this.accountPath(channel)}/conversations`, token, {
      platform: this.platform,
      user_id: contactExternalId,
    });
    const convId = convs?.data?.[0]?.id;
    if (!convId) return [];
    /** The parts of a Graph attachment read below (Messenger and Instagram name them differently). */
    type Attachment = { image_data?: { url?: string }; video_data?: { url?: string }; file_url?: string; payload?: { url?: string }; mime_type?: string; name?: string };
    type Msg = { id: string; created_time?: string; from?: { id: string }; to?: { data?: Array<{ id: string }> }; message?: string; attachments?: { data?: Attachment[] } };
    const messages: Msg[] = [];
    let after: string | undefined;
    while (messages.length < opts.limit) {
      await opts.pace();
      const page = await this.graph.get<{
        messages?: { data?: Msg[]; paging?: { cursors?: { after?: string }; next?: string } };
        data?: Msg[];
        paging?: { cursors?: { after?: string }; next?: string };
      }>(
        after ? `${convId}/messages` : convId,
        token,
        after ? { fields: 'id,created_time,from,to,message,attachments', after, limit: 100 } : { fields: 'messages{id,created_time,from,to,message,attachments}' },
      );
      const box = page?.messages ?? page;
      const data = box?.data ?? [];
      messages.push(...data);
      after = box?.paging?.next ? box?.paging?.cursors?.after : undefined;
      if (!after || data.length === 0) break;
    }
    const events: ChannelEvent[] = [];
    for (const raw of messages.slice(0, opts.limit)) {
      let m: Msg | null = raw;
      if (!m.created_time) {
        await opts.pace();
        try {
          m = await this.graph.get<Msg>(m.id, token, { fields: 'id,created_time,from,to,message,attachments' });
        } catch (err) {
          // "the message has been deleted": older than the platform serves; skip it.
          if (err instanceof PlatformError && !err.opts.retryable) continue;
          throw err;
        }
      }
      if (!m?.created_time) continue;
      const fromPage = m.from?.id === channel.externalId || m.from?.id === channel.parentExternalId;
      const attachments = (m.attachments?.data ?? [])
        .map((a) => {
          const url = a.image_data?.url ?? a.video_data?.url ?? a.file_url ?? a.payload?.url;
          const mime: string | undefined = a.mime_type;
          const kind = mime?.startsWith('image/') ? 'image' : mime?.startsWith('audio/') ? 'audio' : mime?.startsWith('video/') ? 'video' : 'file';
          return url ? { kind: kind as 'image', url: String(url), ...(mime ? { mime } : {}), ...(a.name ? { fileName: String(a.name) } : {}) } : null;
        })
        .filter((a): a is NonNullable<typeof a> => a !== null);
      events.push({
        type: 'message',
        channelExternalId: channel.externalId,
        contactExternalId,
        direction: fromPage ? 'out' : 'in',
        externalId: m.id,
        timestamp: new Date(m.created_time),
        kind: attachments[0]?.kind ?? 'text',
        ...(m.message ? { text: m.message } : {}),
        ...(attachments.length ? { attachments } : {}),
        meta: { history: true },
      });
    }
    // The API lists newest first and created_time has whole seconds: hand the events over oldest
    // first so that ingest's stable sort by timestamp keeps the platform's order for messages
    // sent within the same second (they were imported reversed).
    return events.reverse();
  }
}
