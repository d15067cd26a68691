// The control API over HTTP (what non-TypeScript scripts and the demo use), the UI, and config.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, startEmulator, type Emulator } from '../../emulator/index.ts';
import { graph, startReceiver, type Receiver } from './receiver.ts';

const PAGE = '104455667788990';
const TOKEN = 'EAAEMUpage104455667788990';
let rx: Receiver;
let emu: Emulator;

beforeEach(async () => {
  rx = await startReceiver();
  emu = await startEmulator({ webhooks: { callbackUrl: rx.url, retryDelaysMs: [5], batchWindowMs: 5 } });
});
afterEach(async () => {
  await emu.close();
  await rx.close();
});

async function control(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${emu.url}/_emulator${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

describe('control API', () => {
  it('people: create (hidden profile), send as them, read, list what Parley sent', async () => {
    const created = await control('POST', '/people', { name: 'Olga K', phone: '+7 900 111-22-33', hiddenProfile: true });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ id: 'olga-k', phone: '79001112233', hiddenProfile: true, ids: { [PAGE]: expect.any(String) } });
    expect((await control('POST', '/people', { name: 'Olga K', id: 'olga-k' })).status).toBe(409);

    const msg = await control('POST', '/people/olga-k/messages', { channel: 'messenger', text: 'Есть запись на завтра?' });
    expect(msg.status).toBe(201);
    await control('POST', '/flush');
    expect(rx.items()[0].message.text).toBe('Есть запись на завтра?');

    const psid = created.json.ids[PAGE];
    await graph(emu.graphUrl, 'POST', `/${PAGE}/messages`, { token: TOKEN, body: { recipient: { id: psid }, messaging_type: 'RESPONSE', message: { text: 'Да' } } });
    const read = await control('POST', '/people/olga-k/read', { channel: PAGE });
    expect(read.json.read).toHaveLength(1);
    const calls = await control('GET', '/calls?path=/messages');
    expect(calls.json).toHaveLength(1);
    expect(calls.json[0]).toMatchObject({ method: 'POST', status: 200, body: { message: { text: 'Да' } } });
    expect(calls.json[0].body.access_token).toBeUndefined();

    const profile = await graph(emu.graphUrl, 'GET', `/${psid}`, { token: TOKEN });
    expect(profile.json.error.error_subcode).toBe(2018218);
  });

  it('attachments, reactions, unsend, comments, history, threads', async () => {
    const photo = await control('POST', '/people/anna/messages', { channel: 'instagram', attachment: { sample: 'photo.png' } });
    expect(photo.json.attachments[0]).toMatchObject({ type: 'image', mimeType: 'image/png' });
    const custom = await control('POST', '/people/anna/messages', {
      channel: 'whatsapp',
      attachment: { dataBase64: Buffer.from('hello').toString('base64'), filename: 'note.txt', mimeType: 'text/plain' },
    });
    expect(custom.json.attachments[0]).toMatchObject({ type: 'document', filename: 'note.txt' });
    expect((await control('POST', '/people/anna/unsend', { messageId: photo.json.id })).json.webhook).toBe(true);
    const post = (await control('GET', `/posts?channel=${PAGE}`)).json[0];
    const comment = await control('POST', '/people/marc/comments', { postId: post.id, text: 'Combien ?' });
    expect(comment.status).toBe(201);
    const history = await control('POST', '/history', { channel: 'messenger', person: 'marc', count: 4, endAgo: '1h' });
    expect(history.json.messages).toHaveLength(4);
    const threads = await control('GET', '/threads?person=marc');
    expect(threads.json[0]).toMatchObject({ personId: 'marc', windowOpen: true, messages: expect.any(Array) });
    expect((await control('POST', '/people/nobody/messages', { channel: 'messenger', text: 'x' })).status).toBe(404);
    expect((await control('POST', '/people/anna/messages', { channel: 'nowhere', text: 'x' })).status).toBe(404);
  });

  it('clock: advance with durations, set, reset', async () => {
    const before = (await control('GET', '/clock')).json.now;
    const after = (await control('POST', '/clock', { advance: '24h1m' })).json.now;
    expect(after - before).toBeGreaterThanOrEqual(86_460_000);
    expect(after - before).toBeLessThan(86_470_000);
    const set = await control('POST', '/clock', { set: '2030-01-01T00:00:00Z' });
    expect(set.json.iso.startsWith('2030-01-01T00:00:0')).toBe(true);
    expect((await control('POST', '/clock', { advance: 'soon' })).status).toBe(400);
  });

  it('rate limits (613) and injected faults (e.g. 1200/2018024) on the Send API', async () => {
    emu.send('anna', 'messenger', 'hi');
    const psid = emu.scopedId('anna', 'messenger');
    const body = { recipient: { id: psid }, messaging_type: 'RESPONSE', message: { text: 'x' } };
    await control('POST', '/rate-limits', { channelId: PAGE, max: 1, windowMs: 60_000 });
    expect((await graph(emu.graphUrl, 'POST', `/${PAGE}/messages`, { token: TOKEN, body })).status).toBe(200);
    expect((await graph(emu.graphUrl, 'POST', `/${PAGE}/messages`, { token: TOKEN, body })).json.error.code).toBe(613);
    await control('DELETE', '/rate-limits');
    const fault = await control('POST', '/faults', { channelId: PAGE, pathIncludes: '/messages', code: 1200, subcode: 2018024, message: 'Temporary send message failure', count: 1 });
    expect(fault.status).toBe(201);
    const failed = await graph(emu.graphUrl, 'POST', `/${PAGE}/messages`, { token: TOKEN, body });
    expect(failed.json.error).toMatchObject({ code: 1200, error_subcode: 2018024 });
    expect((await graph(emu.graphUrl, 'POST', `/${PAGE}/messages`, { token: TOKEN, body })).status).toBe(200);
  });

  it('reset forgets people, threads and calls; revoked tokens work again', async () => {
    await control('POST', '/people', { name: 'Temp' });
    emu.send('anna', 'messenger', 'hi');
    await control('POST', '/tokens/revoke', { channelId: PAGE });
    expect((await graph(emu.graphUrl, 'GET', `/${PAGE}`, { token: TOKEN })).json.error.code).toBe(190);
    await control('POST', '/reset');
    expect((await control('GET', '/people')).json.map((p: any) => p.id)).toEqual(['anna', 'marc', 'hidden']);
    expect((await control('GET', '/threads')).json).toEqual([]);
    expect((await graph(emu.graphUrl, 'GET', `/${PAGE}?fields=name`, { token: TOKEN })).json).toEqual({ name: 'Demo Repair Shop', id: PAGE });
  });

  it('webhook callback and handshake, deliveries log', async () => {
    expect((await control('POST', '/webhooks/verify')).json[0].ok).toBe(false); // no verify token configured
    emu.ctx.config.webhooks.verifyToken = rx.verifyToken;
    expect((await control('POST', '/webhooks/verify')).json[0].ok).toBe(true);
    emu.send('anna', 'messenger', 'x');
    await control('POST', '/webhooks/flush');
    const deliveries = await control('GET', '/webhooks/deliveries');
    expect(deliveries.json[0]).toMatchObject({ state: 'delivered', url: rx.url, signature: expect.stringMatching(/^sha256=/) });
    expect((await control('PUT', '/webhooks/callback', { url: 'not a url' })).status).toBe(400);
  });
});

describe('customer UI', () => {
  it('renders pages and escapes hostile names and messages', async () => {
    emu.createPerson({ id: 'evil', name: '<script>alert(1)</script>', phone: '12345678' });
    emu.send('evil', 'messenger', '<img src=x onerror=alert(1)>');
    const home = await (await fetch(`${emu.url}/ui`)).text();
    expect(home).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(home).not.toContain('<script>alert(1)');
    const chat = await fetch(`${emu.url}/ui/chat?channel=${PAGE}&person=evil`);
    expect(chat.status).toBe(200);
    const chatHtml = await chat.text();
    expect(chatHtml).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(chatHtml).not.toContain('<img src=x');
    for (const path of ['/ui/posts?person=anna', '/ui/log', '/ui/assets/app.js', '/ui/assets/app.css']) expect((await fetch(`${emu.url}${path}`)).status).toBe(200);
  });

  it('sending a photo from the UI form raises the webhook; reading sends read events', async () => {
    const form = new FormData();
    form.set('channel', PAGE);
    form.set('person', 'anna');
    form.set('text', '');
    form.set('sample', 'photo.jpg');
    const res = await fetch(`${emu.url}/ui/chat/send`, { method: 'POST', body: form, redirect: 'manual' });
    expect(res.status).toBe(303);
    await emu.flush();
    expect(rx.items()[0].message.attachments[0].type).toBe('image');
    const psid = emu.scopedId('anna', 'messenger');
    await graph(emu.graphUrl, 'POST', `/${PAGE}/messages`, { token: TOKEN, body: { recipient: { id: psid }, messaging_type: 'RESPONSE', message: { text: 'Nice phone' } } });
    const fragment = await (await fetch(`${emu.url}/ui/chat/messages?channel=${PAGE}&person=anna`)).text();
    expect(fragment).toContain('Nice phone');
    expect(fragment).toContain('data-unread="1"');
    await fetch(`${emu.url}/ui/chat/read`, { method: 'POST', body: new URLSearchParams({ channel: PAGE, person: 'anna' }), redirect: 'manual' });
    await emu.flush();
    expect(rx.items().at(-1).read.watermark).toEqual(expect.any(Number));
  });
});

describe('configuration', () => {
  it('loads a JSON file and environment overrides', () => {
    const dir = mkdtempSync(join(tmpdir(), 'emu-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ appName: 'From file', webhooks: { retryDelaysMs: [1, 2] }, pages: [{ id: '111', name: 'Other Page', accessToken: 'tok-111' }] }));
    const config = loadConfig({
      EMULATOR_CONFIG: file,
      EMULATOR_PORT: '4555',
      EMULATOR_APP_SECRET: 's3cret',
      EMULATOR_CALLBACK_URL: 'http://127.0.0.1:3000/webhooks',
      EMULATOR_VERIFY_TOKEN: 'vt',
      EMULATOR_PAGE_TOKEN: 'tok-env',
    });
    expect(config).toMatchObject({
      port: 4555,
      appSecret: 's3cret',
      appName: 'From file',
      webhooks: { callbackUrl: 'http://127.0.0.1:3000/webhooks', verifyToken: 'vt', retryDelaysMs: [1, 2], batchWindowMs: 100 },
    });
    expect(config.pages).toEqual([{ id: '111', name: 'Other Page', accessToken: 'tok-env' }]);
    expect(config.whatsapp[0]!.phoneNumberId).toBe('106540352242922');
    expect(() => loadConfig({ EMULATOR_PORT: 'abc' })).toThrow(/EMULATOR_PORT/);
    expect(() =>
      loadConfig({
        EMULATOR_PAGES: JSON.stringify([
          { id: '1', name: 'a', accessToken: 't' },
          { id: '1', name: 'b', accessToken: 'u' },
        ]),
      }),
    ).toThrow(/used twice/);
  });
});
