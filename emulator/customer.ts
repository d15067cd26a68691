// The customer side: what people do in their Messenger / Instagram / WhatsApp apps (write,
// send a photo or a voice note, react, unsend, edit, read, comment), plus "the shop typed in
// Meta's own inbox" and back-dated history. Used by the control API, the web UI and the
// programmatic API alike, so all three behave the same.
import { parseDuration } from './clock.ts';
import { ControlError, type Ctx } from './context.ts';
import type { PersonConfig } from './config.ts';
import { attachmentTypeForMime, mimeFromFilename } from './media.ts';
import { afterBusinessSend, deliverMessages, newBusinessMessage } from './outbound.ts';
import type { Attachment, Channel, Comment, Message, Person, Post, Thread } from './state.ts';
import { emitEdit, emitFeedComment, emitInbound, emitInstagramComment, emitPostback, emitRead, emitReaction, emitUnsend } from './webhooks/events.ts';

export interface CustomerAttachmentInput {
  type?: 'image' | 'audio' | 'video' | 'file';
  /** A shipped sample (see GET /_emulator/samples), e.g. "photo.jpg", "voice.ogg". */
  sample?: string;
  /** File content, base64 (control API) … */
  dataBase64?: string;
  /** … or raw bytes (programmatic API, UI upload). */
  bytes?: Buffer;
  filename?: string;
  mimeType?: string;
  caption?: string;
  /** WhatsApp voice note flag (default: true for audio/ogg). */
  voice?: boolean;
}

export interface CustomerMessageInput {
  text?: string;
  attachment?: CustomerAttachmentInput;
  /** A sticker (Messenger: image with sticker_id; Instagram: unsupported; WhatsApp: webp sticker). */
  sticker?: boolean;
  /** Quote an earlier message (mid / wamid). */
  replyTo?: string;
  /** The person tapped a quick reply. */
  quickReplyPayload?: string;
  /** Per-message time (epoch ms or ISO); default: the emulator clock. */
  timestamp?: number | string;
}

export function requirePerson(ctx: Ctx, id: string): Person {
  const person = ctx.store.people.get(id);
  if (!person) throw new ControlError(404, `unknown person "${id}"`);
  return person;
}

export function requireChannel(ctx: Ctx, ref: string): Channel {
  const channel = ctx.store.resolveChannel(ref);
  if (!channel) throw new ControlError(404, `unknown channel "${ref}" (use a Page / Instagram account / phone-number id, or messenger|instagram|whatsapp)`);
  return channel;
}

function toTime(value: number | string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  if (typeof value === 'number') return value;
  if (/^\d+$/.test(value)) return Number(value);
  const parsed = Date.parse(value);
  if (!Number.isFinite(parsed)) throw new ControlError(400, `invalid time "${value}"`);
  return parsed;
}

export function createPerson(ctx: Ctx, input: Partial<PersonConfig> & { name: string }): Person {
  if (!input.name?.trim()) throw new ControlError(400, 'name is required');
  let id = input.id?.trim();
  if (!id) {
    const base =
      input.name
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-|-$/g, '') || 'person';
    id = base;
    for (let n = 2; ctx.store.people.has(id); n++) id = `${base}-${n}`;
  }
  if (ctx.store.people.has(id)) throw new ControlError(409, `person "${id}" already exists`);
  const phone = input.phone?.replace(/\D/g, '') || undefined;
  if (phone && !/^\d{6,15}$/.test(phone)) throw new ControlError(400, 'phone must have 6 to 15 digits');
  if (phone && ctx.store.personByPhone(phone)) throw new ControlError(409, `phone ${phone} is already used`);
  return ctx.store.addPerson({ ...input, id, phone, name: input.name.trim() }, ctx.clock.now());
}

export function updatePerson(ctx: Ctx, id: string, patch: Partial<Pick<Person, 'name' | 'hiddenProfile' | 'unreachable' | 'username' | 'locale'>>): Person {
  const person = requirePerson(ctx, id);
  if (patch.name?.trim()) {
    person.name = patch.name.trim();
    const [first = person.name, ...rest] = person.name.split(/\s+/);
    person.firstName = first;
    person.lastName = rest.join(' ');
  }
  if (patch.hiddenProfile !== undefined) person.hiddenProfile = Boolean(patch.hiddenProfile);
  if (patch.unreachable !== undefined) person.unreachable = Boolean(patch.unreachable);
  if (patch.username !== undefined) person.username = patch.username;
  if (patch.locale !== undefined) person.locale = patch.locale;
  return person;
}

function customerAttachment(ctx: Ctx, channel: Channel, input: CustomerAttachmentInput, at: number): Attachment {
  let bytes: Buffer | undefined = input.bytes;
  let filename = input.filename;
  if (input.sample) {
    bytes = ctx.media.sample(input.sample);
    if (!bytes) throw new ControlError(400, `unknown sample "${input.sample}"`);
    filename ??= input.sample;
  } else if (input.dataBase64 !== undefined) {
    bytes = Buffer.from(input.dataBase64, 'base64');
  }
  if (!bytes) throw new ControlError(400, 'attachment needs sample, dataBase64 or bytes');
  filename ??= 'file.bin';
  const mimeType = input.mimeType ?? mimeFromFilename(filename);
  const type = input.type ?? attachmentTypeForMime(mimeType);
  // WhatsApp media ids from webhooks live 7 days (§4.2).
  const item = ctx.media.add({
    bytes,
    filename,
    mimeType,
    origin: 'customer',
    now: at,
    expiresAt: channel.platform === 'whatsapp' ? at + ctx.config.media.whatsappInboundIdTtlMs : undefined,
    channelId: channel.platform === 'whatsapp' ? channel.id : undefined,
  });
  return {
    type: channel.platform === 'whatsapp' && type === 'file' ? 'document' : type,
    mediaId: item.id,
    mimeType,
    filename,
    caption: input.caption,
    voice: type === 'audio' ? (input.voice ?? mimeType.startsWith('audio/ogg')) : undefined,
    size: bytes.length,
  };
}

function inboundId(ctx: Ctx, channel: Channel): string {
  return channel.platform === 'messenger' ? ctx.ids.messengerMid() : channel.platform === 'instagram' ? ctx.ids.instagramMid() : ctx.ids.wamid();
}

function scopedOrFail(ctx: Ctx, person: Person, channel: Channel): void {
  if (!ctx.store.ensureScopedId(person, channel)) throw new ControlError(400, `person "${person.id}" has no phone number, so cannot use WhatsApp`);
}

/** The person writes to the channel: a webhook with the message, the window (re)opens. */
export function customerSend(ctx: Ctx, personId: string, channelRef: string, input: CustomerMessageInput | string): Message {
  const spec: CustomerMessageInput = typeof input === 'string' ? { text: input } : input;
  const person = requirePerson(ctx, personId);
  const channel = requireChannel(ctx, channelRef);
  scopedOrFail(ctx, person, channel);
  const at = toTime(spec.timestamp, ctx.clock.now());
  if (spec.text === undefined && !spec.attachment && !spec.sticker) throw new ControlError(400, 'a message needs text, attachment or sticker');
  if (spec.replyTo && !ctx.store.messages.has(spec.replyTo)) throw new ControlError(400, `replyTo: unknown message ${spec.replyTo}`);
  const thread = ctx.store.ensureThread(channel, person, at);
  const attachments: Attachment[] = [];
  let unsupported = false;
  if (spec.sticker) {
    if (channel.platform === 'instagram')
      unsupported = true; // IG: stickers arrive unsupported (§3.2)
    else {
      const sticker = customerAttachment(ctx, channel, { sample: 'sticker.webp', type: 'image' }, at);
      attachments.push({ ...sticker, type: 'sticker', stickerId: '369239263222822' });
    }
  }
  if (spec.attachment) attachments.push(customerAttachment(ctx, channel, spec.attachment, at));
  const message: Message = {
    id: inboundId(ctx, channel),
    threadId: thread.id,
    direction: 'in',
    timestamp: at,
    // WhatsApp carries text or media, not both (caption goes with media).
    text: channel.platform === 'whatsapp' && attachments.length ? undefined : spec.text,
    attachments,
    source: 'customer',
    replyTo: spec.replyTo,
    quickReplyPayload: spec.quickReplyPayload,
    unsupported: unsupported || undefined,
    deleted: false,
    edits: [],
    reactions: [],
  };
  if (channel.platform === 'whatsapp' && spec.text && attachments[0] && !attachments[0].caption && attachments[0].type !== 'audio') {
    attachments[0].caption = spec.text;
  }
  ctx.store.addMessage(thread, message);
  emitInbound(ctx, channel, person, message);
  return message;
}

function requireOwnThreadMessage(ctx: Ctx, person: Person, messageId: string): { message: Message; thread: Thread; channel: Channel } {
  const message = ctx.store.messages.get(messageId);
  if (!message) throw new ControlError(404, `unknown message ${messageId}`);
  const thread = ctx.store.threadOf(message);
  if (thread.personId !== person.id) throw new ControlError(400, `message ${messageId} is not in a conversation of ${person.id}`);
  return { message, thread, channel: ctx.store.requireChannel(thread.channelId) };
}

/** React (or remove the reaction with emoji = null). Reactions reopen the 24 h window (§2.6). */
export function customerReact(ctx: Ctx, personId: string, messageId: string, emoji: string | null): Message {
  const person = requirePerson(ctx, personId);
  const { message, thread, channel } = requireOwnThreadMessage(ctx, person, messageId);
  const at = ctx.clock.now();
  message.reactions = message.reactions.filter((r) => r.by !== 'customer');
  if (emoji) message.reactions.push({ by: 'customer', emoji, reaction: emoji });
  thread.lastInboundAt = Math.max(thread.lastInboundAt ?? 0, at);
  thread.updatedAt = Math.max(thread.updatedAt, at);
  emitReaction(ctx, channel, person, message, emoji, at);
  return message;
}

export function customerUnsend(ctx: Ctx, personId: string, messageId: string): { message: Message; webhook: boolean } {
  const person = requirePerson(ctx, personId);
  const { message, channel } = requireOwnThreadMessage(ctx, person, messageId);
  if (message.direction !== 'in') throw new ControlError(400, 'a person can only unsend their own messages');
  message.deleted = true;
  return { message, webhook: emitUnsend(ctx, channel, person, message, ctx.clock.now()) };
}

export function customerEdit(ctx: Ctx, personId: string, messageId: string, text: string): Message {
  const person = requirePerson(ctx, personId);
  const { message, channel } = requireOwnThreadMessage(ctx, person, messageId);
  if (message.direction !== 'in') throw new ControlError(400, 'a person can only edit their own messages');
  if (message.text === undefined) throw new ControlError(400, 'only text messages can be edited');
  // Messenger: "the user can edit at most 5 times" (§2.4).
  if (message.edits.length >= 5) throw new ControlError(400, 'a message can be edited at most 5 times');
  message.edits.push(message.text);
  message.text = text;
  emitEdit(ctx, channel, person, message, ctx.clock.now());
  return message;
}

/** The person opens the conversation: every business message becomes read (read receipts). */
export function customerRead(ctx: Ctx, personId: string, channelRef: string): Message[] {
  const person = requirePerson(ctx, personId);
  const channel = requireChannel(ctx, channelRef);
  const thread = ctx.store.findThread(channel.id, person.id);
  if (!thread) return [];
  const now = ctx.clock.now();
  const unread = thread.messages.filter((m) => m.direction === 'out' && (m.status === 'sent' || m.status === 'delivered') && !m.deleted);
  for (const m of unread) {
    m.deliveredAt ??= now;
    m.status = 'read';
    m.readAt = now;
  }
  emitRead(ctx, channel, person, unread, now);
  return unread;
}

/** The person's phone receives pending business messages (when autoDeliver is off). */
export function customerDeliver(ctx: Ctx, personId: string, channelRef: string): Message[] {
  const person = requirePerson(ctx, personId);
  const channel = requireChannel(ctx, channelRef);
  const thread = ctx.store.findThread(channel.id, person.id);
  return thread ? deliverMessages(ctx, channel, person, thread.messages) : [];
}

/** The person taps a postback button (Get Started, persistent menu): opens the window (§2.6). */
export function customerPostback(ctx: Ctx, personId: string, channelRef: string, title: string, payload: string): { mid: string } {
  const person = requirePerson(ctx, personId);
  const channel = requireChannel(ctx, channelRef);
  if (channel.platform === 'whatsapp') throw new ControlError(400, 'postbacks are a Messenger/Instagram feature');
  scopedOrFail(ctx, person, channel);
  const at = ctx.clock.now();
  const thread = ctx.store.ensureThread(channel, person, at);
  thread.lastInboundAt = Math.max(thread.lastInboundAt ?? 0, at);
  const mid = inboundId(ctx, channel);
  emitPostback(ctx, channel, person, mid, title, payload, at);
  return { mid };
}

export function requirePost(ctx: Ctx, postId: string): Post {
  const post = ctx.store.posts.get(postId);
  if (!post) throw new ControlError(404, `unknown post ${postId}`);
  return post;
}

/** The person comments on a post (or replies to a comment): `feed` / `comments` webhook (§2.8, §3.3). */
export function customerComment(ctx: Ctx, personId: string, postId: string, text: string, parentId?: string): Comment {
  const person = requirePerson(ctx, personId);
  const post = requirePost(ctx, postId);
  const channel = ctx.store.requireChannel(post.channelId);
  if (!text.trim()) throw new ControlError(400, 'comment text is required');
  if (parentId) {
    const parent = ctx.store.comments.get(parentId);
    if (!parent || parent.postId !== post.id) throw new ControlError(400, `parentId ${parentId} is not a comment of post ${post.id}`);
  }
  scopedOrFail(ctx, person, channel);
  const comment = addComment(ctx, post, { kind: 'person', personId: person.id }, text, parentId);
  if (channel.platform === 'instagram') emitInstagramComment(ctx, channel, post, comment, person);
  else emitFeedComment(ctx, channel, post, comment, 'add', person);
  return comment;
}

export function addComment(ctx: Ctx, post: Post, from: Comment['from'], text: string, parentId?: string): Comment {
  const id = post.platform === 'instagram' ? ctx.ids.igCommentId() : `${post.id.split('_').pop()}_${ctx.ids.commentObjectId()}`;
  const comment: Comment = {
    id,
    postId: post.id,
    channelId: post.channelId,
    platform: post.platform,
    parentId,
    from,
    text,
    createdAt: ctx.clock.now(),
    hidden: false,
    deleted: false,
  };
  ctx.store.comments.set(id, comment);
  return comment;
}

export function createPost(ctx: Ctx, channelRef: string, text: string, mediaProductType?: string): Post {
  const channel = requireChannel(ctx, channelRef);
  if (channel.platform === 'whatsapp') throw new ControlError(400, 'WhatsApp numbers have no posts');
  return ctx.store.addPost(channel.id, text, ctx.clock.now(), undefined, mediaProductType);
}

/**
 * The shop answers from elsewhere (Meta Business Suite / the Page inbox / the IG app): an echo
 * with a foreign app_id (§2.3, product E7).
 */
export function businessSendElsewhere(ctx: Ctx, channelRef: string, personId: string, input: { text?: string; attachment?: CustomerAttachmentInput }): Message {
  const person = requirePerson(ctx, personId);
  const channel = requireChannel(ctx, channelRef);
  if (channel.platform === 'whatsapp') throw new ControlError(400, 'echoes of messages sent outside the API are a Messenger/Instagram feature');
  scopedOrFail(ctx, person, channel);
  if (!input.text && !input.attachment) throw new ControlError(400, 'text or attachment is required');
  const thread = ctx.store.ensureThread(channel, person, ctx.clock.now());
  const attachments = input.attachment ? [customerAttachment(ctx, channel, input.attachment, ctx.clock.now())] : [];
  const message = newBusinessMessage(ctx, thread, { source: 'page_inbox', text: input.text, attachments, appId: ctx.config.inboxAppId });
  afterBusinessSend(ctx, channel, person, message);
  return message;
}

export interface HistoryInput {
  /** Explicit messages, oldest first; `at` (epoch ms / ISO) or `ago` ("3d", "25h"). */
  messages?: Array<{ direction: 'in' | 'out'; text?: string; at?: number | string; ago?: string }>;
  /** Or: generate `count` alternating messages … */
  count?: number;
  /** … `spacing` apart (default 1h) … */
  spacing?: number | string;
  /** … the newest at `endAt` (default: now) or `endAgo` before now. */
  endAt?: number | string;
  endAgo?: string;
  /** Direction of the newest generated message (default "in"). */
  last?: 'in' | 'out';
}

/**
 * Conversation history that existed before Parley connected (Conversations API, §2.10). No
 * webhooks; the window is computed from the newest inbound message, like the platform does.
 */
export function seedHistory(ctx: Ctx, channelRef: string, personId: string, input: HistoryInput): Message[] {
  const person = requirePerson(ctx, personId);
  const channel = requireChannel(ctx, channelRef);
  scopedOrFail(ctx, person, channel);
  const now = ctx.clock.now();
  const specs: Array<{ direction: 'in' | 'out'; text: string; at: number }> = [];
  if (input.messages) {
    for (const [i, m] of input.messages.entries()) {
      const at = m.ago !== undefined ? now - parseDuration(m.ago) : toTime(m.at, now - (input.messages.length - i) * 60_000);
      specs.push({ direction: m.direction === 'out' ? 'out' : 'in', text: m.text ?? `Message ${i + 1}`, at });
    }
  } else {
    const count = Math.max(0, Math.min(10_000, Math.floor(input.count ?? 0)));
    if (!count) throw new ControlError(400, 'history needs messages[] or count');
    const spacing = parseDuration(input.spacing ?? '1h');
    const end = input.endAgo !== undefined ? now - parseDuration(input.endAgo) : toTime(input.endAt, now);
    const last = input.last ?? 'in';
    for (let i = 0; i < count; i++) {
      const fromEnd = count - 1 - i;
      const direction: 'in' | 'out' = fromEnd % 2 === 0 ? last : last === 'in' ? 'out' : 'in';
      specs.push({ direction, text: `History message ${i + 1} of ${count} (${direction === 'in' ? person.name : channel.name})`, at: end - fromEnd * spacing });
    }
  }
  const thread = ctx.store.ensureThread(channel, person, specs[0]?.at ?? now);
  return specs.map((s) =>
    ctx.store.addMessage(thread, {
      id: inboundId(ctx, channel),
      threadId: thread.id,
      direction: s.direction,
      timestamp: s.at,
      text: s.text,
      attachments: [],
      source: 'history',
      appId: s.direction === 'out' ? ctx.config.inboxAppId : undefined,
      deleted: false,
      edits: [],
      reactions: [],
      status: s.direction === 'out' ? 'read' : undefined,
    }),
  );
}
