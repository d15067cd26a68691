// The Transcriber port's engines and what an admin sees (G1, G3): durations read from each audio
// format, the local command (no shell, arguments as an array, a time limit, capped output),
// "none configured" as a state of its own, Settings › Transcription with its Test button, and
// the environment winning over the page.
import { createServer } from 'node:http';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, createTestApp, login, makeEmployee, type Session, type TestApp } from '../helpers.ts';
import { startEmulator, SAMPLE_TRANSCRIPTS, type Emulator } from '../../emulator/index.ts';
import { audioDurationMs, audioFileDurationMs } from '../../src/platform/audio-duration.ts';
import { CommandTranscriber } from '../../src/transcription/command-transcriber.ts';
import { HttpTranscriber, transcriptionsUrl } from '../../src/transcription/http-transcriber.ts';
import { TranscriptionError, audioFromBuffer } from '../../src/transcription/transcriber.ts';
import { transcribeWithin } from '../../src/transcription/transcription.service.ts';
import { readSetting } from '../../src/platform/app-settings.repository.ts';
import { ROOT } from '../../src/deps.ts';
import { silentWav } from './wav.ts';

const SAMPLES = join(ROOT, 'emulator', 'samples');
const sample = (name: string) => readFileSync(join(SAMPLES, name));
const signal = () => AbortSignal.timeout(5000);

describe('durations come from the file itself', () => {
  it.each([
    ['voice.ogg', 'audio/ogg', 4910],
    ['voice.mp3', 'audio/mpeg', 5004],
    ['voice.m4a', 'audio/mp4', 4974],
  ])('%s', async (name, mime, ms) => {
    const d = await audioDurationMs(sample(name), mime);
    expect(Math.abs(d! - ms)).toBeLessThan(60);
  });
  it('WAV of 5 min 01 s, written here; a file that is not audio has no duration', async () => {
    expect(await audioDurationMs(silentWav(301), 'audio/wav')).toBe(301_000);
    expect(await audioDurationMs(Buffer.from('not audio at all'), 'audio/ogg')).toBeNull();
    // Read from the file itself (seeking), as the Transcribe click does for older attachments.
    expect(Math.abs((await audioFileDurationMs(join(SAMPLES, 'voice.ogg'), 'audio/ogg'))! - 4910)).toBeLessThan(60);
  });
});

describe('the local command engine', () => {
  const script = join(ROOT, 'test', 'support', 'fake-stt.mjs');
  const audio = audioFromBuffer(sample('voice.ogg'), 'v.ogg', 'audio/ogg');
  it('gets the file path and the language as arguments (no shell) and its output is the text', async () => {
    const r = await new CommandTranscriber(['node', script, '{file}', '{language}']).transcribe(audio, { language: 'fr', signal: signal() });
    expect(r.text).toBe(`Transcribed ${audio.size} bytes in fr: my phone fell in water.`);
    // Shell syntax in an argument is just text.
    const r2 = await new CommandTranscriber(['node', script, '{file}', '$(echo pwned); auto']).transcribe(audio, { language: null, signal: signal() });
    expect(r2.text).toContain('in $(echo pwned); auto:');
  });
  it('a failing command says why; a slow one is stopped at the limit; a flood of output is cut', async () => {
    await expect(new CommandTranscriber(['node', script, '--fail']).transcribe(audio, { language: null, signal: signal() })).rejects.toThrow(/exit code 3: model file not found/);
    const slow = new CommandTranscriber(['node', script, '{file}', 'en', '--sleep', '5000']);
    const started = Date.now();
    await expect(transcribeWithin(slow, audio, null, 700)).rejects.toMatchObject({ kind: 'timeout' });
    expect(Date.now() - started).toBeLessThan(3000);
    await expect(new CommandTranscriber(['node', script, '{file}', 'en', '--flood']).transcribe(audio, { language: null, signal: signal() })).rejects.toThrow(/printed more than/);
    await expect(new CommandTranscriber(['/no/such/whisper']).transcribe(audio, { language: null, signal: signal() })).rejects.toBeInstanceOf(TranscriptionError);
  });
});

describe('the OpenAI-compatible engine against the double', () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = await startEmulator({ webhooks: { handshakeOnStart: false } });
  });
  afterAll(async () => emu?.close());

  it('posts multipart file + model + verbose_json to {base}/v1/audio/transcriptions with the key', async () => {
    expect(transcriptionsUrl('https://api.groq.com/openai')).toBe('https://api.groq.com/openai/v1/audio/transcriptions');
    expect(transcriptionsUrl('http://127.0.0.1:8080/v1/')).toBe('http://127.0.0.1:8080/v1/audio/transcriptions');
    emu.stt.set({ apiKey: 'sk-test' });
    const engine = new HttpTranscriber({ baseUrl: emu.url, model: 'whisper-large-v3', apiKey: 'sk-test', allowPrivate: true });
    const r = await engine.transcribe(audioFromBuffer(sample('voice.mp3'), 'v.mp3', 'audio/mpeg'), { language: null, signal: signal() });
    expect(r).toEqual({ text: SAMPLE_TRANSCRIPTS['voice.mp3']!.text, language: 'fr', durationSec: 5 });
    expect(emu.stt.calls.at(-1)).toMatchObject({ model: 'whisper-large-v3', responseFormat: 'verbose_json', status: 200 });
    const wrongKey = new HttpTranscriber({ baseUrl: emu.url, model: 'whisper-1', apiKey: 'sk-wrong', allowPrivate: true });
    await expect(wrongKey.transcribe(audioFromBuffer(sample('voice.ogg'), 'v.ogg', 'audio/ogg'), { language: null, signal: signal() })).rejects.toMatchObject({
      retryable: false,
      message: expect.stringContaining('HTTP 401: Incorrect API key provided.'),
    });
    emu.stt.set({ apiKey: null });
  });

  it('a redirect is not followed (requests go to the configured host only, the key with them)', async () => {
    // A server that sends every request elsewhere (e.g. to a private address).
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.writeHead(307, { location: `${emu.url}/v1/audio/transcriptions` }).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      const engine = new HttpTranscriber({ baseUrl: `http://127.0.0.1:${port}`, model: 'whisper-1', apiKey: 'sk-keep-me', allowPrivate: true });
      const before = emu.stt.calls.length;
      await expect(engine.transcribe(audioFromBuffer(sample('voice.ogg'), 'v.ogg', 'audio/ogg'), { language: 'en', signal: signal() })).rejects.toThrow(/redirect \(HTTP 307\)/);
      expect(seen).toEqual(['POST /v1/audio/transcriptions']);
      expect(emu.stt.calls.length).toBe(before);
    } finally {
      server.close();
    }
  });
});

describe('Settings › Transcription (admins)', () => {
  let emu: Emulator;
  let t: TestApp;
  let admin: Session;
  let agent: Session;
  beforeAll(async () => {
    emu = await startEmulator({ webhooks: { handshakeOnStart: false } });
    // The double listens on 127.0.0.1: a local engine, which the operator allows (#21).
    t = await createTestApp({ env: { TRANSCRIPTION_ALLOW_PRIVATE: '1' } });
    admin = await login(t.app, (await makeEmployee(t.deps, { role: 'admin', email: 'stt-admin@shop.test' })).email);
    agent = await login(t.app, (await makeEmployee(t.deps, { role: 'agent', email: 'stt-agent2@shop.test' })).email);
  });
  afterAll(async () => {
    await t?.close();
    await emu?.close();
  });

  it('none configured is said plainly; Test is refused with the reason', async () => {
    const page = await as(t.app, admin).get('/settings/transcription');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('data-engine="none"');
    expect(page.body).toContain('None configured: voice messages cannot be transcribed.');
    const test = await as(t.app, admin).post('/settings/transcription/test');
    expect(test.statusCode).toBe(422);
    expect(test.body).toContain('No speech-to-text engine is set up.');
    expect((await as(t.app, agent).get('/settings/transcription')).statusCode).toBe(403);
  });

  it('saving an engine: validated, the key stored encrypted and never shown; Test transcribes the sample', async () => {
    const bad = await as(t.app, admin).post('/settings/transcription', { engine: 'http', base_url: 'ftp://x', model: '', api_key: 'sk-secret-123' });
    expect(bad.statusCode).toBe(422);
    expect(bad.body).not.toContain('sk-secret-123');
    const ok = await as(t.app, admin).post('/settings/transcription', { engine: 'http', base_url: emu.url + '/', model: 'whisper-1', api_key: 'sk-secret-123', language: '' });
    expect([ok.statusCode, ok.headers.location]).toEqual([303, '/settings/transcription?saved=1']);
    const saved = await readSetting<Record<string, string>>(t.deps.db, 'transcription');
    expect(saved).toMatchObject({ engine: 'http', baseUrl: emu.url, model: 'whisper-1' });
    expect(JSON.stringify(saved)).not.toContain('sk-secret-123');
    const page = await as(t.app, admin).get('/settings/transcription?saved=1');
    expect(page.body).toContain('API key stored');
    expect(page.body).not.toContain('sk-secret-123');
    emu.stt.set({ apiKey: 'sk-secret-123' });
    const test = await as(t.app, admin).post('/settings/transcription/test');
    expect(test.statusCode).toBe(200);
    expect(test.body).toContain('data-ok="true"');
    expect(test.body).toContain(SAMPLE_TRANSCRIPTS['voice.ogg']!.text);
    // An empty key keeps the stored one; the engine's exact error is shown when it refuses.
    await as(t.app, admin).post('/settings/transcription', { engine: 'http', base_url: emu.url, model: 'whisper-1', api_key: '' });
    emu.stt.set({ apiKey: 'sk-other' });
    const refused = await as(t.app, admin).post('/settings/transcription/test');
    expect(refused.statusCode).toBe(422);
    expect(refused.body).toContain('HTTP 401: Incorrect API key provided.');
    emu.stt.set({ apiKey: null });
  });

  it('a stored API key is not sent to a new host unless typed again', async () => {
    await as(t.app, admin).post('/settings/transcription', { engine: 'http', base_url: emu.url, model: 'whisper-1', api_key: 'sk-for-emulator' });
    expect((await readSetting<Record<string, string>>(t.deps.db, 'transcription'))!.apiKeyEnc).toBeTruthy();
    await as(t.app, admin).post('/settings/transcription', { engine: 'http', base_url: 'https://api.example.test', model: 'whisper-1', api_key: '' });
    expect((await readSetting<Record<string, string | null>>(t.deps.db, 'transcription'))!.apiKeyEnc).toBeNull();
    await as(t.app, admin).post('/settings/transcription', { engine: 'http', base_url: emu.url, model: 'whisper-1', api_key: '' });
  });

  it('the environment wins and is shown read-only', async () => {
    const envApp = await createTestApp({ env: { TRANSCRIBE_URL: emu.url, TRANSCRIBE_MODEL: 'whisper-large-v3', TRANSCRIBE_LANGUAGE: 'fr' } });
    try {
      const s = await login(envApp.app, (await makeEmployee(envApp.deps, { role: 'admin', email: 'env-admin@shop.test' })).email);
      const page = await as(envApp.app, s).get('/settings/transcription');
      expect(page.body).toContain('data-source="environment"');
      expect(page.body).toContain('whisper-large-v3');
      expect(page.body).not.toContain('id="transcription-form"');
      const test = await as(envApp.app, s).post('/settings/transcription/test');
      expect(test.body).toContain(SAMPLE_TRANSCRIPTS['voice.ogg']!.text);
      expect(emu.stt.calls.at(-1)).toMatchObject({ language: 'fr', model: 'whisper-large-v3' });
    } finally {
      await envApp.close();
    }
  });

  it('bad environment values are refused at start, each named', async () => {
    await expect(createTestApp({ env: { TRANSCRIBE_COMMAND: 'whisper -f {file}' } })).rejects.toThrow(/TRANSCRIBE_COMMAND must be a JSON array/);
    await expect(createTestApp({ env: { TRANSCRIBE_URL: 'http://a', TRANSCRIBE_COMMAND: '["w"]' } })).rejects.toThrow(/not both/);
    await expect(createTestApp({ env: { TRANSCRIBE_TIMEOUT_SECONDS: '600' } })).rejects.toThrow(/TRANSCRIBE_TIMEOUT_SECONDS/);
  });
});
