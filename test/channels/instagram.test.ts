// Instagram Messaging through the emulator (meta-platform.md §3.2, §10.5, §10.9, §10.14):
// echoes inside `messages` (is_echo), read receipts by `read.mid`, unsent messages
// (`is_deleted`), reactions, stickers as unsupported.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metaJsonStringify, signBody } from '../../emulator/index.ts';
import { as, login, makeEmployee, type Session } from '../helpers.ts';
import { APP_SECRET, IG_ID, startMetaWorld, type MetaWorld } from '../support/meta-world.ts';

let w: MetaWorld;
let agent: Session;
let chatId: number;
let n = 0;

beforeAll(async () => {
  w = await startMetaWorld();
  const e = await makeEmployee(w.t.deps, { role: 'agent' });
  agent = await login(w.t.app, e.email);
  w.emu.send('anna', 'instagram', 'Привет! Это есть в наличии?');
  await w.settle();
  chatId = (
    await w.t.deps.db
      .selectFrom('chats')
      .innerJoin('contacts', 'contacts.id', 'chats.contact_id')
      .select('chats.id')
      .where('contacts.external_id', '=', w.emu.scopedId('anna', 'instagram'))
      .executeTakeFirstOrThrow()
  ).id;
});
afterAll(async () => w?.close());

const db = () => w.t.deps.db;
const pane = async () => (await as(w.t.app, agent).get(`/chats/${chatId}`, { 'hx-request': 'true' })).body;
const byMid = (mid: string) => db().selectFrom('messages').selectAll().where('external_id', '=', mid).execute();

async function reply(text: string) {
  const res = await as(w.t.app, agent).post(`/chats/${chatId}/messages`, { text, idempotency_key: `ig-${++n}-${Date.now()}` });
  expect(res.statusCode).toBe(303);
  await w.settle();
  return db().selectFrom('messages').selectAll().where('chat_id', '=', chatId).where('text', '=', text).executeTakeFirstOrThrow();
}

function post(payload: unknown) {
  const raw = metaJsonStringify(payload);
  return w.t.app.inject({ method: 'POST', url: '/webhooks/meta', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(raw, APP_SECRET) }, payload: raw });
}

describe('Instagram', () => {
  it('the contact is the person’s IGSID with their @username; the chat belongs to the Instagram channel', async () => {
    const chat = await db()
      .selectFrom('chats')
      .innerJoin('contacts', 'contacts.id', 'chats.contact_id')
      .select(['chats.channel_id', 'contacts.username', 'contacts.name'])
      .where('chats.id', '=', chatId)
      .executeTakeFirstOrThrow();
    expect(chat).toEqual({ channel_id: w.instagramId, username: 'anna.petrova', name: 'Anna Petrova' });
  });

  it('an echo with is_echo inside `messages` (typed in the Instagram app) shows on the shop’s side', async () => {
    const m = w.emu.sendFromPageInbox('instagram', 'anna', { text: 'Typed in the Instagram app' });
    await w.settle();
    const delivery = w.emu.deliveries().find((d) => d.body.includes(m.id))!;
    const body = JSON.parse(delivery.body);
    expect(body.object).toBe('instagram');
    expect(body.entry[0].messaging[0].message).toMatchObject({ mid: m.id, is_echo: true });
    const [row] = await byMid(m.id);
    expect(row).toMatchObject({ direction: 'out', sender_employee_id: null, chat_id: chatId, text: 'Typed in the Instagram app' });
  });

  it('the echo of Parley’s own send merges into it (one row, the platform id)', async () => {
    const row = await reply('Да, есть в наличии');
    expect(row.external_id).toBeTruthy();
    expect(await db().selectFrom('messages').select('id').where('chat_id', '=', chatId).where('text', '=', 'Да, есть в наличии').execute()).toHaveLength(1);
    const echo = w.emu.deliveries().find((d) => d.body.includes(row.external_id!) && d.body.includes('is_echo'));
    expect(echo?.body).toContain(`parley:${row.id}`);
  });

  it('a read with read.mid → read (two ticks and the read time), earlier messages too', async () => {
    const first = await reply('Цена 89 €');
    const second = await reply('Приходите завтра');
    w.emu.read('anna', 'instagram');
    await w.settle();
    const read = w.emu
      .deliveries()
      .filter((d) => d.body.includes('"read"'))
      .pop()!;
    expect(JSON.parse(read.body).entry[0].messaging[0].read).toEqual({ mid: second.external_id });
    for (const m of [first, second]) {
      const row = await db().selectFrom('messages').select(['status', 'read_at']).where('id', '=', m.id).executeTakeFirstOrThrow();
      expect(row.status).toBe('read');
      expect(row.read_at).not.toBeNull();
    }
    const html = await pane();
    expect(html).toContain(`id="message-${second.id}" class="message message--out message--read"`);
    expect(html).toMatch(new RegExp(`id="message-${second.id}"[\\s\\S]*?message__read-at[^>]*>Read `));
  });

  it('a read.mid that arrives before the echo it names still leaves that message read (§10.5)', async () => {
    const anna = w.emu.scopedId('anna', 'instagram');
    const mid = `aWdfZAG1faXRlbToxOkFBQ-ooo-${Date.now()}`;
    // After every earlier read, so only this read can make the echo read.
    const at = Date.now() + 1_000;
    await post({ object: 'instagram', entry: [{ id: IG_ID, time: Date.now(), messaging: [{ sender: { id: anna }, recipient: { id: IG_ID }, timestamp: at + 2_000, read: { mid } }] }] });
    await w.settle();
    await post({
      object: 'instagram',
      entry: [
        { id: IG_ID, time: Date.now(), messaging: [{ sender: { id: IG_ID }, recipient: { id: anna }, timestamp: at, message: { mid, is_echo: true, text: 'sent from the IG app, read at once' } }] },
      ],
    });
    await w.settle();
    const [row] = await byMid(mid);
    expect(row).toMatchObject({ direction: 'out', status: 'read' });
  });

  it('an unsent message (is_deleted) shows the “removed” placeholder, not its text', async () => {
    const m = w.emu.send('anna', 'instagram', 'Oops, wrong chat: my card number is 4242');
    await w.settle();
    const before = await pane();
    expect(before).toContain('my card number is 4242');
    const { webhook } = w.emu.unsend('anna', m.id);
    expect(webhook).toBe(true);
    await w.settle();
    const [row] = await byMid(m.id);
    expect(row!.deleted_at).not.toBeNull();
    const html = await pane();
    expect(html).toMatch(new RegExp(`id="message-${row!.id}"[\\s\\S]*?The client removed this message\\.`));
    expect(html).not.toContain('my card number is 4242');
    // Nor in the chat list's preview.
    const list = await as(w.t.app, agent).get('/chats');
    expect(list.body).not.toContain('my card number is 4242');
    // A repeated unsend changes nothing.
    const again = w.emu.deliveries().find((d) => d.body.includes('is_deleted') && d.body.includes(m.id))!;
    await w.t.app.inject({ method: 'POST', url: '/webhooks/meta', headers: { 'content-type': 'application/json', 'x-hub-signature-256': again.signature }, payload: again.body });
    await w.settle();
    expect((await byMid(m.id))[0]!.deleted_at?.getTime()).toBe(row!.deleted_at!.getTime());
  });

  it('reactions are shown on the message, replaced, and removed on unreact', async () => {
    const ours = await reply('Мы открыты до 19:00');
    w.emu.react('anna', ours.external_id!, '❤️');
    await w.settle();
    const rx = () => db().selectFrom('messages').select('reactions').where('id', '=', ours.id).executeTakeFirstOrThrow();
    expect(Object.values((await rx()).reactions ?? {})).toEqual(['❤️']);
    expect(await pane()).toMatch(new RegExp(`id="message-${ours.id}"[\\s\\S]*?message__reactions[^>]*>❤️<`));
    w.emu.react('anna', ours.external_id!, '👍');
    await w.settle();
    expect(Object.values((await rx()).reactions ?? {})).toEqual(['👍']);
    w.emu.react('anna', ours.external_id!, null);
    await w.settle();
    expect(Object.values((await rx()).reactions ?? {})).toEqual([]);
    expect(await pane()).not.toMatch(new RegExp(`id="message-${ours.id}"[^]*?message__reactions[^]*?</article>`));
  });

  it('an Instagram sticker arrives unsupported and shows a placeholder, never a blank', async () => {
    const m = w.emu.send('anna', 'instagram', { sticker: true });
    await w.settle();
    const [row] = await byMid(m.id);
    expect(row!.kind).toBe('unsupported');
    expect(await pane()).toMatch(new RegExp(`id="message-${row!.id}"[\\s\\S]*?cannot be shown here`));
  });

  it('a voice message (audio attachment) is downloaded into Parley', async () => {
    const m = w.emu.send('anna', 'instagram', { attachment: { sample: 'voice.m4a' } });
    await w.settle();
    const [row] = await byMid(m.id);
    expect(row!.kind).toBe('audio');
    const att = await db().selectFrom('attachments').selectAll().where('message_id', '=', row!.id).executeTakeFirstOrThrow();
    expect(att.status).toBe('stored');
    expect(att.source_url).toBeNull();
    expect(await pane()).toContain(`src="/media/${att.id}"`);
  });
});
