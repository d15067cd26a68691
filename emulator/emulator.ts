// The emulator's core: builds the context (state, clock, webhooks…) and exposes every operation
// the control API, the web UI and the programmatic API share. No HTTP here (see server.ts).
import { Clock, parseDuration } from './clock.ts';
import type { ChaosConfig, EmulatorConfig, PersonConfig, RateLimitRule, WebhookObject } from './config.ts';
import { ControlError, type Ctx } from './context.ts';
import * as customer from './customer.ts';
import type { CustomerAttachmentInput, CustomerMessageInput, HistoryInput } from './customer.ts';
import { Guards, type Fault, type FaultInput } from './graph/guards.ts';
import { issueCode } from './graph/oauth.ts';
import { Ids } from './ids.ts';
import type { Log } from './log.ts';
import { MediaStore } from './media.ts';
import { DEFAULT_SCOPES, Store, type Channel, type Comment, type Message, type Person, type Post, type RecordedCall, type Thread } from './state.ts';
import { WebhookDispatcher, type WebhookDelivery } from './webhooks/dispatcher.ts';
import { verifyCallbacks, type HandshakeResult } from './webhooks/handshake.ts';
import { SttDouble } from './stt.ts';

export interface ChannelView {
  id: string;
  platform: Channel['platform'];
  name: string;
  token: string;
  pageId?: string;
  instagramId?: string;
  username?: string;
  wabaId?: string;
  displayPhoneNumber?: string;
  subscribedFields: string[];
}

export interface PersonView {
  id: string;
  name: string;
  username: string;
  phone?: string;
  hiddenProfile: boolean;
  unreachable: boolean;
  /** Scoped id per channel id: PSID (Page), IGSID (Instagram), wa_id (WhatsApp). */
  ids: Record<string, string>;
}

export interface AttachmentView {
  type: string;
  mimeType?: string;
  filename?: string;
  size?: number;
  caption?: string;
  voice?: boolean;
  /** Emulator URL of the file (for UIs and tests; not a platform URL). */
  url?: string;
  sourceUrl?: string;
}

export interface MessageView {
  id: string;
  direction: 'in' | 'out';
  timestamp: number;
  time: string;
  text?: string;
  attachments: AttachmentView[];
  source: Message['source'];
  status?: Message['status'];
  messagingType?: string;
  tag?: string;
  metadata?: string;
  appId?: string;
  replyTo?: string;
  deleted: boolean;
  edits: string[];
  reactions: Message['reactions'];
  error?: Message['error'];
  template?: Message['template'];
  quickReplies?: Message['quickReplies'];
  readAt?: number;
  deliveredAt?: number;
  readByBusinessAt?: number;
}

export interface ThreadView {
  id: string;
  channelId: string;
  platform: Thread['platform'];
  personId: string;
  lastInboundAt?: number;
  /** Standard 24 h window open now (emulator clock). */
  windowOpen: boolean;
  /** HUMAN_AGENT (Messenger/IG, 7 days) still possible. */
  humanAgentOpen: boolean;
  seenByBusinessAt?: number;
  typing: boolean;
  messages: MessageView[];
}

export interface CallFilter {
  method?: string;
  pathIncludes?: string;
  channelId?: string;
  /** Only calls with seq greater than this. */
  since?: number;
  /** Include read-only GET calls too. */
  all?: boolean;
}

export class EmulatorCore {
  readonly ctx: Ctx;
  /** The speech-to-text double (`POST /v1/audio/transcriptions`). */
  readonly stt: SttDouble;
  private readonly initial: EmulatorConfig;
  private base = '';

  constructor(config: EmulatorConfig, log: Log) {
    this.initial = structuredClone(config);
    const clock = new Clock();
    const ids = new Ids(config.seed);
    const ctx: Ctx = {
      config,
      clock,
      ids,
      store: new Store(config, ids),
      media: new MediaStore(ids, config.appSecret),
      webhooks: new WebhookDispatcher({ config: () => config, now: () => clock.now(), log }),
      guards: new Guards(() => clock.now()),
      log,
      baseUrl: () => this.base,
      mediaBaseUrl: () => (config.mediaBaseUrl ?? this.base).replace(/\/$/, ''),
    };
    this.ctx = ctx;
    this.stt = new SttDouble(ctx.media);
    ctx.store.load(clock.now());
    ctx.guards.reset(config.rateLimits);
  }

  setBaseUrl(url: string): void {
    this.base = url.replace(/\/$/, '');
  }

  get baseUrl(): string {
    return this.base;
  }

  /** Back to the configured state: people, threads, tokens, clock, chaos, limits, logs. */
  reset(): void {
    const { ctx } = this;
    Object.assign(ctx.config, structuredClone(this.initial));
    ctx.clock.reset();
    ctx.media.clear();
    ctx.webhooks.clear();
    ctx.store.load(ctx.clock.now());
    ctx.guards.reset(ctx.config.rateLimits);
    this.stt.reset();
  }

  flush(): Promise<void> {
    return this.ctx.webhooks.flush();
  }

  // --- views ---------------------------------------------------------------------------------

  channelView(channel: Channel): ChannelView {
    return {
      id: channel.id,
      platform: channel.platform,
      name: channel.name,
      token: channel.token,
      pageId: channel.platform === 'instagram' ? channel.pageId : undefined,
      instagramId: channel.instagramId,
      username: channel.username,
      wabaId: channel.wabaId,
      displayPhoneNumber: channel.displayPhoneNumber,
      subscribedFields: channel.platform === 'instagram' ? this.ctx.config.webhooks.instagramFields : channel.subscribedFields,
    };
  }

  personView(person: Person): PersonView {
    return {
      id: person.id,
      name: person.name,
      username: person.username,
      phone: person.phone,
      hiddenProfile: person.hiddenProfile,
      unreachable: person.unreachable,
      ids: { ...person.scopedIds },
    };
  }

  mediaUrl(mediaId: string | undefined): string | undefined {
    const item = mediaId ? this.ctx.media.get(mediaId) : undefined;
    return item ? this.ctx.media.cdnUrl(this.base, item, this.ctx.clock.now() + 86_400_000) : undefined;
  }

  messageView(m: Message): MessageView {
    return {
      id: m.id,
      direction: m.direction,
      timestamp: m.timestamp,
      time: new Date(m.timestamp).toISOString(),
      text: m.text,
      attachments: m.attachments.map((a) => ({
        type: a.type,
        mimeType: a.mimeType,
        filename: a.filename,
        size: a.size,
        caption: a.caption,
        voice: a.voice,
        url: this.mediaUrl(a.mediaId),
        sourceUrl: a.sourceUrl,
      })),
      source: m.source,
      status: m.status,
      messagingType: m.messagingType,
      tag: m.tag,
      metadata: m.metadata,
      appId: m.appId,
      replyTo: m.replyTo,
      deleted: m.deleted,
      edits: m.edits,
      reactions: m.reactions,
      error: m.error,
      template: m.template,
      quickReplies: m.quickReplies,
      readAt: m.readAt,
      deliveredAt: m.deliveredAt,
      readByBusinessAt: m.readByBusinessAt,
    };
  }

  threadView(thread: Thread): ThreadView {
    const now = this.ctx.clock.now();
    const age = thread.lastInboundAt === undefined ? Number.POSITIVE_INFINITY : now - thread.lastInboundAt;
    return {
      id: thread.id,
      channelId: thread.channelId,
      platform: thread.platform,
      personId: thread.personId,
      lastInboundAt: thread.lastInboundAt,
      windowOpen: age <= this.ctx.config.windows.standardMs,
      humanAgentOpen: thread.platform !== 'whatsapp' && age <= this.ctx.config.windows.humanAgentMs,
      seenByBusinessAt: thread.seenByBusinessAt,
      typing: (thread.typingUntil ?? 0) > now,
      messages: thread.messages.map((m) => this.messageView(m)),
    };
  }

  channels(): ChannelView[] {
    return [...this.ctx.store.channels.values()].map((c) => this.channelView(c));
  }

  channel(ref: string): ChannelView {
    return this.channelView(customer.requireChannel(this.ctx, ref));
  }

  people(): PersonView[] {
    return [...this.ctx.store.people.values()].map((p) => this.personView(p));
  }

  person(id: string): PersonView {
    return this.personView(customer.requirePerson(this.ctx, id));
  }

  /** The person's id as seen by a channel (PSID / IGSID / wa_id). */
  scopedId(personId: string, channelRef: string): string {
    const person = customer.requirePerson(this.ctx, personId);
    const channel = customer.requireChannel(this.ctx, channelRef);
    const id = this.ctx.store.ensureScopedId(person, channel);
    if (!id) throw new ControlError(400, `person ${personId} has no id on ${channel.id}`);
    return id;
  }

  thread(channelRef: string, personId: string): ThreadView | undefined {
    const channel = customer.requireChannel(this.ctx, channelRef);
    customer.requirePerson(this.ctx, personId);
    const thread = this.ctx.store.findThread(channel.id, personId);
    return thread ? this.threadView(thread) : undefined;
  }

  threads(filter: { channel?: string; person?: string } = {}): ThreadView[] {
    const channelId = filter.channel ? customer.requireChannel(this.ctx, filter.channel).id : undefined;
    return [...this.ctx.store.threads.values()]
      .filter((t) => (!channelId || t.channelId === channelId) && (!filter.person || t.personId === filter.person))
      .sort((a, b) => b.updatedAt - a.updatedAt)
      .map((t) => this.threadView(t));
  }

  posts(channelRef?: string): Array<Post & { comments: Comment[] }> {
    const channelId = channelRef ? customer.requireChannel(this.ctx, channelRef).id : undefined;
    const comments = [...this.ctx.store.comments.values()];
    return [...this.ctx.store.posts.values()]
      .filter((p) => !channelId || p.channelId === channelId)
      .map((p) => ({ ...p, comments: comments.filter((c) => c.postId === p.id).sort((a, b) => a.createdAt - b.createdAt) }));
  }

  // --- people and their actions -------------------------------------------------------------

  createPerson(input: Partial<PersonConfig> & { name: string }): PersonView {
    return this.personView(customer.createPerson(this.ctx, input));
  }

  updatePerson(id: string, patch: Parameters<typeof customer.updatePerson>[2]): PersonView {
    return this.personView(customer.updatePerson(this.ctx, id, patch));
  }

  send(personId: string, channelRef: string, input: CustomerMessageInput | string): MessageView {
    return this.messageView(customer.customerSend(this.ctx, personId, channelRef, input));
  }

  react(personId: string, messageId: string, emoji: string | null): MessageView {
    return this.messageView(customer.customerReact(this.ctx, personId, messageId, emoji));
  }

  unsend(personId: string, messageId: string): { message: MessageView; webhook: boolean } {
    const { message, webhook } = customer.customerUnsend(this.ctx, personId, messageId);
    return { message: this.messageView(message), webhook };
  }

  edit(personId: string, messageId: string, text: string): MessageView {
    return this.messageView(customer.customerEdit(this.ctx, personId, messageId, text));
  }

  read(personId: string, channelRef: string): MessageView[] {
    return customer.customerRead(this.ctx, personId, channelRef).map((m) => this.messageView(m));
  }

  deliver(personId: string, channelRef: string): MessageView[] {
    return customer.customerDeliver(this.ctx, personId, channelRef).map((m) => this.messageView(m));
  }

  postback(personId: string, channelRef: string, title: string, payload: string): { mid: string } {
    return customer.customerPostback(this.ctx, personId, channelRef, title, payload);
  }

  comment(personId: string, postId: string, text: string, parentId?: string): Comment {
    return customer.customerComment(this.ctx, personId, postId, text, parentId);
  }

  createPost(channelRef: string, text: string, mediaProductType?: string): Post {
    return customer.createPost(this.ctx, channelRef, text, mediaProductType);
  }

  sendFromPageInbox(channelRef: string, personId: string, input: { text?: string; attachment?: CustomerAttachmentInput }): MessageView {
    return this.messageView(customer.businessSendElsewhere(this.ctx, channelRef, personId, input));
  }

  seedHistory(channelRef: string, personId: string, input: HistoryInput): MessageView[] {
    return customer.seedHistory(this.ctx, channelRef, personId, input).map((m) => this.messageView(m));
  }

  // --- platform knobs ------------------------------------------------------------------------

  clockInfo(): { now: number; iso: string; offsetMs: number } {
    const now = this.ctx.clock.now();
    return { now, iso: new Date(now).toISOString(), offsetMs: this.ctx.clock.offset };
  }

  advanceClock(duration: number | string): { now: number; iso: string; offsetMs: number } {
    try {
      this.ctx.clock.advance(parseDuration(duration));
    } catch (err) {
      throw new ControlError(400, (err as Error).message);
    }
    return this.clockInfo();
  }

  setClock(at: number | string): { now: number; iso: string; offsetMs: number } {
    try {
      this.ctx.clock.set(at);
    } catch (err) {
      throw new ControlError(400, (err as Error).message);
    }
    return this.clockInfo();
  }

  /** Revokes one token, or every token acting for a channel. Further calls get 190. */
  revokeToken(input: { token?: string; channelId?: string }): string[] {
    const revoked: string[] = [];
    for (const grant of this.ctx.store.tokens.values()) {
      if ((input.token && grant.token === input.token) || (input.channelId && grant.channelIds.includes(input.channelId))) {
        grant.revoked = true;
        revoked.push(grant.token);
      }
    }
    if (!revoked.length) throw new ControlError(404, 'no matching token');
    return revoked;
  }

  /** A fresh user token (as if the OAuth flow ran) for tests that skip the dialog. */
  issueUserToken(pageIds?: string[], scopes: string[] = DEFAULT_SCOPES): string {
    const pages = pageIds ?? [...this.ctx.store.channels.values()].filter((c) => c.platform === 'messenger').map((c) => c.id);
    const now = this.ctx.clock.now();
    return this.ctx.store.addToken({ token: this.ctx.ids.token('EAAEMUuser'), kind: 'user', channelIds: pages, scopes, userId: this.ctx.config.user.id, now, expiresAt: now + 5_183_944_000 }).token;
  }

  /** Runs the consent step of the OAuth dialog without a browser: returns the redirect URL with code + state. */
  authorize(input: { redirectUri: string; state?: string; pageIds?: string[]; scopes?: string[] }): { code: string; redirectUrl: string } {
    const pages = input.pageIds ?? [...this.ctx.store.channels.values()].filter((c) => c.platform === 'messenger').map((c) => c.id);
    const code = issueCode(this.ctx, { clientId: this.ctx.config.appId, redirectUri: input.redirectUri, pageIds: pages, scopes: input.scopes ?? [] });
    const url = new URL(input.redirectUri);
    url.searchParams.set('code', code);
    url.searchParams.set('state', input.state ?? '');
    return { code, redirectUrl: url.toString() };
  }

  setRateLimit(rule: RateLimitRule): RateLimitRule[] {
    try {
      this.ctx.guards.setRateLimit(rule);
    } catch (err) {
      throw new ControlError(400, (err as Error).message);
    }
    return this.ctx.guards.rules;
  }

  clearRateLimits(channelId?: string): void {
    this.ctx.guards.clearRateLimits(channelId);
  }

  injectFault(input: FaultInput): Fault {
    if (!Number.isInteger(input.code)) throw new ControlError(400, 'fault needs an integer code');
    return this.ctx.guards.addFault(input);
  }

  clearFaults(): void {
    this.ctx.guards.clearFaults();
  }

  setChaos(patch: Partial<ChaosConfig>): ChaosConfig {
    const next = { ...this.ctx.config.chaos, ...patch };
    if (next.duplicateRate < 0 || next.duplicateRate > 1) throw new ControlError(400, 'duplicateRate must be within 0..1');
    this.ctx.config.chaos = next;
    if (patch.seed !== undefined) this.ctx.webhooks.resetChaosSeed(next);
    return next;
  }

  setCallbackUrl(url: string | undefined, object?: WebhookObject): void {
    if (url) {
      try {
        new URL(url);
      } catch {
        throw new ControlError(400, `invalid callback URL ${url}`);
      }
    }
    if (object) this.ctx.config.webhooks.callbackUrls = { ...this.ctx.config.webhooks.callbackUrls, [object]: url };
    else this.ctx.config.webhooks.callbackUrl = url;
  }

  /** Changes the app's webhook fields for a Page (as `subscribed_apps` would), e.g. to drop echoes. */
  setSubscribedFields(channelRef: string, fields: string[]): ChannelView {
    const channel = customer.requireChannel(this.ctx, channelRef);
    const page = channel.platform === 'instagram' && channel.pageId ? this.ctx.store.requireChannel(channel.pageId) : channel;
    page.subscribedFields = [...fields];
    return this.channelView(page);
  }

  verifyWebhooks(): Promise<HandshakeResult[]> {
    return verifyCallbacks(this.ctx.config, () => this.ctx.ids.random());
  }

  calls(filter: CallFilter = {}): RecordedCall[] {
    return this.ctx.store.calls.filter(
      (c) =>
        (filter.all || c.mutating) &&
        (!filter.method || c.method === filter.method.toUpperCase()) &&
        (!filter.pathIncludes || c.path.includes(filter.pathIncludes)) &&
        (!filter.channelId || c.channelId === filter.channelId) &&
        (filter.since === undefined || c.seq > filter.since),
    );
  }

  clearCalls(): void {
    this.ctx.store.calls = [];
  }

  deliveries(): readonly WebhookDelivery[] {
    return this.ctx.webhooks.deliveries;
  }

  state(): Record<string, unknown> {
    return {
      baseUrl: this.base,
      graphUrl: `${this.base}/${this.ctx.config.graphVersion}`,
      mediaBaseUrl: this.ctx.mediaBaseUrl(),
      appId: this.ctx.config.appId,
      clock: this.clockInfo(),
      webhooks: {
        callbackUrl: this.ctx.config.webhooks.callbackUrl,
        callbackUrls: this.ctx.config.webhooks.callbackUrls ?? {},
        undeliverable: this.ctx.webhooks.undeliverable,
        deliveries: this.ctx.webhooks.deliveries.length,
      },
      chaos: this.ctx.config.chaos,
      rateLimits: this.ctx.guards.rules,
      faults: this.ctx.guards.faults,
      channels: this.channels(),
      people: this.people(),
      threads: [...this.ctx.store.threads.values()].map((t) => ({ id: t.id, channelId: t.channelId, personId: t.personId, messages: t.messages.length, lastInboundAt: t.lastInboundAt })),
      posts: [...this.ctx.store.posts.values()],
      samples: this.ctx.media.sampleList(),
    };
  }

  async close(): Promise<void> {
    await this.ctx.webhooks.close();
  }
}
