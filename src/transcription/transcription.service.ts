/**
 * Voice transcription (G1–G3): an employee asks for the transcript of an audio message; one job
 * per message (two clicks transcribe once) calls the engine within 60 s, retrying 429/5xx with
 * backoff inside that minute, and the result — or why there is none — is saved under the audio
 * and pushed live to everyone who may see the chat.
 */
import type { AuthContext } from '../auth/permissions.ts';
import { NotFoundError, ValidationError } from '../platform/errors.ts';
import { jobRef, processorOf } from '../platform/jobs/ref.ts';
import { inTransaction } from '../platform/tx.ts';
import { channelsOf } from '../chats/chats.service.ts';
import { publishChatChange } from '../chats/live/chats.live.ts';
import { audioFileDurationMs } from '../platform/audio-duration.ts';
import { currentTranscriber } from './engine.ts';
import { MAX_DURATION_MS, TRANSCRIBE_LIMIT_MS, TranscriptionError, type AudioInput, type Transcriber } from './transcriber.ts';
import * as repo from './transcription.repository.ts';
import type { TranscriptionPorts } from './ports.ts';

type Failure = { key: string; params?: Record<string, string | number>; detail?: string; retry: boolean };

/** The stored file's length, read once from the file and kept (older attachments have none yet). */
async function durationOf(deps: Pick<TranscriptionPorts, 'db' | 'storage'>, a: repo.AudioRow): Promise<number | null> {
  if (a.duration_ms !== null) return a.duration_ms;
  if (!a.storage_key) return null;
  const ms = await audioFileDurationMs(deps.storage.localPath(a.storage_key), a.mime);
  await repo.setDuration(deps.db, a.id, ms);
  return ms;
}

/**
 * G1: the *Transcribe* click (or Retry). Refused for audio over 5 minutes; with no engine
 * configured the failure is recorded at once, plainly (G3).
 */
export async function requestTranscription(deps: TranscriptionPorts, auth: AuthContext, chatId: number, messageId: number): Promise<void> {
  const audio = await repo.findAudioOfMessage(deps.db, messageId, await channelsOf(deps, auth));
  if (!audio || audio.chat_id !== chatId || audio.deleted_at) throw new NotFoundError();
  if (audio.status !== 'stored' || !audio.storage_key) throw new ValidationError({ transcribe: 'transcribe.error.file_missing' });
  const known = audio.duration_ms !== null;
  const duration = await durationOf(deps, audio);
  if (duration !== null && duration > MAX_DURATION_MS) {
    // Its length was only just read: everyone's thread now says it is too long (no button).
    if (!known) await inTransaction(deps.db, deps.logger, (tx) => publishChatChange(deps, tx, chatId, { changedMessageIds: [messageId] }));
    throw new ValidationError({ transcribe: 'transcribe.error.too_long' });
  }
  const engine = await currentTranscriber(deps);
  const requestedAt = new Date().toISOString();
  const asked = { requestedBy: auth.employeeId, requestedByName: auth.name ?? null, requestedAt };
  const value = engine ? { status: 'pending', ...asked } : { status: 'failed', ...asked, completedAt: requestedAt, error: { key: 'transcribe.error.not_configured', retry: true } satisfies Failure };
  await inTransaction(deps.db, deps.logger, async (tx) => {
    const started = await repo.startTranscription(tx.db, audio.id, value);
    if (!started) return; // already running or done: this click adds nothing
    await publishChatChange(deps, tx, chatId, { changedMessageIds: [messageId] });
    if (engine) tx.afterCommit(() => deps.queue.enqueue(transcribeRef, { messageId }));
  });
}

/** Waits `ms`, or less if the signal ends first. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });
}

/**
 * Calls the engine until it answers, a refusal no retry can fix, or the minute is up: 429 and
 * 5xx are retried after 1, 2, 4… seconds, never past the deadline.
 */
export async function transcribeWithin(engine: Transcriber, audio: AudioInput, language: string | null, limitMs = TRANSCRIBE_LIMIT_MS) {
  const deadline = AbortSignal.timeout(limitMs);
  const end = Date.now() + limitMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await engine.transcribe(audio, { language, signal: deadline });
    } catch (err) {
      const e = err instanceof TranscriptionError ? err : new TranscriptionError((err as Error).message, true);
      const wait = 1000 * 2 ** attempt;
      if (deadline.aborted || e.kind === 'timeout')
        throw new TranscriptionError(`the engine did not finish within ${Math.round(limitMs / 1000)} s`, true, 'timeout', { key: 'transcribe.error.timeout' });
      if (!e.retryable || Date.now() + wait >= end) throw e;
      await pause(wait, deadline);
    }
  }
}

export function failureOf(err: unknown): Failure {
  if (err instanceof TranscriptionError) {
    const { key, params, detail } = err.said;
    return { key, ...(params ? { params } : {}), ...(detail ? { detail: detail.slice(0, 300) } : {}), retry: true };
  }
  return { key: 'transcribe.error.engine', detail: (err as Error).message.slice(0, 300), retry: true };
}

/**
 * The `transcribe` job (id: the message id). Re-reads the state first: a duplicate job, or one
 * re-run after a worker died, finds the transcript done and does nothing; a transcript is
 * saved once, by whichever run finishes first while it is still pending.
 */
/** G1: one transcription per message (two clicks transcribe once); its id is the message id. */
export const transcribeRef = jobRef<{ messageId: number }>({
  name: 'transcribe',
  jobId: (p) => String(p.messageId),
  options: { attempts: 3, backoffMs: 2000 },
});

export function transcribeJob(deps: TranscriptionPorts) {
  return processorOf(transcribeRef, async ({ messageId }) => {
    const audio = await repo.findAudioOfMessage(deps.db, messageId);
    const t = audio?.transcription as { status?: string; requestedAt?: string } | null | undefined;
    if (!audio || t?.status !== 'pending' || !t.requestedAt) return;
    const started = Date.now();
    const engine = await currentTranscriber(deps);
    let outcome: Record<string, unknown>;
    if (!engine) {
      outcome = { status: 'failed', error: { key: 'transcribe.error.not_configured', retry: true } satisfies Failure };
    } else if (!audio.storage_key) {
      outcome = { status: 'failed', error: { key: 'transcribe.error.file_missing', retry: false } satisfies Failure };
    } else {
      try {
        const key = audio.storage_key;
        const mime = audio.mime ?? 'application/octet-stream';
        const input: AudioInput = {
          fileName: audio.file_name ?? `voice-${messageId}`,
          mime,
          size: (await deps.storage.size(key)) ?? 0,
          blob: () => deps.storage.blob(key, mime),
          buffer: () => deps.storage.read(key),
        };
        const result = await transcribeWithin(engine.transcriber, input, engine.language, deps.config.transcription.timeoutMs);
        outcome = {
          status: 'done',
          text: result.text,
          language: result.language,
          engine: engine.transcriber.label,
          durationMs: audio.duration_ms ?? (result.durationSec !== null ? Math.round(result.durationSec * 1000) : null),
          tookMs: Date.now() - started,
        };
      } catch (err) {
        deps.logger.warn({ messageId, err: (err as Error).message }, 'transcription failed');
        outcome = { status: 'failed', engine: engine.transcriber.label, error: failureOf(err) };
      }
    }
    await inTransaction(deps.db, deps.logger, async (tx) => {
      const value = { ...(t as Record<string, unknown>), ...outcome, completedAt: new Date().toISOString() };
      const saved = await repo.finishTranscription(tx.db, audio.id, t.requestedAt!, value);
      if (saved) await publishChatChange(deps, tx, audio.chat_id, { changedMessageIds: [messageId] });
    });
  });
}

/** A transcription left pending this long lost its job (the job itself ends within a minute). */
export const TRANSCRIPTION_SWEEP_MS = 90_000;

/** Past this, a pending transcription is given up: its job failed for good (its id is then spent). */
export const TRANSCRIPTION_GIVE_UP_MS = 5 * 60_000;

/**
 * For the sweeper: re-enqueues transcriptions whose job was lost, and gives up (with Retry)
 * those still pending after five minutes, so none stays "Transcribing…" for ever.
 */
export async function sweepTranscriptions(deps: TranscriptionPorts): Promise<void> {
  await inTransaction(deps.db, deps.logger, async (tx) => {
    const failure: Failure = { key: 'transcribe.error.timeout', retry: true };
    const given = await repo.failStalePending(tx.db, new Date(Date.now() - TRANSCRIPTION_GIVE_UP_MS), { status: 'failed', error: failure, completedAt: new Date().toISOString() });
    for (const g of given) {
      const audio = await repo.findAudioOfMessage(tx.db, g.message_id);
      if (audio) await publishChatChange(deps, tx, audio.chat_id, { changedMessageIds: [g.message_id] });
    }
  });
  const stuck = await repo.pendingTranscriptionsBefore(deps.db, new Date(Date.now() - TRANSCRIPTION_SWEEP_MS), 200);
  for (const s of stuck) await deps.queue.enqueue(transcribeRef, { messageId: s.message_id });
}
