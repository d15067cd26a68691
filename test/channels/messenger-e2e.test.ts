import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, login, makeEmployee, type Session } from '../helpers.ts';
import { startMetaWorld, type MetaWorld } from '../support/meta-world.ts';

let w: MetaWorld;
let agent: Session;

beforeAll(async () => {
  w = await startMetaWorld();
  const e = await makeEmployee(w.t.deps, { role: 'agent', email: 'agent@shop.test' });
  agent = await login(w.t.app, e.email);
});
afterAll(async () => w?.close());

async function chatOf(contactName: string) {
  return w.t.deps.db
    .selectFrom('chats')
    .innerJoin('contacts', 'contacts.id', 'chats.contact_id')
    .selectAll('chats')
    .select(['contacts.name', 'contacts.profile_hidden'])
    .where('contacts.name', '=', contactName)
    .executeTakeFirst();
}

describe('Messenger end to end through the emulator', () => {
  it('a person writes (Cyrillic + emoji), Parley verifies the signature, stores and shows it', async () => {
    w.emu.send('anna', 'messenger', 'Здравствуйте! Сколько стоит замена экрана? 📱');
    await w.settle();
    const chat = await chatOf('Anna Petrova');
    expect(chat).toBeTruthy();
    expect(chat!.indicator).toBe('unread');
    const page = await as(w.t.app, agent).get(`/chats/${chat!.id}`);
    expect(page.body).toContain('Здравствуйте! Сколько стоит замена экрана? 📱');
  });

  it('the employee answers; the person receives it; reading it gives two ticks and the read time', async () => {
    const chat = (await chatOf('Anna Petrova'))!;
    await as(w.t.app, agent).post(`/chats/${chat.id}/read`);
    const res = await as(w.t.app, agent).post(`/chats/${chat.id}/messages`, { text: 'Bonjour ! 89 €, 40 minutes.', idempotency_key: 'e2e-answer-1' });
    expect(res.statusCode).toBe(303);
    await w.settle();
    const sent = w.emu.calls({ pathIncludes: '/messages' }).filter((c) => JSON.stringify(c.body ?? '').includes('89 €'));
    expect(sent).toHaveLength(1);
    expect(JSON.stringify(sent[0]!.body)).toContain('"messaging_type":"RESPONSE"');
    // mark_seen was sent once for the read messages (E4).
    const seen = w.emu.calls({ pathIncludes: '/messages' }).filter((c) => JSON.stringify(c.body ?? '').includes('mark_seen'));
    expect(seen).toHaveLength(1);

    w.emu.read('anna', 'messenger');
    await w.settle();
    const page = await as(w.t.app, agent).get(`/chats/${chat.id}`);
    expect(page.body).toMatch(/data-direction="out" data-status="read"/);
    expect(page.body).toMatch(/Read \d/);
    // One row for our message: the echo merged into it.
    const outs = await w.t.deps.db.selectFrom('messages').select(['id', 'external_id']).where('chat_id', '=', chat.id).where('direction', '=', 'out').execute();
    expect(outs).toHaveLength(1);
    expect(outs[0]!.external_id).toBeTruthy();
  });

  it('a message sent from Meta’s own inbox appears on the shop’s side', async () => {
    const chat = (await chatOf('Anna Petrova'))!;
    w.emu.sendFromPageInbox('messenger', 'anna', { text: 'Sent from the phone app' });
    await w.settle();
    const row = await w.t.deps.db.selectFrom('messages').select(['direction', 'sender_employee_id']).where('chat_id', '=', chat.id).where('text', '=', 'Sent from the phone app').executeTakeFirst();
    expect(row).toEqual({ direction: 'out', sender_employee_id: null });
  });

  it('a hidden profile shows as Unknown client, fetched once', async () => {
    w.emu.send('hidden', 'messenger', 'hi');
    await w.settle();
    const contact = await w.t.deps.db.selectFrom('contacts').selectAll().where('profile_hidden', '=', true).executeTakeFirst();
    expect(contact).toBeTruthy();
    const chat = await w.t.deps.db.selectFrom('chats').select('id').where('contact_id', '=', contact!.id).executeTakeFirstOrThrow();
    const page = await as(w.t.app, agent).get(`/chats/${chat.id}`);
    expect(page.body).toContain('Unknown client');
    w.emu.send('hidden', 'messenger', 'hello again');
    await w.settle();
    const profileCalls = w.emu.calls({ all: true, method: 'GET' }).filter((c) => c.path.endsWith('/' + contact!.external_id));
    expect(profileCalls).toHaveLength(1);
  });

  it('photos are downloaded into Parley and served behind the access check', async () => {
    w.emu.send('marc', 'messenger', { attachment: { type: 'image', sample: 'photo.jpg' } });
    await w.settle();
    const att = await w.t.deps.db.selectFrom('attachments').selectAll().orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(att.status).toBe('stored');
    const media = await as(w.t.app, agent).get(`/media/${att.id}`);
    expect(media.statusCode).toBe(200);
    expect(media.headers['x-content-type-options']).toBe('nosniff');
    expect((await w.t.app.inject({ url: `/media/${att.id}` })).statusCode).toBe(303);
  });
});

describe('outbound attachments', () => {
  it('a photo with a caption goes out as a file upload, then the text, in order', async () => {
    const chat = (await chatOf('Anna Petrova'))!;
    const boundary = '----parleytest';
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000a49444154789c6300010000050001', 'hex');
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${agent.csrf}\r\n`),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="idempotency_key"\r\n\r\nfile-key-12345\r\n`),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\nHere is the quote\r\n`),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="quote.png"\r\nContent-Type: image/png\r\n\r\n`),
      png,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const res = await w.t.app.inject({
      method: 'POST',
      url: `/chats/${chat.id}/messages`,
      headers: { cookie: agent.cookie, 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: body,
    });
    expect(res.statusCode).toBe(303);
    await w.settle();
    const rows = await w.t.deps.db
      .selectFrom('messages')
      .select(['id', 'kind', 'text', 'status'])
      .where('chat_id', '=', chat.id)
      .where('direction', '=', 'out')
      .orderBy('id', 'desc')
      .limit(2)
      .execute();
    expect(rows.map((r) => r.kind)).toEqual(['text', 'image']);
    for (const r of rows) expect(['sent', 'delivered']).toContain(r.status);
    const uploads = w.emu.calls({ pathIncludes: '/messages' }).filter((c) => JSON.stringify(c.body ?? '').includes('filedata'));
    expect(uploads).toHaveLength(1);
    const page = await as(w.t.app, agent).get(`/chats/${chat.id}`);
    expect(page.body).toMatch(/<img src="\/media\/\d+"/);
  });
});
