/**
 * The speech-to-text port (G1–G3). Parley talks to an engine through one of two real
 * protocols — an OpenAI-compatible HTTP endpoint, or a local command — or has none configured,
 * which is a state of its own, shown plainly: never a made-up transcript.
 */
export interface AudioInput {
  fileName: string;
  mime: string;
  size: number;
  /** The bytes as a Blob: backed by the stored file, so an upload streams it instead of copying it. */
  blob(): Promise<Blob>;
  /** The bytes in memory (a local command gets a file of its own). */
  buffer(): Promise<Buffer>;
}

/** Audio already in memory (the bundled sample, tests). */
export function audioFromBuffer(data: Buffer, fileName: string, mime: string): AudioInput {
  return { fileName, mime, size: data.length, blob: async () => new Blob([data as Uint8Array<ArrayBuffer>], { type: mime }), buffer: async () => data };
}

export interface Transcript {
  text: string;
  /** The language the engine detected or was told (ISO 639-1 where it says so). */
  language: string | null;
  /** Seconds of audio, as the engine measured them (null when it does not say). */
  durationSec: number | null;
}

export interface Transcriber {
  /** What the thread and Settings say about the engine (`whisper-1 at api.openai.com`). */
  readonly label: string;
  transcribe(audio: AudioInput, opts: { language: string | null; signal: AbortSignal }): Promise<Transcript>;
}

/**
 * Why an engine gave no transcript. `retryable`: a later attempt may succeed (429, 5xx, a
 * network error, a timeout); otherwise the request itself was refused (4xx, a bad command).
 */
export class TranscriptionError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly kind: 'timeout' | 'engine' | 'refused' | 'network' = 'engine',
    /**
     * What the thread says, in the reader's language: a message key with its values, and the
     * engine's (or the system's) own words as they came. `message` stays English, for logs.
     */
    readonly said: { key: string; params?: Record<string, string | number>; detail?: string } = { key: 'transcribe.error.engine', detail: message },
  ) {
    super(message);
    this.name = 'TranscriptionError';
  }
}

/** Engines take at most this much audio per request (OpenAI's own cap is 25 MB). */
export const MAX_AUDIO_BYTES = 25 * 1024 * 1024;
/** G1: audio longer than this is not offered for transcription. */
export { MAX_DURATION_MS } from '../platform/audio-duration.ts';
/** G2: a transcription gives up after this long, retries included. */
export const TRANSCRIBE_LIMIT_MS = 60_000;
