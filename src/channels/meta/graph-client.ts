import http from 'node:http';
import https from 'node:https';
import type { Config } from '../../config.ts';
import { PlatformError } from '../adapter.ts';

export interface GraphConfig {
  /** Graph API base without version, e.g. https://graph.facebook.com (META_GRAPH_URL). */
  baseUrl: string;
  version: string;
  timeoutMs?: number;
}

export interface GraphErrorBody {
  error?: { message?: string; type?: string; code?: number; error_subcode?: number; error_user_msg?: string; fbtrace_id?: string };
}

/** Graph codes a retry can fix (meta-platform.md §6 "Retry rule of thumb"). */
const RETRYABLE_CODES = new Set([1, 2, 4, 17, 32, 613, 1200, 80001, 80002, 80003, 80004, 80005, 80006, 80007, 80008, 80009, 80010, 80011, 80012, 80013, 80014, 130429, 131000, 131016, 131056, 131057]);
const RATE_LIMIT_CODES = new Set([4, 17, 32, 613, 130429, 131056, 80007]);

/** Maps a Graph error to Parley's PlatformError (retryable / permanent / reconnect). */
export function toPlatformError(status: number, body: GraphErrorBody | null): PlatformError {
  const e = body?.error;
  const code = e?.code;
  const subcode = e?.error_subcode;
  const message = e?.message ?? `HTTP ${status}`;
  const reason = code !== undefined ? `${message} (code ${code}${subcode ? '/' + subcode : ''})` : message;
  // A token that stopped working: 190, or a bare 401 (the WhatsApp Cloud API answers 401).
  if (code === 190 || (code === undefined && status === 401)) return new PlatformError(reason, { retryable: false, reconnect: true, code: 190, ...(subcode ? { subcode } : {}) });
  // 200–299: a permission is missing or was removed (§6) → reconnect. Except 230, Instagram's
  // "User consent is required to access user profile": a per-person privacy answer (§3.5), not
  // a channel problem, so it must not flag the channel.
  if (code !== undefined && code >= 200 && code <= 299 && code !== 230) return new PlatformError(reason, { retryable: false, reconnect: true, code });
  if (code !== undefined && RETRYABLE_CODES.has(code)) {
    return new PlatformError(reason, { retryable: true, code, ...(subcode ? { subcode } : {}), ...(RATE_LIMIT_CODES.has(code) ? { retryAfterMs: 2000 } : {}) });
  }
  if (code === undefined && (status >= 500 || status === 429)) return new PlatformError(reason, { retryable: true });
  return new PlatformError(reason, { retryable: false, ...(code !== undefined ? { code } : {}), ...(subcode ? { subcode } : {}) });
}

/**
 * A small Graph API client: JSON in and out, the token in the Authorization header (never in
 * a logged URL), errors mapped to PlatformError, network failures retryable.
 *
 * JSON requests go through node:http(s) with keep-alive agents of its own: the send job makes
 * one call per message, and `fetch`'s per-request machinery (WHATWG streams, Headers, abort
 * signals) cost more CPU than the rest of the call. Multipart uploads keep `fetch` (FormData).
 */
export class GraphClient {
  private readonly agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: 64 }),
    'https:': new https.Agent({ keepAlive: true, maxSockets: 64 }),
  };

  constructor(private readonly cfg: GraphConfig) {}

  url(path: string, query: Record<string, string | number | undefined> = {}): string {
    const u = new URL(`${this.cfg.baseUrl}/${this.cfg.version}/${path.replace(/^\//, '')}`);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, String(v));
    return u.toString();
  }

  async request<T>(method: 'GET' | 'POST' | 'DELETE', path: string, opts: { token?: string; query?: Record<string, string | number | undefined>; body?: unknown; form?: FormData } = {}): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let res: { status: number; text: string };
    try {
      if (opts.form) {
        // fetch sets the multipart boundary itself
        const r = await fetch(this.url(path, opts.query), { method, headers, body: opts.form, signal: AbortSignal.timeout(this.timeoutMs) });
        res = { status: r.status, text: await r.text() };
      } else {
        let body: string | undefined;
        if (opts.body !== undefined) {
          headers['content-type'] = 'application/json';
          body = JSON.stringify(opts.body);
        }
        res = await this.send(method, this.url(path, opts.query), headers, body);
      }
    } catch (err) {
      throw new PlatformError(`Could not reach the platform: ${(err as Error).message}`, { retryable: true });
    }
    const text = res.text;
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON */
    }
    if (res.status < 200 || res.status > 299 || (json && typeof json === 'object' && 'error' in (json as object))) {
      throw toPlatformError(res.status, json as GraphErrorBody | null);
    }
    return json as T;
  }

  private get timeoutMs(): number {
    return this.cfg.timeoutMs ?? 15_000;
  }

  /** One HTTP request, the whole answer read as text; rejects on network errors and the timeout. */
  private send(method: string, url: string, headers: Record<string, string>, body: string | undefined): Promise<{ status: number; text: string }> {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : http;
    const agent = this.agents[u.protocol as 'http:' | 'https:'];
    if (!agent) return Promise.reject(new Error(`unsupported protocol ${u.protocol}`));
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    return new Promise((resolve, reject) => {
      const req = mod.request(u, { method, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
        res.on('close', () => {
          if (!res.complete) reject(new Error('the connection closed before the answer was complete'));
        });
      });
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`timed out after ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  get<T>(path: string, token: string, query?: Record<string, string | number | undefined>) {
    return this.request<T>('GET', path, { token, ...(query ? { query } : {}) });
  }

  post<T>(path: string, token: string, body?: unknown, query?: Record<string, string | number | undefined>) {
    return this.request<T>('POST', path, { token, body, ...(query ? { query } : {}) });
  }

  /** A multipart upload (the Send API's `filedata`): JSON fields are serialised as strings. */
  postForm<T>(path: string, token: string, fields: Record<string, unknown>, file: { name: string; data: Buffer; mime: string; field?: string }) {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) form.append(k, typeof v === 'string' ? v : JSON.stringify(v));
    form.append(file.field ?? 'filedata', new Blob([new Uint8Array(file.data)], { type: file.mime }), file.name);
    return this.request<T>('POST', path, { token, form });
  }
}

/**
 * The one place a GraphClient is built from the configuration (META_GRAPH_URL, META_GRAPH_VERSION):
 * the adapters' shared client (registry.ts) and the settings' verification calls (`timeoutMs`).
 */
export function createGraphClient(deps: { config: Pick<Config, 'meta'> }, opts: { timeoutMs?: number } = {}): GraphClient {
  return new GraphClient({ baseUrl: deps.config.meta.graphUrl, version: deps.config.meta.graphVersion, ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}) });
}
