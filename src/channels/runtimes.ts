/**
 * The channel runtime — a channel row with its credentials decrypted, for adapters only (never
 * rendered or logged) — built in one place. `loadRuntime` reads and decrypts on every call (what
 * services and most jobs do); `channelRuntimes(deps, { cache: 'credentials' })` keeps decrypted
 * credentials by their ciphertext (the send job's hot path: a changed token has a new
 * ciphertext, so nothing is ever stale); `policyOf` asks the channel's adapter for its send
 * policy from what a page already has (no credentials needed).
 */
import { decryptSecret } from '../platform/crypto.ts';
import type { ChannelAdapter, ChannelRuntime, ChannelSettings, SendPolicy, SendPolicyInput } from './adapter.ts';
import * as repo from './channels.repository.ts';
import type { ChannelsPorts } from './ports.ts';

type ChannelRow = NonNullable<Awaited<ReturnType<typeof repo.findChannel>>>;

/** The columns a runtime is built from (a `channels` row, or the same columns read in a join). */
export type RuntimeRow = Pick<ChannelRow, 'id' | 'kind' | 'name' | 'external_id' | 'parent_external_id' | 'credentials_enc' | 'settings'>;

export type ChannelCredentials = ChannelRuntime['credentials'];

export function decryptCredentials(key: Buffer, enc: string | null): ChannelCredentials {
  return enc ? JSON.parse(decryptSecret(key, enc)) : {};
}

/**
 * Decrypted channel credentials by their ciphertext: decrypting (AES-GCM + JSON) for every
 * send is wasted work, and a changed token has a new ciphertext, so nothing is ever stale.
 */
export function credentialCache(key: Buffer) {
  const cache = new Map<string, ChannelRuntime['credentials']>();
  return (enc: string | null): ChannelRuntime['credentials'] => {
    if (!enc) return {};
    let c = cache.get(enc);
    if (!c) {
      if (cache.size >= 1000) cache.clear();
      c = JSON.parse(decryptSecret(key, enc)) as ChannelRuntime['credentials'];
      cache.set(enc, c);
    }
    return c;
  };
}

/** The channel with its credentials decrypted, for adapters only (never rendered or logged). */
export function toRuntime(key: Buffer, row: RuntimeRow, credentials: (enc: string | null) => ChannelCredentials = (enc) => decryptCredentials(key, enc)): ChannelRuntime {
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    externalId: row.external_id,
    parentExternalId: row.parent_external_id,
    credentials: credentials(row.credentials_enc),
    settings: (row.settings ?? {}) as ChannelSettings,
  };
}

/** A channel's runtime, read and decrypted now (no cache); null when the channel is gone. */
export async function loadRuntime(deps: Pick<ChannelsPorts, 'db' | 'config'>, channelId: number): Promise<ChannelRuntime | null> {
  const row = await repo.findChannel(deps.db, channelId);
  return row ? toRuntime(deps.config.secretKey, row) : null;
}

export interface RuntimeWithAdapter {
  channel: ChannelRuntime;
  adapter: ChannelAdapter;
}

/** The runtime and its kind's adapter; null when either is gone. */
export async function loadRuntimeWithAdapter(deps: Pick<ChannelsPorts, 'db' | 'config' | 'adapters'>, channelId: number): Promise<RuntimeWithAdapter | null> {
  const channel = await loadRuntime(deps, channelId);
  const adapter = channel ? deps.adapters.get(channel.kind) : undefined;
  return channel && adapter ? { channel, adapter } : null;
}

/**
 * The send policy of a channel (a runtime, or the id/kind/settings a page already read): its
 * adapter decides; no channel or no adapter refuses.
 */
export function policyOf(deps: Pick<ChannelsPorts, 'adapters'>, channel: SendPolicyInput['channel'] | null, lastInboundAt: Date | null, now = new Date()): SendPolicy {
  const adapter = channel ? deps.adapters.get(channel.kind) : undefined;
  if (!channel || !adapter) return { action: 'refuse', reasonKey: 'chats.error.channel_unavailable' };
  return adapter.sendPolicy({ channel, lastInboundAt, now });
}

export interface ChannelRuntimes {
  /** A runtime from a row already read (the send job reads the channel in its one statement). */
  fromRow(row: RuntimeRow): ChannelRuntime;
  load(channelId: number): Promise<ChannelRuntime | null>;
  loadWithAdapter(channelId: number): Promise<RuntimeWithAdapter | null>;
}

/**
 * A loader for one caller's lifetime (a job definition, a route plugin). `cache: 'none'` (the
 * default) decrypts on every call, as `loadRuntime`; `cache: 'credentials'` keeps decrypted
 * credentials by ciphertext (`credentialCache`). Rows are always read fresh: state, name and
 * settings are never cached.
 */
export function channelRuntimes(deps: Pick<ChannelsPorts, 'db' | 'config' | 'adapters'>, opts: { cache?: 'none' | 'credentials' } = {}): ChannelRuntimes {
  const key = deps.config.secretKey;
  const credentials = opts.cache === 'credentials' ? credentialCache(key) : (enc: string | null) => decryptCredentials(key, enc);
  const fromRow = (row: RuntimeRow) => toRuntime(key, row, credentials);
  const load = async (channelId: number) => {
    const row = await repo.findChannel(deps.db, channelId);
    return row ? fromRow(row) : null;
  };
  return {
    fromRow,
    load,
    async loadWithAdapter(channelId) {
      const channel = await load(channelId);
      const adapter = channel ? deps.adapters.get(channel.kind) : undefined;
      return channel && adapter ? { channel, adapter } : null;
    },
  };
}
