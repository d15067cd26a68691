// A speech-to-text double (for Parley's transcription tests and the demo): the OpenAI-compatible
// endpoint `POST /v1/audio/transcriptions` (multipart `file`, `model`, `language`,
// `response_format` json | verbose_json | text), answering the shipped sample voice notes with
// their known text. It can be told to be slow, to fail the next requests with given HTTP
// statuses (429, 500…), to hang until the caller gives up, or to require an API key.
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { MultipartPayload } from './http.ts';
import type { MediaStore } from './media.ts';

/** What the shipped samples say (they are short synthetic recordings; this is their script). */
export const SAMPLE_TRANSCRIPTS: Record<string, { text: string; language: string; duration: number }> = {
  'voice.ogg': { text: 'Hello, my phone fell in water. It turns on but the screen stays black. Can you fix it today?', language: 'en', duration: 4.91 },
  'voice.mp3': { text: 'Bonjour, est-ce que la batterie de mon MacBook peut être changée cette semaine ?', language: 'fr', duration: 5.0 },
  'voice.m4a': { text: 'Здравствуйте, сколько стоит замена экрана на iPhone 12?', language: 'ru', duration: 4.97 },
};

export interface SttBehaviour {
  /** Wait this long before answering. */
  delayMs: number;
  /** HTTP statuses the next requests answer with, in order (then normal answers again). */
  failNext: number[];
  /** Never answer (until the client gives up). */
  hang: boolean;
  /** When set, requests must carry `Authorization: Bearer <apiKey>` (401 otherwise). */
  apiKey: string | null;
}

export interface SttCall {
  at: number;
  model: string | undefined;
  language: string | undefined;
  responseFormat: string | undefined;
  bytes: number;
  status: number;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export class SttDouble {
  behaviour: SttBehaviour = { delayMs: 0, failNext: [], hang: false, apiKey: null };
  readonly calls: SttCall[] = [];
  private known = new Map<string, { text: string; language: string; duration: number | null }>();
  private hanging = new Set<() => void>();

  constructor(media: MediaStore) {
    for (const [name, t] of Object.entries(SAMPLE_TRANSCRIPTS)) {
      const bytes = media.sample(name);
      if (bytes) this.known.set(sha(bytes), t);
    }
  }

  /** Teaches the double the text of another recording (e.g. a long file a benchmark made). */
  learn(bytes: Buffer, text: string, language = 'en', duration: number | null = null): void {
    this.known.set(sha(bytes), { text, language, duration });
  }

  set(patch: Partial<SttBehaviour>): SttBehaviour {
    this.behaviour = { ...this.behaviour, ...patch, failNext: [...(patch.failNext ?? this.behaviour.failNext)] };
    if (!this.behaviour.hang) this.release();
    return this.behaviour;
  }

  reset(): void {
    this.behaviour = { delayMs: 0, failNext: [], hang: false, apiKey: null };
    this.calls.length = 0;
    this.release();
  }

  private release(): void {
    for (const r of this.hanging) r();
    this.hanging.clear();
  }

  register(app: FastifyInstance): void {
    app.post('/v1/audio/transcriptions', async (request, reply) => {
      const b = this.behaviour;
      const payload = request.body instanceof MultipartPayload ? request.body : null;
      const file = payload?.files.file;
      const call: SttCall = {
        at: Date.now(),
        model: payload?.fields.model,
        language: payload?.fields.language,
        responseFormat: payload?.fields.response_format,
        bytes: file?.data.length ?? 0,
        status: 200,
      };
      this.calls.push(call);
      const fail = (status: number, message: string, type = 'invalid_request_error') => {
        call.status = status;
        return reply.code(status).send({ error: { message, type, code: null } });
      };
      if (b.apiKey && request.headers.authorization !== `Bearer ${b.apiKey}`) return fail(401, 'Incorrect API key provided.', 'invalid_api_key');
      if (b.hang) {
        await new Promise<void>((resolve) => {
          this.hanging.add(resolve);
          reply.raw.on('close', resolve);
        });
        call.status = 0;
        return reply.code(503).send({ error: { message: 'the emulator was hanging', type: 'server_error' } });
      }
      if (b.delayMs > 0) await new Promise((r) => setTimeout(r, b.delayMs));
      const next = b.failNext.shift();
      if (next !== undefined) return fail(next, next === 429 ? 'Rate limit reached for requests' : `The server had an error (emulated ${next})`, next === 429 ? 'requests' : 'server_error');
      if (!payload) return fail(400, 'The request must be multipart/form-data.');
      if (!file) return fail(400, "'file' is a required property");
      if (!payload.fields.model) return fail(400, 'you must provide a model parameter');
      const known = this.known.get(sha(file.data));
      const text = known?.text ?? '(The emulator does not know this recording.)';
      const language = payload.fields.language || known?.language || 'en';
      const duration = known?.duration ?? null;
      const format = payload.fields.response_format ?? 'json';
      if (format === 'text') return reply.type('text/plain').send(text);
      if (format === 'verbose_json') {
        return { task: 'transcribe', language: LANGUAGE_NAMES[language] ?? language, duration, text, segments: [{ id: 0, seek: 0, start: 0, end: duration ?? 0, text, temperature: 0 }] };
      }
      return { text };
    });
  }
}

/** verbose_json names languages in words, as OpenAI's Whisper API does. */
const LANGUAGE_NAMES: Record<string, string> = { en: 'english', fr: 'french', ru: 'russian', de: 'german', es: 'spanish' };
