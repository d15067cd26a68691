/**
 * Settings › Chats: connecting Messenger Pages and Instagram accounts (manual token, Facebook
 * Login, CLI), reconnecting them, and their per-channel settings (B2, B3, H1). Tokens are
 * verified against the Graph API, the account is subscribed to webhooks, and only then is the
 * token stored — encrypted, never rendered, never logged.
 */
import type { Deps } from '../deps.ts';
import { NotFoundError, ValidationError } from '../platform/errors.ts';
import type { Translate } from '../platform/i18n/index.ts';
import { ACCESS_CHANGED } from '../platform/live/hub.ts';
import { inTransaction, type Tx } from '../platform/tx.ts';
import { employeesSeeingChannel } from '../chats/access.repository.ts';
import { publishRedDots, publishRedDotsOf } from '../chats/live/chats.live.ts';
import { PlatformError, type ChannelSettings } from './adapter.ts';
import * as repo from './channels.repository.ts';
import { encryptCredentials, toRuntime } from './channels.service.ts';
import { GraphClient } from './meta/graph-client.ts';
import * as inbox from './meta/inbox.repository.ts';
import { applyDeliveryChanges, channelLookup } from '../chats/ingest/webhook.jobs.ts';
import { listFacebookAccounts, type FacebookAccount } from './oauth.ts';
import { subscribeWaba, verifyWhatsApp } from './whatsapp/connect.ts';

type Conn = Deps['db'] | Tx['db'];

export const CONNECT_KINDS = ['messenger', 'instagram'] as const;
export type ConnectKind = (typeof CONNECT_KINDS)[number];

export function isConnectKind(v: unknown): v is ConnectKind {
  return v === 'messenger' || v === 'instagram';
}

/** Page webhook fields for Messenger (meta-platform.md §1.5, §2; `feed` carries Page comments). */
export const MESSENGER_PAGE_FIELDS = ['messages', 'message_echoes', 'message_deliveries', 'message_reads', 'message_reactions', 'messaging_postbacks', 'feed'] as const;
/**
 * Instagram (Facebook Login flavour): the webhook fields are chosen once at the app level
 * (App Dashboard › Webhooks › Instagram: these); per account, Parley subscribes the linked Page
 * so that they flow (§1.5, §3.2).
 */
export const INSTAGRAM_APP_FIELDS = ['messages', 'messaging_seen', 'message_reactions', 'comments'] as const;
const INSTAGRAM_PAGE_FIELDS = ['messages'] as const;

/** What a channel needs for comments in the feed (§9; `pages_read_user_engagement` is ❓ so not required). */
export const COMMENT_PERMISSIONS: Record<ConnectKind, readonly string[]> = {
  messenger: ['pages_manage_engagement', 'pages_read_engagement', 'pages_manage_metadata'],
  instagram: ['instagram_manage_comments', 'pages_read_engagement'],
};

export const MAX_NAME = 120;
export const MAX_RATE = 1000;
const MAX_TOKEN = 2048;

/**
 * A refused connection: `fields` as in ValidationError (`form` for what belongs to no single
 * field), plus the platform's own words in `reason` (shown escaped, never a token).
 */
export class ConnectError extends ValidationError {
  constructor(fields: Record<string, string>, readonly reason?: string) {
    super(fields, reason ?? 'Cannot connect the channel');
    this.name = 'ConnectError';
  }
}

export type AccessInput = { all: true } | { all: false; employeeIds: number[] };

export function graphClient(deps: Pick<Deps, 'config'>): GraphClient {
  return new GraphClient({ baseUrl: deps.config.meta.graphUrl, version: deps.config.meta.graphVersion, timeoutMs: 15_000 });
}

/** Maps a Graph failure to what the admin is told: 190 → token invalid, no answer → unreachable. */
function connectFailure(err: unknown, platformKey = 'channels.error.platform'): unknown {
  if (!(err instanceof PlatformError)) return err;
  if (err.opts.code === 190) return new ConnectError({ token: 'channels.error.token_invalid' }, err.reason);
  if (err.opts.code === undefined && err.opts.retryable) return new ConnectError({ form: 'channels.error.unreachable' }, err.reason);
  return new ConnectError({ form: platformKey }, err.reason);
}

// ---------------------------------------------------------------------------------------------
// Input

const strip = (s: string) => s.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();

function parseName(raw: string | undefined, errors: Record<string, string>, required: boolean): string | undefined {
  const name = strip(raw ?? '');
  if (!name) {
    if (required) errors.name = 'validation.required';
    return undefined;
  }
  if (name.length > MAX_NAME) errors.name = 'validation.too_long';
  return name;
}

function parseToken(raw: string | undefined, errors: Record<string, string>): string {
  const token = (raw ?? '').trim();
  if (!token) errors.token = 'validation.required';
  else if (token.length > MAX_TOKEN || !/^[\x21-\x7e]+$/.test(token)) errors.token = 'channels.error.token_format';
  return token;
}

function parseExternalId(raw: string | undefined, errors: Record<string, string>, field = 'external_id'): string {
  const id = (raw ?? '').trim();
  if (!id) errors[field] = 'validation.required';
  else if (!/^\d{1,32}$/.test(id)) errors[field] = 'channels.error.external_id';
  return id;
}

/** "All employees" or a list of active employees' ids. */
export async function parseAccess(db: Conn, access: string | undefined, ids: string | string[] | undefined, errors: Record<string, string>): Promise<AccessInput> {
  if (access === 'all' || access === undefined || access === '') return { all: true };
  if (access !== 'list') {
    errors.access = 'validation.choice';
    return { all: true };
  }
  const raw = ids === undefined ? [] : Array.isArray(ids) ? ids : [ids];
  const wanted = [...new Set(raw.map((s) => String(s).trim()).filter(Boolean))];
  if (wanted.some((s) => !/^\d{1,9}$/.test(s))) {
    errors.access = 'channels.error.access_unknown';
    return { all: false, employeeIds: [] };
  }
  const active = new Set((await repo.listActiveEmployees(db)).map((e) => e.id));
  const employeeIds = wanted.map(Number);
  if (employeeIds.some((id) => !active.has(id))) errors.access = 'channels.error.access_unknown';
  return { all: false, employeeIds: employeeIds.filter((id) => active.has(id)) };
}

function parseRate(raw: string | undefined, errors: Record<string, string>): number | undefined {
  const s = (raw ?? '').trim();
  if (!s) return undefined;
  const n = Number(s);
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(n) || n < 1 || n > MAX_RATE) {
    errors.rate_limit = 'channels.error.rate_limit';
    return undefined;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Graph: verification and subscription

/** An account the platform confirmed, ready to be stored. `pageId` is what gets subscribed (a Page, or a WABA). */
export interface VerifiedAccount {
  kind: ConnectKind | 'whatsapp';
  externalId: string;
  parentExternalId: string | null;
  platformName: string;
  pageId: string;
  token: string;
  /** Facts the platform told about the account, kept in the channel's settings (display number). */
  settings?: Partial<ChannelSettings>;
}

/** A Page or Instagram account (Messenger Platform: subscribed through its Page). */
export type MetaAccount = VerifiedAccount & { kind: ConnectKind };

interface PageNode {
  id?: string;
  name?: string;
  instagram_business_account?: { id?: string; username?: string; name?: string };
}

const igName = (ig: { username?: string | null; name?: string | null }) => (ig.name ? ig.name : ig.username ? `@${ig.username}` : '');

/**
 * Verifies a Page token. Messenger: `GET /{page-id}?fields=id,name`. Instagram (Facebook Login
 * flavour): the token is the linked Page's, so `GET /me` names the Page and its
 * `instagram_business_account`; `id` may be either the Instagram account's id or the Page's.
 */
export async function verifyAccount(deps: Pick<Deps, 'config'>, kind: ConnectKind, id: string, token: string): Promise<MetaAccount> {
  const graph = graphClient(deps);
  try {
    if (kind === 'messenger') {
      const page = (await graph.get<PageNode | null>(id, token, { fields: 'id,name' })) ?? {};
      const pageId = page.id ? String(page.id) : id;
      if (pageId !== id) throw new ConnectError({ external_id: 'channels.error.not_this_page' });
      return { kind, externalId: pageId, parentExternalId: null, platformName: page.name ?? '', pageId, token };
    }
    const me = (await graph.get<PageNode | null>('me', token, { fields: 'id,name,instagram_business_account{id,username,name}' })) ?? {};
    const ig = me.instagram_business_account;
    const pageId = me.id ? String(me.id) : '';
    if (!pageId) throw new ConnectError({ token: 'channels.error.not_page_token' });
    if (pageId === id) {
      if (!ig?.id) throw new ConnectError({ external_id: 'channels.error.no_instagram' });
    } else if (!ig?.id || String(ig.id) !== id) {
      throw new ConnectError({ external_id: 'channels.error.instagram_not_linked' });
    }
    return { kind, externalId: String(ig.id), parentExternalId: pageId, platformName: igName(ig), pageId, token };
  } catch (err) {
    throw connectFailure(err);
  }
}

/**
 * `POST /{page-id}/subscribed_apps` (§1.5). The field list covers every Parley channel on that
 * Page (Messenger and the linked Instagram account) plus what this app already had, so
 * connecting one never narrows the other's subscription.
 */
export async function subscribeAccount(deps: Pick<Deps, 'config' | 'db'>, acct: MetaAccount): Promise<string[]> {
  const graph = graphClient(deps);
  const kinds = new Set<ConnectKind>([acct.kind]);
  for (const c of await repo.listChannelsOnPage(deps.db, acct.pageId)) {
    if (c.kind === 'messenger' && c.external_id === acct.pageId) kinds.add('messenger');
    if (c.kind === 'instagram' && c.parent_external_id === acct.pageId) kinds.add('instagram');
  }
  const fields = new Set<string>();
  if (kinds.has('messenger')) MESSENGER_PAGE_FIELDS.forEach((f) => fields.add(f));
  if (kinds.has('instagram')) INSTAGRAM_PAGE_FIELDS.forEach((f) => fields.add(f));
  const appId = deps.config.meta.appId;
  if (appId) {
    try {
      const current = await graph.get<{ data?: Array<{ id?: string; subscribed_fields?: string[] }> } | null>(`${acct.pageId}/subscribed_apps`, acct.token);
      for (const app of current?.data ?? []) if (String(app.id) === appId) (app.subscribed_fields ?? []).forEach((f) => fields.add(f));
    } catch (err) {
      if (err instanceof PlatformError && err.opts.code === 190) throw connectFailure(err);
      // Otherwise subscribe with Parley's own list; the POST reports any real problem.
    }
  }
  const list = [...fields];
  try {
    await graph.post(`${acct.pageId}/subscribed_apps`, acct.token, undefined, { subscribed_fields: list.join(',') });
  } catch (err) {
    throw connectFailure(err, 'channels.error.subscribe');
  }
  return list;
}

/** The permissions a token was granted (`GET /me/permissions`), or null when the platform won't say. */
export async function grantedPermissions(deps: Pick<Deps, 'config'>, token: string): Promise<string[] | null> {
  try {
    const r = await graphClient(deps).get<{ data?: Array<{ permission?: string; status?: string }> } | null>('me/permissions', token);
    if (!Array.isArray(r?.data)) return null;
    return r.data.filter((p) => p.status === 'granted' && typeof p.permission === 'string').map((p) => p.permission!);
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Storing

const DEFAULT_SETTINGS: ChannelSettings = { comments: false, humanAgent: false, legacyTags: false };

/** After the channel's audience changed: live streams reload their access, red dots follow. */
async function accessChanged(deps: Deps, tx: Tx, channelId: number, seeingBefore: number[]) {
  await deps.live.record(tx, { audience: 'all', name: ACCESS_CHANGED, data: {} });
  await publishRedDots(deps, tx, channelId);
  const now = new Set(await employeesSeeingChannel(tx.db, channelId));
  const removed = seeingBefore.filter((id) => !now.has(id));
  await publishRedDotsOf(deps, tx, removed);
}

/**
 * Stores a verified, subscribed account: a new channel, or — with `onDuplicate: 'reconnect'`
 * — the existing one gets the new token and is connected again (its name and access stay).
 */
export async function saveAccount(
  deps: Deps,
  acct: VerifiedAccount,
  opts: { name?: string; access: AccessInput; onDuplicate: 'error' | 'reconnect' },
): Promise<{ id: number; created: boolean }> {
  const credentialsEnc = encryptCredentials(deps.config.secretKey, { accessToken: acct.token });
  try {
    return await inTransaction(deps.db, deps.logger, async (tx) => {
      const existing = await repo.findChannelByExternal(tx.db, acct.kind, acct.externalId);
      if (existing) {
        if (opts.onDuplicate === 'error') throw new ConnectError({ external_id: 'channels.error.already_connected' });
        await repo.updateChannel(tx.db, existing.id, {
          credentialsEnc,
          state: 'connected',
          stateReason: null,
          ...(acct.settings ? { settings: { ...(existing.settings ?? {}), ...acct.settings } } : {}),
        });
        afterConnect(deps, tx, existing.id, acct);
        return { id: existing.id, created: false };
      }
      const id = await repo.insertChannel(tx.db, {
        kind: acct.kind,
        name: opts.name || acct.platformName || acct.externalId,
        externalId: acct.externalId,
        parentExternalId: acct.parentExternalId,
        credentialsEnc,
        settings: { ...DEFAULT_SETTINGS, ...(acct.settings ?? {}) },
        accessAll: opts.access.all,
      });
      if (!opts.access.all) await repo.setChannelAccess(tx.db, id, opts.access.employeeIds);
      await accessChanged(deps, tx, id, []);
      // D4: the recent conversations' history comes in the background.
      tx.afterCommit(() => deps.queue.enqueue(deps.jobs.importChannelHistory, { channelId: id }));
      afterConnect(deps, tx, id, acct);
      return { id, created: true };
    });
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw new ConnectError({ external_id: 'channels.error.already_connected' });
    throw err;
  }
}

/** What a (re)connected channel fetches in the background: a WhatsApp number's templates (H4). */
function afterConnect(deps: Deps, tx: Tx, channelId: number, acct: VerifiedAccount) {
  if (deps.adapters.get(acct.kind)?.capabilities.templates) tx.afterCommit(() => deps.queue.enqueue(deps.jobs.refreshTemplates, { channelId }));
}

export interface ConnectInput {
  kind?: string;
  external_id?: string;
  /** WhatsApp: the WhatsApp Business Account the number belongs to. */
  waba_id?: string;
  token?: string;
  name?: string;
  access?: string;
  employee_ids?: string | string[];
}

/** The manual form and `parley channel:add`: verify, subscribe, store. A duplicate is refused. */
export async function connectWithToken(deps: Deps, input: ConnectInput, access?: AccessInput): Promise<{ id: number }> {
  const errors: Record<string, string> = {};
  const kind = input.kind;
  if (!isConnectKind(kind) && kind !== 'whatsapp') errors.kind = 'validation.choice';
  const externalId = parseExternalId(input.external_id, errors);
  const wabaId = kind === 'whatsapp' ? parseExternalId(input.waba_id, errors, 'waba_id') : '';
  const token = parseToken(input.token, errors);
  const name = parseName(input.name, errors, false);
  const acc = access ?? (await parseAccess(deps.db, input.access, input.employee_ids, errors));
  if (kind === 'whatsapp' && !Object.keys(errors).length) {
    if (await repo.findChannelByExternal(deps.db, kind, externalId)) throw new ConnectError({ external_id: 'channels.error.already_connected' });
    const acct = await verifyWhatsApp(deps, externalId, wabaId, token);
    await subscribeWaba(deps, acct);
    const r = await saveAccount(deps, acct, { ...(name ? { name } : {}), access: acc, onDuplicate: 'error' });
    deps.logger.info({ channelId: r.id, kind, externalId }, 'channel connected');
    return { id: r.id };
  }
  if (Object.keys(errors).length || !isConnectKind(kind)) throw new ConnectError(errors);
  if (await repo.findChannelByExternal(deps.db, kind, externalId)) throw new ConnectError({ external_id: 'channels.error.already_connected' });
  const acct = await verifyAccount(deps, kind, externalId, token);
  if (acct.externalId !== externalId && (await repo.findChannelByExternal(deps.db, kind, acct.externalId))) {
    throw new ConnectError({ external_id: 'channels.error.already_connected' });
  }
  await subscribeAccount(deps, acct);
  const r = await saveAccount(deps, acct, { ...(name ? { name } : {}), access: acc, onDuplicate: 'error' });
  deps.logger.info({ channelId: r.id, kind, externalId: acct.externalId }, 'channel connected');
  return { id: r.id };
}

/** Reconnect with a pasted token: same verification and subscription, then state → connected. */
export async function reconnectWithToken(deps: Deps, channelId: number, rawToken: string | undefined): Promise<void> {
  const row = await repo.findChannel(deps.db, channelId);
  if (!row) throw new NotFoundError();
  if (!isConnectKind(row.kind) && row.kind !== 'whatsapp') throw new ConnectError({ form: 'channels.error.kind_unsupported' });
  const errors: Record<string, string> = {};
  const token = parseToken(rawToken, errors);
  if (Object.keys(errors).length) throw new ConnectError(errors);
  if (row.kind === 'whatsapp') {
    const acct = await verifyWhatsApp(deps, row.external_id, row.parent_external_id ?? '', token);
    await subscribeWaba(deps, acct);
    await saveAccount(deps, acct, { access: { all: true }, onDuplicate: 'reconnect' });
    deps.logger.info({ channelId, kind: row.kind }, 'channel reconnected');
    return;
  }
  if (!isConnectKind(row.kind)) throw new ConnectError({ form: 'channels.error.kind_unsupported' });
  const acct = await verifyAccount(deps, row.kind, row.external_id, token);
  await subscribeAccount(deps, acct);
  await saveAccount(deps, acct, { access: { all: true }, onDuplicate: 'reconnect' });
  deps.logger.info({ channelId, kind: row.kind }, 'channel reconnected');
}

// ---------------------------------------------------------------------------------------------
// Facebook Login

/** One Page of the admin's choice list, with what Parley already has of it. */
export interface FacebookChoice {
  pageId: string;
  pageName: string;
  messengerChannelId: number | null;
  instagram: { id: string; label: string; channelId: number | null } | null;
}

export async function facebookChoices(deps: Pick<Deps, 'db'>, accounts: FacebookAccount[]): Promise<FacebookChoice[]> {
  const out: FacebookChoice[] = [];
  for (const a of accounts) {
    const m = await repo.findChannelByExternal(deps.db, 'messenger', a.pageId);
    const ig = a.instagram ? await repo.findChannelByExternal(deps.db, 'instagram', a.instagram.id) : undefined;
    out.push({
      pageId: a.pageId,
      pageName: a.pageName,
      messengerChannelId: m?.id ?? null,
      instagram: a.instagram ? { id: a.instagram.id, label: igName(a.instagram) || a.instagram.id, channelId: ig?.id ?? null } : null,
    });
  }
  return out;
}

export interface FacebookFailure {
  kind: ConnectKind;
  externalId: string;
  label: string;
  key: string;
  reason?: string;
}

/**
 * Connects the Pages (`messenger`) and Instagram accounts the admin ticked, with the Page tokens
 * read again from `/me/accounts` (never from the form). Existing channels are reconnected.
 */
export async function connectFromFacebook(
  deps: Deps,
  userToken: string,
  chosen: { messenger: string[]; instagram: string[] },
  access: AccessInput,
): Promise<{ connected: number[]; failures: FacebookFailure[]; matched: number }> {
  let accounts: FacebookAccount[];
  try {
    accounts = await listFacebookAccounts(graphClient(deps), userToken);
  } catch (err) {
    throw connectFailure(err);
  }
  const wantM = new Set(chosen.messenger);
  const wantI = new Set(chosen.instagram);
  const todo: MetaAccount[] = [];
  for (const a of accounts) {
    if (wantM.has(a.pageId)) todo.push({ kind: 'messenger', externalId: a.pageId, parentExternalId: null, platformName: a.pageName, pageId: a.pageId, token: a.pageToken });
    if (a.instagram && wantI.has(a.instagram.id)) {
      todo.push({ kind: 'instagram', externalId: a.instagram.id, parentExternalId: a.pageId, platformName: igName(a.instagram) || a.instagram.id, pageId: a.pageId, token: a.pageToken });
    }
  }
  const connected: number[] = [];
  const failures: FacebookFailure[] = [];
  for (const acct of todo) {
    try {
      await subscribeAccount(deps, acct);
      const r = await saveAccount(deps, acct, { access, onDuplicate: 'reconnect' });
      connected.push(r.id);
      deps.logger.info({ channelId: r.id, kind: acct.kind, externalId: acct.externalId, created: r.created }, 'channel connected with Facebook Login');
    } catch (err) {
      if (!(err instanceof ConnectError)) throw err;
      failures.push({ kind: acct.kind, externalId: acct.externalId, label: acct.platformName, key: Object.values(err.fields)[0] ?? 'channels.error.platform', ...(err.reason ? { reason: err.reason } : {}) });
    }
  }
  return { connected, failures, matched: todo.length };
}

// ---------------------------------------------------------------------------------------------
// Per-channel settings

export interface SettingsInput {
  name?: string;
  access?: string;
  employee_ids?: string | string[];
  comments?: string;
  human_agent?: string;
  legacy_tags?: string;
  rate_limit?: string;
}

/** After saving: whether turning comments on needs a reconnect with comment permissions. */
export type CommentsNote = null | { missing: string[] } | 'unverified';

const on = (v: string | undefined) => v === 'on' || v === 'true' || v === '1';

export async function updateChannelSettings(deps: Deps, channelId: number, input: SettingsInput): Promise<{ commentsNote: CommentsNote }> {
  const row = await repo.findChannel(deps.db, channelId);
  if (!row) throw new NotFoundError();
  const errors: Record<string, string> = {};
  const name = parseName(input.name, errors, true);
  const access = await parseAccess(deps.db, input.access, input.employee_ids, errors);
  const rate = parseRate(input.rate_limit, errors);
  if (Object.keys(errors).length || !name) throw new ValidationError(errors);

  const meta = isConnectKind(row.kind);
  // F1: comments are turned on only once the token has what they need (the seed article's
  // warning): a missing permission keeps the setting off and says which, with a reconnect.
  let commentsNote: CommentsNote = null;
  let commentsAllowed = true;
  const wasOnBefore = Boolean((row.settings as ChannelSettings | null)?.comments);
  if (meta && on(input.comments) && !wasOnBefore) {
    const runtime = toRuntime(deps.config.secretKey, row);
    const token = runtime.credentials.accessToken;
    const granted = token ? await grantedPermissions(deps, token) : null;
    if (!granted) commentsNote = 'unverified';
    else {
      const missing = COMMENT_PERMISSIONS[row.kind as ConnectKind].filter((p) => !granted.includes(p));
      if (missing.length) {
        commentsNote = { missing };
        commentsAllowed = false;
      }
    }
    if (commentsAllowed && token) {
      // The Page's fields include `feed` (Messenger) and Instagram's `comments` flow through it.
      const pageId = row.kind === 'instagram' ? (row.parent_external_id ?? row.external_id) : row.external_id;
      await subscribeAccount(deps, { kind: row.kind as ConnectKind, externalId: row.external_id, parentExternalId: row.parent_external_id, platformName: row.name, pageId, token }).catch((err: unknown) => {
        deps.logger.warn({ channelId, err: (err as Error).message }, 'comments: subscribing the Page failed');
        commentsNote = 'unverified';
      });
    }
  }
  await inTransaction(deps.db, deps.logger, async (tx) => {
    const current = await repo.findChannel(tx.db, channelId);
    if (!current) throw new NotFoundError();
    const settings: ChannelSettings & Record<string, unknown> = { ...(current.settings ?? {}) };
    if (meta) {
      settings.comments = on(input.comments) && commentsAllowed;
      settings.humanAgent = on(input.human_agent);
      settings.legacyTags = current.kind === 'messenger' ? on(input.legacy_tags) : false;
    }
    if (rate === undefined) delete settings.rateLimitPerSecond;
    else settings.rateLimitPerSecond = rate;

    const before = current.access_all ? null : new Set(await repo.listChannelAccess(tx.db, channelId));
    const changed =
      current.access_all !== access.all ||
      (!access.all && before !== null && (before.size !== access.employeeIds.length || access.employeeIds.some((id) => !before.has(id))));
    const seeingBefore = changed ? await employeesSeeingChannel(tx.db, channelId) : [];
    await repo.updateChannel(tx.db, channelId, { name, settings, accessAll: access.all });
    if (changed) {
      await repo.setChannelAccess(tx.db, channelId, access.all ? [] : access.employeeIds);
      await accessChanged(deps, tx, channelId, seeingBefore);
    }
  });
  return { commentsNote };
}

// ---------------------------------------------------------------------------------------------
// Reading

export interface ChannelListRow {
  id: number;
  kind: string;
  name: string;
  externalId: string;
  parentExternalId: string | null;
  state: string;
  stateReason: string | null;
  accessAll: boolean;
  accessNames: string[];
  settings: ChannelSettings;
}

export async function listChannelsForSettings(db: Conn): Promise<ChannelListRow[]> {
  const [channels, access] = await Promise.all([repo.listChannels(db), repo.listChannelAccessNames(db)]);
  const names = new Map<number, string[]>();
  for (const a of access) {
    if (a.disabled_at) continue;
    const list = names.get(a.channel_id) ?? [];
    list.push(a.name);
    names.set(a.channel_id, list);
  }
  return channels.map((c) => ({ ...channelSummary(c), accessNames: names.get(c.id) ?? [] }));
}

/** What settings pages show of a channel: never its credentials. */
function channelSummary(c: NonNullable<Awaited<ReturnType<typeof repo.findChannel>>>) {
  return {
    id: c.id,
    kind: c.kind,
    name: c.name,
    externalId: c.external_id,
    parentExternalId: c.parent_external_id,
    state: c.state,
    stateReason: c.state_reason,
    accessAll: c.access_all,
    settings: (c.settings ?? {}) as ChannelSettings,
  };
}

/** One channel for its settings page (never its credentials). */
export async function channelForSettings(db: Conn, id: number) {
  const c = await repo.findChannel(db, id);
  if (!c) return null;
  return {
    ...channelSummary(c),
    accessIds: await repo.listChannelAccess(db, id),
  };
}

/**
 * Channels in *needs reconnecting*, for the admin banner on every page
 * (`views/settings/_channels_banner.eta` reads them as `it.reconnectChannels`).
 */
export async function channelsNeedingReconnect(db: Conn): Promise<Array<{ id: number; kind: string; name: string; reason: string | null }>> {
  const rows = await repo.listChannelsNeedingReconnect(db);
  return rows.map((r) => ({ id: r.id, kind: r.kind, name: r.name, reason: r.state_reason }));
}

// ---------------------------------------------------------------------------------------------
// CLI (`parley channel:add`, `parley channel:list`)

const FLAGS: Record<string, string> = { external_id: '--page-id', waba_id: '--waba-id', token: '--token', name: '--name', kind: '--kind', access: '--access' };

/** A refusal in plain words for the terminal (`--flag: message`). */
export function describeError(err: ValidationError, t: Translate, kind?: string): string {
  const reason = err instanceof ConnectError ? err.reason ?? '' : '';
  return Object.entries(err.fields)
    .map(([field, key]) => {
      const msg = t(key as never, { max: field === 'name' ? MAX_NAME : '', reason });
      const flag = field === 'external_id' && kind === 'whatsapp' ? '--phone-number-id' : FLAGS[field];
      return flag ? `${flag}: ${msg}` : msg;
    })
    .join('\n');
}

/** `--access all|EMAIL,EMAIL`: unknown (or disabled) emails are named back. */
export async function accessFromEmails(db: Conn, raw: string | undefined): Promise<{ access: AccessInput } | { unknown: string[] }> {
  const v = (raw ?? 'all').trim();
  if (v === '' || v.toLowerCase() === 'all') return { access: { all: true } };
  const emails = [...new Set(v.split(',').map((e) => e.trim()).filter(Boolean))];
  const found = await repo.findActiveEmployeesByEmails(db, emails);
  const known = new Set(found.map((e) => e.email.toLowerCase()));
  const unknown = emails.filter((e) => !known.has(e.toLowerCase()));
  if (unknown.length) return { unknown };
  return { access: { all: false, employeeIds: found.map((e) => e.id) } };
}

const clean = (s: string) => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');

/** `parley channel:list`: id, kind, name, external id, state, access — never a token. */
export async function formatChannelList(db: Conn): Promise<string> {
  const [rows, access] = await Promise.all([listChannelsForSettings(db), repo.listChannelAccessNames(db)]);
  if (rows.length === 0) return 'No channels connected yet (see parley channel:add).';
  const emails = new Map<number, string[]>();
  for (const a of access) if (!a.disabled_at) emails.set(a.channel_id, [...(emails.get(a.channel_id) ?? []), a.email]);
  const table = [['ID', 'KIND', 'NAME', 'EXTERNAL ID', 'STATE', 'ACCESS']];
  for (const r of rows) {
    const state = r.state === 'needs_reconnect' ? `needs reconnecting${r.stateReason ? ` (${r.stateReason})` : ''}` : r.state;
    const acc = r.accessAll ? 'all' : (emails.get(r.id) ?? []).join(',') || '(admins only)';
    table.push([String(r.id), r.kind, r.name, r.externalId, state, acc].map(clean));
  }
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return table.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}

// -- Deliveries set aside (R9) ------------------------------------------------------------------

/** How many set-aside changes the page lists (newest first); the total is shown too. */
const SET_ASIDE_SHOWN = 50;

export interface SetAsideRow {
  id: number;
  channelName: string | null;
  channelKind: string | null;
  eventType: string | null;
  contact: string | null;
  excerpt: string | null;
  error: string;
  attempts: number;
  firstFailedAt: Date;
  lastFailedAt: Date;
}

export async function listSetAside(db: Conn): Promise<{ rows: SetAsideRow[]; total: number }> {
  const [rows, total] = await Promise.all([inbox.listOpenWebhookFailures(db, SET_ASIDE_SHOWN), inbox.countOpenWebhookFailures(db)]);
  return {
    total,
    rows: rows.map((r) => ({
      id: Number(r.id),
      channelName: r.channel_name ?? null,
      channelKind: r.channel_kind ?? null,
      eventType: r.event_type,
      contact: r.contact,
      excerpt: r.excerpt,
      error: r.error,
      attempts: r.attempts,
      firstFailedAt: new Date(r.first_failed_at),
      lastFailedAt: new Date(r.last_failed_at),
    })),
  };
}

/**
 * Retry: the set-aside change runs through the webhook job's own code path. Applied, it is
 * resolved in the transaction that applied it; failing again, it stays listed with the new
 * error. A change that is not open (resolved, discarded, unknown) is a 404.
 */
export async function retrySetAside(deps: Deps, id: number, employeeId: number): Promise<'resolved' | 'failed'> {
  const row = await inbox.findOpenWebhookFailure(deps.db, id);
  if (!row) throw new NotFoundError();
  let error: string | null = null;
  const { markedInLast } = await applyDeliveryChanges(deps, [{ key: row.change_key, body: JSON.parse(row.change) }], {
    receivedAt: new Date(row.received_at),
    channelOf: channelLookup(deps),
    logContext: { failureId: id },
    inLastTransaction: async (tx) => void (await inbox.closeWebhookFailure(tx.db, id, 'resolved', employeeId)),
    setAside: async (f) => {
      error = f.error;
    },
  });
  if (error !== null) {
    deps.logger.warn({ failureId: id, err: error }, 'set-aside webhook change failed again');
    await inbox.markWebhookFailureAttempt(deps.db, id, error);
    return 'failed';
  }
  if (!markedInLast) await inbox.closeWebhookFailure(deps.db, id, 'resolved', employeeId);
  return 'resolved';
}

/** Discard: the change is kept (who and when) but no longer listed. */
export async function discardSetAside(deps: Deps, id: number, employeeId: number): Promise<void> {
  if (!(await inbox.closeWebhookFailure(deps.db, id, 'discarded', employeeId))) throw new NotFoundError();
}
