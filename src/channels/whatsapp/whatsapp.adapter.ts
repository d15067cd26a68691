import type { ChannelAdapter, ChannelRuntime, MediaSource, OutboundMessage, SendPolicy, SendPolicyInput, SendResult } from '../adapter.ts';
import { PlatformError } from '../adapter.ts';
import type { GraphClient } from '../meta/graph-client.ts';
import { whatsappFailureReason } from './errors.ts';

const DAY = 24 * 3600_000;
const MB = 1024 * 1024;

/** Outbound media WhatsApp takes (§4.5, §8); anything else goes as a document. */
const SEND_AS: Array<[RegExp, 'image' | 'audio' | 'video' | 'sticker']> = [
  [/^image\/(jpeg|png)$/, 'image'],
  [/^image\/webp$/, 'sticker'],
  [/^audio\/(aac|amr|mpeg|mp4|ogg)$/, 'audio'],
  [/^video\/(mp4|3gpp)$/, 'video'],
];

export function whatsappMediaType(mime: string | undefined): 'image' | 'audio' | 'video' | 'sticker' | 'document' {
  for (const [re, type] of SEND_AS) if (mime && re.test(mime)) return type;
  return 'document';
}

/** The send API's recipient: a phone number as `to` with its `+` (§4.5), a BSUID as `recipient` (§4.1). */
export function recipientOf(contactExternalId: string): Record<string, string> {
  return /^\d{5,20}$/.test(contactExternalId) ? { to: '+' + contactExternalId } : { recipient: contactExternalId };
}

/**
 * WhatsApp Business Cloud API (meta-platform.md §4). The channel's external id is the phone
 * number id, its parent the WABA; the token is a system user's. There is no profile or history
 * API (§4.8, §4.9): names come with each webhook, everything else is what webhooks brought.
 */
export class WhatsAppAdapter implements ChannelAdapter {
  readonly kind = 'whatsapp';
  readonly labelKey = 'kind.whatsapp' as const;
  readonly capabilities = { markSeen: true, comments: false, templates: true, history: false, replies: true, maxTextLength: 4096 };

  constructor(private readonly graph: GraphClient) {}

  /**
   * H3: within 24 h of the person's last message anything goes; after that, and before they
   * ever wrote, only an approved template (there is no 7-day exception on WhatsApp, §4.6).
   */
  sendPolicy({ lastInboundAt, now }: SendPolicyInput): SendPolicy {
    if (!lastInboundAt) return { action: 'template-required', reasonKey: 'chats.policy.wa_no_inbound' };
    const closes = new Date(lastInboundAt.getTime() + DAY);
    if (now.getTime() - lastInboundAt.getTime() <= DAY) return { action: 'send', messagingType: 'RESPONSE', closesAt: closes };
    return { action: 'template-required', reasonKey: 'chats.policy.wa_window_closed', closedAt: closes };
  }

  /** A WhatsApp user's id is their number without `+` (§4.1). */
  contactForPhone(e164: string): string | null {
    return /^\+\d{6,15}$/.test(e164) ? e164.slice(1) : null;
  }

  /** §8: image 5 MB, audio and video 16 MB, documents 100 MB, stickers 500 KB. */
  maxAttachmentBytes(kind: string): number {
    if (kind === 'image') return 5 * MB;
    if (kind === 'sticker') return 500 * 1024;
    if (kind === 'audio' || kind === 'video') return 16 * MB;
    return 100 * MB;
  }

  private token(channel: ChannelRuntime): string {
    const t = channel.credentials.accessToken;
    if (typeof t !== 'string' || !t) throw new PlatformError('The channel has no access token', { retryable: false, reconnect: true, code: 190 });
    return t;
  }

  /** Graph errors with a WhatsApp meaning get Parley's words (the same as a `failed` webhook's). */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof PlatformError && err.opts.code !== undefined) {
        const reason = whatsappFailureReason(err.opts.code, err.reason);
        if (reason !== err.reason && reason.startsWith('i18n:')) throw new PlatformError(reason, err.opts);
      }
      throw err;
    }
  }

  async send(channel: ChannelRuntime, msg: OutboundMessage): Promise<SendResult> {
    const token = this.token(channel);
    const body: Record<string, unknown> = {
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      ...recipientOf(msg.recipientExternalId),
      // Status webhooks carry it back: a status that overtakes the send's answer still finds
      // its message, and a send whose answer was lost is recognised (R2).
      biz_opaque_callback_data: `parley:${msg.messageId}`,
      ...(msg.replyToExternalId ? { context: { message_id: msg.replyToExternalId } } : {}),
    };
    if (msg.template) {
      const { name, language, params } = msg.template;
      body.type = 'template';
      body.template = {
        name,
        language: { code: language },
        ...(params.length ? { components: [{ type: 'body', parameters: params.map((text) => ({ type: 'text', text })) }] } : {}),
      };
    } else if (msg.attachment?.data) {
      const a = msg.attachment;
      const mime = a.mime ?? 'application/octet-stream';
      const type = whatsappMediaType(mime);
      // Upload first (recommended over links, §4.5; Parley's files are behind logins anyway).
      const up = await this.call(() =>
        this.graph.postForm<{ id?: string }>(
          `${channel.externalId}/media`,
          token,
          { messaging_product: 'whatsapp', type: mime },
          {
            name: a.fileName ?? 'file',
            data: a.data!,
            mime,
            field: 'file',
          },
        ),
      );
      if (!up?.id) throw new PlatformError('The platform accepted the upload but returned no media id', { retryable: true });
      body.type = type;
      body[type] = { id: up.id, ...(type === 'document' && a.fileName ? { filename: a.fileName } : {}) };
    } else {
      body.type = 'text';
      body.text = { body: msg.text ?? '', preview_url: false };
    }
    const r = await this.call(() => this.graph.post<{ messages?: Array<{ id?: string }> }>(`${channel.externalId}/messages`, token, body));
    const id = r?.messages?.[0]?.id;
    if (!id) throw new PlatformError('The platform accepted the message but returned no id', { retryable: true });
    return { externalId: id, sentAt: new Date() };
  }

  /** §4.7: marking the newest message read marks the earlier ones too. */
  async markSeen(channel: ChannelRuntime, _contact: string, lastInbound?: string): Promise<void> {
    if (!lastInbound) return;
    await this.call(() => this.graph.post(`${channel.externalId}/messages`, this.token(channel), { messaging_product: 'whatsapp', status: 'read', message_id: lastInbound }));
  }

  /** §4.2: `GET /{media-id}` answers a URL that lives 5 minutes and needs the token. */
  async mediaSource(channel: ChannelRuntime, mediaId: string): Promise<MediaSource> {
    const token = this.token(channel);
    const r = await this.call(() => this.graph.get<{ url?: string; mime_type?: string; file_size?: number | string }>(mediaId, token, { phone_number_id: channel.externalId }));
    if (!r?.url) throw new PlatformError('The platform returned no URL for the media', { retryable: true });
    const size = Number(r.file_size);
    return { url: r.url, bearerToken: token, ...(r.mime_type ? { mime: r.mime_type.split(';')[0]!.trim() } : {}), ...(Number.isFinite(size) && size > 0 ? { sizeBytes: size } : {}) };
  }
}
