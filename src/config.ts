import { randomBytes, scryptSync } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { isIP } from 'node:net';

export type ProcessRole = 'web' | 'worker';

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly publicUrl: string;
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  readonly redisUrl: string | undefined;
  /**
   * REDIS_PREFIX: what every Redis key, BullMQ queue and pub/sub channel of this install starts
   * with. Default `parley:<database name>`, so two installs sharing one Redis (whose pub/sub
   * ignores database numbers) differ unless their databases have the same name.
   */
  readonly redisPrefix: string;
  /** PostgreSQL connections per process. */
  readonly databasePoolSize: number;
  /** 32 bytes derived from SECRET_KEY; encrypts secrets at rest and signs nothing else. */
  readonly secretKey: Buffer;
  readonly processRoles: readonly ProcessRole[];
  /** Web processes `npm start` runs (node:cluster, sharing the port); 1 = this process only. */
  readonly webConcurrency: number;
  readonly meta: {
    readonly graphUrl: string;
    readonly graphVersion: string;
    readonly appId: string | undefined;
    readonly appSecret: string | undefined;
    readonly verifyToken: string | undefined;
    /** Facebook Login dialog host (www.facebook.com on Meta; the Graph URL against the emulator). */
    readonly oauthDialogUrl: string | undefined;
  };
  /** Where inbound media may be downloaded from (S7), and how much. */
  readonly media: {
    readonly allowedHosts: readonly string[];
    /** `host:port`s configured by the operator whose private addresses are trusted (a local Graph double), that port only. */
    readonly trustedPrivateHosts: readonly string[];
    readonly maxBytes: number;
  };
  /**
   * Speech-to-text set by the environment (self-hosted installs); when set, Settings ›
   * Transcription shows it read-only. `command`: a local engine's argv (`{file}`, `{language}`).
   */
  readonly transcription: {
    readonly url: string | undefined;
    readonly model: string;
    readonly apiKey: string | undefined;
    readonly language: string | undefined;
    readonly command: readonly string[] | undefined;
    /** G2: a transcription's whole budget, retries included (at most 60 s). */
    readonly timeoutMs: number;
    /**
     * TRANSCRIPTION_ALLOW_PRIVATE=1: Settings › Transcription may name a loopback or private
     * address (a local engine). Off by default: that URL receives the API key (SSRF, #21).
     */
    readonly allowPrivate: boolean;
  };
  /** SEARCH_TIMEOUT_MS: how long PostgreSQL may spend on one chat search (default 2000). */
  readonly searchTimeoutMs: number;
  readonly logLevel: string;
  /**
   * The server's locale as a BCP 47 tag (`LC_ALL`, `LC_MONETARY` or `LANG`: `fr_FR.UTF-8` →
   * `fr-FR`; `en-US` when unset or C/POSIX): the shop currency's default (shop/currency.ts).
   */
  readonly locale: string;
  /** True when PUBLIC_URL is https: cookies get the Secure flag. */
  readonly secureCookies: boolean;
  /**
   * TRUST_PROXY: which proxies' X-Forwarded-For Parley believes (the client address throttling
   * uses): false (none), a number of hops in front (1 = one proxy: the entry that proxy added,
   * never one the client wrote), or the proxies' addresses/CIDRs. Never "every hop".
   */
  readonly trustProxy: false | number | readonly string[];
  readonly embedded: boolean;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

type Env = Record<string, string | undefined>;

/**
 * Reads and validates the whole configuration once, at boot. Every bad value is reported
 * together, each with the variable's name, so an operator fixes them in one go.
 */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const str = (name: string) => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };

  const port = parsePort(str('PORT') ?? '3000', 'PORT', problems);
  const host = str('HOST') ?? '0.0.0.0';
  const dataDir = resolve(str('DATA_DIR') ?? './data');

  const publicUrlRaw = str('PUBLIC_URL') ?? `http://localhost:${port}`;
  const publicUrl = parseUrl(publicUrlRaw, 'PUBLIC_URL', ['http:', 'https:'], problems);

  const databaseUrl = str('DATABASE_URL');
  if (databaseUrl) parseUrl(databaseUrl, 'DATABASE_URL', ['postgres:', 'postgresql:'], problems);
  const poolRaw = str('DATABASE_POOL_SIZE') ?? '20';
  const databasePoolSize = Number(poolRaw);
  if (!Number.isInteger(databasePoolSize) || databasePoolSize < 2 || databasePoolSize > 200) problems.push(`DATABASE_POOL_SIZE must be a whole number from 2 to 200 (got "${poolRaw}").`);
  const redisUrl = str('REDIS_URL');
  if (redisUrl) parseUrl(redisUrl, 'REDIS_URL', ['redis:', 'rediss:'], problems);
  const redisPrefix = str('REDIS_PREFIX') ?? defaultRedisPrefix(databaseUrl);
  if (!REDIS_PREFIX.test(redisPrefix)) problems.push(`REDIS_PREFIX must be 1 to 64 letters, digits or - _ : . (got "${redisPrefix}").`);

  let secretKey: Buffer | undefined;
  const secretRaw = str('SECRET_KEY');
  if (secretRaw) {
    if (secretRaw.length < 32) problems.push('SECRET_KEY must be at least 32 characters (use `openssl rand -hex 32`).');
    else secretKey = deriveKey(secretRaw);
  } else if (databaseUrl) {
    problems.push('SECRET_KEY is required when DATABASE_URL is set (generate one with `openssl rand -hex 32`).');
  }

  const rolesRaw = (str('PROCESS_ROLES') ?? 'web,worker')
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  const processRoles: ProcessRole[] = [];
  for (const r of rolesRaw) {
    if (r === 'web' || r === 'worker') processRoles.push(r);
    else problems.push(`PROCESS_ROLES: unknown role "${r}" (expected web, worker or both, comma-separated).`);
  }
  if (rolesRaw.length === 0) problems.push('PROCESS_ROLES must name at least one role: web, worker.');
  if (processRoles.includes('worker') && !processRoles.includes('web') && !redisUrl) {
    problems.push('PROCESS_ROLES=worker alone needs REDIS_URL: without Redis, jobs run inside the web process.');
  }

  // Node serves requests on one core: a machine with several runs one web process per core.
  const concurrencyRaw = str('WEB_CONCURRENCY') ?? '1';
  const webConcurrency = Number(concurrencyRaw);
  if (!Number.isInteger(webConcurrency) || webConcurrency < 1 || webConcurrency > 64) {
    problems.push(`WEB_CONCURRENCY must be a whole number from 1 to 64 (got "${concurrencyRaw}").`);
  } else if (webConcurrency > 1 && (!databaseUrl || !redisUrl)) {
    problems.push('WEB_CONCURRENCY above 1 needs DATABASE_URL and REDIS_URL: the embedded database belongs to one process, and live updates cross processes through Redis.');
  }

  const graphUrl = (str('META_GRAPH_URL') ?? 'https://graph.facebook.com').replace(/\/+$/, '');
  parseUrl(graphUrl, 'META_GRAPH_URL', ['http:', 'https:'], problems);
  const graphVersion = str('META_GRAPH_VERSION') ?? 'v23.0';
  if (!/^v\d+\.\d+$/.test(graphVersion)) problems.push(`META_GRAPH_VERSION must look like v23.0 (got "${graphVersion}").`);

  const graph = (() => {
    try {
      const u = new URL(graphUrl);
      return { hostname: u.hostname, host: u.host, origin: hostAndPort(u.host, u.protocol)?.origin ?? '' };
    } catch {
      return { hostname: '', host: '', origin: '' };
    }
  })();
  const graphHost = graph.hostname;
  // The platforms' CDNs (meta-platform.md §8) plus the Graph host itself.
  const defaultMediaHosts = ['fbcdn.net', 'fbsbx.net', 'fbsbx.com', 'facebook.com', 'cdninstagram.com', 'instagram.com', 'whatsapp.net', 'graph.facebook.com'];
  // MEDIA_ALLOWED_HOSTS: `host` or `host:port`. The host may serve media; its private
  // addresses are trusted on that one port only (443 when none is given), never on every port.
  const extraOrigins = (str('MEDIA_ALLOWED_HOSTS') ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean)
    .map((entry) => {
      const origin = hostAndPort(entry, 'https:');
      if (!origin) problems.push(`MEDIA_ALLOWED_HOSTS: "${entry}" is not a host or host:port.`);
      return origin;
    })
    .filter((o): o is NonNullable<typeof o> => o !== null);
  const extraHosts = extraOrigins.map((o) => o.hostname);
  const mediaMaxMb = Number(str('MEDIA_MAX_MB') ?? '25');
  if (!Number.isFinite(mediaMaxMb) || mediaMaxMb <= 0 || mediaMaxMb > 200) problems.push(`MEDIA_MAX_MB must be a number of megabytes from 1 to 200 (got "${str('MEDIA_MAX_MB')}").`);

  const oauthDialogUrl = str('META_OAUTH_DIALOG_URL');
  if (oauthDialogUrl) parseUrl(oauthDialogUrl, 'META_OAUTH_DIALOG_URL', ['http:', 'https:'], problems);

  const transcribeUrl = str('TRANSCRIBE_URL')?.replace(/\/+$/, '');
  if (transcribeUrl) parseUrl(transcribeUrl, 'TRANSCRIBE_URL', ['http:', 'https:'], problems);
  const transcribeLanguage = str('TRANSCRIBE_LANGUAGE');
  if (transcribeLanguage && !/^[a-z]{2,3}$/.test(transcribeLanguage)) problems.push(`TRANSCRIBE_LANGUAGE must be a language code such as fr or en (got "${transcribeLanguage}").`);
  let transcribeCommand: string[] | undefined;
  const commandRaw = str('TRANSCRIBE_COMMAND');
  if (commandRaw) {
    try {
      const v: unknown = JSON.parse(commandRaw);
      if (!Array.isArray(v) || v.length === 0 || !v.every((a) => typeof a === 'string' && a.length > 0)) throw new Error('not a list of words');
      transcribeCommand = v as string[];
    } catch {
      problems.push('TRANSCRIBE_COMMAND must be a JSON array of the command and its arguments, e.g. ["whisper-cli","-m","/models/ggml-base.bin","-nt","-f","{file}"].');
    }
  }
  if (transcribeUrl && transcribeCommand) problems.push('Set TRANSCRIBE_URL or TRANSCRIBE_COMMAND, not both.');
  const transcribeTimeout = Number(str('TRANSCRIBE_TIMEOUT_SECONDS') ?? '60');
  if (!Number.isFinite(transcribeTimeout) || transcribeTimeout < 1 || transcribeTimeout > 60)
    problems.push(`TRANSCRIBE_TIMEOUT_SECONDS must be a number of seconds from 1 to 60 (got "${str('TRANSCRIBE_TIMEOUT_SECONDS')}").`);

  const trustProxy = parseTrustProxy(str('TRUST_PROXY'), problems);

  const searchTimeoutMs = Number(str('SEARCH_TIMEOUT_MS') ?? '2000');
  if (!Number.isInteger(searchTimeoutMs) || searchTimeoutMs < 1 || searchTimeoutMs > 60_000)
    problems.push(`SEARCH_TIMEOUT_MS must be a number of milliseconds from 1 to 60000 (got "${str('SEARCH_TIMEOUT_MS')}").`);

  const logLevel = str('LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${logLevel}").`);

  if (problems.length > 0) throw new ConfigError(problems);

  if (!secretKey) secretKey = deriveKey(embeddedSecret(dataDir));

  return Object.freeze({
    port,
    host,
    publicUrl: publicUrlRaw.replace(/\/+$/, ''),
    dataDir,
    databaseUrl,
    redisUrl,
    redisPrefix,
    databasePoolSize,
    secretKey,
    processRoles: Object.freeze(processRoles),
    webConcurrency,
    meta: Object.freeze({
      graphUrl,
      graphVersion,
      appId: str('META_APP_ID'),
      appSecret: str('META_APP_SECRET'),
      verifyToken: str('META_VERIFY_TOKEN'),
      oauthDialogUrl: oauthDialogUrl?.replace(/\/+$/, ''),
    }),
    media: Object.freeze({
      allowedHosts: Object.freeze([...new Set([...defaultMediaHosts, ...extraHosts, ...(graphHost ? [graphHost] : [])])]),
      // A local Graph double is trusted on its own port only (host:port), not the whole host.
      trustedPrivateHosts: Object.freeze([...extraOrigins.map((o) => o.origin), ...(graph.origin && graphHost !== 'graph.facebook.com' ? [graph.origin] : [])]),
      maxBytes: Math.round(mediaMaxMb * 1024 * 1024),
    }),
    transcription: Object.freeze({
      url: transcribeUrl,
      model: str('TRANSCRIBE_MODEL') ?? 'whisper-1',
      apiKey: str('TRANSCRIBE_API_KEY'),
      language: transcribeLanguage,
      command: transcribeCommand ? Object.freeze(transcribeCommand) : undefined,
      timeoutMs: Math.round(transcribeTimeout * 1000),
      allowPrivate: str('TRANSCRIPTION_ALLOW_PRIVATE') === '1',
    }),
    searchTimeoutMs,
    logLevel,
    locale: serverLocale(env),
    secureCookies: publicUrl?.protocol === 'https:',
    trustProxy: Array.isArray(trustProxy) ? Object.freeze(trustProxy) : trustProxy,
    embedded: !databaseUrl,
  });
}

/**
 * `host` or `host:port` → the host name (IPv6 without brackets, as safe-download compares it)
 * and `host:port`, the port defaulting to the protocol's (443 for https). Null if not a host.
 */
export function hostAndPort(entry: string, protocol: string): { hostname: string; origin: string } | null {
  try {
    const u = new URL(`${protocol}//${entry}`);
    if (u.pathname !== '/' || u.search || u.hash || u.username || u.password || !u.hostname) return null;
    const hostname = u.hostname.replace(/^\[|\]$/g, '');
    return { hostname, origin: `${hostname}:${u.port || (protocol === 'http:' ? '80' : '443')}` };
  } catch {
    return null;
  }
}

const REDIS_PREFIX = /^[A-Za-z0-9_:.-]{1,64}$/;

/** `parley:<database name>` (other characters → `_`); `parley` without a database URL (embedded). */
export function defaultRedisPrefix(databaseUrl: string | undefined): string {
  let name = '';
  try {
    if (databaseUrl) name = decodeURIComponent(new URL(databaseUrl).pathname.replace(/^\/+/, ''));
  } catch {
    // An invalid DATABASE_URL is reported on its own.
  }
  name = name.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 57);
  return name ? `parley:${name}` : 'parley';
}

/** POSIX precedence: LC_ALL, then the category (LC_MONETARY), then LANG; C/POSIX say nothing. */
function serverLocale(env: Env): string {
  for (const name of ['LC_ALL', 'LC_MONETARY', 'LANG']) {
    const raw = env[name]?.trim();
    if (!raw) continue;
    const tag = raw.split(/[.@]/)[0]!.replace('_', '-');
    if (tag === 'C' || tag === 'POSIX') return 'en-US';
    try {
      return new Intl.Locale(tag).toString();
    } catch {
      return 'en-US';
    }
  }
  return 'en-US';
}

/** `1` (hops), `127.0.0.1,10.0.0.0/8` (proxies), unset or `0` (none). */
function parseTrustProxy(raw: string | undefined, problems: string[]): false | number | string[] {
  if (raw === undefined) return false;
  if (/^\d+$/.test(raw)) {
    const hops = Number(raw);
    if (hops > 10) problems.push(`TRUST_PROXY must be a number of proxies from 0 to 10, or their addresses (got "${raw}").`);
    return hops > 0 && hops <= 10 ? hops : false;
  }
  const entries = raw
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  const bad = entries.filter((e) => !isAddressOrCidr(e));
  if (bad.length || entries.length === 0) {
    problems.push(
      `TRUST_PROXY must be the number of proxies in front of Parley (1 for one reverse proxy) or their addresses and CIDRs, comma-separated (e.g. 127.0.0.1,10.0.0.0/8); "true" (trust every hop) is not accepted (got "${raw}").`,
    );
    return false;
  }
  return entries;
}

function isAddressOrCidr(entry: string): boolean {
  const [addr = '', prefix, ...rest] = entry.split('/');
  const family = isIP(addr);
  if (!family || rest.length) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

function parsePort(raw: string, name: string, problems: string[]): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    problems.push(`${name} must be a whole number from 0 to 65535 (got "${raw}").`);
    return 0;
  }
  return n;
}

function parseUrl(raw: string, name: string, protocols: string[], problems: string[]): URL | undefined {
  try {
    const u = new URL(raw);
    if (!protocols.includes(u.protocol)) {
      problems.push(`${name} must start with ${protocols.map((p) => p + '//').join(' or ')} (got "${redact(raw)}").`);
      return undefined;
    }
    return u;
  } catch {
    problems.push(`${name} is not a valid URL (got "${redact(raw)}").`);
    return undefined;
  }
}

/** Never echo a password from a connection string into logs or error messages. */
function redact(raw: string): string {
  return raw.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

function deriveKey(secret: string): Buffer {
  // A fixed-salt scrypt turns any long string into a 256-bit key; the salt only separates
  // Parley's use of the secret from any other use an operator might make of it.
  return scryptSync(secret, 'parley/secrets-at-rest/v1', 32);
}

/**
 * Embedded mode has no operator to hand out a secret, so Parley makes one on first start and
 * keeps it beside the data it protects, readable by the owner only.
 */
function embeddedSecret(dataDir: string): string {
  const file = join(isAbsolute(dataDir) ? dataDir : resolve(dataDir), 'secret.key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('hex');
  writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return secret;
}
