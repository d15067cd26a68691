import { isIP } from 'node:net';
import { Agent, fetch as guardedFetch } from 'undici';
import type { AudioInput, Transcriber, Transcript } from './transcriber.ts';
import { isPrivateAddress, publicOnlyLookup } from '../platform/safe-download.ts';
import { MAX_AUDIO_BYTES, TranscriptionError } from './transcriber.ts';

export interface HttpEngineConfig {
  /** The server's base URL: `https://api.openai.com`, `https://api.groq.com/openai`, `http://127.0.0.1:8080`. */
  baseUrl: string;
  model: string;
  apiKey: string | null;
  /**
   * False for a URL an admin typed (Settings › Transcription): it receives the API key, so it
   * must not reach loopback, private or link-local addresses (checked when the socket
   * connects). True for the environment's TRANSCRIBE_URL and with TRANSCRIPTION_ALLOW_PRIVATE=1.
   */
  allowPrivate?: boolean;
}

/** What a request to an internal address says (the thread, Settings › Transcription's Test). */
export function privateAddressError(host: string): TranscriptionError {
  return new TranscriptionError(`${host} is inside the network; set TRANSCRIPTION_ALLOW_PRIVATE=1 for a local engine`, false, 'refused', { key: 'transcribe.error.private_address', params: { host } });
}

/** The endpoint under a base URL (a base that already ends in `/v1` is not doubled). */
export function transcriptionsUrl(baseUrl: string): string {
  const base = baseUrl.replace(/\/+$/, '');
  return /\/v1$/.test(base) ? `${base}/audio/transcriptions` : `${base}/v1/audio/transcriptions`;
}

/** A base URL an admin may configure: http(s), no credentials, no query. Null when it is fine. */
export function baseUrlProblem(raw: string): string | null {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return 'not a URL';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'http or https only';
  if (u.username || u.password) return 'no user name or password in the URL';
  if (u.search || u.hash) return 'no query or fragment';
  return null;
}

/**
 * OpenAI-compatible speech-to-text (`POST {base}/v1/audio/transcriptions`, multipart `file`,
 * `model`, `language`, `response_format=verbose_json`): OpenAI's Whisper API, Groq, and
 * self-hosted servers (whisper.cpp's server, faster-whisper-server, LocalAI).
 *
 * Requests go to the configured URL only: redirects are not followed (the admin chose this
 * host, not where it points), the file is capped before it is sent, and the caller's signal
 * bounds the time.
 */
export class HttpTranscriber implements Transcriber {
  readonly label: string;
  private readonly url: string;

  constructor(private readonly cfg: HttpEngineConfig) {
    this.url = transcriptionsUrl(cfg.baseUrl);
    this.label = `${cfg.model} · ${new URL(this.url).host}`;
  }

  async transcribe(audio: AudioInput, opts: { language: string | null; signal: AbortSignal }): Promise<Transcript> {
    if (audio.size > MAX_AUDIO_BYTES) {
      throw new TranscriptionError(`the file is larger than ${MAX_AUDIO_BYTES / 1024 / 1024} MB`, false, 'refused', { key: 'transcribe.error.too_big', params: { mb: MAX_AUDIO_BYTES / 1024 / 1024 } });
    }
    const form = new FormData();
    // A stored recording goes as a file-backed Blob: streamed from disk, never copied in memory.
    form.append('file', await audio.blob(), audio.fileName);
    form.append('model', this.cfg.model);
    form.append('response_format', 'verbose_json');
    if (opts.language) form.append('language', opts.language);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.cfg.apiKey) headers.authorization = `Bearer ${this.cfg.apiKey}`;
    const host = new URL(this.url).host;
    // A URL typed in Settings connects through its own agent, whose sockets refuse private
    // addresses when they connect; it is closed once the answer is read.
    const guard = this.cfg.allowPrivate ? null : new Agent({ connect: { lookup: publicOnlyLookup } });
    try {
      return await this.post(form, headers, host, guard, opts);
    } finally {
      void guard?.close();
    }
  }

  private async post(form: FormData, headers: Record<string, string>, host: string, guard: Agent | null, opts: { language: string | null; signal: AbortSignal }): Promise<Transcript> {
    const { signal } = opts;
    let res: Response;
    try {
      if (!guard) {
        res = await fetch(this.url, { method: 'POST', body: form, headers, redirect: 'manual', signal });
      } else {
        // An IP literal is connected to without a lookup: checked here.
        const literal = new URL(this.url).hostname.replace(/^\[|\]$/g, '');
        if (isIP(literal) && isPrivateAddress(literal)) throw privateAddressError(host);
        res = (await guardedFetch(this.url, { method: 'POST', body: form as never, headers, redirect: 'manual', signal, dispatcher: guard })) as unknown as Response;
      }
    } catch (err) {
      if (err instanceof TranscriptionError) throw err;
      if (opts.signal.aborted) throw new TranscriptionError('the engine did not answer in time', true, 'timeout', { key: 'transcribe.error.timeout' });
      if ((err as { cause?: { code?: string } }).cause?.code === 'EPRIVATE') throw privateAddressError(host);
      throw new TranscriptionError(`could not reach ${host}: ${(err as Error).message}`, true, 'network', { key: 'transcribe.error.unreachable', params: { host }, detail: (err as Error).message });
    }
    const body = await res.text().catch(() => '');
    if (res.status >= 300 && res.status < 400) {
      throw new TranscriptionError(`the engine answered with a redirect (HTTP ${res.status}); configure its final URL`, false, 'refused', {
        key: 'transcribe.error.redirect',
        params: { status: res.status },
      });
    }
    if (!res.ok) {
      const detail = errorMessage(body) ?? `HTTP ${res.status}`;
      const retryable = res.status === 429 || res.status >= 500;
      throw new TranscriptionError(`HTTP ${res.status}: ${detail}`.slice(0, 500), retryable, retryable ? 'engine' : 'refused');
    }
    let json: { text?: unknown; language?: unknown; duration?: unknown };
    try {
      json = JSON.parse(body);
    } catch {
      // Some servers answer plain text when they ignore response_format.
      return { text: body.trim(), language: opts.language, durationSec: null };
    }
    if (typeof json.text !== 'string') throw new TranscriptionError('the engine answered without a text', false, 'engine', { key: 'transcribe.error.no_text' });
    const duration = Number(json.duration);
    return {
      text: json.text.trim(),
      language: typeof json.language === 'string' && json.language ? normalizeLanguage(json.language) : opts.language,
      durationSec: Number.isFinite(duration) && duration > 0 ? duration : null,
    };
  }
}

/** Whisper's verbose_json names languages in words ("french"); keep codes as codes. */
const NAMES: Record<string, string> = {
  english: 'en',
  french: 'fr',
  russian: 'ru',
  german: 'de',
  spanish: 'es',
  italian: 'it',
  portuguese: 'pt',
  ukrainian: 'uk',
  dutch: 'nl',
  polish: 'pl',
  arabic: 'ar',
  turkish: 'tr',
};
function normalizeLanguage(l: string): string {
  const v = l.trim().toLowerCase();
  return NAMES[v] ?? v;
}

function errorMessage(body: string): string | null {
  try {
    const j = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown; detail?: unknown };
    const m = typeof j.error === 'string' ? j.error : (j.error?.message ?? j.message ?? j.detail);
    return typeof m === 'string' ? m : null;
  } catch {
    return body.trim() ? body.trim().slice(0, 300) : null;
  }
}
