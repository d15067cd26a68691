// Emulator configuration: types, the shipped defaults and loading from a JSON file + environment.
// Every number that comes from the platform docs cites the section of
// shared/docs/meta-platform.md it comes from, so a change on Meta's side is easy to follow here.
import { readFileSync } from 'node:fs';

export type WebhookObject = 'page' | 'instagram' | 'whatsapp_business_account';

export interface PostConfig {
  /** Post object id (Page posts get the `{page-id}_` prefix automatically). */
  id?: string;
  text: string;
  /** Instagram media only (§3.3 `media.media_product_type`). */
  mediaProductType?: 'FEED' | 'REELS' | 'STORY' | 'AD';
}

export interface InstagramConfig {
  /** Instagram professional account id (the `entry[].id` of `object: "instagram"` webhooks, §3.2). */
  id: string;
  username: string;
  name: string;
  /** Token of the "Instagram API with Instagram Login" flavour (§3.1); optional. */
  accessToken?: string;
  posts?: PostConfig[];
}

export interface PageConfig {
  id: string;
  name: string;
  /** Page access token (the token Parley stores for this channel). */
  accessToken: string;
  category?: string;
  /** Tasks the Facebook Login user has on the Page (`/me/accounts` `tasks`). */
  tasks?: string[];
  /**
   * Fields the app is subscribed to on this Page at start (`/{page-id}/subscribed_apps`, §1.5).
   * Defaults to every Messenger/feed field so webhooks flow without a connect flow.
   */
  subscribedFields?: string[];
  instagram?: InstagramConfig;
  posts?: PostConfig[];
}

export interface TemplateComponentConfig {
  type: 'HEADER' | 'BODY' | 'FOOTER' | 'BUTTONS';
  format?: 'TEXT' | 'IMAGE' | 'VIDEO' | 'DOCUMENT';
  text?: string;
  buttons?: Array<{ type: string; text: string; url?: string; phone_number?: string }>;
}

export interface TemplateConfig {
  id?: string;
  name: string;
  language: string;
  status: 'APPROVED' | 'PENDING' | 'REJECTED' | 'PAUSED' | 'DISABLED';
  category: 'UTILITY' | 'MARKETING' | 'AUTHENTICATION';
  components: TemplateComponentConfig[];
}

export interface WhatsAppNumberConfig {
  phoneNumberId: string;
  /** Digits only, as it appears in `metadata.display_phone_number` (§4.1). */
  displayPhoneNumber: string;
  verifiedName: string;
  /** WhatsApp Business Account id: `entry[].id` of WhatsApp webhooks (§4.1). */
  wabaId: string;
  /** System-user token (§4.5). */
  accessToken: string;
  templates?: TemplateConfig[];
}

export interface PersonConfig {
  /** Stable handle used by the control API and tests, e.g. "anna". */
  id: string;
  name: string;
  /** Privacy settings hide the profile: Messenger 2018218, Instagram 230 (§2.9, §3.5). */
  hiddenProfile?: boolean;
  /** WhatsApp number, digits only (becomes `wa_id`). */
  phone?: string;
  /** Instagram username. */
  username?: string;
  /** Blocked the Page / not on WhatsApp: Messenger 551/1545041, WhatsApp 131026 (§6). */
  unreachable?: boolean;
  locale?: string;
}

export interface FacebookUserConfig {
  /** The person who logs in through the OAuth dialog and manages the Pages. */
  id: string;
  name: string;
  /** Pages this user manages (default: all configured Pages). */
  pageIds?: string[];
}

export interface WebhookConfig {
  /** One callback URL for every object (Parley can also use one per object, below). */
  callbackUrl?: string;
  callbackUrls?: Partial<Record<WebhookObject, string>>;
  verifyToken?: string;
  /** Perform the GET hub.challenge handshake at start (§1.1). */
  handshakeOnStart: boolean;
  /** Events raised within this window go out in one POST (§1.4 batching). */
  batchWindowMs: number;
  /** WhatsApp: "a maximum of 1000 updates" per POST (§1.4). */
  maxBatchSize: number;
  /** Messenger expects an answer "within 5 or less seconds" (§1.3). */
  timeoutMs: number;
  /** Delays before each retry after a non-200 answer or a connection error (bounded, §1.3). */
  retryDelaysMs: number[];
  /** Escape `/` as `\/` in the signed body, as Meta does (§1.2). */
  escapeSlashes: boolean;
  /** Emit delivery events (Messenger `delivery`, WhatsApp `delivered`) right after each send. */
  autoDeliver: boolean;
  /** Our own comment replies come back through `feed` / `comments` (§2.8, §3.3: observed, ❓). */
  echoOwnComments: boolean;
  /** Messenger has no documented unsend webhook (§2.4 ❓); set true to send the IG-style `is_deleted`. */
  messengerUnsendWebhook: boolean;
  /** Instagram app-level webhook fields (App Dashboard), §3.2. */
  instagramFields: string[];
}

export interface ChaosConfig {
  enabled: boolean;
  /** Probability (0..1) that an event is delivered a second time. */
  duplicateRate: number;
  /** Shuffle events and split them over several POSTs so they arrive out of order. */
  reorder: boolean;
  /** Random delay (0..maxDelayMs) before each POST. */
  maxDelayMs: number;
  seed: number;
}

export interface RateLimitRule {
  /** Page / IG account / phone-number id; omitted = every channel. */
  channelId?: string;
  /** Calls allowed per window. */
  max: number;
  windowMs: number;
  /**
   * Error code returned once exceeded. Defaults: 613 Messenger/IG, 130429 WhatsApp,
   * 131056 for a per-recipient (pair) rule (§6, §7). 4 = app-level limit.
   */
  code?: number;
  /** Count per (channel, recipient) pair: WhatsApp pair rate limit 131056 (§7). */
  perRecipient?: boolean;
}

export interface EmulatorConfig {
  host: string;
  port: number;
  /** Base URL the emulator is reachable at (default http://{host}:{port}). */
  publicUrl?: string;
  /**
   * Base URL of the CDN-like media paths put in webhooks (default = publicUrl). Point it at a host
   * name Parley's download allow-list treats as the platform's (e.g. http://localhost:4100).
   */
  mediaBaseUrl?: string;
  /** Version used in URLs the emulator generates (paging links); any vNN.N is accepted. */
  graphVersion: string;
  appId: string;
  appSecret: string;
  appName: string;
  /** app_id carried by echoes of messages typed in Meta's own Page inbox (§2.3; value ❓). */
  inboxAppId: string;
  user: FacebookUserConfig;
  pages: PageConfig[];
  whatsapp: WhatsAppNumberConfig[];
  people: PersonConfig[];
  webhooks: WebhookConfig;
  chaos: ChaosConfig;
  rateLimits: RateLimitRule[];
  windows: {
    /** Standard messaging window, Messenger/IG/WhatsApp (§2.6, §3.4, §4.6). */
    standardMs: number;
    /** HUMAN_AGENT tag: 7 days after the user's last message (§2.6). */
    humanAgentMs: number;
    /** Private reply to a comment: within 7 days (§2.8, §3.3). */
    privateReplyMs: number;
  };
  /** The app has the Human Agent feature (App Review, §2.6). */
  humanAgentFeature: boolean;
  /** Messenger requires `messaging_type` (Instagram examples omit it, §3.4). */
  requireMessagingType: boolean;
  /** WhatsApp 131047 "may come synchronously or as a failed status webhook" (§4.6). */
  whatsappWindowError: 'async' | 'sync';
  conversations: {
    /** "only get details about the 20 most recent messages" (§2.10). */
    detailLimit: number;
    /** GET /{message-id} of an older message: documented error (IG) or served anyway. */
    olderMessageLookup: 'error' | 'allow';
  };
  limits: {
    messengerTextChars: number;
    instagramTextBytes: number;
    whatsappTextChars: number;
    metadataChars: number;
    /** Outbound attachment caps in bytes (§8). */
    messengerAttachmentBytes: number;
    instagramAttachmentBytes: Record<'image' | 'audio' | 'video' | 'file', number>;
    whatsappMediaBytes: Record<'image' | 'audio' | 'video' | 'document' | 'sticker', number>;
  };
  media: {
    /** Messenger/IG CDN URL lifetime (undocumented ❓, §8). */
    cdnTtlMs: number;
    /** WhatsApp media URL from GET /{media-id}: 5 minutes (§4.2). */
    whatsappUrlTtlMs: number;
    /** WhatsApp media ids from webhooks: 7 days; uploaded: 30 days (§4.2). */
    whatsappInboundIdTtlMs: number;
    whatsappUploadIdTtlMs: number;
    /** Put `url` next to `id` in WhatsApp media webhooks (rollout since 2025-11, §4.2). */
    whatsappWebhookUrl: boolean;
    /** Fetch `payload.url` / `link` attachments like Meta does (errors when unreachable). */
    fetchAttachmentUrls: boolean;
    fetchTimeoutMs: number;
  };
  /** Seed of the id generator and chaos (deterministic runs). */
  seed: number;
}

const MB = 1024 * 1024;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const MESSENGER_PAGE_FIELDS = ['messages', 'message_echoes', 'message_deliveries', 'message_reads', 'message_reactions', 'message_edits', 'messaging_postbacks', 'feed'];

export const INSTAGRAM_FIELDS = ['messages', 'messaging_seen', 'message_reactions', 'messaging_postbacks', 'comments'];

/** The shipped default: one Page with a linked Instagram account and one WhatsApp number. */
export function defaultConfig(): EmulatorConfig {
  return {
    host: '127.0.0.1',
    port: 4100,
    graphVersion: 'v25.0',
    appId: '100200300400500',
    appSecret: 'emulator-app-secret',
    appName: 'Parley (emulated app)',
    inboxAppId: '263902037430900',
    user: { id: '10229000000000001', name: 'Demo Shop Owner' },
    pages: [
      {
        id: '104455667788990',
        name: 'Demo Repair Shop',
        accessToken: 'EAAEMUpage104455667788990',
        category: 'Repair shop',
        tasks: ['ADVERTISE', 'ANALYZE', 'CREATE_CONTENT', 'MESSAGING', 'MODERATE', 'MANAGE'],
        instagram: {
          id: '17841400011122233',
          username: 'demo.repair.shop',
          name: 'Demo Repair Shop',
          posts: [{ id: '18011223344556677', text: 'Before / after: a cracked screen, fixed in 40 minutes', mediaProductType: 'REELS' }],
        },
        posts: [{ id: '122134455667788', text: 'Spring prices: screen replacement from 89 EUR, battery from 49 EUR.' }],
      },
    ],
    whatsapp: [
      {
        phoneNumberId: '106540352242922',
        displayPhoneNumber: '15550001234',
        verifiedName: 'Demo Repair Shop',
        wabaId: '102290129340398',
        accessToken: 'EAAEMUwhatsapp106540352242922',
        templates: [
          {
            name: 'hello_world',
            language: 'en_US',
            status: 'APPROVED',
            category: 'UTILITY',
            components: [
              { type: 'HEADER', format: 'TEXT', text: 'Hello World' },
              { type: 'BODY', text: 'Welcome and congratulations!! This message demonstrates your ability to send a WhatsApp message notification from the Cloud API.' },
              { type: 'FOOTER', text: 'WhatsApp Business Platform sample message' },
            ],
          },
          {
            name: 'order_ready',
            language: 'en_US',
            status: 'APPROVED',
            category: 'UTILITY',
            components: [{ type: 'BODY', text: 'Hello {{1}}, your order {{2}} is ready for pickup.' }],
          },
          {
            name: 'order_ready',
            language: 'fr',
            status: 'APPROVED',
            category: 'UTILITY',
            components: [{ type: 'BODY', text: 'Bonjour {{1}}, votre commande {{2}} est prête.' }],
          },
          {
            name: 'spring_promo',
            language: 'en_US',
            status: 'PENDING',
            category: 'MARKETING',
            components: [{ type: 'BODY', text: 'Spring promo: -20% on all repairs this week!' }],
          },
        ],
      },
    ],
    people: [
      { id: 'anna', name: 'Anna Petrova', phone: '79161234567', username: 'anna.petrova', locale: 'ru_RU' },
      { id: 'marc', name: 'Marc Dubois', phone: '33612345678', username: 'marc.dbs', locale: 'fr_FR' },
      { id: 'hidden', name: 'Private Person', phone: '15551230000', username: 'private.person', hiddenProfile: true },
    ],
    webhooks: {
      handshakeOnStart: true,
      batchWindowMs: 100,
      maxBatchSize: 1000,
      timeoutMs: 5_000,
      retryDelaysMs: [1_000, 5_000, 30_000, 120_000, 600_000],
      escapeSlashes: true,
      autoDeliver: true,
      echoOwnComments: true,
      messengerUnsendWebhook: false,
      instagramFields: [...INSTAGRAM_FIELDS],
    },
    chaos: { enabled: false, duplicateRate: 0.3, reorder: true, maxDelayMs: 1_500, seed: 42 },
    rateLimits: [],
    windows: { standardMs: 24 * HOUR, humanAgentMs: 7 * DAY, privateReplyMs: 7 * DAY },
    humanAgentFeature: true,
    requireMessagingType: true,
    whatsappWindowError: 'async',
    conversations: { detailLimit: 20, olderMessageLookup: 'error' },
    limits: {
      messengerTextChars: 2000,
      instagramTextBytes: 1000,
      whatsappTextChars: 4096,
      metadataChars: 1000,
      messengerAttachmentBytes: 25 * MB,
      instagramAttachmentBytes: { image: 8 * MB, audio: 25 * MB, video: 25 * MB, file: 25 * MB },
      whatsappMediaBytes: { image: 5 * MB, audio: 16 * MB, video: 16 * MB, document: 100 * MB, sticker: 500 * 1024 },
    },
    media: {
      cdnTtlMs: 3 * DAY,
      whatsappUrlTtlMs: 5 * 60_000,
      whatsappInboundIdTtlMs: 7 * DAY,
      whatsappUploadIdTtlMs: 30 * DAY,
      whatsappWebhookUrl: true,
      fetchAttachmentUrls: true,
      fetchTimeoutMs: 10_000,
    },
    seed: 1,
  };
}

export type DeepPartial<T> = T extends Array<infer _U> ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge where arrays and scalars from `override` replace the base value. */
export function mergeConfig<T>(base: T, override: unknown): T {
  if (!isPlainObject(override)) return base;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue;
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? mergeConfig(current, value) : value;
  }
  return out as T;
}

export function resolveConfig(partial: DeepPartial<EmulatorConfig> = {}): EmulatorConfig {
  return mergeConfig(defaultConfig(), partial);
}

function num(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`${name} must be a number, got "${value}"`);
  return n;
}

function jsonEnv<T>(value: string | undefined, name: string): T | undefined {
  if (value === undefined || value === '') return undefined;
  try {
    return JSON.parse(value) as T;
  } catch {
    throw new Error(`${name} must be JSON`);
  }
}

/**
 * Configuration for `npm run emulator`: defaults, then the JSON file named by EMULATOR_CONFIG,
 * then single environment variables (the first Page / Instagram account / WhatsApp number can be
 * overridden one value at a time; EMULATOR_PAGES / EMULATOR_WHATSAPP replace the lists as JSON).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): EmulatorConfig {
  let config = defaultConfig();
  if (env.EMULATOR_CONFIG) {
    const raw = readFileSync(env.EMULATOR_CONFIG, 'utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (err) {
      throw new Error(`EMULATOR_CONFIG ${env.EMULATOR_CONFIG} is not valid JSON: ${(err as Error).message}`);
    }
    config = mergeConfig(config, parsed);
  }
  const e = (k: string): string | undefined => (env[k] === '' ? undefined : env[k]);
  const webhooks: Partial<WebhookConfig> = {};
  const callbackUrls: Partial<Record<WebhookObject, string>> = {};
  if (e('EMULATOR_CALLBACK_URL')) webhooks.callbackUrl = e('EMULATOR_CALLBACK_URL');
  if (e('EMULATOR_CALLBACK_URL_PAGE')) callbackUrls.page = e('EMULATOR_CALLBACK_URL_PAGE');
  if (e('EMULATOR_CALLBACK_URL_INSTAGRAM')) callbackUrls.instagram = e('EMULATOR_CALLBACK_URL_INSTAGRAM');
  if (e('EMULATOR_CALLBACK_URL_WHATSAPP')) callbackUrls.whatsapp_business_account = e('EMULATOR_CALLBACK_URL_WHATSAPP');
  if (Object.keys(callbackUrls).length) webhooks.callbackUrls = { ...config.webhooks.callbackUrls, ...callbackUrls };
  if (e('EMULATOR_VERIFY_TOKEN')) webhooks.verifyToken = e('EMULATOR_VERIFY_TOKEN');
  const delays = e('EMULATOR_WEBHOOK_RETRY_DELAYS_MS');
  if (delays) webhooks.retryDelaysMs = delays.split(',').map((d) => num(d.trim(), 'EMULATOR_WEBHOOK_RETRY_DELAYS_MS') ?? 0);
  const batch = num(e('EMULATOR_WEBHOOK_BATCH_MS'), 'EMULATOR_WEBHOOK_BATCH_MS');
  if (batch !== undefined) webhooks.batchWindowMs = batch;
  if (e('EMULATOR_HANDSHAKE')) webhooks.handshakeOnStart = e('EMULATOR_HANDSHAKE') !== '0';

  config = mergeConfig(config, {
    host: e('EMULATOR_HOST'),
    port: num(e('EMULATOR_PORT'), 'EMULATOR_PORT'),
    publicUrl: e('EMULATOR_PUBLIC_URL'),
    mediaBaseUrl: e('EMULATOR_MEDIA_BASE_URL'),
    appId: e('EMULATOR_APP_ID'),
    appSecret: e('EMULATOR_APP_SECRET'),
    whatsappWindowError: e('EMULATOR_WHATSAPP_WINDOW_ERROR') as EmulatorConfig['whatsappWindowError'] | undefined,
    seed: num(e('EMULATOR_SEED'), 'EMULATOR_SEED'),
    webhooks,
  });
  if (e('EMULATOR_CHAOS')) config.chaos = { ...config.chaos, enabled: e('EMULATOR_CHAOS') !== '0' };

  const pages = jsonEnv<PageConfig[]>(e('EMULATOR_PAGES'), 'EMULATOR_PAGES');
  if (pages) config.pages = pages;
  const numbers = jsonEnv<WhatsAppNumberConfig[]>(e('EMULATOR_WHATSAPP'), 'EMULATOR_WHATSAPP');
  if (numbers) config.whatsapp = numbers;
  const people = jsonEnv<PersonConfig[]>(e('EMULATOR_PEOPLE'), 'EMULATOR_PEOPLE');
  if (people) config.people = people;

  const page = config.pages[0];
  if (page) {
    if (e('EMULATOR_PAGE_ID')) page.id = e('EMULATOR_PAGE_ID') as string;
    if (e('EMULATOR_PAGE_NAME')) page.name = e('EMULATOR_PAGE_NAME') as string;
    if (e('EMULATOR_PAGE_TOKEN')) page.accessToken = e('EMULATOR_PAGE_TOKEN') as string;
    if (page.instagram) {
      if (e('EMULATOR_IG_ID')) page.instagram.id = e('EMULATOR_IG_ID') as string;
      if (e('EMULATOR_IG_USERNAME')) page.instagram.username = e('EMULATOR_IG_USERNAME') as string;
    }
  }
  const wa = config.whatsapp[0];
  if (wa) {
    if (e('EMULATOR_WA_PHONE_NUMBER_ID')) wa.phoneNumberId = e('EMULATOR_WA_PHONE_NUMBER_ID') as string;
    if (e('EMULATOR_WA_DISPLAY_PHONE_NUMBER')) wa.displayPhoneNumber = e('EMULATOR_WA_DISPLAY_PHONE_NUMBER') as string;
    if (e('EMULATOR_WA_WABA_ID')) wa.wabaId = e('EMULATOR_WA_WABA_ID') as string;
    if (e('EMULATOR_WA_TOKEN')) wa.accessToken = e('EMULATOR_WA_TOKEN') as string;
  }
  validateConfig(config);
  return config;
}

/** Fail at start with a clear message instead of misbehaving later. */
export function validateConfig(config: EmulatorConfig): void {
  const problems: string[] = [];
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535) problems.push('port must be 0..65535');
  if (!config.appSecret) problems.push('appSecret is required (webhook signatures)');
  const ids = new Set<string>();
  const tokens = new Set<string>();
  const claim = (id: string, what: string): void => {
    if (!id) problems.push(`${what} has an empty id`);
    else if (ids.has(id)) problems.push(`id ${id} is used twice (${what})`);
    ids.add(id);
  };
  for (const p of config.pages) {
    claim(p.id, `page ${p.name}`);
    if (p.instagram) claim(p.instagram.id, `instagram ${p.instagram.username}`);
    if (tokens.has(p.accessToken)) problems.push(`token of page ${p.id} is used twice`);
    tokens.add(p.accessToken);
  }
  for (const w of config.whatsapp) {
    claim(w.phoneNumberId, `whatsapp ${w.displayPhoneNumber}`);
    if (!/^\d+$/.test(w.displayPhoneNumber)) problems.push(`whatsapp displayPhoneNumber ${w.displayPhoneNumber} must be digits only`);
  }
  const personIds = new Set<string>();
  for (const person of config.people) {
    if (personIds.has(person.id)) problems.push(`person id ${person.id} is used twice`);
    personIds.add(person.id);
    if (person.phone && !/^\d{6,15}$/.test(person.phone)) problems.push(`person ${person.id}: phone must be 6-15 digits`);
  }
  if (config.chaos.duplicateRate < 0 || config.chaos.duplicateRate > 1) problems.push('chaos.duplicateRate must be within 0..1');
  if (problems.length) throw new Error(`Invalid emulator configuration:\n - ${problems.join('\n - ')}`);
}
