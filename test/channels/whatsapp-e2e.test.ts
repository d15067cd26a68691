// WhatsApp Cloud API end to end against the emulator (meta-platform.md §4): inbound of each
// type, statuses, media, sending, mark-as-read, the 24-hour window and templates.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, login, makeEmployee, type Session } from '../helpers.ts';
import { startMetaWorld, WA_PHONE_ID, type MetaWorld } from '../support/meta-world.ts';
import { refreshTemplates } from '../../src/channels/whatsapp/templates.service.ts';
import { createClient } from '../../src/crm/clients.service.ts';

let w: MetaWorld;
let agent: Session;

beforeAll(async () => {
  w = await startMetaWorld({ whatsapp: true });
  const e = await makeEmployee(w.t.deps, { role: 'agent', email: 'wa-agent@shop.test' });
  agent = await login(w.t.app, e.email);
});
afterAll(async () => w?.close());

const db = () => w.t.deps.db;

async function waChat(phone: string) {
  return db()
    .selectFrom('chats')
    .innerJoin('contacts', 'contacts.id', 'chats.contact_id')
    .selectAll('chats')
    .select(['contacts.name', 'contacts.phone', 'contacts.external_id'])
    .where('chats.channel_id', '=', w.whatsappId)
    .where('contacts.external_id', '=', phone)
    .executeTakeFirst();
}

const outbound = (chatId: number) => db().selectFrom('messages').selectAll().where('chat_id', '=', chatId).where('direction', '=', 'out').orderBy('id', 'desc').execute();

/** What Parley POSTed to /{phone-number-id}/messages, as JSON bodies. */
const sends = () => w.emu.calls({ pathIncludes: `/${WA_PHONE_ID}/messages`, method: 'POST' }).map((c) => c.body as Record<string, any>);

describe('WhatsApp inbound', () => {
  it('a text arrives in a chat named from the profile, with the phone shown', async () => {
    w.emu.send('anna', 'whatsapp', 'Добрый день, хочу записаться 📱');
    await w.settle();
    const chat = await waChat('79161234567');
    expect(chat).toMatchObject({ name: 'Anna Petrova', phone: '+79161234567', indicator: 'unread' });
    const page = await as(w.t.app, agent).get(`/chats/${chat!.id}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Добрый день, хочу записаться 📱');
    expect(page.body).toContain('+79161234567');
  });

  it('a voice note is fetched by media id with the token and served behind the access check', async () => {
    w.emu.send('anna', 'whatsapp', { attachment: { sample: 'voice.ogg' } });
    await w.settle();
    const chat = (await waChat('79161234567'))!;
    const att = await db()
      .selectFrom('attachments')
      .innerJoin('messages', 'messages.id', 'attachments.message_id')
      .selectAll('attachments')
      .select('messages.meta')
      .where('messages.chat_id', '=', chat.id)
      .orderBy('attachments.id', 'desc')
      .executeTakeFirstOrThrow();
    expect(att).toMatchObject({ status: 'stored', kind: 'audio' });
    expect(att.source_url).toBeNull();
    expect((att.meta as Record<string, unknown>).voice).toBe(true);
    const media = await as(w.t.app, agent).get(`/media/${att.id}`);
    expect(media.statusCode).toBe(200);
    const page = await as(w.t.app, agent).get(`/chats/${chat.id}`);
    expect(page.body).toMatch(new RegExp(`<audio controls preload="none" src="/media/${att.id}"`));
  });

  it('the employee answers (a quoted reply); statuses sent → delivered → read drive the ticks', async () => {
    const chat = (await waChat('79161234567'))!;
    await as(w.t.app, agent).post(`/chats/${chat.id}/read`);
    const first = await db().selectFrom('messages').select(['id', 'external_id']).where('chat_id', '=', chat.id).where('direction', '=', 'in').orderBy('id').executeTakeFirstOrThrow();
    const res = await as(w.t.app, agent).post(`/chats/${chat.id}/messages`, { text: 'Записали вас на 14:00 ✅', idempotency_key: 'wa-answer-0001', reply_to: String(first.id) });
    expect(res.statusCode).toBe(303);
    await w.settle();
    const sent = sends().filter((b) => b.type === 'text');
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ messaging_product: 'whatsapp', to: '+79161234567', text: { body: 'Записали вас на 14:00 ✅' }, context: { message_id: first.external_id } });
    expect(sent[0]!.biz_opaque_callback_data).toMatch(/^parley:\d+$/);
    // Mark as read went out once, for the newest inbound message (E4).
    const reads = sends().filter((b) => b.status === 'read');
    expect(reads).toHaveLength(1);
    const [out] = await outbound(chat.id);
    expect(out).toMatchObject({ status: 'delivered', external_id: expect.stringMatching(/^wamid\./) });
    w.emu.read('anna', 'whatsapp');
    await w.settle();
    const [read] = await outbound(chat.id);
    expect(read!.status).toBe('read');
    expect(read!.read_at).toBeTruthy();
    const page = await as(w.t.app, agent).get(`/chats/${chat.id}`);
    expect(page.body).toMatch(/data-direction="out" data-status="read"/);
    expect(page.body).toContain('class="message__quote"');
  });
});

describe('WhatsApp sending files and replies', () => {
  it('a photo is uploaded as media (size checked first), then sent by id; its caption follows as text', async () => {
    const chat = (await waChat('79161234567'))!;
    const boundary = '----parleywa';
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000a49444154789c6300010000050001', 'hex');
    const part = (name: string, value: string) => Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`);
    const form = (key: string, file: Buffer) =>
      Buffer.concat([
        part('_csrf', agent.csrf),
        part('idempotency_key', key),
        part('text', 'Вот смета'),
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="quote.png"\r\nContent-Type: image/png\r\n\r\n`),
        file,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
    const post = (body: Buffer) =>
      w.t.app.inject({ method: 'POST', url: `/chats/${chat.id}/messages`, headers: { cookie: agent.cookie, 'content-type': `multipart/form-data; boundary=${boundary}` }, payload: body });
    // Over WhatsApp's 5 MB for images: refused before anything is uploaded.
    const uploadsBefore = w.emu.calls({ pathIncludes: `/${WA_PHONE_ID}/media` }).length;
    const big = await post(form('wa-big-image-1', Buffer.concat([png, Buffer.alloc(5 * 1024 * 1024 + 1)])));
    expect(big.statusCode).toBe(422);
    expect(w.emu.calls({ pathIncludes: `/${WA_PHONE_ID}/media` }).length).toBe(uploadsBefore);
    const res = await post(form('wa-image-0001', png));
    expect(res.statusCode).toBe(303);
    await w.settle();
    const uploads = w.emu.calls({ pathIncludes: `/${WA_PHONE_ID}/media` });
    expect(uploads.length).toBe(uploadsBefore + 1);
    const image = sends().find((b) => b.type === 'image');
    expect(image?.image?.id).toBeTruthy();
    const rows = await db().selectFrom('messages').select(['kind', 'text', 'status']).where('chat_id', '=', chat.id).where('direction', '=', 'out').orderBy('id', 'desc').limit(2).execute();
    expect(rows.map((r) => [r.kind, r.text])).toEqual([
      ['text', 'Вот смета'],
      ['image', null],
    ]);
    for (const r of rows) expect(['sent', 'delivered', 'read']).toContain(r.status);
  });

  it('reply mode: the ↩ link opens the composer quoting the message; the platform gets its context', async () => {
    const chat = (await waChat('79161234567'))!;
    const inbound = await db()
      .selectFrom('messages')
      .select(['id', 'external_id', 'text'])
      .where('chat_id', '=', chat.id)
      .where('direction', '=', 'in')
      .where('kind', '=', 'text')
      .orderBy('id')
      .executeTakeFirstOrThrow();
    const page = await as(w.t.app, agent).get(`/chats/${chat.id}`);
    expect(page.body).toContain('data-can-reply');
    expect(page.body).toContain(`href="/chats/${chat.id}?reply_to=${inbound.id}"`);
    const composer = await as(w.t.app, agent).get(`/chats/${chat.id}/composer?reply_to=${inbound.id}`, { 'hx-request': 'true' });
    expect(composer.body).toContain(`name="reply_to" value="${inbound.id}"`);
    expect(composer.body).toContain('data-reply-cancel');
    expect(composer.body).toContain(inbound.text!);
    // A message of another chat cannot be quoted.
    const other = await db().selectFrom('messages').select('id').where('chat_id', '<>', chat.id).where('external_id', 'is not', null).executeTakeFirst();
    if (other) {
      const refused = await as(w.t.app, agent).post(`/chats/${chat.id}/messages`, { text: 'x', idempotency_key: 'wa-bad-reply-1', reply_to: String(other.id) });
      expect(refused.statusCode).toBe(422);
    }
  });
});

describe('WhatsApp and the CRM (D3)', () => {
  it('a known client whose number writes on WhatsApp is suggested first, by phone', async () => {
    await createClient(db(), { name: 'Zoe Elsewhere', phones: ['+33 6 00 00 00 00'] });
    const known = await createClient(db(), { name: 'Anna P. (client card)', phones: ['+7 916 123-45-67'] });
    const chat = (await waChat('79161234567'))!;
    const panel = await as(w.t.app, agent).get(`/chats/${chat.id}/client`, { 'hx-request': 'true' });
    expect(panel.statusCode).toBe(200);
    const suggestions = panel.body.slice(panel.body.indexOf(`id="chat-client-suggestions-${chat.id}"`));
    expect(suggestions).toContain('Anna P. (client card)');
    expect(suggestions.indexOf('Anna P. (client card)')).toBeLessThan(suggestions.indexOf('</ul>'));
    expect(suggestions).not.toContain('Zoe Elsewhere');
    void known;
  });
});

describe('WhatsApp window and templates', () => {
  it('outside 24 h the composer offers the approved templates only, and one is delivered', async () => {
    w.emu.send('marc', 'whatsapp', 'Bonjour, mon téléphone est prêt ?');
    await w.settle();
    const chat = (await waChat('33612345678'))!;
    // 25 hours pass, on both sides.
    w.emu.advanceClock('25h');
    await db()
      .updateTable('chats')
      .set({ last_inbound_at: new Date(Date.now() - 25 * 3600_000) })
      .where('id', '=', chat.id)
      .execute();
    await refreshTemplates(w.t.deps, w.whatsappId);
    const page = await as(w.t.app, agent).get(`/chats/${chat.id}`);
    expect(page.body).toContain('data-policy="template-required"');
    expect(page.body).toContain('data-template="order_ready:fr"');
    expect(page.body).toContain('data-template="hello_world:en_US"');
    expect(page.body).not.toContain('spring_promo');
    const free = await as(w.t.app, agent).post(`/chats/${chat.id}/messages`, { text: 'late', idempotency_key: 'wa-late-00001' });
    expect(free.statusCode).toBe(422);
    const chosen = await as(w.t.app, agent).get(`/chats/${chat.id}?template=order_ready:fr`);
    expect(chosen.body).toContain('name="param_2"');
    const res = await as(w.t.app, agent).post(`/chats/${chat.id}/messages`, { template: 'order_ready:fr', param_1: 'Marc', param_2: 'A-42', idempotency_key: 'wa-template-01' });
    expect(res.statusCode).toBe(303);
    await w.settle();
    const [m] = await outbound(chat.id);
    expect(m).toMatchObject({ status: 'delivered' });
    const tpl = sends().find((b) => b.type === 'template');
    expect(tpl).toMatchObject({
      template: {
        name: 'order_ready',
        language: { code: 'fr' },
        components: [
          {
            type: 'body',
            parameters: [
              { type: 'text', text: 'Marc' },
              { type: 'text', text: 'A-42' },
            ],
          },
        ],
      },
    });
    expect(m!.text).toBe(w.emu.thread('whatsapp', 'marc')!.messages.at(-1)!.text);
  });
});
