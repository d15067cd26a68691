// The shape every Graph handler receives and returns, and parameter helpers. Graph accepts
// parameters in the query string or the body (JSON, form-encoded with JSON-encoded values, or
// multipart), so handlers read merged `params`.
import type { UploadedFile } from './multipart.ts';
import { errors } from './errors.ts';

export interface GraphRequest {
  method: string;
  version: string;
  /** Path after the version, e.g. "/104455667788990/messages". */
  path: string;
  segments: string[];
  query: Record<string, string>;
  params: Record<string, unknown>;
  files: Record<string, UploadedFile>;
  token?: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface GraphResponse {
  status?: number;
  json?: unknown;
  html?: string;
  redirect?: string;
  /** Channel the call acted on (call log). */
  channelId?: string;
  /** Changed platform state: recorded in "what Parley sent". */
  mutating?: boolean;
}

/** Form values are strings; objects arrive JSON-encoded (`recipient={"id":"…"}`). */
export function objectParam(params: Record<string, unknown>, name: string): Record<string, unknown> | undefined {
  const value = params[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  if (typeof value === 'string') {
    try {
      const parsed: unknown = JSON.parse(value);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    } catch {
      /* fall through */
    }
  }
  throw errors.invalidParam(`param ${name} must be a JSON object`);
}

export function stringParam(params: Record<string, unknown>, name: string): string | undefined {
  const value = params[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw errors.invalidParam(`param ${name} must be a string`);
}

export function listParam(params: Record<string, unknown>, name: string): string[] | undefined {
  const value = params[name];
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (trimmed.startsWith('[')) {
      try {
        return (JSON.parse(trimmed) as unknown[]).map(String);
      } catch {
        /* fall through */
      }
    }
    return trimmed
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }
  throw errors.invalidParam(`param ${name} must be a list`);
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
}

/** An absolute Graph URL on this emulator, carrying the caller's query token like Graph's paging links. */
export function graphUrl(ctx: { baseUrl(): string }, req: GraphRequest, path: string, params: Record<string, string | undefined> = {}): string {
  const url = new URL(`${ctx.baseUrl()}/${req.version}${path}`);
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') url.searchParams.set(k, v);
  if (req.query.access_token) url.searchParams.set('access_token', req.query.access_token);
  return url.toString();
}
