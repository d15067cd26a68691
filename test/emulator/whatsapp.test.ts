// WhatsApp Cloud API contract (meta-platform.md §4, §6).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../emulator/index.ts';
import { graph, startReceiver, type Receiver } from './receiver.ts';

const PHONE = '106540352242922';
const WABA = '102290129340398';
const TOKEN = 'EAAEMUwhatsapp106540352242922';
let rx: Receiver;
let emu: Emulator;

async function start(extra: Record<string, unknown> = {}): Promise<void> {
  rx = await startReceiver();
  emu = await startEmulator({ webhooks: { callbackUrl: rx.url, retryDelaysMs: [5], batchWindowMs: 5 }, ...extra });
}
beforeEach(() => start());
afterEach(async () => {
  await emu.close();
  await rx.close();
});

const send = (body: Record<string, unknown>, token = TOKEN) =>
  graph(emu.graphUrl, 'POST', `/${PHONE}/messages`, { token, bearer: true, body: { messaging_product: 'whatsapp', recipient_type: 'individual', ...body } });
const statuses = () => rx.items().filter((i) => i.wa === 'status');

describe('sending', () => {
  it('text inside the window: accepted, then sent + delivered statuses; read when the person reads', async () => {
    const inbound = emu.send('anna', 'whatsapp', 'Хочу записаться');
    const res = await send({ to: '+79161234567', type: 'text', text: { body: 'Записали на 14:00 ✅' }, context: { message_id: inbound.id } });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ messaging_product: 'whatsapp', contacts: [{ input: '+79161234567', wa_id: '79161234567' }], messages: [{ id: expect.stringMatching(/^wamid\./) }] });
    emu.read('anna', 'whatsapp');
    await emu.flush();
    const s = statuses();
    expect(s.map((x) => x.status)).toEqual(['sent', 'delivered', 'read']);
    expect(s[0]).toMatchObject({ id: res.json.messages[0].id, recipient_id: '79161234567', timestamp: expect.stringMatching(/^\d+$/), pricing: { pricing_model: 'PMP', category: 'service' } });
    expect(emu.thread('whatsapp', 'anna')!.messages.at(-1)!.replyTo).toBe(inbound.id);
  });

  it('outside 24 h a free-form message fails with 131047 (async by default), a template passes', async () => {
    emu.send('anna', 'whatsapp', 'hello');
    emu.advanceClock('24h1m');
    const free = await send({ to: '79161234567', type: 'text', text: { body: 'late' } });
    expect(free.status).toBe(200);
    const tpl = await send({
      to: '79161234567',
      type: 'template',
      template: {
        name: 'order_ready',
        language: { code: 'en_US' },
        components: [
          {
            type: 'body',
            parameters: [
              { type: 'text', text: 'Anna' },
              { type: 'text', text: 'A-42' },
            ],
          },
        ],
      },
    });
    expect(tpl.status).toBe(200);
    expect(tpl.json.messages[0]).toMatchObject({ message_status: 'accepted' });
    await emu.flush();
    const failed = statuses().find((x) => x.id === free.json.messages[0].id);
    expect(failed).toMatchObject({ status: 'failed', errors: [{ code: 131047, title: 'Re-engagement message' }] });
    const sent = statuses()
      .filter((x) => x.id === tpl.json.messages[0].id)
      .map((x) => x.status);
    expect(sent).toEqual(['sent', 'delivered']);
    expect(emu.thread('whatsapp', 'anna')!.messages.at(-1)!.text).toBe('Hello Anna, your order A-42 is ready for pickup.');
  });

  it('131047 synchronously when configured', async () => {
    await emu.close();
    await rx.close();
    await start({ whatsappWindowError: 'sync' });
    emu.send('anna', 'whatsapp', 'hello');
    emu.advanceClock('23h59m');
    expect((await send({ to: '79161234567', type: 'text', text: { body: 'ok' } })).status).toBe(200);
    emu.advanceClock('2m');
    const late = await send({ to: '79161234567', type: 'text', text: { body: 'late' } });
    expect(late.status).toBe(400);
    expect(late.json.error).toMatchObject({ code: 131047, error_data: { details: expect.stringContaining('24 hours') } });
  });

  it('template errors: unknown name/language 132001, wrong parameters 132000, not approved refused', async () => {
    const unknown = await send({ to: '79161234567', type: 'template', template: { name: 'nope', language: { code: 'en_US' } } });
    expect(unknown.json.error.code).toBe(132001);
    const lang = await send({ to: '79161234567', type: 'template', template: { name: 'hello_world', language: { code: 'de' } } });
    expect(lang.json.error.code).toBe(132001);
    const params = await send({
      to: '79161234567',
      type: 'template',
      template: { name: 'order_ready', language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'x' }] }] },
    });
    expect(params.json.error.code).toBe(132000);
    const pending = await send({ to: '79161234567', type: 'template', template: { name: 'spring_promo', language: { code: 'en_US' } } });
    expect(pending.status).toBe(400);
    const hello = await send({ to: '79161234567', type: 'template', template: { name: 'hello_world', language: { code: 'en_US' } } });
    expect(hello.status).toBe(200);
  });

  it('text limit 4096 characters', async () => {
    emu.send('anna', 'whatsapp', 'hi');
    expect((await send({ to: '79161234567', type: 'text', text: { body: 'ы'.repeat(4096) } })).status).toBe(200);
    const long = await send({ to: '79161234567', type: 'text', text: { body: 'ы'.repeat(4097) } });
    expect(long.status).toBe(400);
    expect(long.json.error.code).toBe(100);
  });

  it('token errors answer 401 with 190; a number not on WhatsApp fails 131026 asynchronously', async () => {
    const bad = await send({ to: '79161234567', type: 'text', text: { body: 'x' } }, 'wrong');
    expect(bad.status).toBe(401);
    expect(bad.json.error.code).toBe(190);
    const ghost = await send({ to: '+10000000000', type: 'text', text: { body: 'x' } });
    expect(ghost.status).toBe(200);
    await emu.flush();
    expect(statuses()[0]).toMatchObject({ status: 'failed', errors: [{ code: 131026 }] });
  });

  it('mark as read: {success:true}; the person sees it', async () => {
    const a = emu.send('anna', 'whatsapp', 'one');
    const b = emu.send('anna', 'whatsapp', 'two');
    const res = await send({ status: 'read', message_id: b.id });
    expect(res.json).toEqual({ success: true });
    const view = emu.thread('whatsapp', 'anna')!;
    expect(view.messages.find((m) => m.id === a.id)!.readByBusinessAt).toEqual(expect.any(Number));
    expect((await send({ status: 'read', message_id: 'wamid.nope' })).json.error.code).toBe(100);
  });

  it('rate limits are off by default and configurable: 130429 per number, 131056 per pair', async () => {
    emu.send('anna', 'whatsapp', 'hi');
    emu.send('marc', 'whatsapp', 'hi');
    emu.setRateLimit({ channelId: PHONE, max: 1, windowMs: 6000, perRecipient: true });
    expect((await send({ to: '79161234567', type: 'text', text: { body: '1' } })).status).toBe(200);
    expect((await send({ to: '79161234567', type: 'text', text: { body: '2' } })).json.error.code).toBe(131056);
    expect((await send({ to: '33612345678', type: 'text', text: { body: '3' } })).status).toBe(200);
    emu.clearRateLimits();
    emu.setRateLimit({ channelId: PHONE, max: 2, windowMs: 1000 });
    await send({ to: '33612345678', type: 'text', text: { body: 'a' } });
    await send({ to: '33612345678', type: 'text', text: { body: 'b' } });
    expect((await send({ to: '33612345678', type: 'text', text: { body: 'c' } })).json.error.code).toBe(130429);
    emu.advanceClock('2s');
    expect((await send({ to: '33612345678', type: 'text', text: { body: 'd' } })).status).toBe(200);
  });
});

describe('media (§4.2)', () => {
  it('inbound voice note: id + url; GET /{media-id} → url valid 5 minutes, download needs the bearer token', async () => {
    emu.send('anna', 'whatsapp', { attachment: { sample: 'voice.ogg' } });
    await emu.flush();
    const msg = rx.items()[0];
    expect(msg).toMatchObject({ type: 'audio', audio: { id: expect.any(String), mime_type: 'audio/ogg; codecs=opus', voice: true, sha256: expect.any(String) } });
    const info = await graph(emu.graphUrl, 'GET', `/${msg.audio.id}`, { token: TOKEN, bearer: true });
    expect(info.json).toMatchObject({ messaging_product: 'whatsapp', mime_type: 'audio/ogg; codecs=opus', id: msg.audio.id, file_size: expect.any(Number), sha256: msg.audio.sha256 });
    expect((await fetch(info.json.url)).status).toBe(401);
    const dl = await fetch(info.json.url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(dl.status).toBe(200);
    expect(
      Buffer.from(await dl.arrayBuffer())
        .subarray(0, 4)
        .toString(),
    ).toBe('OggS');
    emu.advanceClock('5m1s');
    expect((await fetch(info.json.url, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
    emu.advanceClock('7d');
    expect((await graph(emu.graphUrl, 'GET', `/${msg.audio.id}`, { token: TOKEN, bearer: true })).status).toBe(400);
  });

  it('document and image webhooks carry filename / caption', async () => {
    emu.send('anna', 'whatsapp', { attachment: { sample: 'price-list.pdf', caption: 'Договор' } });
    emu.send('anna', 'whatsapp', { text: 'look', attachment: { sample: 'photo.jpg' } });
    emu.send('anna', 'whatsapp', { sticker: true });
    await emu.flush();
    const [doc, img, sticker] = rx.items();
    expect(doc).toMatchObject({ type: 'document', document: { filename: 'price-list.pdf', caption: 'Договор', mime_type: 'application/pdf' } });
    expect(img).toMatchObject({ type: 'image', image: { caption: 'look', mime_type: 'image/jpeg' } });
    expect(sticker).toMatchObject({ type: 'sticker', sticker: { mime_type: 'image/webp' } });
  });

  it('upload with POST /{phone}/media then send by id; image over 5 MB refused', async () => {
    emu.send('anna', 'whatsapp', 'hi');
    const form = new FormData();
    form.set('messaging_product', 'whatsapp');
    form.set('type', 'image/png');
    form.set('file', new Blob([Buffer.from('\x89PNG small')], { type: 'image/png' }), 'a.png');
    const up = await graph(emu.graphUrl, 'POST', `/${PHONE}/media`, { token: TOKEN, bearer: true, form });
    expect(up.json).toEqual({ id: expect.any(String) });
    expect((await send({ to: '79161234567', type: 'image', image: { id: up.json.id, caption: 'photo' } })).status).toBe(200);
    expect((await send({ to: '79161234567', type: 'image', image: { id: '999' } })).json.error.code).toBe(100);
    const big = new FormData();
    big.set('messaging_product', 'whatsapp');
    big.set('file', new Blob([Buffer.alloc(5 * 1024 * 1024 + 1)], { type: 'image/jpeg' }), 'big.jpg');
    expect((await graph(emu.graphUrl, 'POST', `/${PHONE}/media`, { token: TOKEN, bearer: true, form: big })).json.error.code).toBe(131053);
  });

  it('reactions, removal without emoji, and edits as unsupported', async () => {
    const res = await (async () => {
      emu.send('anna', 'whatsapp', 'hi');
      return send({ to: '79161234567', type: 'text', text: { body: 'answer' } });
    })();
    const inbound = emu.send('anna', 'whatsapp', 'typo');
    emu.react('anna', res.json.messages[0].id, '👍');
    emu.react('anna', res.json.messages[0].id, null);
    emu.edit('anna', inbound.id, 'fixed');
    await emu.flush();
    const msgs = rx.items().filter((i) => i.wa === 'message');
    expect(msgs[2]).toMatchObject({ type: 'reaction', reaction: { message_id: res.json.messages[0].id, emoji: '👍' } });
    expect(msgs[3].reaction).toEqual({ message_id: res.json.messages[0].id });
    expect(msgs[4]).toMatchObject({ type: 'unsupported', unsupported: { type: 'edit' }, errors: [{ code: 131051 }] });
  });
});

describe('account endpoints', () => {
  it('GET /{waba-id}/message_templates lists the templates; phone_numbers; subscribed_apps', async () => {
    const res = await graph(emu.graphUrl, 'GET', `/${WABA}/message_templates?limit=2`, { token: TOKEN, bearer: true });
    expect(res.json.data).toHaveLength(2);
    expect(res.json.data[0]).toMatchObject({ name: 'hello_world', language: 'en_US', status: 'APPROVED', category: 'UTILITY', components: expect.any(Array) });
    expect(res.json.paging.next).toContain('after=');
    const next = await fetch(res.json.paging.next, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(((await next.json()) as any).data.map((t: any) => `${t.name}/${t.language}`)).toEqual(['order_ready/fr', 'spring_promo/en_US']);
    const approved = await graph(emu.graphUrl, 'GET', `/${WABA}/message_templates?status=APPROVED`, { token: TOKEN, bearer: true });
    expect(approved.json.data).toHaveLength(3);
    const numbers = await graph(emu.graphUrl, 'GET', `/${WABA}/phone_numbers`, { token: TOKEN, bearer: true });
    expect(numbers.json.data[0]).toMatchObject({ id: PHONE, verified_name: 'Demo Repair Shop' });
    expect((await graph(emu.graphUrl, 'POST', `/${WABA}/subscribed_apps`, { token: TOKEN, bearer: true })).json).toEqual({ success: true });
  });
});
