import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, createTestApp, login, makeEmployee, type Session, type TestApp } from '../helpers.ts';
import { startEmulator, SAMPLE_TRANSCRIPTS, type Emulator } from '../../emulator/index.ts';
import { readSetting } from '../../src/platform/app-settings.repository.ts';
import { saveEngine } from '../../src/transcription/engine.ts';

/**
 * Issue #21 finding 9b: the transcription URL an admin types in Settings › Transcription
 * receives the API key, so it may not point inside the network (loopback, private, link-local,
 * the cloud metadata address) — refused when saved and again when the request connects —
 * unless the operator allows it with TRANSCRIPTION_ALLOW_PRIVATE=1 (a local engine). The
 * environment's own TRANSCRIBE_URL is the operator's choice and is not limited.
 */
let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ webhooks: { handshakeOnStart: false } });
});
afterAll(async () => emu?.close());

describe('without TRANSCRIPTION_ALLOW_PRIVATE', () => {
  let t: TestApp;
  let admin: Session;
  beforeAll(async () => {
    t = await createTestApp();
    admin = await login(t.app, (await makeEmployee(t.deps, { role: 'admin', email: 'stt-private@shop.test' })).email);
  });
  afterAll(async () => t?.close());

  it('saving an internal address is refused, named, and nothing is stored', async () => {
    for (const base of [
      emu.url,
      'http://127.0.0.1:8080',
      'http://localhost:9000',
      'http://169.254.169.254/latest',
      'http://10.1.2.3',
      'http://[::1]:8080',
      'http://[::ffff:7f00:1]:8080',
      'http://0.0.0.0:80',
    ]) {
      const res = await as(t.app, admin).post('/settings/transcription', { engine: 'http', base_url: base, model: 'whisper-1', api_key: 'sk-internal-123' });
      expect(res.statusCode, base).toBe(422);
      expect(res.body, base).toContain('inside the network');
      expect(res.body, base).not.toContain('sk-internal-123');
    }
    expect(await readSetting(t.deps.db, 'transcription')).toBeFalsy();
  });

  it('an internal address stored anyway (or a name that now resolves inside) is refused when the request connects: the key is never sent', async () => {
    await saveEngine(t.deps, { engine: 'http', baseUrl: emu.url, model: 'whisper-1', apiKey: 'sk-never-sent' });
    const before = emu.stt.calls.length;
    const test = await as(t.app, admin).post('/settings/transcription/test');
    expect(test.statusCode).toBe(422);
    expect(test.body).toContain('inside the network');
    expect(emu.stt.calls.length).toBe(before);
    // `localhost` passes no name check: it is refused by the address it resolves to.
    await saveEngine(t.deps, { engine: 'http', baseUrl: emu.url.replace('127.0.0.1', 'localhost'), model: 'whisper-1', apiKey: 'sk-never-sent' });
    expect((await as(t.app, admin).post('/settings/transcription/test')).body).toContain('inside the network');
    expect(emu.stt.calls.length).toBe(before);
  });
});

describe('with TRANSCRIPTION_ALLOW_PRIVATE=1 (a local engine)', () => {
  it('the same address is saved and transcribes', async () => {
    const t = await createTestApp({ env: { TRANSCRIPTION_ALLOW_PRIVATE: '1' } });
    try {
      const admin = await login(t.app, (await makeEmployee(t.deps, { role: 'admin', email: 'stt-local@shop.test' })).email);
      const ok = await as(t.app, admin).post('/settings/transcription', { engine: 'http', base_url: emu.url, model: 'whisper-1', api_key: '' });
      expect(ok.statusCode).toBe(303);
      const test = await as(t.app, admin).post('/settings/transcription/test');
      expect(test.statusCode).toBe(200);
      expect(test.body).toContain(SAMPLE_TRANSCRIPTS['voice.ogg']!.text);
    } finally {
      await t.close();
    }
  });
});
