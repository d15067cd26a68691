// channels/runtimes.ts: the one channel-runtime loader. Uncached by default (a changed token is
// read at once), credentials cached by ciphertext on request (the send job's semantics), rows
// always read fresh, and the send policy refused when the channel or its adapter is gone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptCredentials } from '../../src/channels/channels.service.ts';
import { findChannel, insertChannel, updateChannel } from '../../src/channels/channels.repository.ts';
import { channelRuntimes, credentialCache, loadRuntime, loadRuntimeWithAdapter, policyOf, toRuntime } from '../../src/channels/runtimes.ts';
import { createTestDeps, type TestContext } from '../helpers.ts';

let t: TestContext;
let channelId: number;
let unknownKindId: number;

beforeAll(async () => {
  t = await createTestDeps();
  const key = t.deps.config.secretKey;
  channelId = await insertChannel(t.deps.db, {
    kind: 'messenger',
    name: 'Shop page',
    externalId: '9001',
    credentialsEnc: encryptCredentials(key, { accessToken: 'token-1' }),
    settings: { comments: true },
    accessAll: true,
  });
  unknownKindId = await insertChannel(t.deps.db, { kind: 'carrier-pigeon', name: 'Old', externalId: '9002', credentialsEnc: null, settings: {}, accessAll: true });
});

afterAll(async () => {
  await t?.close();
});

describe('channel runtimes', () => {
  it('loadRuntime decrypts the credentials and maps the row; null for a missing channel', async () => {
    const r = await loadRuntime(t.deps, channelId);
    expect(r).toEqual({ id: channelId, kind: 'messenger', name: 'Shop page', externalId: '9001', parentExternalId: null, credentials: { accessToken: 'token-1' }, settings: { comments: true } });
    expect(await loadRuntime(t.deps, 2_000_000_000)).toBeNull();
    expect((await loadRuntime(t.deps, unknownKindId))?.credentials).toEqual({});
  });

  it('loadRuntimeWithAdapter is null when the kind has no adapter', async () => {
    const ok = await loadRuntimeWithAdapter(t.deps, channelId);
    expect(ok?.adapter.kind).toBe('messenger');
    expect(await loadRuntimeWithAdapter(t.deps, unknownKindId)).toBeNull();
  });

  it("cache 'credentials' decrypts a ciphertext once; 'none' every time; a new token is seen at once by both", async () => {
    const cached = channelRuntimes(t.deps, { cache: 'credentials' });
    const fresh = channelRuntimes(t.deps);
    const a = await cached.load(channelId);
    const b = await cached.load(channelId);
    expect(b!.credentials).toBe(a!.credentials);
    const c = await fresh.load(channelId);
    const d = await fresh.load(channelId);
    expect(d!.credentials).not.toBe(c!.credentials);
    expect(d!.credentials).toEqual(c!.credentials);

    await updateChannel(t.deps.db, channelId, { credentialsEnc: encryptCredentials(t.deps.config.secretKey, { accessToken: 'token-2' }), name: 'Renamed' });
    const e = await cached.load(channelId);
    expect(e!.credentials).toEqual({ accessToken: 'token-2' });
    expect(e!.name).toBe('Renamed');
    expect((await fresh.loadWithAdapter(channelId))!.channel.credentials).toEqual({ accessToken: 'token-2' });
  });

  it('fromRow and toRuntime build the same runtime from a row already read', async () => {
    const row = (await findChannel(t.deps.db, channelId))!;
    const key = t.deps.config.secretKey;
    expect(channelRuntimes(t.deps, { cache: 'credentials' }).fromRow(row)).toEqual(toRuntime(key, row));
    const creds = credentialCache(key);
    expect(creds(row.credentials_enc)).toBe(creds(row.credentials_enc));
    expect(creds(null)).toEqual({});
  });

  it('policyOf asks the adapter, and refuses without a channel or an adapter', async () => {
    const now = new Date();
    expect(policyOf(t.deps, { id: channelId, kind: 'messenger', settings: {} }, now, now).action).toBe('send');
    expect(policyOf(t.deps, null, now, now)).toEqual({ action: 'refuse', reasonKey: 'chats.error.channel_unavailable' });
    expect(policyOf(t.deps, { id: unknownKindId, kind: 'carrier-pigeon' as never, settings: {} }, now, now)).toEqual({ action: 'refuse', reasonKey: 'chats.error.channel_unavailable' });
  });
});
