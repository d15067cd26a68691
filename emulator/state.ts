// In-memory state of the emulated platform: channels (Pages, Instagram accounts, WhatsApp
// numbers), the people who write to them, threads and messages, posts and comments, tokens,
// OAuth codes, and the record of what Parley called. Pure data + lookups; the rules live in
// graph/*.ts and customer.ts.
import { MESSENGER_PAGE_FIELDS, type EmulatorConfig, type PersonConfig, type TemplateConfig } from './config.ts';
import type { Ids } from './ids.ts';

export type Platform = 'messenger' | 'instagram' | 'whatsapp';

export interface Channel {
  /** Page id, Instagram account id or WhatsApp phone-number id. */
  id: string;
  platform: Platform;
  name: string;
  /** Instagram: the linked Page; Messenger: itself. */
  pageId?: string;
  /** Messenger: linked Instagram account id. */
  instagramId?: string;
  username?: string;
  category?: string;
  tasks: string[];
  /** Page subscription (`subscribed_apps`); Instagram follows its Page (§1.5). */
  subscribedFields: string[];
  wabaId?: string;
  displayPhoneNumber?: string;
  templates: TemplateConfig[];
  /** The token configured for this channel (Page token, WhatsApp system-user token). */
  token: string;
}

export interface Person {
  id: string;
  name: string;
  firstName: string;
  lastName: string;
  username: string;
  phone?: string;
  hiddenProfile: boolean;
  unreachable: boolean;
  locale: string;
  /** Page-scoped / Instagram-scoped id per channel (PSID, IGSID, wa_id) (§0). */
  scopedIds: Record<string, string>;
  createdAt: number;
}

export type AttachmentType = 'image' | 'audio' | 'video' | 'file' | 'sticker' | 'document' | 'template' | 'fallback';

export interface Attachment {
  type: AttachmentType;
  mediaId?: string;
  mimeType?: string;
  filename?: string;
  caption?: string;
  /** WhatsApp voice note (`audio.voice: true`, §4.2). */
  voice?: boolean;
  /** Messenger sticker id (§2.2). */
  stickerId?: string;
  /** The URL Parley asked Meta to fetch (outbound by link). */
  sourceUrl?: string;
  /** Template payload (Messenger generic/button templates) kept as sent. */
  payload?: unknown;
  size?: number;
}

export type MessageSource = 'customer' | 'api' | 'page_inbox' | 'history' | 'private_reply';

export interface Reaction {
  by: 'customer' | 'business';
  emoji: string;
  reaction: string;
}

export interface QuickReply {
  content_type: string;
  title?: string;
  payload?: string;
}

export interface Message {
  id: string;
  threadId: string;
  direction: 'in' | 'out';
  timestamp: number;
  text?: string;
  attachments: Attachment[];
  source: MessageSource;
  appId?: string;
  metadata?: string;
  messagingType?: string;
  tag?: string;
  replyTo?: string;
  quickReplyPayload?: string;
  quickReplies?: QuickReply[];
  deleted: boolean;
  unsupported?: boolean;
  edits: string[];
  reactions: Reaction[];
  /** Outbound: sent → delivered → read; failed (WhatsApp async errors). */
  status?: 'sent' | 'delivered' | 'read' | 'failed';
  deliveredAt?: number;
  readAt?: number;
  error?: { code: number; title: string; message: string; details?: string };
  template?: { name: string; language: string; rendered: string; category: string };
  /** WhatsApp message type (text, image, template, reaction…). */
  waType?: string;
  /** Inbound WhatsApp messages: read by the business (`status: read`). */
  readByBusinessAt?: number;
  bizOpaqueCallbackData?: string;
  commentId?: string;
}

export interface Thread {
  id: string;
  channelId: string;
  platform: Platform;
  personId: string;
  messages: Message[];
  /** Last customer message/reaction: the base of every messaging window (§2.6, §4.6). */
  lastInboundAt?: number;
  updatedAt: number;
  /** The Page marked the conversation seen (`mark_seen`). */
  seenByBusinessAt?: number;
  typingUntil?: number;
}

export interface Post {
  id: string;
  channelId: string;
  platform: 'messenger' | 'instagram';
  text: string;
  createdAt: number;
  mediaProductType?: string;
}

export interface Comment {
  id: string;
  postId: string;
  channelId: string;
  platform: 'messenger' | 'instagram';
  /** Parent comment id for replies; undefined for a top-level comment. */
  parentId?: string;
  from: { kind: 'person'; personId: string } | { kind: 'business' };
  text: string;
  createdAt: number;
  hidden: boolean;
  deleted: boolean;
  privateReplyMessageId?: string;
}

export type TokenKind = 'page' | 'user' | 'system' | 'instagram';

export interface TokenGrant {
  token: string;
  kind: TokenKind;
  /** Channels (and WABA ids) this token may act for. */
  channelIds: string[];
  userId?: string;
  scopes: string[];
  revoked: boolean;
  createdAt: number;
  expiresAt?: number;
}

export interface OAuthCode {
  code: string;
  clientId: string;
  redirectUri: string;
  pageIds: string[];
  scopes: string[];
  createdAt: number;
  used: boolean;
}

export interface RecordedCall {
  seq: number;
  at: number;
  method: string;
  path: string;
  query: Record<string, string>;
  /** Parsed body; multipart files summarized as {filename, contentType, size}. */
  body: unknown;
  token?: string;
  status: number;
  response: unknown;
  channelId?: string;
  /** A POST/DELETE (sends, sender actions, replies, subscriptions, uploads), refused ones included. */
  mutating: boolean;
}

export interface UploadedAttachment {
  id: string;
  channelId: string;
  mediaId: string;
  type: AttachmentType;
}

export const DEFAULT_SCOPES = [
  'pages_show_list',
  'pages_messaging',
  'pages_manage_metadata',
  'pages_read_engagement',
  'pages_manage_engagement',
  'instagram_basic',
  'instagram_manage_messages',
  'instagram_manage_comments',
  'business_management',
];

function splitName(name: string): { firstName: string; lastName: string } {
  const [first = name, ...rest] = name.trim().split(/\s+/);
  return { firstName: first, lastName: rest.join(' ') };
}

export class Store {
  channels = new Map<string, Channel>();
  people = new Map<string, Person>();
  /** scoped id (PSID / IGSID / wa_id) → owner. wa_id is shared by every number. */
  scopedIndex = new Map<string, { personId: string; channelId: string }>();
  threads = new Map<string, Thread>();
  messages = new Map<string, Message>();
  posts = new Map<string, Post>();
  comments = new Map<string, Comment>();
  tokens = new Map<string, TokenGrant>();
  oauthCodes = new Map<string, OAuthCode>();
  calls: RecordedCall[] = [];
  attachments = new Map<string, UploadedAttachment>();
  /** `${userToken}|${pageId}` → Page token handed out by /me/accounts. */
  derivedPageTokens = new Map<string, string>();

  constructor(
    private readonly config: EmulatorConfig,
    private readonly ids: Ids,
  ) {}

  /** (Re)builds everything from the configuration. */
  load(now: number): void {
    this.channels.clear();
    this.people.clear();
    this.scopedIndex.clear();
    this.threads.clear();
    this.messages.clear();
    this.posts.clear();
    this.comments.clear();
    this.tokens.clear();
    this.oauthCodes.clear();
    this.calls = [];
    this.attachments.clear();
    this.derivedPageTokens.clear();

    for (const page of this.config.pages) {
      const ig = page.instagram;
      this.channels.set(page.id, {
        id: page.id,
        platform: 'messenger',
        name: page.name,
        pageId: page.id,
        instagramId: ig?.id,
        category: page.category ?? 'Local business',
        tasks: page.tasks ?? ['ADVERTISE', 'ANALYZE', 'CREATE_CONTENT', 'MESSAGING', 'MODERATE', 'MANAGE'],
        subscribedFields: page.subscribedFields ?? [...MESSENGER_PAGE_FIELDS],
        templates: [],
        token: page.accessToken,
      });
      const pageChannels = [page.id];
      if (ig) {
        this.channels.set(ig.id, {
          id: ig.id,
          platform: 'instagram',
          name: ig.name,
          pageId: page.id,
          username: ig.username,
          tasks: [],
          subscribedFields: [],
          templates: [],
          token: ig.accessToken ?? page.accessToken,
        });
        pageChannels.push(ig.id);
        if (ig.accessToken) this.addToken({ token: ig.accessToken, kind: 'instagram', channelIds: [ig.id], scopes: [], now });
      }
      // A Page token also acts for the linked Instagram account (IG API with Facebook Login, §3.1).
      this.addToken({ token: page.accessToken, kind: 'page', channelIds: pageChannels, scopes: DEFAULT_SCOPES, now });
      for (const post of page.posts ?? []) this.addPost(page.id, post.text, now - 86_400_000, post.id);
      for (const post of ig?.posts ?? []) this.addPost(ig!.id, post.text, now - 86_400_000, post.id, post.mediaProductType);
    }
    for (const wa of this.config.whatsapp) {
      this.channels.set(wa.phoneNumberId, {
        id: wa.phoneNumberId,
        platform: 'whatsapp',
        name: wa.verifiedName,
        tasks: [],
        subscribedFields: ['messages'],
        wabaId: wa.wabaId,
        displayPhoneNumber: wa.displayPhoneNumber,
        templates: (wa.templates ?? []).map((t, i) => ({ ...t, id: t.id ?? `${wa.wabaId.slice(0, 6)}${String(1000000000 + i)}` })),
        token: wa.accessToken,
      });
      const existing = this.tokens.get(wa.accessToken);
      if (existing) existing.channelIds.push(wa.phoneNumberId, wa.wabaId);
      else
        this.addToken({
          token: wa.accessToken,
          kind: 'system',
          channelIds: [wa.phoneNumberId, wa.wabaId],
          scopes: ['whatsapp_business_messaging', 'whatsapp_business_management', 'business_management'],
          now,
        });
    }
    for (const person of this.config.people) this.addPerson(person, now);
  }

  addToken(input: { token: string; kind: TokenKind; channelIds: string[]; scopes: string[]; now: number; userId?: string; expiresAt?: number }): TokenGrant {
    const grant: TokenGrant = {
      token: input.token,
      kind: input.kind,
      channelIds: [...input.channelIds],
      scopes: [...input.scopes],
      userId: input.userId,
      revoked: false,
      createdAt: input.now,
      expiresAt: input.expiresAt,
    };
    this.tokens.set(grant.token, grant);
    return grant;
  }

  addPerson(input: PersonConfig, now: number): Person {
    if (this.people.has(input.id)) throw new Error(`person ${input.id} already exists`);
    const { firstName, lastName } = splitName(input.name);
    const person: Person = {
      id: input.id,
      name: input.name,
      firstName,
      lastName,
      username:
        input.username ??
        input.name
          .toLowerCase()
          .replace(/[^a-z0-9]+/g, '.')
          .replace(/^\.|\.$/g, ''),
      phone: input.phone,
      hiddenProfile: input.hiddenProfile ?? false,
      unreachable: input.unreachable ?? false,
      locale: input.locale ?? 'en_US',
      scopedIds: {},
      createdAt: now,
    };
    this.people.set(person.id, person);
    for (const channel of this.channels.values()) this.ensureScopedId(person, channel);
    return person;
  }

  /** PSIDs are per Page, IGSIDs per IG account (§0); WhatsApp uses the phone number (wa_id). */
  ensureScopedId(person: Person, channel: Channel): string | undefined {
    const existing = person.scopedIds[channel.id];
    if (existing) return existing;
    let id: string | undefined;
    if (channel.platform === 'whatsapp') id = person.phone;
    else {
      do id = channel.platform === 'messenger' ? this.ids.psid() : this.ids.igsid();
      while (this.scopedIndex.has(id));
    }
    if (!id) return undefined;
    person.scopedIds[channel.id] = id;
    if (channel.platform !== 'whatsapp') this.scopedIndex.set(id, { personId: person.id, channelId: channel.id });
    return id;
  }

  addPost(channelId: string, text: string, createdAt: number, objectId?: string, mediaProductType?: string): Post {
    const channel = this.requireChannel(channelId);
    const platform = channel.platform === 'instagram' ? 'instagram' : 'messenger';
    const raw = objectId ?? (platform === 'instagram' ? `180${this.ids.digits(14)}` : this.ids.digits(15));
    // Page post ids are "{page-id}_{object-id}" (§2.8 example).
    const id = platform === 'messenger' && !raw.includes('_') ? `${channelId}_${raw}` : raw;
    const post: Post = { id, channelId, platform, text, createdAt, mediaProductType: platform === 'instagram' ? (mediaProductType ?? 'FEED') : undefined };
    this.posts.set(id, post);
    return post;
  }

  requireChannel(id: string): Channel {
    const channel = this.channels.get(id);
    if (!channel) throw new Error(`unknown channel ${id}`);
    return channel;
  }

  /** Accepts a channel id, or a platform name meaning the first channel of that platform. */
  resolveChannel(ref: string): Channel | undefined {
    const direct = this.channels.get(ref);
    if (direct) return direct;
    if (ref === 'messenger' || ref === 'instagram' || ref === 'whatsapp') {
      for (const c of this.channels.values()) if (c.platform === ref) return c;
    }
    if (ref === 'facebook' || ref === 'page') return this.resolveChannel('messenger');
    return undefined;
  }

  personByScopedId(scopedId: string): { person: Person; channel: Channel } | undefined {
    const hit = this.scopedIndex.get(scopedId);
    if (!hit) return undefined;
    const person = this.people.get(hit.personId);
    const channel = this.channels.get(hit.channelId);
    return person && channel ? { person, channel } : undefined;
  }

  personByPhone(phone: string): Person | undefined {
    const digits = phone.replace(/\D/g, '');
    for (const p of this.people.values()) if (p.phone === digits) return p;
    return undefined;
  }

  findThread(channelId: string, personId: string): Thread | undefined {
    for (const t of this.threads.values()) if (t.channelId === channelId && t.personId === personId) return t;
    return undefined;
  }

  ensureThread(channel: Channel, person: Person, now: number): Thread {
    const found = this.findThread(channel.id, person.id);
    if (found) return found;
    const id = channel.platform === 'messenger' ? this.ids.messengerThreadId() : channel.platform === 'instagram' ? this.ids.instagramThreadId() : `wa_${channel.id}_${person.phone ?? person.id}`;
    const thread: Thread = { id, channelId: channel.id, platform: channel.platform, personId: person.id, messages: [], updatedAt: now };
    this.threads.set(id, thread);
    return thread;
  }

  /** Adds a message keeping the thread ordered by timestamp (history can be back-dated). */
  addMessage(thread: Thread, message: Message): Message {
    this.messages.set(message.id, message);
    const list = thread.messages;
    let i = list.length;
    while (i > 0 && (list[i - 1]?.timestamp ?? 0) > message.timestamp) i--;
    list.splice(i, 0, message);
    thread.updatedAt = Math.max(thread.updatedAt, message.timestamp);
    if (message.direction === 'in' && message.source !== 'private_reply') {
      thread.lastInboundAt = Math.max(thread.lastInboundAt ?? 0, message.timestamp);
    }
    return message;
  }

  threadOf(message: Message): Thread {
    const thread = this.threads.get(message.threadId);
    if (!thread) throw new Error(`message ${message.id} has no thread`);
    return thread;
  }

  recordCall(call: RecordedCall): void {
    this.calls.push(call);
    // Bounded: a long demo session must not grow without limit.
    if (this.calls.length > 10_000) this.calls.splice(0, this.calls.length - 10_000);
  }
}
