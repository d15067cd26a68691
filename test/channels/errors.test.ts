// Graph error mapping (meta-platform.md §6, §10.11) and the privacy path (§2.9, §3.5, §10.13):
// unit tests of toPlatformError and fetchProfile, then faults injected into the emulator and
// the outbox's reaction to each (retried then sent, or failed with the platform's reason, or
// the channel flagged for reconnection).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphClient, toPlatformError } from '../../src/channels/meta/graph-client.ts';
import { MetaMessagingAdapter } from '../../src/channels/meta/meta.adapter.ts';
import { PlatformError, type ChannelRuntime } from '../../src/channels/adapter.ts';
import { updateChannel } from '../../src/channels/channels.repository.ts';
import { as, login, makeEmployee, type Session } from '../helpers.ts';
import { IG_ID, PAGE_ID, startMetaWorld, type MetaWorld } from '../support/meta-world.ts';

describe('toPlatformError (unit, §6)', () => {
  const e = (code: number, subcode?: number, message = 'm') => toPlatformError(400, { error: { code, message, ...(subcode ? { error_subcode: subcode } : {}) } });

  it.each([
    [10, 2018278, false, false],
    [10, 2534022, false, false],
    [100, 1893061, false, false],
    [100, 2018001, false, false],
    [100, 2018218, false, false],
    [551, 1545041, false, false],
    [10900, undefined, false, false],
    [10903, undefined, false, false],
    [368, undefined, false, false],
    [190, 460, false, true],
    [190, undefined, false, true],
    [200, undefined, false, true],
    [230, undefined, false, false],
    [1, undefined, true, false],
    [2, undefined, true, false],
    [4, undefined, true, false],
    [17, undefined, true, false],
    [32, undefined, true, false],
    [613, undefined, true, false],
    [1200, 2018024, true, false],
    [80001, undefined, true, false],
  ])('code %i/%s → retryable %s, reconnect %s', (code, subcode, retryable, reconnect) => {
    const err = e(code, subcode, 'The reason');
    expect(err).toBeInstanceOf(PlatformError);
    expect(err.opts.retryable).toBe(retryable);
    expect(Boolean(err.opts.reconnect)).toBe(reconnect);
    expect(err.opts.code).toBe(code);
    expect(err.reason).toBe(`The reason (code ${code}${subcode ? '/' + subcode : ''})`);
  });

  it('no Graph error body: 5xx and 429 are retryable, other statuses are not', () => {
    expect(toPlatformError(502, null).opts.retryable).toBe(true);
    expect(toPlatformError(429, null).opts.retryable).toBe(true);
    expect(toPlatformError(404, null).opts.retryable).toBe(false);
    expect(toPlatformError(404, null).reason).toBe('HTTP 404');
  });
});

describe('MetaMessagingAdapter.fetchProfile privacy answers (unit, §10.13)', () => {
  class StubGraph extends GraphClient {
    constructor(private readonly answer: () => unknown) {
      super({ baseUrl: 'http://127.0.0.1:9', version: 'v25.0' });
    }
    override async request<T>(): Promise<T> {
      return this.answer() as T;
    }
  }
  const channel = (kind: 'messenger' | 'instagram'): ChannelRuntime => ({ id: 1, kind, name: 'x', externalId: '1', parentExternalId: null, credentials: { accessToken: 't' }, settings: {} });
  const profile = (kind: 'messenger' | 'instagram', answer: () => unknown) => new MetaMessagingAdapter(kind, new StubGraph(answer)).fetchProfile(channel(kind), '42');
  const fail =
    (code: number, subcode?: number, message = 'x') =>
    () => {
      throw toPlatformError(400, { error: { code, message, ...(subcode ? { error_subcode: subcode } : {}) } });
    };

  it('Messenger 2018218 and an empty object → hidden', async () => {
    expect(await profile('messenger', fail(100, 2018218, 'No profile available for this user.'))).toEqual({ hidden: true });
    expect(await profile('messenger', () => ({}))).toEqual({ hidden: true });
    expect(await profile('messenger', () => ({ id: '42' }))).toEqual({ hidden: true });
  });

  it('Instagram consent (230) → hidden; name null with a username → shown by @username', async () => {
    expect(await profile('instagram', fail(230, undefined, 'User consent is required to access user profile'))).toEqual({ hidden: true });
    expect(await profile('instagram', () => ({ name: null, username: 'irina.k', profile_pic: null }))).toEqual({ hidden: false, username: 'irina.k' });
  });

  it('other errors are not privacy answers: they propagate', async () => {
    await expect(profile('messenger', fail(100, 33))).rejects.toBeInstanceOf(PlatformError);
    await expect(profile('messenger', fail(2))).rejects.toMatchObject({ opts: { retryable: true } });
  });
});

// One Parley + emulator for the end-to-end parts below (privacy first: the last error test
// revokes the Page token).
let w: MetaWorld;
let agent: Session;

beforeAll(async () => {
  w = await startMetaWorld();
  const e = await makeEmployee(w.t.deps, { role: 'agent' });
  agent = await login(w.t.app, e.email);
});
afterAll(async () => w?.close());

describe('privacy: Unknown client, fetched once (§10.13, C5)', () => {
  it.each([
    ['messenger', 2018218],
    ['instagram', 230],
  ] as const)('%s: the privacy error (%i) → profile_hidden, “Unknown client”; a second message does not fetch again', async (channel, code) => {
    const person = w.emu.createPerson({ name: `Secret ${channel}`, hiddenProfile: true });
    const scoped = w.emu.scopedId(person.id, channel);
    w.emu.send(person.id, channel, 'first');
    await w.settle();
    const contact = await w.t.deps.db.selectFrom('contacts').selectAll().where('external_id', '=', scoped).executeTakeFirstOrThrow();
    expect(contact.profile_hidden).toBe(true);
    expect(contact.name).toBeNull();
    expect(contact.profile_fetched_at).not.toBeNull();
    const profileGets = () => w.emu.calls({ all: true, method: 'GET' }).filter((c) => c.path === `/${scoped}`);
    expect(profileGets()).toHaveLength(1);
    const err = (profileGets()[0]!.response as { error?: { code?: number; error_subcode?: number } }).error;
    expect(err?.error_subcode ?? err?.code).toBe(code);
    const chat = await w.t.deps.db.selectFrom('chats').select('id').where('contact_id', '=', contact.id).executeTakeFirstOrThrow();
    const page = await as(w.t.app, agent).get(`/chats/${chat.id}`);
    expect(page.body).toContain('Unknown client');
    expect(page.body).not.toContain(`Secret ${channel}`);
    for (const text of ['second', 'third']) {
      w.emu.send(person.id, channel, text);
      await w.settle();
    }
    expect(profileGets()).toHaveLength(1);
    expect(await w.t.deps.db.selectFrom('messages').select('id').where('chat_id', '=', chat.id).execute()).toHaveLength(3);
  });
});

describe('platform errors on send, through the emulator (§10.11)', () => {
  let chatId: number;
  let k = 0;

  beforeAll(async () => {
    w.emu.send('anna', 'messenger', 'Is my phone ready?');
    await w.settle();
    chatId = (
      await w.t.deps.db
        .selectFrom('chats')
        .innerJoin('contacts', 'contacts.id', 'chats.contact_id')
        .select('chats.id')
        .where('contacts.external_id', '=', w.emu.scopedId('anna', 'messenger'))
        .executeTakeFirstOrThrow()
    ).id;
  });

  async function sendWithFault(text: string, fault: { code: number; subcode?: number; message?: string; count?: number }) {
    w.emu.clearFaults();
    w.emu.injectFault({ channelId: PAGE_ID, pathIncludes: '/messages', method: 'POST', ...fault });
    const res = await as(w.t.app, agent).post(`/chats/${chatId}/messages`, { text, idempotency_key: `errors-${++k}-${Date.now()}` });
    expect(res.statusCode).toBe(303);
    await w.settle();
    const calls = w.emu.calls({ pathIncludes: '/messages', method: 'POST' }).filter((c) => (c.body as { message?: { text?: string } })?.message?.text === text);
    const row = await w.t.deps.db.selectFrom('messages').selectAll().where('chat_id', '=', chatId).where('text', '=', text).executeTakeFirstOrThrow();
    return { calls, row };
  }

  it.each([
    ['2018278 (outside the window)', { code: 10, subcode: 2018278, message: '(#10) This message is sent outside of allowed window.' }, 'code 10/2018278'],
    ['551/1545041 (person unavailable)', { code: 551, subcode: 1545041, message: "(#551) This person isn't available right now." }, 'code 551/1545041'],
    ['100/2018001 (no matching user)', { code: 100, subcode: 2018001, message: '(#100) No matching user found' }, 'code 100/2018001'],
    ['368 (policy block)', { code: 368, message: '(#368) The action attempted has been deemed abusive' }, 'code 368'],
  ])('%s → failed with the platform’s reason, tried once', async (_label, fault, code) => {
    const text = `permanent ${code}`;
    const { calls, row } = await sendWithFault(text, fault);
    expect(calls).toHaveLength(1);
    expect(row.status).toBe('failed');
    expect(row.status_reason).toBe(`${fault.message} (${code})`);
    const page = await as(w.t.app, agent).get(`/chats/${chatId}`);
    expect(page.body).toContain(`(${code})`);
    const channel = await w.t.deps.db.selectFrom('channels').select('state').where('id', '=', w.messengerId).executeTakeFirstOrThrow();
    expect(channel.state).toBe('connected');
  });

  it.each([
    ['613 rate limit', { code: 613, message: '(#613) Calls to this api have exceeded the rate limit.' }, 1],
    ['4 app rate limit', { code: 4, message: '(#4) Application request limit reached' }, 1],
    ['1200/2018024 temporary failure, twice', { code: 1200, subcode: 2018024, message: 'Temporary send message failure' }, 2],
    ['2 temporary service error', { code: 2, message: 'An unexpected error has occurred. Please retry your request later.' }, 1],
  ])('%s → retried with backoff, then sent', async (_label, fault, count) => {
    const text = `retryable ${fault.code} ×${count}`;
    const { calls, row } = await sendWithFault(text, { ...fault, count });
    expect(calls).toHaveLength(count + 1);
    expect(calls.slice(0, count).every((c) => c.status >= 400)).toBe(true);
    expect(calls[count]!.status).toBe(200);
    // Backoff: the first retry waits at least half the 1 s base (full jitter above that).
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(400);
    expect(['sent', 'delivered']).toContain(row.status);
    expect(row.status_reason).toBeNull();
    expect(row.external_id).toBe((calls[count]!.response as { message_id: string }).message_id);
    // One row: the echo merged into it.
    expect(await w.t.deps.db.selectFrom('messages').select('id').where('chat_id', '=', chatId).where('text', '=', text).execute()).toHaveLength(1);
  });

  it('190 (token invalid) → failed, the channel needs reconnecting with the reason, and nothing more is sent', async () => {
    const { calls, row } = await sendWithFault('token gone', { code: 190, subcode: 460, message: 'Error validating access token: The session has been invalidated.' });
    try {
      expect(calls).toHaveLength(1);
      expect(row.status).toBe('failed');
      expect(row.status_reason).toContain('code 190/460');
      const channel = await w.t.deps.db.selectFrom('channels').select(['state', 'state_reason']).where('id', '=', w.messengerId).executeTakeFirstOrThrow();
      expect(channel.state).toBe('needs_reconnect');
      expect(channel.state_reason).toContain('Error validating access token');
      // The next message does not reach the platform.
      const next = await sendWithFault('after the token died', { code: 1, count: 0 });
      expect(next.calls).toHaveLength(0);
      expect(next.row.status).toBe('failed');
      expect(next.row.status_reason).toBe('i18n:chats.error.channel_unavailable');
      const page = await as(w.t.app, agent).get(`/chats/${chatId}`);
      expect(page.body).toContain('This channel is disconnected');
    } finally {
      await updateChannel(w.t.deps.db, w.messengerId, { state: 'connected', stateReason: null });
      w.emu.clearFaults();
    }
  });

  it('a revoked token in the emulator gives the same (190 from the platform itself)', async () => {
    w.emu.revokeToken({ channelId: IG_ID });
    w.emu.send('marc', 'instagram', 'hello from IG');
    await w.settle();
    const igChat = (
      await w.t.deps.db
        .selectFrom('chats')
        .innerJoin('contacts', 'contacts.id', 'chats.contact_id')
        .select('chats.id')
        .where('contacts.external_id', '=', w.emu.scopedId('marc', 'instagram'))
        .executeTakeFirstOrThrow()
    ).id;
    const res = await as(w.t.app, agent).post(`/chats/${igChat}/messages`, { text: 'revoked send', idempotency_key: 'errors-revoked-0001' });
    expect(res.statusCode).toBe(303);
    await w.settle();
    const row = await w.t.deps.db.selectFrom('messages').selectAll().where('text', '=', 'revoked send').executeTakeFirstOrThrow();
    expect(row.status).toBe('failed');
    // The profile fetch for the new chat may meet the 190 first and flag the channel; the send
    // then fails as "channel disconnected" without calling the platform. Either way: failed.
    expect(row.status_reason).toMatch(/code 190|i18n:chats\.error\.channel_unavailable/);
    const channels = await w.t.deps.db.selectFrom('channels').select(['id', 'state']).orderBy('id').execute();
    // The Page token is shared by the Page and its Instagram account; only the failing channel is flagged here.
    expect(channels.find((c) => c.id === w.instagramId)!.state).toBe('needs_reconnect');
  });
});
