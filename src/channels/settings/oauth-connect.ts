/**
 * Connecting with Facebook Login (B2): the admin's choice list of Pages and Instagram accounts,
 * and connecting those ticked with the Page tokens read again from `/me/accounts`. The OAuth
 * steps themselves (dialog, code exchange, sealed cookies) are oauth.ts.
 */
import * as repo from '../channels.repository.ts';
import type { ChannelsPorts } from '../ports.ts';
import { saveAccount, type ConnectPorts } from './connect.ts';
import { ConnectError, type AccessInput, type ConnectKind } from './forms.ts';
import { listFacebookAccounts, type FacebookAccount } from './oauth.ts';
import { connectFailure, graphClient, igName, subscribeAccount, type MetaAccount } from './verify.ts';

/** One Page of the admin's choice list, with what Parley already has of it. */
export interface FacebookChoice {
  pageId: string;
  pageName: string;
  messengerChannelId: number | null;
  instagram: { id: string; label: string; channelId: number | null } | null;
}

export async function facebookChoices(deps: Pick<ChannelsPorts, 'db'>, accounts: FacebookAccount[]): Promise<FacebookChoice[]> {
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
  deps: ConnectPorts,
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
      failures.push({
        kind: acct.kind,
        externalId: acct.externalId,
        label: acct.platformName,
        key: Object.values(err.fields)[0] ?? 'channels.error.platform',
        ...(err.reason ? { reason: err.reason } : {}),
      });
    }
  }
  return { connected, failures, matched: todo.length };
}
