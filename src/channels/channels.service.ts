import type { Deps } from '../deps.ts';
import { decryptSecret, encryptSecret } from '../platform/crypto.ts';
import type { ChannelRuntime, ChannelSettings } from './adapter.ts';
import * as repo from './channels.repository.ts';
import { PlatformError } from './adapter.ts';
import { PermanentJobError } from '../platform/jobs/types.ts';

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

/**
 * How a background job treats a platform error: an invalid token (190) or a lost permission
 * marks the channel as needing reconnection (B3), and any refusal no retry can fix ends the
 * job at once instead of being retried with backoff. Anything else is rethrown for a retry.
 */
export async function platformRefusal(deps: Pick<Deps, 'db'>, channelId: number, err: unknown): Promise<never> {
  if (err instanceof PlatformError && !err.opts.retryable) {
    if (err.opts.reconnect) await repo.updateChannel(deps.db, channelId, { state: 'needs_reconnect', stateReason: err.reason });
    throw new PermanentJobError(err.reason);
  }
  throw err;
}
