// Voice transcription (G1–G3) end to end: a WhatsApp voice note, the Transcribe click, the job,
// the emulator's speech-to-text double, the transcript saved once and pushed live, failures and
// retries, search, and access (an employee without the channel sees none of it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, login, makeEmployee, type Session } from '../helpers.ts';
import { startMetaWorld, type MetaWorld } from '../support/meta-world.ts';
import { LiveStreams } from '../platform/sse.ts';
import { setChannelAccess, updateChannel } from '../../src/channels/channels.repository.ts';
import { SAMPLE_TRANSCRIPTS } from '../../emulator/index.ts';
import { transcribeJob } from '../../src/transcription/transcription.service.ts';
import { silentWav } from './wav.ts';

let w: MetaWorld;
let agent: Session;
let colleague: Session;
let outsider: Session;
const live = new LiveStreams(() => w.parleyUrl);

beforeAll(async () => {
  w = await startMetaWorld({ whatsapp: true, env: (url) => ({ TRANSCRIBE_URL: url, TRANSCRIBE_MODEL: 'whisper-1', TRANSCRIBE_TIMEOUT_SECONDS: '3' }) });
  const a = await makeEmployee(w.t.deps, { role: 'agent', email: 'stt-agent@shop.test', name: 'Sofia Agent' });
  const c = await makeEmployee(w.t.deps, { role: 'agent', email: 'stt-colleague@shop.test', name: 'Carl Colleague' });
  const o = await makeEmployee(w.t.deps, { role: 'agent', email: 'stt-outsider@shop.test', name: 'Olaf Outsider' });
  await updateChannel(w.t.deps.db, w.whatsappId, { accessAll: false });
  await setChannelAccess(w.t.deps.db, w.whatsappId, [a.id, c.id]);
  agent = await login(w.t.app, a.email);
  colleague = await login(w.t.app, c.email);
  outsider = await login(w.t.app, o.email);
});
afterAll(async () => {
  live.closeAll();
  await w?.close();
});

const db = () => w.t.deps.db;

/** A new voice note from a person on WhatsApp: its chat, message and attachment ids. */
async function voiceNote(person: string, sample = 'voice.ogg') {
  w.emu.send(person, 'whatsapp', { attachment: { sample } });
  await w.settle();
  const row = await db()
    .selectFrom('attachments')
    .innerJoin('messages', 'messages.id', 'attachments.message_id')
    .select(['attachments.id as attachmentId', 'messages.id as messageId', 'messages.chat_id as chatId', 'attachments.duration_ms', 'attachments.status', 'attachments.transcription'])
    .where('attachments.kind', '=', 'audio')
    .orderBy('attachments.id', 'desc')
    .executeTakeFirstOrThrow();
  expect(row.status).toBe('stored');
  return row;
}

const transcriptOf = async (attachmentId: number) =>
  (await db().selectFrom('attachments').select('transcription').where('id', '=', attachmentId).executeTakeFirstOrThrow()).transcription as Record<string, any> | null;

const transcribe = (s: Session, v: { chatId: number; messageId: number }, fragment = true) =>
  as(w.t.app, s).post(`/chats/${v.chatId}/messages/${v.messageId}/transcribe`, {}, fragment ? { headers: { 'hx-request': 'true' } } : {});

describe('transcribing a voice note', () => {
  it('the duration is read from the stored file; the thread plays it and offers Transcribe', async () => {
    const v = await voiceNote('anna');
    expect(v.duration_ms).toBeGreaterThan(4800);
    expect(v.duration_ms).toBeLessThan(5100);
    const page = await as(w.t.app, agent).get(`/chats/${v.chatId}`);
    expect(page.body).toContain(`<audio controls preload="none" src="/media/${v.attachmentId}"`);
    expect(page.body).toContain(`action="/chats/${v.chatId}/messages/${v.messageId}/transcribe"`);
    expect(page.body).toContain('data-transcript="none"');
  });

  it('two clicks (two employees) transcribe once; "Transcribing…" then the text arrive live for both, collapsed', async () => {
    const v = await voiceNote('anna');
    const [mine, theirs] = [await live.open(agent), await live.open(colleague)];
    w.emu.stt.set({ delayMs: 300 });
    const calls = w.emu.stt.calls.length;
    const [r1, r2] = await Promise.all([transcribe(agent, v), transcribe(colleague, v)]);
    expect([r1.statusCode, r2.statusCode]).toEqual([204, 204]);
    for (const s of [mine, theirs]) await s.waitFor('ui', 'Transcribing…');
    await w.settle();
    const expected = SAMPLE_TRANSCRIPTS['voice.ogg']!.text;
    for (const s of [mine, theirs]) await s.waitFor('ui', expected);
    w.emu.stt.set({ delayMs: 0 });
    expect(w.emu.stt.calls.length - calls).toBe(1);
    expect(w.emu.stt.calls.at(-1)).toMatchObject({ model: 'whisper-1', responseFormat: 'verbose_json' });
    const t = await transcriptOf(v.attachmentId);
    expect(t).toMatchObject({ status: 'done', text: expected, language: 'en', requestedByName: expect.stringMatching(/Sofia Agent|Carl Colleague/) });
    const page = await as(w.t.app, colleague).get(`/chats/${v.chatId}`);
    expect(page.body).toMatch(/<details class="transcript__done">\s*<summary>Transcript<\/summary>/);
    expect(page.body).not.toMatch(/<details class="transcript__done" open/);
    expect(page.body).toContain(expected);
    // A third click after it is done changes nothing.
    await transcribe(agent, v);
    await w.settle();
    expect(w.emu.stt.calls.length - calls).toBe(1);
  });

  it('transcripts are found by the chat list’s message search', async () => {
    const hit = await as(w.t.app, agent).get('/chats?q=' + encodeURIComponent('screen stays black'));
    expect(hit.body).toContain('Anna Petrova');
    const miss = await as(w.t.app, outsider).get('/chats?q=' + encodeURIComponent('screen stays black'));
    expect(miss.body).not.toContain('Anna Petrova');
  });

  it('429 and 500 are retried with backoff within the minute, then the text arrives', async () => {
    const v = await voiceNote('marc', 'voice.mp3');
    w.emu.stt.set({ failNext: [429] });
    const calls = w.emu.stt.calls.length;
    await transcribe(agent, v);
    await w.settle();
    expect(w.emu.stt.calls.length - calls).toBe(2);
    expect(await transcriptOf(v.attachmentId)).toMatchObject({ status: 'done', text: SAMPLE_TRANSCRIPTS['voice.mp3']!.text, language: 'fr' });
  });

  it('a 4xx is a permanent failure, shown with the engine’s words and Retry; Retry then succeeds', async () => {
    const v = await voiceNote('marc', 'voice.m4a');
    w.emu.stt.set({ failNext: [400] });
    const calls = w.emu.stt.calls.length;
    await transcribe(agent, v);
    await w.settle();
    expect(w.emu.stt.calls.length - calls).toBe(1);
    const t = await transcriptOf(v.attachmentId);
    expect(t).toMatchObject({ status: 'failed', error: { key: 'transcribe.error.engine', retry: true } });
    expect(t!.error.detail).toContain('HTTP 400');
    const page = await as(w.t.app, agent).get(`/chats/${v.chatId}`);
    expect(page.body).toContain('The speech-to-text engine gave no transcript:');
    expect(page.body).toContain('data-transcript="failed"');
    await transcribe(agent, v);
    await w.settle();
    expect(await transcriptOf(v.attachmentId)).toMatchObject({ status: 'done', text: SAMPLE_TRANSCRIPTS['voice.m4a']!.text });
  });

  it('an engine that does not answer in time fails as a timeout, with Retry', async () => {
    const v = await voiceNote('anna');
    w.emu.stt.set({ hang: true });
    try {
      await transcribe(agent, v);
      await w.settle();
      expect(await transcriptOf(v.attachmentId)).toMatchObject({ status: 'failed', error: { key: 'transcribe.error.timeout', retry: true } });
    } finally {
      w.emu.stt.set({ hang: false });
    }
  });

  it('a job run twice at once (a worker that died and was replaced) saves the transcript once; the sweeper re-enqueues a lost job', async () => {
    const v = await voiceNote('anna');
    // Asked for, but the job never ran (Redis away, a crash between commit and enqueue).
    const requestedAt = new Date(Date.now() - 120_000).toISOString();
    await db()
      .updateTable('attachments')
      .set({ transcription: JSON.stringify({ status: 'pending', requestedByName: 'Sofia Agent', requestedAt }) })
      .where('id', '=', v.attachmentId)
      .execute();
    const job = transcribeJob(w.t.deps);
    const changesBefore = await db()
      .selectFrom('live_events')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    await Promise.all([job.process({ messageId: v.messageId }, { attempt: 1, jobId: 'a' }), job.process({ messageId: v.messageId }, { attempt: 1, jobId: 'b' })]);
    const t = await transcriptOf(v.attachmentId);
    expect(t).toMatchObject({ status: 'done', requestedAt });
    const changesAfter = await db()
      .selectFrom('live_events')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(changesAfter.n) - Number(changesBefore.n)).toBeLessThanOrEqual(2); // one message re-render (per locale)

    const lost = await voiceNote('marc');
    await db()
      .updateTable('attachments')
      .set({ transcription: JSON.stringify({ status: 'pending', requestedAt }) })
      .where('id', '=', lost.attachmentId)
      .execute();
    await w.t.deps.queue.enqueue(w.t.deps.jobs.outboxSweep, { slot: 'test-sweep' });
    await w.settle();
    expect(await transcriptOf(lost.attachmentId)).toMatchObject({ status: 'done' });
  });
});

describe('access', () => {
  it('an employee without the channel cannot transcribe, nor see the transcript on the page, the fragment or the live stream', async () => {
    const v = await voiceNote('anna');
    const [mine, theirs] = [await live.open(agent), await live.open(outsider)];
    expect((await transcribe(outsider, v)).statusCode).toBe(404);
    expect((await transcribe(outsider, v, false)).statusCode).toBe(404);
    expect(await transcriptOf(v.attachmentId)).toBeNull();
    await transcribe(agent, v);
    await w.settle();
    await mine.waitFor('ui', SAMPLE_TRANSCRIPTS['voice.ogg']!.text);
    expect(theirs.events.some((e) => e.data.includes('screen stays black') || e.data.includes('Transcribing'))).toBe(false);
    expect((await as(w.t.app, outsider).get(`/chats/${v.chatId}`)).statusCode).toBe(404);
    expect((await as(w.t.app, outsider).get(`/chats/${v.chatId}/messages`, { 'hx-request': 'true' })).statusCode).toBe(404);
  });

  it('a message that is not audio, or of another chat, is a 404', async () => {
    const v = await voiceNote('anna');
    expect((await as(w.t.app, agent).post(`/chats/${v.chatId + 999}/messages/${v.messageId}/transcribe`, {}, { headers: { 'hx-request': 'true' } })).statusCode).toBe(404);
    w.emu.send('anna', 'whatsapp', 'just text');
    await w.settle();
    const text = await db().selectFrom('messages').select('id').where('text', '=', 'just text').executeTakeFirstOrThrow();
    expect((await transcribe(agent, { chatId: v.chatId, messageId: text.id })).statusCode).toBe(404);
  });
});

describe('with no engine configured, and recordings too long', () => {
  let w2: MetaWorld;
  let admin2: Session;
  let agent2: Session;
  beforeAll(async () => {
    w2 = await startMetaWorld({ whatsapp: true });
    admin2 = await login(w2.t.app, (await makeEmployee(w2.t.deps, { role: 'admin', email: 'stt-none-admin@shop.test' })).email);
    agent2 = await login(w2.t.app, (await makeEmployee(w2.t.deps, { role: 'agent', email: 'stt-none-agent@shop.test' })).email);
  });
  afterAll(async () => w2?.close());

  const lastAudio = () =>
    w2.t.deps.db
      .selectFrom('attachments')
      .innerJoin('messages', 'messages.id', 'attachments.message_id')
      .select(['attachments.id', 'messages.id as messageId', 'messages.chat_id as chatId', 'attachments.duration_ms', 'attachments.transcription'])
      .where('attachments.kind', '=', 'audio')
      .orderBy('attachments.id', 'desc')
      .executeTakeFirstOrThrow();

  it('the click records "no engine" plainly (never a made-up text): admins get the settings link, others are told to ask one', async () => {
    w2.emu.send('anna', 'whatsapp', { attachment: { sample: 'voice.ogg' } });
    await w2.settle();
    const a = await lastAudio();
    const res = await as(w2.t.app, agent2).post(`/chats/${a.chatId}/messages/${a.messageId}/transcribe`);
    expect(res.statusCode).toBe(303);
    expect((await lastAudio()).transcription).toMatchObject({ status: 'failed', error: { key: 'transcribe.error.not_configured', retry: true } });
    expect(w2.emu.stt.calls).toHaveLength(0);
    const forAgent = await as(w2.t.app, agent2).get(`/chats/${a.chatId}`);
    expect(forAgent.body).toContain('Ask an administrator to set one up in Settings › Transcription.');
    expect(forAgent.body).not.toMatch(/<body[^>]* data-admin/);
    const forAdmin = await as(w2.t.app, admin2).get(`/chats/${a.chatId}`);
    expect(forAdmin.body).toMatch(/<body[^>]* data-admin/);
    expect(forAdmin.body).toContain('<a class="admin-only" href="/settings/transcription">');
    // French too.
    await w2.t.deps.db.updateTable('employees').set({ locale: 'fr' }).where('email', '=', 'stt-none-agent@shop.test').execute();
    const fr = await as(w2.t.app, agent2).get(`/chats/${a.chatId}`);
    expect(fr.body).toContain('Aucun moteur de transcription n’est configuré.');
  });

  it('a recording over 5 minutes says why it cannot be transcribed, and the route refuses it', async () => {
    w2.emu.send('marc', 'whatsapp', { attachment: { dataBase64: silentWav(301).toString('base64'), filename: 'long.wav', mimeType: 'audio/wav' } });
    await w2.settle();
    const a = await lastAudio();
    expect(a.duration_ms).toBe(301_000);
    const page = await as(w2.t.app, admin2).get(`/chats/${a.chatId}`);
    expect(page.body).toContain('Too long to transcribe (5:01; the limit is 5 minutes).');
    expect(page.body).not.toContain(`/messages/${a.messageId}/transcribe`);
    const res = await as(w2.t.app, admin2).post(`/chats/${a.chatId}/messages/${a.messageId}/transcribe`, {}, { headers: { 'hx-request': 'true' } });
    expect(res.statusCode).toBe(422);
    expect((await lastAudio()).transcription).toBeNull();
  });
});
