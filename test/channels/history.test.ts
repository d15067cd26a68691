// D4 history import meeting webhooks (meta-platform.md §2.10, §3.6): the Conversations API
// gives details for the 20 most recent messages only; older ones are looked up one by one and
// skipped when refused. Imported messages are keyed by platform id like webhooks, so nothing is
// doubled whichever arrives first, and they never make a chat unread.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { metaJsonStringify, signBody } from '../../emulator/index.ts';
import { APP_SECRET, IG_ID, startMetaWorld, type MetaWorld } from '../support/meta-world.ts';

let w: MetaWorld;
/** Every pace() of the Conversations API import: bucket and the calls-per-second it asked for. */
const paced: Array<{ bucket: string; perSecond: number | undefined }> = [];

beforeAll(async () => {
  w = await startMetaWorld();
  // The import paces itself at 2 calls/s (§7), i.e. ~7 s for one 31-message thread; record the
  // pacing instead of sleeping through it (sends keep the real limiter).
  const limiter = w.t.deps.rateLimiter;
  const real = limiter.take.bind(limiter);
  vi.spyOn(limiter, 'take').mockImplementation(async (bucket, perSecond) => {
    if (String(bucket).startsWith('conversations:')) {
      paced.push({ bucket: String(bucket), perSecond });
      return;
    }
    return real(bucket, perSecond);
  });
});
afterAll(async () => w?.close());

const db = () => w.t.deps.db;

async function chatOf(channel: 'messenger' | 'instagram', personId: string) {
  return db().selectFrom('chats').innerJoin('contacts', 'contacts.id', 'chats.contact_id').selectAll('chats').where('contacts.external_id', '=', w.emu.scopedId(personId, channel)).executeTakeFirst();
}

const threadOf = (chatId: number) =>
  db().selectFrom('messages').select(['id', 'external_id', 'text', 'direction', 'sort_at', 'meta']).where('chat_id', '=', chatId).orderBy('sort_at').orderBy('id').execute();

/** Graph calls of the Conversations API import since `since` (not the profile read). */
function conversationGets(since: number, psid: string) {
  return w.emu.calls({ all: true, method: 'GET', since }).filter((c) => c.path !== `/${psid}`);
}

const lastSeq = () => w.emu.calls({ all: true }).reduce((m, c) => Math.max(m, c.seq), 0);

describe('history import (D4)', () => {
  it('30 earlier messages, then the person writes: the 20 the platform details are imported in order, older ones looked up and skipped, no duplicate, not unread', async () => {
    const person = w.emu.createPerson({ name: 'History Lena' }).id;
    const psid = w.emu.scopedId(person, 'messenger');
    const seeded = w.emu.seedHistory('messenger', person, { count: 30, spacing: '1h', endAgo: '2h' });
    const since = lastSeq();
    paced.length = 0;
    const live = w.emu.send(person, 'messenger', 'Hello again, it’s me');
    await w.settle();

    const chat = (await chatOf('messenger', person))!;
    expect(chat).toBeTruthy();
    const thread = await threadOf(chat.id);
    // The platform details the 20 newest (the live message + 19 seeded); the 11 older ones
    // answer "This message has been deleted" when looked up and are skipped.
    const expected = [...seeded.slice(-19), live];
    expect(thread.map((m) => m.external_id)).toEqual(expected.map((m) => m.id));
    expect(thread.map((m) => m.text)).toEqual(expected.map((m) => m.text));
    expect(thread.map((m) => m.direction)).toEqual(expected.map((m) => m.direction));
    // Graph's created_time has whole seconds; the webhook's timestamp has milliseconds.
    const second = (ms: number) => Math.floor(ms / 1000);
    expect(thread.map((m) => second(m.sort_at.getTime()))).toEqual(expected.map((m) => second(m.timestamp)));
    expect(thread.find((m) => m.external_id === live.id)!.sort_at.getTime()).toBe(live.timestamp);
    expect(thread.filter((m) => m.external_id === live.id)).toHaveLength(1);
    expect(thread.filter((m) => (m.meta as { history?: boolean }).history).length).toBe(19);

    const calls = conversationGets(since, psid);
    const lookups = calls.filter((c) => seeded.slice(0, 11).some((s) => c.path === `/${s.id}`));
    expect(lookups).toHaveLength(11);
    expect(lookups.every((c) => c.status === 400 && /deleted/.test(JSON.stringify(c.response)))).toBe(true);
    // Every Conversations API call was paced at 2 per second (§7).
    expect(paced.length).toBe(calls.length);
    expect(paced.every((p) => p.bucket === `conversations:${w.messengerId}` && p.perSecond === 2)).toBe(true);

    // Only the live message counts as unread; history never does.
    expect(chat.unread_count).toBe(1);
    expect(chat.preview_text).toBe(live.text);
  });

  it('when the platform serves older messages, all 31 come in, each once, in order', async () => {
    w.emu.ctx.config.conversations.olderMessageLookup = 'allow';
    try {
      const person = w.emu.createPerson({ name: 'History Ivo' }).id;
      const seeded = w.emu.seedHistory('instagram', person, { count: 30, spacing: '30m', endAgo: '1h' });
      const live = w.emu.send(person, 'instagram', 'new question');
      await w.settle();
      const chat = (await chatOf('instagram', person))!;
      const thread = await threadOf(chat.id);
      expect(thread.map((m) => m.external_id)).toEqual([...seeded, live].map((m) => m.id));
      expect(new Set(thread.map((m) => m.external_id)).size).toBe(31);
      expect(chat.unread_count).toBe(1);
      expect(chat.channel_id).toBe(w.instagramId);
    } finally {
      w.emu.ctx.config.conversations.olderMessageLookup = 'error';
    }
  });

  it('running the import job again adds nothing', async () => {
    const chat = (await chatOf('instagram', 'history-ivo'))!;
    const before = await threadOf(chat.id);
    w.emu.ctx.config.conversations.olderMessageLookup = 'allow';
    try {
      for (let i = 0; i < 2; i++) {
        await w.t.deps.queue.enqueue(w.t.deps.jobs.importHistory, { chatId: chat.id });
        await w.settle();
      }
    } finally {
      w.emu.ctx.config.conversations.olderMessageLookup = 'error';
    }
    const after = await threadOf(chat.id);
    expect(after.map((m) => m.id)).toEqual(before.map((m) => m.id));
    const c = (await chatOf('instagram', 'history-ivo'))!;
    expect(c.unread_count).toBe(1);
  });

  it('a webhook for a message already imported adds nothing', async () => {
    const chat = (await chatOf('instagram', 'history-ivo'))!;
    const before = await threadOf(chat.id);
    const imported = before.find((m) => (m.meta as { history?: boolean }).history && m.direction === 'in')!;
    const body = metaJsonStringify({
      object: 'instagram',
      entry: [
        {
          id: IG_ID,
          time: Date.now(),
          messaging: [
            {
              sender: { id: w.emu.scopedId('history-ivo', 'instagram') },
              recipient: { id: IG_ID },
              timestamp: imported.sort_at.getTime(),
              message: { mid: imported.external_id, text: imported.text },
            },
          ],
        },
      ],
    });
    const res = await w.t.app.inject({ method: 'POST', url: '/webhooks/meta', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(body, APP_SECRET) }, payload: body });
    expect(res.statusCode).toBe(200);
    await w.settle();
    const after = await threadOf(chat.id);
    expect(after.map((m) => m.id)).toEqual(before.map((m) => m.id));
    expect((await chatOf('instagram', 'history-ivo'))!.unread_count).toBe(1);
  });

  it('connecting a channel imports its recent conversations without making them unread or doubling known ones', async () => {
    const person = w.emu.createPerson({ name: 'History Quiet' }).id;
    // The last two within one second: Graph's created_time cannot tell them apart, the order of
    // the platform's list must be kept.
    const second = Math.floor((Date.now() - 2 * 86_400_000) / 1000) * 1000;
    const seeded = w.emu.seedHistory('messenger', person, {
      messages: [
        { direction: 'in', text: 'Do you fix tablets?', ago: '3d' },
        { direction: 'out', text: 'Yes, bring it in', at: second + 100 },
        { direction: 'in', text: 'Thanks!', at: second + 600 },
      ],
    });
    const known = (await chatOf('messenger', 'history-lena'))!;
    const knownBefore = await threadOf(known.id);
    await w.t.deps.queue.enqueue(w.t.deps.jobs.importChannelHistory, { channelId: w.messengerId });
    await w.settle();
    const chat = (await chatOf('messenger', person))!;
    expect(chat).toBeTruthy();
    const thread = await threadOf(chat.id);
    expect(thread.map((m) => [m.direction, m.text])).toEqual(seeded.map((m) => [m.direction, m.text]));
    expect(chat.unread_count).toBe(0);
    expect(chat.indicator).not.toBe('unread');
    expect((await threadOf(known.id)).map((m) => m.id)).toEqual(knownBefore.map((m) => m.id));
    // The new contact's profile was read once (names the chat).
    const contact = await db().selectFrom('contacts').select(['name']).where('id', '=', chat.contact_id).executeTakeFirstOrThrow();
    expect(contact.name).toBe('History Quiet');
  });
});
