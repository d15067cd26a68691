import type { Deps } from '../deps.ts';
import { decryptSecret, encryptSecret } from '../platform/crypto.ts';
import type { ChannelRuntime, ChannelSettings } from './adapter.ts';
import * as repo from './channels.repository.ts';

type ChannelRow = NonNullable<Awaited<ReturnType<typeof repo.findChannel>>>;

/** The channel with its credentials decrypted, for adapters only (never rendered or logged). */
export function toRuntime(key: Buffer, row: ChannelRow): ChannelRuntime {
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    externalId: row.external_id,
    parentExternalId: row.parent_external_id,
    credentials: row.credentials_enc ? JSON.parse(decryptSecret(key, row.credentials_enc)) : {},
    settings: (row.settings ?? {}) as ChannelSettings,
  };
}

export async function loadRuntime(deps: Pick<Deps, 'db' | 'config'>, channelId: number): Promise<ChannelRuntime | null> {
  const row = await repo.findChannel(deps.db, channelId);
  return row ? toRuntime(deps.config.secretKey, row) : null;
}

export function encryptCredentials(key: Buffer, credentials: Record<string, unknown>): string {
  return encryptSecret(key, JSON.stringify(credentials));
}
