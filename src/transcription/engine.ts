/**
 * Which speech-to-text engine Parley uses: the environment's (`TRANSCRIBE_URL` …, or
 * `TRANSCRIBE_COMMAND`) when set, otherwise what an admin saved in Settings › Transcription,
 * otherwise none. The API key is stored encrypted; it is never rendered back.
 */
import type { TranscriptionPorts } from './ports.ts';
import { decryptSecret, encryptSecret } from '../platform/crypto.ts';
import { readSetting, writeSetting } from '../platform/app-settings.repository.ts';
import { CommandTranscriber } from './command-transcriber.ts';
import { HttpTranscriber } from './http-transcriber.ts';
import type { Transcriber } from './transcriber.ts';

export const SETTINGS_KEY = 'transcription';

/** What Settings › Transcription saves (`apiKeyEnc`: the key, encrypted). */
export interface SavedEngine {
  engine: 'none' | 'http';
  baseUrl?: string;
  model?: string;
  apiKeyEnc?: string | null;
  language?: string | null;
}

export interface EngineView {
  /** Where the configuration comes from: the environment wins over the settings page. */
  source: 'environment' | 'settings' | 'none';
  engine: 'none' | 'http' | 'command';
  baseUrl: string | null;
  model: string | null;
  hasApiKey: boolean;
  /** Null: detected per recording. */
  language: string | null;
  command: readonly string[] | null;
}

type EngineDeps = Pick<TranscriptionPorts, 'db' | 'config'>;

export async function readEngine(deps: EngineDeps): Promise<EngineView & { apiKey: string | null }> {
  const env = deps.config.transcription;
  if (env.command) return { source: 'environment', engine: 'command', baseUrl: null, model: null, hasApiKey: false, apiKey: null, language: env.language ?? null, command: env.command };
  if (env.url)
    return { source: 'environment', engine: 'http', baseUrl: env.url, model: env.model, hasApiKey: Boolean(env.apiKey), apiKey: env.apiKey ?? null, language: env.language ?? null, command: null };
  const saved = await readSetting<SavedEngine & Record<string, unknown>>(deps.db, SETTINGS_KEY);
  if (saved?.engine !== 'http' || !saved.baseUrl || !saved.model) {
    return { source: 'none', engine: 'none', baseUrl: null, model: null, hasApiKey: false, apiKey: null, language: null, command: null };
  }
  const apiKey = saved.apiKeyEnc ? decryptSecret(deps.config.secretKey, saved.apiKeyEnc) : null;
  return { source: 'settings', engine: 'http', baseUrl: saved.baseUrl, model: saved.model, hasApiKey: Boolean(apiKey), apiKey, language: saved.language ?? null, command: null };
}

/** The engine to call now, or null: none is configured (G3). */
export async function currentTranscriber(deps: EngineDeps): Promise<{ transcriber: Transcriber; language: string | null } | null> {
  const e = await readEngine(deps);
  if (e.engine === 'command' && e.command) return { transcriber: new CommandTranscriber(e.command), language: e.language };
  if (e.engine === 'http' && e.baseUrl && e.model) {
    // The environment's URL is the operator's; one typed in Settings may not reach inside the network.
    const allowPrivate = e.source === 'environment' || deps.config.transcription.allowPrivate;
    return { transcriber: new HttpTranscriber({ baseUrl: e.baseUrl, model: e.model, apiKey: e.apiKey, allowPrivate }), language: e.language };
  }
  return null;
}

/** Saves the settings page's engine; an empty API key keeps the one stored. */
export async function saveEngine(
  deps: EngineDeps,
  input: { engine: 'none' | 'http'; baseUrl?: string; model?: string; apiKey?: string; clearApiKey?: boolean; language?: string | null },
): Promise<void> {
  const before = await readSetting<SavedEngine & Record<string, unknown>>(deps.db, SETTINGS_KEY);
  // A stored key belongs to the host it was typed for: a new host gets it only if typed again.
  const sameHost = Boolean(before?.baseUrl && input.baseUrl && originOf(before.baseUrl) === originOf(input.baseUrl));
  const kept = sameHost || input.engine === 'none' ? (before?.apiKeyEnc ?? null) : null;
  const apiKeyEnc = input.clearApiKey ? null : input.apiKey ? encryptSecret(deps.config.secretKey, input.apiKey) : kept;
  const value: SavedEngine =
    input.engine === 'http'
      ? { engine: 'http', baseUrl: input.baseUrl!, model: input.model!, apiKeyEnc, language: input.language ?? null }
      : { engine: 'none', ...(before?.baseUrl ? { baseUrl: before.baseUrl, model: before.model ?? '' } : {}), apiKeyEnc, language: before?.language ?? null };
  await writeSetting(deps.db, SETTINGS_KEY, value as unknown as Record<string, unknown>);
}

function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}
