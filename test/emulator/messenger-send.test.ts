// Send API contract for Pages and Instagram (meta-platform.md §2.5–2.8, §3.4, §6).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../emulator/index.ts';
import { graph, startReceiver, type Receiver } from './receiver.ts';

const PAGE = '104455667788990';
const TOKEN = 'EAAEMUpage104455667788990';
const IG = '17841400011122233';
let rx: Receiver;
let emu: Emulator;
let files: Server;
let filesUrl = '';

beforeAll(async () => {
  // Parley's side: serves media that Meta must fetch by URL.
  files = createServer((req, res) => {
    if (req.url === '/big.jpg') {
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': String(26 * 1024 * 1024) });
      res.end(Buffer.alloc(26 * 1024 * 1024));
    } else if (req.url === '/invoice.pdf') {
      res.writeHead(200, { 'content-type': 'application/pdf' });
      res.end(Buffer.from('%PDF-1.4 fake'));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
  filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => files.close(() => r())));

beforeEach(async () => {
  rx = await startReceiver();
  emu = await startEmulator({ webhooks: { callbackUrl: rx.url, retryDelaysMs: [5], batchWindowMs: 5 } });
});
afterEach(async () => {
  await emu.close();
  await rx.close();
});

const send = (body: unknown, token = TOKEN, path = `/${PAGE}/messages`) => graph(emu.graphUrl, 'POST', path, { token, body });
const text = (psid: string, t: string, extra: Record<string, unknown> = {}) => ({ recipient: { id: psid }, messaging_type: 'RESPONSE', message: { text: t }, ...extra });

describe('Messenger 24 h window and tags (§2.6)', () => {
  it('accepts a reply at 23h59 and refuses one at 24h01 with 10 / 2018278', async () => {
    const psid = emu.scopedId('anna', 'messenger');
    emu.send('anna', PAGE, 'Hello');
    emu.advanceClock('23h59m');
    const ok = await send(text(psid, 'Within the window'));
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ recipient_id: psid, message_id: expect.stringMatching(/^m_/) });
    emu.advanceClock('2m');
    const late = await send(text(psid, 'Too late'));
    expect(late.status).toBe(400);
    expect(late.json.error).toMatchObject({ code: 10, error_subcode: 2018278, type: 'OAuthException', fbtrace_id: expect.any(String) });
  });

  it('allows HUMAN_AGENT until 7 days after the last message, not after', async () => {
    const psid = emu.scopedId('anna', 'messenger');
    emu.send('anna', PAGE, 'Hello');
    const tagged = (t: string) => ({ recipient: { id: psid }, messaging_type: 'MESSAGE_TAG', tag: 'HUMAN_AGENT', message: { text: t } });
    emu.advanceClock('24h1m');
    expect((await send(tagged('day 2'))).status).toBe(200);
    emu.advanceClock('5d23h58m'); // 6d23h59m after the message
    expect((await send(tagged('day 7'))).status).toBe(200);
    emu.advanceClock('2m'); // 7d + 1m
    const refused = await send(tagged('day 8'));
    expect(refused.json.error).toMatchObject({ code: 10, error_subcode: 2018278 });
  });

  it('refuses the retired tags with error 100 whatever the window', async () => {
    const psid = emu.scopedId('anna', 'messenger');
    emu.send('anna', PAGE, 'Hello');
    for (const tag of ['ACCOUNT_UPDATE', 'POST_PURCHASE_UPDATE', 'CONFIRMED_EVENT_UPDATE']) {
      const res = await send({ recipient: { id: psid }, messaging_type: 'MESSAGE_TAG', tag, message: { text: 'update' } });
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe(100);
    }
  });

  it('a reaction reopens the window (§2.6)', async () => {
    const psid = emu.scopedId('anna', 'messenger');
    emu.send('anna', PAGE, 'Hello');
    const sent = await send(text(psid, 'Answer'));
    emu.advanceClock('30h');
    expect((await send(text(psid, 'late'))).json.error.error_subcode).toBe(2018278);
    emu.react('anna', sent.json.message_id, '👍');
    expect((await send(text(psid, 'again'))).status).toBe(200);
  });

  it('needs messaging_type on Messenger and a tag with MESSAGE_TAG', async () => {
    const psid = emu.scopedId('anna', 'messenger');
    emu.send('anna', PAGE, 'Hello');
    expect((await send({ recipient: { id: psid }, message: { text: 'x' } })).json.error.code).toBe(100);
    expect((await send({ recipient: { id: psid }, messaging_type: 'MESSAGE_TAG', message: { text: 'x' } })).json.error.code).toBe(100);
  });
});

describe('limits and errors (§2.5, §3.4, §6)', () => {
  it('Messenger text: 2000 characters pass, 2001 fail with 100', async () => {
    const psid = emu.scopedId('anna', 'messenger');
    emu.send('anna', PAGE, 'Hello');
    expect((await send(text(psid, 'я'.repeat(2000)))).status).toBe(200);
    const long = await send(text(psid, 'я'.repeat(2001)));
    expect(long.status).toBe(400);
    expect(long.json.error.code).toBe(100);
  });

  it('Instagram text: 1000 UTF-8 bytes pass, 1001 bytes fail with 100 (Cyrillic = 2 bytes)', async () => {
    const igsid = emu.scopedId('anna', 'instagram');
    emu.send('anna', IG, 'Привет');
    expect((await send(text(igsid, 'ж'.repeat(500)))).status).toBe(200);
    const long = await send(text(igsid, `${'ж'.repeat(500)}a`));
    expect(long.json.error.code).toBe(100);
  });

  it('token errors: missing 104, unknown 190, revoked 190 (control API)', async () => {
    const psid = emu.scopedId('anna', 'messenger');
    emu.send('anna', PAGE, 'Hello');
    expect((await graph(emu.graphUrl, 'POST', `/${PAGE}/messages`, { body: text(psid, 'x') })).json.error.code).toBe(104);
    const unknown = await send(text(psid, 'x'), 'EAAnotatoken');
    expect(unknown.json.error).toMatchObject({ code: 190, type: 'OAuthException' });
    expect(unknown.headers.get('www-authenticate')).toContain('invalid_token');
    const revoke = await fetch(`${emu.url}/_emulator/tokens/revoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: TOKEN }) });
    expect(revoke.status).toBe(200);
    const revoked = await send(text(psid, 'x'));
    expect(revoked.json.error).toMatchObject({ code: 190, error_subcode: 460 });
  });

  it('Bearer token works as well as access_token', async () => {
    const psid = emu.scopedId('anna', 'messenger');
    emu.send('anna', PAGE, 'Hello');
    const res = await graph(emu.graphUrl, 'POST', '/me/messages', { token: TOKEN, bearer: true, body: text(psid, 'bearer') });
    expect(res.status).toBe(200);
  });

  it('unknown recipient → 100/2018001; unreachable person → 551/1545041', async () => {
    expect((await send(text('1234567890123456', 'x'))).json.error).toMatchObject({ code: 100, error_subcode: 2018001 });
    const psid = emu.scopedId('marc', 'messenger');
    emu.send('marc', PAGE, 'Hi');
    emu.updatePerson('marc', { unreachable: true });
    expect((await send(text(psid, 'x'))).json.error).toMatchObject({ code: 551, error_subcode: 1545041 });
  });

  it('any version vNN.N is accepted, others are refused', async () => {
    const psid = emu.scopedId('anna', 'messenger');
    emu.send('anna', PAGE, 'Hello');
    expect((await graph(`${emu.url}/v19.0`, 'POST', `/${PAGE}/messages`, { token: TOKEN, body: text(psid, 'old') })).status).toBe(200);
    expect((await graph(`${emu.url}/latest`, 'POST', `/${PAGE}/messages`, { token: TOKEN, body: text(psid, 'x') })).status).toBe(400);
  });
});

describe('echoes, deliveries, reads (§2.3, §2.4, §3.2)', () => {
  it('a send comes back as echo (roles inverted, app_id, metadata) then delivery; reading sends the watermark', async () => {
    const psid = emu.scopedId('anna', 'messenger');
    emu.send('anna', PAGE, 'Hello');
    await emu.flush();
    rx.received.length = 0;
    const res = await send({ ...text(psid, 'Наш ответ'), message: { text: 'Наш ответ', metadata: 'crm:msg:1' } });
    await emu.flush();
    const [echo, delivery] = rx.items();
    expect(echo).toMatchObject({
      sender: { id: PAGE },
      recipient: { id: psid },
      message: { mid: res.json.message_id, is_echo: true, app_id: 100200300400500, metadata: 'crm:msg:1', text: 'Наш ответ' },
    });
    expect(delivery).toMatchObject({ sender: { id: psid }, recipient: { id: PAGE }, delivery: { mids: [res.json.message_id], watermark: echo.timestamp } });
    emu.read('anna', PAGE);
    await emu.flush();
    const read = rx.items().at(-1);
    expect(read).toMatchObject({ sender: { id: psid }, read: { watermark: echo.timestamp } });
    expect(read.read.mid).toBeUndefined();
  });

  it('no echo when the Page is not subscribed to message_echoes', async () => {
    emu.setSubscribedFields(PAGE, ['messages']);
    const psid = emu.scopedId('anna', 'messenger');
    emu.send('anna', PAGE, 'Hello');
    await send(text(psid, 'x'));
    await emu.flush();
    expect(rx.items().map((i) => Object.keys(i.message ?? i.delivery ?? {}))).toHaveLength(1);
  });

  it('echo of a message typed in Meta inbox carries a foreign app_id', async () => {
    const psid = emu.scopedId('anna', 'messenger');
    emu.sendFromPageInbox(PAGE, 'anna', { text: 'typed on the phone' });
    await emu.flush();
    const echo = rx.items()[0];
    expect(echo.message).toMatchObject({ is_echo: true, text: 'typed on the phone' });
    expect(echo.message.app_id).not.toBe(100200300400500);
    expect(echo.recipient.id).toBe(psid);
  });

  it('Instagram: echo through messages, read with mid, unsend with is_deleted, no delivery', async () => {
    const igsid = emu.scopedId('anna', 'instagram');
    const inbound = emu.send('anna', IG, 'Привет');
    const res = await send(text(igsid, 'Hi from the shop'));
    emu.read('anna', IG);
    emu.unsend('anna', inbound.id);
    await emu.flush();
    expect(rx.received.every((r) => r.json.object === 'instagram')).toBe(true);
    const items = rx.items();
    expect(items.map((i) => (i.read ? 'read' : i.message?.is_deleted ? 'deleted' : i.message?.is_echo ? 'echo' : 'message'))).toEqual(['message', 'echo', 'read', 'deleted']);
    expect(items[2].read).toEqual({ mid: res.json.message_id });
    expect(items[3].message).toEqual({ mid: inbound.id, is_deleted: true });
  });

  it('inbound attachments point at the emulator CDN and download without a token', async () => {
    emu.send('anna', PAGE, { attachment: { sample: 'photo.jpg' } });
    emu.send('anna', PAGE, { attachment: { sample: 'voice.mp3' } });
    emu.send('anna', PAGE, { attachment: { sample: 'price-list.pdf' } });
    emu.send('anna', PAGE, { attachment: { sample: 'video.mp4' } });
    emu.send('anna', PAGE, { sticker: true });
    await emu.flush();
    const atts = rx.items().map((i) => i.message.attachments[0]);
    expect(atts.map((a) => a.type)).toEqual(['image', 'audio', 'file', 'video', 'image']);
    expect(atts[4].payload.sticker_id).toEqual(expect.any(Number));
    const res = await fetch(atts[0].payload.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await res.arrayBuffer()).subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
    emu.advanceClock('4d'); // CDN URLs expire (§8)
    expect((await fetch(atts[0].payload.url)).status).toBe(403);
  });
});

describe('attachments out (§2.5, §8)', () => {
  it('by URL: Meta fetches it; unreachable → 100/2018008; > 25 MB → 100', async () => {
    const psid = emu.scopedId('anna', 'messenger');
    emu.send('anna', PAGE, 'Hello');
    const att = (url: string, extra = {}) => ({ recipient: { id: psid }, messaging_type: 'RESPONSE', message: { attachment: { type: 'file', payload: { url, ...extra } } } });
    const ok = await send(att(`${filesUrl}/invoice.pdf`, { is_reusable: true }));
    expect(ok.status).toBe(200);
    expect(ok.json.attachment_id).toEqual(expect.any(String));
    expect((await send(att(`${filesUrl}/missing.pdf`))).json.error).toMatchObject({ code: 100, error_subcode: 2018008 });
    expect((await send(att(`${filesUrl}/big.jpg`))).json.error.code).toBe(100);
    const reuse = await send({ recipient: { id: psid }, messaging_type: 'RESPONSE', message: { attachment: { type: 'file', payload: { attachment_id: ok.json.attachment_id } } } });
    expect(reuse.status).toBe(200);
    const view = emu.thread(PAGE, 'anna')!;
    expect(view.messages.at(-1)!.attachments[0]).toMatchObject({ filename: 'invoice.pdf', mimeType: 'application/pdf' });
  });

  it('by multipart upload (filedata)', async () => {
    const psid = emu.scopedId('anna', 'messenger');
    emu.send('anna', PAGE, 'Hello');
    const form = new FormData();
    form.set('recipient', JSON.stringify({ id: psid }));
    form.set('messaging_type', 'RESPONSE');
    form.set('message', JSON.stringify({ attachment: { type: 'image', payload: { is_reusable: true } } }));
    form.set('filedata', new Blob([Buffer.from('\x89PNG fake')], { type: 'image/png' }), 'pic.png');
    const res = await graph(emu.graphUrl, 'POST', `/${PAGE}/messages`, { token: TOKEN, form });
    expect(res.status).toBe(200);
    const call = emu.calls({ pathIncludes: '/messages' }).at(-1)!;
    expect(call.body).toMatchObject({ filedata: { filename: 'pic.png', contentType: 'image/png' } });
    await emu.flush();
    const echo = rx.items().find((i) => i.message?.is_echo);
    expect(echo.message.attachments[0].type).toBe('image');
  });

  it('Instagram images are capped at 8 MB (§3.4)', async () => {
    const igsid = emu.scopedId('anna', 'instagram');
    emu.send('anna', IG, 'Hello');
    const form = new FormData();
    form.set('recipient', JSON.stringify({ id: igsid }));
    form.set('message', JSON.stringify({ attachment: { type: 'image', payload: {} } }));
    form.set('filedata', new Blob([Buffer.alloc(8 * 1024 * 1024 + 1)], { type: 'image/jpeg' }), 'big.jpg');
    const res = await graph(emu.graphUrl, 'POST', `/${PAGE}/messages`, { token: TOKEN, form });
    expect(res.json.error.code).toBe(100);
  });
});

describe('sender actions (§2.7)', () => {
  it('mark_seen / typing_on answer {recipient_id} and are recorded', async () => {
    const psid = emu.scopedId('anna', 'messenger');
    emu.send('anna', PAGE, 'Hello');
    for (const action of ['mark_seen', 'typing_on', 'typing_off']) {
      const res = await send({ recipient: { id: psid }, sender_action: action });
      expect(res.json).toEqual({ recipient_id: psid });
    }
    expect(emu.calls().map((c) => (c.body as any).sender_action)).toEqual(['mark_seen', 'typing_on', 'typing_off']);
    expect(emu.thread(PAGE, 'anna')!.seenByBusinessAt).toEqual(expect.any(Number));
    expect((await send({ recipient: { id: psid }, sender_action: 'dance' })).json.error.code).toBe(100);
  });
});

describe('comments and private replies (§2.8, §3.3)', () => {
  it('Page feed comment → webhook; public reply; one private reply; second → 10900', async () => {
    const post = emu.posts(PAGE)[0]!;
    const comment = emu.comment('anna', post.id, 'Есть размер M?');
    await emu.flush();
    const change = rx.items()[0];
    expect(change).toMatchObject({ field: 'feed', item: 'comment', verb: 'add', comment_id: comment.id, post_id: post.id, parent_id: post.id, message: 'Есть размер M?' });
    expect(change.from.name).toBe('Anna Petrova');

    const reply = await graph(emu.graphUrl, 'POST', `/${comment.id}/comments`, { token: TOKEN, body: { message: 'Yes!' } });
    expect(reply.json).toEqual({ id: expect.any(String) });

    const priv = await send({ recipient: { comment_id: comment.id }, message: { text: 'Details in private' } });
    expect(priv.status).toBe(200);
    expect(priv.json.recipient_id).toBe(emu.scopedId('anna', PAGE));
    const again = await send({ recipient: { comment_id: comment.id }, message: { text: 'Again' } });
    expect(again.json.error.code).toBe(10900);
    // A private reply does not open the window (§2.8).
    expect((await send(text(priv.json.recipient_id, 'follow-up'))).json.error.error_subcode).toBe(2018278);
    expect(emu.calls().map((c) => c.path)).toEqual([`/${comment.id}/comments`, `/${PAGE}/messages`, `/${PAGE}/messages`, `/${PAGE}/messages`]);
  });

  it('private reply after 7 days is refused (10903)', async () => {
    const post = emu.posts(PAGE)[0]!;
    const comment = emu.comment('anna', post.id, 'old comment');
    emu.advanceClock('7d1m');
    expect((await send({ recipient: { comment_id: comment.id }, message: { text: 'late' } })).json.error.code).toBe(10903);
  });

  it('Instagram comment → comments change; reply via /replies', async () => {
    const media = emu.posts(IG)[0]!;
    const comment = emu.comment('anna', media.id, 'Сколько стоит?');
    const res = await graph(emu.graphUrl, 'POST', `/${comment.id}/replies`, { token: TOKEN, body: { message: '89 EUR' } });
    expect(res.status).toBe(200);
    await emu.flush();
    const [theirs, ours] = rx.items();
    expect(theirs).toMatchObject({ field: 'comments', id: comment.id, text: 'Сколько стоит?', from: { username: 'anna.petrova' }, media: { id: media.id, media_product_type: 'REELS' } });
    expect(ours).toMatchObject({ field: 'comments', id: res.json.id, parent_id: comment.id, from: { id: IG } });
    expect((await graph(emu.graphUrl, 'POST', `/${comment.id}/comments`, { token: TOKEN, body: { message: 'x' } })).status).toBe(400);
  });
});

describe('subscribed_apps (§1.5)', () => {
  it('POST sets the fields, GET lists them, DELETE stops webhooks', async () => {
    const post = await graph(emu.graphUrl, 'POST', `/${PAGE}/subscribed_apps?subscribed_fields=messages,message_echoes,feed`, { token: TOKEN });
    expect(post.json).toEqual({ success: true });
    const get = await graph(emu.graphUrl, 'GET', `/${PAGE}/subscribed_apps`, { token: TOKEN });
    expect(get.json.data[0]).toMatchObject({ id: '100200300400500', subscribed_fields: ['messages', 'message_echoes', 'feed'] });
    expect((await graph(emu.graphUrl, 'POST', `/${PAGE}/subscribed_apps`, { token: TOKEN })).json.error.code).toBe(100);
    await graph(emu.graphUrl, 'DELETE', `/${PAGE}/subscribed_apps`, { token: TOKEN });
    emu.send('anna', PAGE, 'nobody hears');
    emu.send('anna', IG, 'nor here');
    await emu.flush();
    expect(rx.received).toHaveLength(0);
    expect(emu.calls().map((c) => c.method)).toEqual(['POST', 'POST', 'DELETE']);
  });
});
