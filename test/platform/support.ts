import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { ROOT } from '../../src/deps.ts';
import { createSession } from '../../src/auth/auth.service.ts';
import type { Deps } from '../../src/deps.ts';
import { extractCsrf, type Session } from '../helpers.ts';

/**
 * Small HTTP helpers shared by the auth, platform and access-matrix tests. Forms are sent the
 * way a browser sends them (application/x-www-form-urlencoded, repeated keys for lists), not as
 * JSON, so @fastify/formbody and the CSRF body field are exercised for real.
 */

export type FormFields = Record<string, string | string[] | undefined>;

export function encodeForm(fields: FormFields): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    for (const item of ([] as string[]).concat(v)) p.append(k, item);
  }
  return p.toString();
}

export interface PostOptions {
  cookie?: string;
  headers?: Record<string, string>;
  /** Client IP as Fastify sees it (`req.ip`); throttling is per IP. */
  ip?: string;
}

/** POST a url-encoded form. Add `_csrf` yourself (or use `postAs`). */
export function postForm(app: FastifyInstance, url: string, fields: FormFields, opts: PostOptions = {}): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url,
    remoteAddress: opts.ip,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(opts.cookie ? { cookie: opts.cookie } : {}),
      ...opts.headers,
    },
    payload: encodeForm(fields),
  });
}

/** POST a form as a logged-in employee, with the session's CSRF token unless `csrf: false`. */
export function postAs(app: FastifyInstance, s: Session, url: string, fields: FormFields = {}, opts: PostOptions & { csrf?: boolean } = {}) {
  return postForm(app, url, opts.csrf === false ? fields : { _csrf: s.csrf, ...fields }, { ...opts, cookie: s.cookie });
}

export function getAs(app: FastifyInstance, s: Session | null, url: string, headers: Record<string, string> = {}) {
  return app.inject({ method: 'GET', url, headers: { ...(s ? { cookie: s.cookie } : {}), ...headers } });
}

/** Every Set-Cookie header of a response, parsed: name → { value, attributes (lower-cased) }. */
export function setCookies(res: { headers: Record<string, unknown> }): Record<string, { value: string; attrs: string[]; raw: string }> {
  const out: Record<string, { value: string; attrs: string[]; raw: string }> = {};
  const raw = res.headers['set-cookie'];
  for (const c of ([] as string[]).concat((raw as string | string[] | undefined) ?? [])) {
    const [pair = '', ...attrs] = c.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    out[pair.slice(0, eq)] = { value: pair.slice(eq + 1), attrs: attrs.map((a) => a.toLowerCase()), raw: c };
  }
  return out;
}

/** An anonymous browser's state for public forms: the double-submit cookie and its token. */
export interface AnonForm {
  cookie: string;
  csrf: string;
  html: string;
}

/** GET a public form page (/login, /setup) and keep its pre-session CSRF cookie and token. */
export async function openAnonForm(app: FastifyInstance, url: string, ip?: string): Promise<AnonForm> {
  const page = await app.inject({ method: 'GET', url, remoteAddress: ip });
  if (page.statusCode !== 200) throw new Error(`GET ${url} answered ${page.statusCode}`);
  // Behind https (PUBLIC_URL) the cookie is `__Host-parley_csrf`.
  const jar = setCookies(page);
  const name = jar['__Host-parley_csrf'] ? '__Host-parley_csrf' : 'parley_csrf';
  const pre = jar[name]?.value;
  if (!pre) throw new Error(`GET ${url} set no parley_csrf cookie`);
  return { cookie: `${name}=${pre}`, csrf: extractCsrf(page.body), html: page.body };
}

/** Submits the real login form; returns the raw response (303 on success, 401 on failure). */
export async function submitLogin(app: FastifyInstance, fields: { email: string; password: string; next?: string }, opts: { ip?: string; extraCookie?: string } = {}): Promise<LightMyRequestResponse> {
  const form = await openAnonForm(app, '/login', opts.ip);
  return postForm(
    app,
    '/login',
    { _csrf: form.csrf, ...fields },
    {
      ip: opts.ip,
      cookie: [form.cookie, opts.extraCookie].filter(Boolean).join('; '),
    },
  );
}

/** A session made directly in the database (no argon2, no throttling): for matrix-style tests. */
export async function sessionFor(deps: Deps, employeeId: number): Promise<Session> {
  const s = await createSession(deps.db, employeeId, deps.sessionPolicy);
  return { cookie: `parley_session=${s.token}`, csrf: s.csrfToken };
}

/** Resolves once `check` returns a truthy value; fails with `what` after `timeoutMs`. */
export async function until<T>(check: () => T | Promise<T>, what = 'condition', timeoutMs = 10_000, everyMs = 10): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The visible text of an HTML page, roughly (tags stripped, whitespace collapsed). */
export function textOf(html: string): string {
  return html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;|&#x27;/g, "'")
    .replace(/\s+/g, ' ')
    .trim();
}

/** A log line of a spawned Parley process (pino JSON). */
export interface ServerLogLine {
  msg?: string;
  url?: string;
  pid?: number;
  route?: string;
  [k: string]: unknown;
}

/**
 * `node dist/server.js` as `npm start` runs it (built first by scripts/build.mjs), in its own
 * process group, with its JSON log lines collected as they arrive.
 */
export function spawnServer(env: Record<string, string>): { proc: ChildProcess; logs: ServerLogLine[]; raw: string[] } {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, stdio: 'ignore' });
  const proc = spawn(process.execPath, [join('dist', 'server.js')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const logs: ServerLogLine[] = [];
  const raw: string[] = [];
  let buf = '';
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      raw.push(line);
      try {
        logs.push(JSON.parse(line) as ServerLogLine);
      } catch {
        // not a log line
      }
    }
  });
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => raw.push(chunk));
  return { proc, logs, raw };
}
