// Contract tests of the webhooks the emulator sends (meta-platform.md §1): signature over the
// raw escaped-unicode bytes, batching, retries, chaos, verification handshake.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { metaJsonStringify, startEmulator, type Emulator } from '../../emulator/index.ts';
import { startReceiver, validSignature, type Receiver } from './receiver.ts';

const SECRET = 'contract-secret';
let rx: Receiver;
let emu: Emulator;

beforeEach(async () => {
  rx = await startReceiver();
  emu = await startEmulator({ appSecret: SECRET, webhooks: { callbackUrl: rx.url, verifyToken: rx.verifyToken, retryDelaysMs: [5, 10, 20], batchWindowMs: 5 } });
});
afterEach(async () => {
  await emu.close();
  await rx.close();
});

describe('signature and serialization (§1.2)', () => {
  it('signs the exact bytes sent, with non-ASCII escaped as \\uXXXX (surrogate pairs for emoji) and / as \\/', async () => {
    const text = 'Здравствуйте! Ремонт экрана 🙂👍 за 3000 ₽ — см. https://shop.example/price';
    emu.send('anna', 'messenger', text);
    await emu.flush();
    expect(rx.received).toHaveLength(1);
    const r = rx.received[0]!;
    expect(validSignature(r, SECRET)).toBe(true);
    expect(validSignature(r, 'other-secret')).toBe(false);
    const raw = r.raw.toString('latin1');
    expect(/[^\x00-\x7f]/.test(raw)).toBe(false);
    expect(raw).toContain('\\u0417\\u0434\\u0440\\u0430\\u0432');
    expect(raw).toContain('\\ud83d\\ude42\\ud83d\\udc4d');
    expect(raw).toContain('https:\\/\\/shop.example\\/price');
    // The escaped body parses back to the original text.
    expect(r.json.entry[0].messaging[0].message.text).toBe(text);
    // A receiver that re-serializes the parsed object would compute a different HMAC.
    expect(JSON.stringify(r.json)).not.toBe(r.raw.toString('utf8'));
    expect(r.headers['content-type']).toBe('application/json');
    expect(String(r.headers['x-hub-signature'])).toMatch(/^sha1=[0-9a-f]{40}$/);
  });

  it('escapes like Meta for WhatsApp and Instagram payloads too', async () => {
    emu.send('anna', 'whatsapp', 'Добрый день ✅');
    emu.send('anna', 'instagram', 'Привет 👋');
    await emu.flush();
    expect(rx.received).toHaveLength(2);
    for (const r of rx.received) {
      expect(validSignature(r, SECRET)).toBe(true);
      expect(/[^\x00-\x7f]/.test(r.raw.toString('latin1'))).toBe(false);
    }
    const objects = rx.received.map((r) => r.json.object).sort();
    expect(objects).toEqual(['instagram', 'whatsapp_business_account']);
  });

  it('metaJsonStringify escapes lowercase and keeps ASCII untouched', () => {
    expect(metaJsonStringify({ t: 'é/😀' })).toBe('{"t":"\\u00e9\\/\\ud83d\\ude00"}');
    expect(metaJsonStringify({ t: 'a/b' }, { escapeSlashes: false })).toBe('{"t":"a/b"}');
  });
});

describe('batching (§1.4)', () => {
  it('sends several pending events in one POST, several items per entry', async () => {
    emu.send('anna', 'messenger', 'one');
    emu.send('marc', 'messenger', 'two');
    emu.send('anna', 'messenger', 'three');
    await emu.flush();
    expect(rx.received).toHaveLength(1);
    const body = rx.received[0]!.json;
    expect(body.object).toBe('page');
    expect(body.entry).toHaveLength(1);
    expect(body.entry[0].id).toBe('104455667788990');
    expect(body.entry[0].messaging.map((m: any) => m.message.text)).toEqual(['one', 'two', 'three']);
    expect(typeof body.entry[0].time).toBe('number');
  });

  it('groups WhatsApp messages of one number into one change value with contacts', async () => {
    emu.send('anna', 'whatsapp', 'a');
    emu.send('marc', 'whatsapp', 'b');
    await emu.flush();
    const value = rx.received[0]!.json.entry[0].changes[0].value;
    expect(rx.received[0]!.json.entry[0].id).toBe('102290129340398');
    expect(value.metadata).toEqual({ display_phone_number: '15550001234', phone_number_id: '106540352242922' });
    expect(value.messages.map((m: any) => m.text.body)).toEqual(['a', 'b']);
    expect(value.contacts.map((c: any) => c.wa_id)).toEqual(['79161234567', '33612345678']);
    expect(typeof value.messages[0].timestamp).toBe('string');
  });
});

describe('retries (§1.3)', () => {
  it('retries a non-200 answer with the same bytes and signature until 200', async () => {
    rx.script = [500, 403];
    emu.send('anna', 'messenger', 'retry me');
    await emu.flush();
    expect(rx.received.map((r) => r.status)).toEqual([500, 403, 200]);
    const [a, b, c] = rx.received;
    expect(a!.raw.equals(c!.raw)).toBe(true);
    expect(a!.headers['x-hub-signature-256']).toBe(c!.headers['x-hub-signature-256']);
    expect(b!.raw.equals(c!.raw)).toBe(true);
    const delivery = emu.deliveries()[0]!;
    expect(delivery.state).toBe('delivered');
    expect(delivery.attempts).toHaveLength(3);
  });

  it('treats anything but 200 as failure and drops after the bounded retries', async () => {
    rx.defaultStatus = 204;
    emu.send('anna', 'messenger', 'never accepted');
    await emu.flush();
    expect(rx.received).toHaveLength(4); // first attempt + 3 retries
    expect(emu.deliveries()[0]!.state).toBe('dropped');
  });

  it('retries after a connection error', async () => {
    const url = rx.url;
    await rx.close();
    emu.setCallbackUrl(url);
    emu.send('anna', 'messenger', 'nobody listens');
    await emu.flush();
    const d = emu.deliveries()[0]!;
    expect(d.state).toBe('dropped');
    expect(d.attempts.every((a) => a.error)).toBe(true);
    rx = await startReceiver();
  });
});

describe('chaos (§1.4)', () => {
  it('duplicates and re-orders events across POSTs', async () => {
    emu.setChaos({ enabled: true, duplicateRate: 1, reorder: true, maxDelayMs: 5, seed: 7 });
    const sent = Array.from({ length: 8 }, (_, i) => emu.send('anna', 'messenger', `m${i}`).id);
    await emu.flush();
    const mids = rx.items().map((m) => m.message.mid as string);
    expect(new Set(mids)).toEqual(new Set(sent));
    expect(mids.length).toBe(16);
    for (const id of sent) expect(mids.filter((m) => m === id)).toHaveLength(2);
    const firstSeen = [...new Set(mids)];
    expect(firstSeen).not.toEqual(sent);
    expect(rx.received.length).toBeGreaterThan(1);
    for (const r of rx.received) {
      expect(validSignature(r, SECRET)).toBe(true);
      // Meta never repeats an event inside the same POST.
      const inBody = r.json.entry.flatMap((e: any) => e.messaging.map((m: any) => m.message.mid));
      expect(new Set(inBody).size).toBe(inBody.length);
    }
  });

  it('is off by default and can be switched through the control API', async () => {
    expect(emu.config.chaos.enabled).toBe(false);
    const res = await fetch(`${emu.url}/_emulator/chaos`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ enabled: true, duplicateRate: 1, reorder: false, maxDelayMs: 0 }),
    });
    expect(res.status).toBe(200);
    emu.send('anna', 'messenger', 'x');
    await emu.flush();
    expect(rx.items()).toHaveLength(2);
  });
});

describe('verification handshake (§1.1)', () => {
  it('GETs the callback with hub.mode=subscribe, the verify token and a challenge to echo', async () => {
    const [ok] = await emu.verifyWebhooks();
    expect(ok).toMatchObject({ url: rx.url, ok: true, status: 200 });
    rx.verifyToken = 'something-else';
    const [bad] = await emu.verifyWebhooks();
    expect(bad).toMatchObject({ ok: false, status: 403 });
  });
});
