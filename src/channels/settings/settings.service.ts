/**
 * Settings › Chats, per channel (B3, F1, H1): what the list and a channel's page show (never
 * credentials), and saving a channel's name, access and settings. Turning comments on checks
 * the token's permissions and subscribes the Page first.
 */
import { NotFoundError, ValidationError } from '../../platform/errors.ts';
import { inTransaction } from '../../platform/tx.ts';
import type { ChannelSettings } from '../adapter.ts';
import * as repo from '../channels.repository.ts';
import type { ChannelsPorts, Conn } from '../ports.ts';
import { toRuntime } from '../runtimes.ts';
import { accessChanged, type AudiencePorts } from './audience.ts';
import { isConnectKind, parseAccess, parseName, parseRate, type ConnectKind } from './forms.ts';
import { COMMENT_PERMISSIONS, grantedPermissions, subscribeAccount } from './verify.ts';

/** What saving a channel's settings needs. */
export type SettingsPorts = Pick<ChannelsPorts, 'config' | 'db' | 'logger'> & AudiencePorts;

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

export async function updateChannelSettings(deps: SettingsPorts, channelId: number, input: SettingsInput): Promise<{ commentsNote: CommentsNote }> {
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
      await subscribeAccount(deps, { kind: row.kind as ConnectKind, externalId: row.external_id, parentExternalId: row.parent_external_id, platformName: row.name, pageId, token }).catch(
        (err: unknown) => {
          deps.logger.warn({ channelId, err: (err as Error).message }, 'comments: subscribing the Page failed');
          commentsNote = 'unverified';
        },
      );
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
    const changed = current.access_all !== access.all || (!access.all && before !== null && (before.size !== access.employeeIds.length || access.employeeIds.some((id) => !before.has(id))));
    const seeingBefore = changed ? await deps.channelHooks.employeesSeeingChannel(tx.db, channelId) : [];
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
