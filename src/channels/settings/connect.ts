/**
 * Connecting a channel (B2, B3): the manual form and `parley channel:add` (verify, subscribe,
 * store; a duplicate is refused), reconnecting with a pasted token, and storing a verified
 * account — its token encrypted, never rendered, never logged.
 */
import { NotFoundError } from '../../platform/errors.ts';
import { inTransaction, type Tx } from '../../platform/tx.ts';
import type { ChannelSettings } from '../adapter.ts';
import * as repo from '../channels.repository.ts';
import { encryptCredentials } from '../channels.service.ts';
import type { ChannelsPorts } from '../ports.ts';
import { accessChanged, type AudiencePorts } from './audience.ts';
import { ConnectError, isConnectKind, parseAccess, parseExternalId, parseName, parseToken, type AccessInput } from './forms.ts';
import { subscribeAccount, verifyAccount, type VerifiedAccount } from './verify.ts';
import { subscribeWaba, verifyWhatsApp } from './verify-whatsapp.ts';
import { importChannelHistoryRef, refreshTemplatesRef } from '../jobs.refs.ts';

/** What connecting needs: storing, the follow-up jobs (history, templates), the audience change. */
export type ConnectPorts = Pick<ChannelsPorts, 'config' | 'db' | 'logger' | 'adapters' | 'queue'> & AudiencePorts;

const DEFAULT_SETTINGS: ChannelSettings = { comments: false, humanAgent: false, legacyTags: false };

/**
 * Stores a verified, subscribed account: a new channel, or — with `onDuplicate: 'reconnect'`
 * — the existing one gets the new token and is connected again (its name and access stay).
 */
export async function saveAccount(
  deps: ConnectPorts,
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
      tx.afterCommit(() => deps.queue.enqueue(importChannelHistoryRef, { channelId: id }));
      afterConnect(deps, tx, id, acct);
      return { id, created: true };
    });
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw new ConnectError({ external_id: 'channels.error.already_connected' });
    throw err;
  }
}

/** What a (re)connected channel fetches in the background: a WhatsApp number's templates (H4). */
function afterConnect(deps: ConnectPorts, tx: Tx, channelId: number, acct: VerifiedAccount) {
  if (deps.adapters.get(acct.kind)?.capabilities.templates) tx.afterCommit(() => deps.queue.enqueue(refreshTemplatesRef, { channelId }));
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
export async function connectWithToken(deps: ConnectPorts, input: ConnectInput, access?: AccessInput): Promise<{ id: number }> {
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
export async function reconnectWithToken(deps: ConnectPorts, channelId: number, rawToken: string | undefined): Promise<void> {
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
