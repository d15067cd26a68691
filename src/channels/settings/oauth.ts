/**
 * Facebook Login for Settings › Chats (product B2): the dialog URL, the code exchange, the
 * Pages (with their linked Instagram accounts) the admin granted, and the short-lived sealed
 * cookies that carry the OAuth `state` and the user token between the steps. Tokens never
 * reach the HTML: the choose page re-reads /me/accounts with the sealed user token.
 */
import type { Config } from '../../config.ts';
import { decryptSecret, encryptSecret } from '../../platform/crypto.ts';
import type { GraphClient } from '../meta/graph-client.ts';

/** The permissions Parley asks for (meta-platform.md §9: Messenger, Page comments, Instagram with Facebook Login). */
export const FACEBOOK_LOGIN_SCOPES = [
  'pages_show_list',
  'pages_messaging',
  'pages_manage_metadata',
  'pages_read_engagement',
  'pages_manage_engagement',
  'pages_read_user_engagement',
  'instagram_basic',
  'instagram_manage_messages',
  'instagram_manage_comments',
] as const;

export const FACEBOOK_CONNECT_PATH = '/settings/chats/connect/facebook';
export const FACEBOOK_CALLBACK_PATH = `${FACEBOOK_CONNECT_PATH}/callback`;
export const FACEBOOK_CHOOSE_PATH = `${FACEBOOK_CONNECT_PATH}/choose`;

/** OAuth `state` (CSRF for the redirect back from Facebook). */
export const OAUTH_STATE_COOKIE = 'parley_fb_state';
/** The sealed user token between the callback and the admin's choice. */
export const OAUTH_LOGIN_COOKIE = 'parley_fb_login';
export const OAUTH_STATE_TTL_MS = 10 * 60_000;
export const OAUTH_LOGIN_TTL_MS = 20 * 60_000;

const META_DEFAULT_GRAPH_URL = 'https://graph.facebook.com';
const META_DEFAULT_DIALOG_URL = 'https://www.facebook.com';

/** Facebook Login needs the app's id and secret; without them the button explains what to set. */
export function facebookLoginConfigured(config: Pick<Config, 'meta'>): boolean {
  return Boolean(config.meta.appId && config.meta.appSecret);
}

function httpUrl(raw: string | undefined): string | undefined {
  if (!raw?.trim()) return undefined;
  try {
    const u = new URL(raw.trim());
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.toString().replace(/\/+$/, '') : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Where the login dialog lives: on Meta it is www.facebook.com (not the Graph host); against
 * the emulator (any other META_GRAPH_URL) it is the Graph URL itself. META_OAUTH_DIALOG_URL
 * (config `meta.oauthDialogUrl`) overrides both.
 */
export function oauthDialogBaseUrl(config: Pick<Config, 'meta'>, env: Record<string, string | undefined> = process.env): string {
  const explicit = httpUrl(config.meta.oauthDialogUrl) ?? httpUrl(env.META_OAUTH_DIALOG_URL);
  if (explicit) return explicit;
  return config.meta.graphUrl.replace(/\/+$/, '') === META_DEFAULT_GRAPH_URL ? META_DEFAULT_DIALOG_URL : config.meta.graphUrl.replace(/\/+$/, '');
}

/** The redirect URI registered in the Meta app ("Valid OAuth Redirect URIs"). */
export function oauthRedirectUri(config: Pick<Config, 'publicUrl'>): string {
  return `${config.publicUrl.replace(/\/+$/, '')}${FACEBOOK_CALLBACK_PATH}`;
}

export function oauthDialogUrl(config: Pick<Config, 'meta' | 'publicUrl'>, state: string, env?: Record<string, string | undefined>): string {
  const u = new URL(`${oauthDialogBaseUrl(config, env)}/${config.meta.graphVersion}/dialog/oauth`);
  u.searchParams.set('client_id', config.meta.appId ?? '');
  u.searchParams.set('redirect_uri', oauthRedirectUri(config));
  u.searchParams.set('state', state);
  u.searchParams.set('scope', FACEBOOK_LOGIN_SCOPES.join(','));
  u.searchParams.set('response_type', 'code');
  return u.toString();
}

type Purpose = 'fb-state' | 'fb-login';

/**
 * A cookie value only this server can make or read (AES-GCM with the secret key), bound to a
 * purpose, to the admin who started the flow and to an expiry.
 */
export function sealCookie(key: Buffer, purpose: Purpose, employeeId: number, value: string, ttlMs: number, now = Date.now()): string {
  return encryptSecret(key, JSON.stringify({ p: purpose, e: employeeId, v: value, x: now + ttlMs }));
}

export function openCookie(key: Buffer, purpose: Purpose, employeeId: number, sealed: string | undefined, now = Date.now()): string | null {
  if (!sealed) return null;
  try {
    const o = JSON.parse(decryptSecret(key, sealed)) as { p?: unknown; e?: unknown; v?: unknown; x?: unknown };
    if (o.p !== purpose || o.e !== employeeId || typeof o.v !== 'string' || typeof o.x !== 'number' || o.x < now) return null;
    return o.v;
  } catch {
    return null;
  }
}

/** Code → user access token (`GET /oauth/access_token`). */
export async function exchangeCode(graph: GraphClient, config: Pick<Config, 'meta' | 'publicUrl'>, code: string): Promise<string> {
  const r = await graph.request<{ access_token?: string }>('GET', 'oauth/access_token', {
    query: { client_id: config.meta.appId, client_secret: config.meta.appSecret, redirect_uri: oauthRedirectUri(config), code },
  });
  if (!r?.access_token) throw new Error('The platform returned no access token');
  return r.access_token;
}

/** A Page the admin granted, with its Page token and linked Instagram professional account. */
export interface FacebookAccount {
  pageId: string;
  pageName: string;
  pageToken: string;
  instagram: { id: string; username: string | null; name: string | null } | null;
}

interface AccountsPage {
  data?: Array<{ id?: string; name?: string; access_token?: string; instagram_business_account?: { id?: string; username?: string; name?: string } }>;
  paging?: { cursors?: { after?: string }; next?: string };
}

/** `GET /me/accounts` with the linked Instagram accounts, every page of results. */
export async function listFacebookAccounts(graph: GraphClient, userToken: string): Promise<FacebookAccount[]> {
  const out: FacebookAccount[] = [];
  let after: string | undefined;
  for (let i = 0; i < 20; i++) {
    const r = await graph.get<AccountsPage | null>('me/accounts', userToken, {
      fields: 'id,name,access_token,instagram_business_account{id,username,name}',
      limit: 100,
      after,
    });
    for (const p of r?.data ?? []) {
      if (!p.id || !p.access_token) continue;
      const ig = p.instagram_business_account;
      out.push({
        pageId: String(p.id),
        pageName: p.name ?? String(p.id),
        pageToken: p.access_token,
        instagram: ig?.id ? { id: String(ig.id), username: ig.username ?? null, name: ig.name ?? null } : null,
      });
    }
    after = r?.paging?.next ? r.paging.cursors?.after : undefined;
    if (!after) break;
  }
  return out;
}
