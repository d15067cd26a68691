import { encryptSecret } from '../platform/crypto.ts';
import * as repo from './channels.repository.ts';
import { PlatformError } from './adapter.ts';
import { PermanentJobError } from '../platform/jobs/types.ts';
import type { ChannelsPorts } from './ports.ts';

export function encryptCredentials(key: Buffer, credentials: Record<string, unknown>): string {
  return encryptSecret(key, JSON.stringify(credentials));
}

/**
 * How a background job treats a platform error: an invalid token (190) or a lost permission
 * marks the channel as needing reconnection (B3), and any refusal no retry can fix ends the
 * job at once instead of being retried with backoff. Anything else is rethrown for a retry.
 */
export async function platformRefusal(deps: Pick<ChannelsPorts, 'db'>, channelId: number, err: unknown): Promise<never> {
  if (err instanceof PlatformError && !err.opts.retryable) {
    if (err.opts.reconnect) await repo.updateChannel(deps.db, channelId, { state: 'needs_reconnect', stateReason: err.reason });
    throw new PermanentJobError(err.reason);
  }
  throw err;
}
