/**
 * Graph verification of a Page or an Instagram account (Facebook Login flavour) before it is
 * stored: the token names the account, the account's Page is subscribed to the app's webhooks,
 * and a token's granted permissions are read (comments, F1). WhatsApp numbers: verify-whatsapp.ts.
 */
import { PlatformError, type ChannelSettings } from '../adapter.ts';
import * as repo from '../channels.repository.ts';
import { createGraphClient, type GraphClient } from '../meta/graph-client.ts';
import type { ChannelsPorts } from '../ports.ts';
import { ConnectError, type ConnectKind } from './forms.ts';

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

/** The client of Settings' own Graph calls (verification, subscription, Facebook Login): one per use, 15 s timeout. */
export function graphClient(deps: Pick<ChannelsPorts, 'config'>): GraphClient {
  return createGraphClient(deps, { timeoutMs: 15_000 });
}

/** Maps a Graph failure to what the admin is told: 190 → token invalid, no answer → unreachable. */
export function connectFailure(err: unknown, platformKey = 'channels.error.platform'): unknown {
  if (!(err instanceof PlatformError)) return err;
  if (err.opts.code === 190) return new ConnectError({ token: 'channels.error.token_invalid' }, err.reason);
  if (err.opts.code === undefined && err.opts.retryable) return new ConnectError({ form: 'channels.error.unreachable' }, err.reason);
  return new ConnectError({ form: platformKey }, err.reason);
}

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

export const igName = (ig: { username?: string | null; name?: string | null }) => (ig.name ? ig.name : ig.username ? `@${ig.username}` : '');

/**
 * Verifies a Page token. Messenger: `GET /{page-id}?fields=id,name`. Instagram (Facebook Login
 * flavour): the token is the linked Page's, so `GET /me` names the Page and its
 * `instagram_business_account`; `id` may be either the Instagram account's id or the Page's.
 */
export async function verifyAccount(deps: Pick<ChannelsPorts, 'config'>, kind: ConnectKind, id: string, token: string): Promise<MetaAccount> {
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
export async function subscribeAccount(deps: Pick<ChannelsPorts, 'config' | 'db'>, acct: MetaAccount): Promise<string[]> {
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
export async function grantedPermissions(deps: Pick<ChannelsPorts, 'config'>, token: string): Promise<string[] | null> {
  try {
    const r = await graphClient(deps).get<{ data?: Array<{ permission?: string; status?: string }> } | null>('me/permissions', token);
    if (!Array.isArray(r?.data)) return null;
    return r.data.filter((p) => p.status === 'granted' && typeof p.permission === 'string').map((p) => p.permission!);
  } catch {
    return null;
  }
}
