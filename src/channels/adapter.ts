/**
 * The channel adapter contract: everything platform-specific lives behind it. Domain code
 * (chats, outbox, ingest) never branches on a platform's name; it asks the adapter.
 */
import type { MessageKey } from '../platform/i18n/index.ts';

export type ChannelKind = 'messenger' | 'instagram' | 'whatsapp' | (string & {});

/** A channel as adapters see it: ids, decrypted credentials and settings. */
export interface ChannelRuntime {
  id: number;
  kind: ChannelKind;
  name: string;
  externalId: string;
  parentExternalId: string | null;
  credentials: { accessToken?: string; [k: string]: unknown };
  settings: ChannelSettings;
}

export interface ChannelSettings {
  /** F1: receive post comments in the chat feed. */
  comments?: boolean;
  /** Messenger: the app has the human_agent permission (24 h – 7 d replies). */
  humanAgent?: boolean;
  /** Messenger: H1 legacy message tags (retired by Meta; off by default). */
  legacyTags?: boolean;
  /** Sends per second this channel may make (P8). */
  rateLimitPerSecond?: number;
  /** WhatsApp: the number as the platform displays it (`+15550001234`). */
  displayPhoneNumber?: string | undefined;
}

export type AttachmentKind = 'image' | 'audio' | 'video' | 'file' | 'sticker';

export interface InboundAttachment {
  kind: AttachmentKind;
  url?: string;
  /** WhatsApp media id, fetched with the token. */
  mediaId?: string;
  mime?: string;
  fileName?: string;
  sizeBytes?: number;
}

/** Normalized platform events; a webhook delivery becomes a list of these. */
export type ChannelEvent =
  | {
      type: 'message';
      /** The account the event belongs to (Page id, IG account id, phone number id). */
      channelExternalId: string;
      contactExternalId: string;
      /** 'out' for echoes: messages the account sent (from Parley or elsewhere). */
      direction: 'in' | 'out';
      externalId: string;
      timestamp: Date;
      kind: 'text' | AttachmentKind | 'unsupported' | 'comment' | 'location' | 'contacts';
      text?: string;
      attachments?: InboundAttachment[];
      contactName?: string;
      contactUsername?: string;
      contactPhone?: string;
      /** A reply's parent (comment replies). */
      replyToExternalId?: string;
      meta?: Record<string, unknown>;
    }
  | { type: 'delivery'; channelExternalId: string; contactExternalId: string; externalIds?: string[]; watermark?: Date; timestamp: Date }
  | { type: 'read'; channelExternalId: string; contactExternalId: string; externalId?: string; watermark?: Date; timestamp: Date }
  | {
      type: 'reaction';
      channelExternalId: string;
      contactExternalId: string;
      targetExternalId: string;
      action: 'react' | 'unreact';
      emoji?: string;
      timestamp: Date;
    }
  | { type: 'deleted'; channelExternalId: string; contactExternalId: string; externalId: string; timestamp: Date; comment?: true }
  | { type: 'edited'; channelExternalId: string; contactExternalId: string; externalId: string; text: string; timestamp: Date; comment?: true }
  /** A comment hidden or shown again on the platform (F2 moderation, Page `feed` hide/unhide). */
  | { type: 'moderated'; channelExternalId: string; externalId: string; hidden: boolean; timestamp: Date }
  | {
      type: 'status';
      channelExternalId: string;
      externalId: string;
      status: 'sent' | 'delivered' | 'read' | 'failed';
      reason?: string;
      /** Parley's own message id, when the platform echoes it back (WhatsApp `biz_opaque_callback_data`). */
      parleyMessageId?: number;
      timestamp: Date;
    };

/** What the composer may do now, given the chat's windows (H1–H4). */
export type SendPolicy =
  | { action: 'send'; messagingType: string; tag?: string; closesAt?: Date; noteKey?: MessageKey }
  | { action: 'tag-required'; reasonKey: MessageKey; closedAt?: Date; tags: string[]; tagsUsable: boolean }
  | { action: 'template-required'; reasonKey: MessageKey; closedAt?: Date }
  | { action: 'refuse'; reasonKey: MessageKey; closedAt?: Date };

export interface SendPolicyInput {
  /** Only what a policy may depend on: a page can decide it without loading credentials. */
  channel: Pick<ChannelRuntime, 'id' | 'kind' | 'settings'>;
  /** The lead's last message (windows are counted from it). */
  lastInboundAt: Date | null;
  now: Date;
}

export interface OutboundMessage {
  messageId: number;
  recipientExternalId: string;
  text?: string;
  attachment?: { kind: AttachmentKind; url?: string; fileName?: string; mime?: string; data?: Buffer };
  messagingType?: string;
  tag?: string;
  /** A private reply to this comment (one Messenger/Instagram message to its author, F2). */
  commentExternalId?: string;
  /** A public reply under this comment (F2): `POST /{comment-id}/comments` or `/replies`. */
  publicReplyToCommentId?: string;
  /**
   * An earlier attempt may have reached the platform (its answer was lost): where the platform
   * has no idempotency key (comment replies), the adapter looks before sending again.
   */
  possiblyDelivered?: boolean;
  /** Quote this platform message (WhatsApp `context.message_id`). */
  replyToExternalId?: string;
  /** An approved template with its body parameters, in order (WhatsApp, H4). */
  template?: { name: string; language: string; params: string[] };
}

export interface SendResult {
  externalId: string;
  sentAt: Date;
}

/**
 * A platform refusal or failure. `retryable` errors are retried with backoff; others mark the
 * message failed with `reason`; `reconnect` also marks the channel as needing reconnection.
 */
export class PlatformError extends Error {
  constructor(
    readonly reason: string,
    readonly opts: { retryable: boolean; reconnect?: boolean; code?: number; subcode?: number; retryAfterMs?: number },
  ) {
    super(reason);
    this.name = 'PlatformError';
  }
}

export interface Profile {
  name?: string;
  username?: string;
  avatarUrl?: string;
  phone?: string;
  hidden: boolean;
}

export interface ChannelAdapter {
  readonly kind: ChannelKind;
  /** Labels for the UI (channel icon and kind name). */
  readonly labelKey: MessageKey;
  readonly capabilities: {
    markSeen: boolean;
    comments: boolean;
    templates: boolean;
    history: boolean;
    /** A message can quote one of the chat's messages (WhatsApp `context`). */
    replies: boolean;
    /** Longest text the platform takes, in its own unit. */
    maxTextLength: number;
  };
  sendPolicy(input: SendPolicyInput): SendPolicy;
  /**
   * E5: the person's platform id on a channel reached by phone number (WhatsApp: the number's
   * digits), from an E.164 number; absent where a person must write first.
   */
  contactForPhone?(e164: string): string | null;
  /** The platform's own text limit (e.g. Instagram's 1000 bytes): a message key when over. */
  validateText?(text: string): MessageKey | null;
  /** Largest file the platform takes for this kind of attachment (checked before upload). */
  maxAttachmentBytes?(kind: AttachmentKind): number;
  send(channel: ChannelRuntime, msg: OutboundMessage): Promise<SendResult>;
  /** E4. `lastInbound`: the platform id of the newest message read (WhatsApp marks by message). */
  markSeen?(channel: ChannelRuntime, contactExternalId: string, lastInbound?: string): Promise<void>;
  /**
   * Where an inbound attachment known only by a media id can be downloaded now (WhatsApp: a
   * URL that lives 5 minutes and needs the token), asked again for every attempt.
   */
  mediaSource?(channel: ChannelRuntime, mediaId: string): Promise<MediaSource>;
  /** F1: the post a comment belongs to (first words, link), fetched once per post. */
  fetchPost?(channel: ChannelRuntime, postId: string): Promise<PostInfo>;
  /** F2 moderation: hide or show a comment on the platform. */
  moderateComment?(channel: ChannelRuntime, commentId: string, hidden: boolean): Promise<void>;
  fetchProfile?(channel: ChannelRuntime, contactExternalId: string): Promise<Profile>;
  /** D4: the conversation's recent history as message events (marked meta.history). */
  importHistory?(channel: ChannelRuntime, contactExternalId: string, opts: HistoryOptions): Promise<ChannelEvent[]>;
  /** D4 at connect time: the contacts of the most recent conversations. */
  recentConversations?(channel: ChannelRuntime, opts: HistoryOptions & { conversations: number }): Promise<string[]>;
}

export interface PostInfo {
  text: string | null;
  permalink: string | null;
}

export interface MediaSource {
  url: string;
  /** Sent as `Authorization: Bearer` to the URL's host only. */
  bearerToken?: string;
  mime?: string;
  sizeBytes?: number;
}

export interface HistoryOptions {
  /** At most this many messages. */
  limit: number;
  /** Called before every platform call (the Conversations API allows ~2 calls/s). */
  pace: () => Promise<void>;
}

export type AdapterRegistry = ReadonlyMap<string, ChannelAdapter>;
