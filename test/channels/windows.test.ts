// Platform windows (product H1, H2, H4; meta-platform.md §2.6, §3.4, §10.10): the send policy
// as a unit at the boundaries 23 h 59 min, 24 h, 24 h 01 min, 7 days, 7 days + 1 min, and end to
// end through the emulator with back-dated customer messages (no real waiting).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEGACY_TAGS, MetaMessagingAdapter } from '../../src/channels/meta/meta.adapter.ts';
import { GraphClient } from '../../src/channels/meta/graph-client.ts';
import type { ChannelRuntime, ChannelSettings, SendPolicy } from '../../src/channels/adapter.ts';
import { updateChannel } from '../../src/channels/channels.repository.ts';
import { as, login, makeEmployee, type Session } from '../helpers.ts';
import { startMetaWorld, type MetaWorld } from '../support/meta-world.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

const AGES = {
  '23h59m': DAY - MIN,
  '24h': DAY,
  '24h01m': DAY + MIN,
  '7d': 7 * DAY,
  '7d+1m': 7 * DAY + MIN,
  '30d': 30 * DAY,
} as const;

function runtime(kind: 'messenger' | 'instagram', settings: ChannelSettings): ChannelRuntime {
  return { id: 1, kind, name: 'x', externalId: '1', parentExternalId: kind === 'instagram' ? '2' : null, credentials: { accessToken: 't' }, settings };
}

/** What H1/H2 say, written independently of the adapter. */
function expected(kind: 'messenger' | 'instagram', humanAgent: boolean, legacyTags: boolean, last: Date | null): SendPolicy {
  if (!last) return { action: 'refuse', reasonKey: 'chats.policy.no_inbound' };
  const age = NOW.getTime() - last.getTime();
  const t = last.getTime();
  if (age <= DAY) return { action: 'send', messagingType: 'RESPONSE', closesAt: new Date(t + DAY) };
  if (age <= 7 * DAY) {
    return humanAgent
      ? { action: 'send', messagingType: 'MESSAGE_TAG', tag: 'HUMAN_AGENT', closesAt: new Date(t + 7 * DAY) }
      : { action: 'refuse', reasonKey: 'chats.policy.window_closed_no_human_agent', closedAt: new Date(t + DAY) };
  }
  if (kind === 'instagram') return { action: 'refuse', reasonKey: 'chats.policy.ig_window_closed', closedAt: new Date(t + 7 * DAY) };
  return { action: 'tag-required', reasonKey: 'chats.policy.window_closed_7d', closedAt: new Date(t + 7 * DAY), tags: [...LEGACY_TAGS], tagsUsable: legacyTags };
}

const NOW = new Date('2026-06-01T12:00:00.000Z');

describe('MetaMessagingAdapter.sendPolicy (unit)', () => {
  const graph = new GraphClient({ baseUrl: 'http://127.0.0.1:9', version: 'v25.0' });
  for (const kind of ['messenger', 'instagram'] as const) {
    const adapter = new MetaMessagingAdapter(kind, graph);
    for (const humanAgent of [false, true]) {
      for (const legacyTags of [false, true]) {
        it(`${kind}, humanAgent ${humanAgent ? 'on' : 'off'}, legacyTags ${legacyTags ? 'on' : 'off'}`, () => {
          const channel = runtime(kind, { humanAgent, legacyTags });
          for (const [label, age] of Object.entries(AGES)) {
            const last = new Date(NOW.getTime() - age);
            expect(adapter.sendPolicy({ channel, lastInboundAt: last, now: NOW }), label).toEqual(expected(kind, humanAgent, legacyTags, last));
          }
          expect(adapter.sendPolicy({ channel, lastInboundAt: null, now: NOW })).toEqual(expected(kind, humanAgent, legacyTags, null));
        });
      }
    }
  }

  it('the retired tags are never chosen automatically (§10.10)', () => {
    for (const kind of ['messenger', 'instagram'] as const) {
      const adapter = new MetaMessagingAdapter(kind, graph);
      for (let age = 0; age <= 40 * DAY; age += 37 * MIN) {
        const p = adapter.sendPolicy({ channel: runtime(kind, { humanAgent: true, legacyTags: true }), lastInboundAt: new Date(NOW.getTime() - age), now: NOW });
        if (p.action !== 'send') continue;
        expect(['RESPONSE', 'MESSAGE_TAG']).toContain(p.messagingType);
        expect(p.tag ?? 'HUMAN_AGENT').toBe('HUMAN_AGENT');
      }
    }
  });

  it('Instagram counts the text limit in UTF-8 bytes (§3.4), Messenger in characters', () => {
    const ig = new MetaMessagingAdapter('instagram', graph);
    expect(ig.validateText('a'.repeat(1000))).toBeNull();
    expect(ig.validateText('a'.repeat(1001))).toBe('chats.composer.too_long_bytes');
    expect(ig.validateText('ж'.repeat(500))).toBeNull();
    expect(ig.validateText('ж'.repeat(501))).toBe('chats.composer.too_long_bytes');
    expect(ig.validateText('🙂'.repeat(250))).toBeNull();
    expect(ig.validateText('🙂'.repeat(251))).toBe('chats.composer.too_long_bytes');
    const fb = new MetaMessagingAdapter('messenger', graph);
    expect(fb.validateText('ж'.repeat(1999))).toBeNull();
    expect(fb.validateText('🙂'.repeat(1999))).toBeNull();
  });
});

describe('windows end to end through the emulator', () => {
  let w: MetaWorld;
  let agent: Session;
  let n = 0;

  beforeAll(async () => {
    w = await startMetaWorld({ settings: { humanAgent: true } });
    const e = await makeEmployee(w.t.deps, { role: 'agent' });
    agent = await login(w.t.app, e.email);
  });
  afterAll(async () => w?.close());

  const setSettings = (channelId: number, settings: ChannelSettings) => updateChannel(w.t.deps.db, channelId, { settings: { ...settings } });

  /** A new person whose last message is `age` old, on `channel`; returns Parley's chat id. */
  async function leadWroteAgo(channel: 'messenger' | 'instagram', age: number): Promise<number> {
    const person = w.emu.createPerson({ name: `Window Lead ${++n}` });
    w.emu.send(person.id, channel, { text: `written ${age} ms ago`, timestamp: Date.now() - age });
    await w.settle();
    const chat = await w.t.deps.db
      .selectFrom('chats')
      .innerJoin('contacts', 'contacts.id', 'chats.contact_id')
      .select(['chats.id', 'chats.last_inbound_at'])
      .where('contacts.external_id', '=', w.emu.scopedId(person.id, channel))
      .executeTakeFirstOrThrow();
    // The window is counted from the platform's timestamp, not from when Parley received it.
    expect(Date.now() - chat.last_inbound_at!.getTime()).toBeGreaterThanOrEqual(age);
    return chat.id;
  }

  const reply = (chatId: number, text: string, extra: Record<string, string> = {}) =>
    as(w.t.app, agent).post(`/chats/${chatId}/messages`, { text, idempotency_key: `win-${chatId}-${++n}-key`, ...extra });
  const sendCalls = (text: string) => w.emu.calls({ pathIncludes: '/messages', method: 'POST' }).filter((c) => (c.body as { message?: { text?: string } })?.message?.text === text);
  const messagesOf = (chatId: number) => w.t.deps.db.selectFrom('messages').selectAll().where('chat_id', '=', chatId).where('direction', '=', 'out').execute();

  it('Messenger 23 h 59 min → sent with RESPONSE; the composer says when the window closes (H4)', async () => {
    const chatId = await leadWroteAgo('messenger', AGES['23h59m']);
    const page = await as(w.t.app, agent).get(`/chats/${chatId}`);
    expect(page.body).toContain('data-policy="send"');
    expect(page.body).toContain('Reply window closes');
    expect((await reply(chatId, 'within the day')).statusCode).toBe(303);
    await w.settle();
    const [call] = sendCalls('within the day');
    expect(call?.status).toBe(200);
    expect(call?.body).toMatchObject({ messaging_type: 'RESPONSE' });
    expect((call?.body as { tag?: string }).tag).toBeUndefined();
    const [m] = await messagesOf(chatId);
    expect(['sent', 'delivered']).toContain(m!.status);
  });

  it('Messenger 24 h 01 min with Human Agent → sent as MESSAGE_TAG + HUMAN_AGENT', async () => {
    const chatId = await leadWroteAgo('messenger', AGES['24h01m']);
    const page = await as(w.t.app, agent).get(`/chats/${chatId}`);
    expect(page.body).toContain('Sent as a human agent reply');
    expect((await reply(chatId, 'human agent reply')).statusCode).toBe(303);
    await w.settle();
    const calls = sendCalls('human agent reply');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.status).toBe(200);
    expect(calls[0]!.body).toMatchObject({ messaging_type: 'MESSAGE_TAG', tag: 'HUMAN_AGENT' });
    expect(['sent', 'delivered']).toContain((await messagesOf(chatId))[0]!.status);
  });

  it('Messenger 24 h 01 min without Human Agent → 422 with the reason, nothing stored or sent', async () => {
    await setSettings(w.messengerId, { humanAgent: false });
    try {
      const chatId = await leadWroteAgo('messenger', AGES['24h01m']);
      const res = await reply(chatId, 'should not go');
      expect(res.statusCode).toBe(422);
      expect(res.body).toContain('Human Agent permission');
      const frag = await as(w.t.app, agent).post(`/chats/${chatId}/messages`, { text: 'should not go', idempotency_key: 'win-frag-0001' }, { headers: { 'hx-request': 'true' } });
      expect(frag.statusCode).toBe(422);
      expect(frag.body).toContain('data-policy="refuse"');
      await w.settle();
      expect(sendCalls('should not go')).toHaveLength(0);
      expect(await messagesOf(chatId)).toHaveLength(0);
    } finally {
      await setSettings(w.messengerId, { humanAgent: true });
    }
  });

  it('Messenger 7 days + 1 min → 422; the Message tag picker shows the three tags, the warning and why they are retired', async () => {
    const chatId = await leadWroteAgo('messenger', AGES['7d+1m']);
    const res = await as(w.t.app, agent).post(`/chats/${chatId}/messages`, { text: 'a week later', idempotency_key: 'win-7d-plain-1' }, { headers: { 'hx-request': 'true' } });
    expect(res.statusCode).toBe(422);
    const html = res.body;
    expect(html).toContain('data-policy="tag-required"');
    expect(html).toContain('free text can no longer be sent');
    for (const tag of LEGACY_TAGS) expect(html).toContain(`name="tag" value="${tag}"`);
    expect(html).toContain('Account update');
    expect(html).toContain('Post-purchase update');
    expect(html).toContain('Confirmed event update');
    expect(html).toContain('Misuse can get the page blocked');
    expect(html).toContain('Meta retired these tags');
    expect(html).toMatch(/<fieldset disabled>/);
    expect(html).toMatch(/<textarea[^>]* disabled/);
    // Choosing a tag anyway changes nothing while the setting is off.
    const tagged = await reply(chatId, 'a week later', { tag: 'POST_PURCHASE_UPDATE' });
    expect(tagged.statusCode).toBe(422);
    await w.settle();
    expect(sendCalls('a week later')).toHaveLength(0);
    expect(await messagesOf(chatId)).toHaveLength(0);
  });

  it('Messenger 7 days + 1 min with Legacy message tags on → sent with the chosen tag; the platform’s error 100 shows as a failed message with its reason', async () => {
    await setSettings(w.messengerId, { humanAgent: true, legacyTags: true });
    try {
      const chatId = await leadWroteAgo('messenger', AGES['7d+1m']);
      const page = await as(w.t.app, agent).get(`/chats/${chatId}`);
      expect(page.body).toContain('data-policy="tag-required"');
      expect(page.body).not.toContain('Meta retired these tags');
      expect(page.body).not.toMatch(/<fieldset disabled>/);
      // Without a tag: still refused.
      expect((await reply(chatId, 'repair ready, no tag')).statusCode).toBe(422);
      // A tag that is not one of the three: refused.
      expect((await reply(chatId, 'repair ready, bad tag', { tag: 'HUMAN_AGENT' })).statusCode).toBe(422);
      expect((await reply(chatId, 'repair ready', { tag: 'POST_PURCHASE_UPDATE' })).statusCode).toBe(303);
      await w.settle();
      const calls = sendCalls('repair ready');
      expect(calls).toHaveLength(1);
      expect(calls[0]!.body).toMatchObject({ messaging_type: 'MESSAGE_TAG', tag: 'POST_PURCHASE_UPDATE' });
      expect((calls[0]!.response as { error?: { code?: number; error_subcode?: number } }).error).toMatchObject({ code: 100, error_subcode: 1893061 });
      const [m] = await messagesOf(chatId);
      expect(m!.status).toBe('failed');
      expect(m!.status_reason).toContain('Invalid parameter');
      expect(m!.status_reason).toContain('code 100/1893061');
      const after = await as(w.t.app, agent).get(`/chats/${chatId}`);
      expect(after.body).toContain('Invalid parameter (code 100/1893061)');
      expect(after.body).toContain('data-action="retry"');
      expect(sendCalls('repair ready, no tag')).toHaveLength(0);
      expect(sendCalls('repair ready, bad tag')).toHaveLength(0);
    } finally {
      await setSettings(w.messengerId, { humanAgent: true });
    }
  });

  it('Instagram 24 h 01 min with Human Agent → HUMAN_AGENT; 7 days + 1 min → 422 blocked with the reason', async () => {
    const open = await leadWroteAgo('instagram', AGES['24h01m']);
    expect((await reply(open, 'ig human agent')).statusCode).toBe(303);
    await w.settle();
    const calls = sendCalls('ig human agent');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.body).toMatchObject({ messaging_type: 'MESSAGE_TAG', tag: 'HUMAN_AGENT' });
    expect(calls[0]!.status).toBe(200);

    const closed = await leadWroteAgo('instagram', AGES['7d+1m']);
    const res = await as(w.t.app, agent).post(`/chats/${closed}/messages`, { text: 'ig too late', idempotency_key: 'win-ig-7d-0001' }, { headers: { 'hx-request': 'true' } });
    expect(res.statusCode).toBe(422);
    expect(res.body).toContain('Instagram no longer accepts replies');
    expect(res.body).toContain('data-policy="refuse"');
    expect(res.body).not.toContain('name="tag"');
    await w.settle();
    expect(sendCalls('ig too late')).toHaveLength(0);
    expect(await messagesOf(closed)).toHaveLength(0);
  });

  it('Instagram text over 1000 bytes (600 Cyrillic letters) → 422, nothing sent; 500 letters (1000 bytes) go out', async () => {
    const chatId = await leadWroteAgo('instagram', HOUR);
    const long = 'ж'.repeat(600);
    const res = await reply(chatId, long);
    expect(res.statusCode).toBe(422);
    expect(res.body).toContain('Instagram takes at most 1000 bytes');
    const fits = 'ж'.repeat(500);
    expect((await reply(chatId, fits)).statusCode).toBe(303);
    await w.settle();
    expect(sendCalls(long)).toHaveLength(0);
    const ok = sendCalls(fits);
    expect(ok).toHaveLength(1);
    expect(ok[0]!.status).toBe(200);
    const rows = await messagesOf(chatId);
    expect(rows.map((r) => r.text)).toEqual([fits]);
  });
});
