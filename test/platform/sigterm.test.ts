import type { ChildProcess } from 'node:child_process';
import { Agent, request, type IncomingMessage } from 'node:http';
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.ts';
import { encodeForm, spawnServer, until } from './support.ts';
import { SseStream } from './sse.ts';

/**
 * R5: the real server process (`node dist/server.js`, built by scripts/build.mjs: what
 * `npm start` runs) gets SIGTERM
 * while a request is in flight and a live stream is open: the request completes, the stream is
 * ended (the browser reconnects elsewhere and replays), and the process exits 0 within 10 s.
 * Always embedded (a temporary DATA_DIR), so it runs the same in both CI modes.
 *
 * Node is spawned directly, not through `npm start`: npm runs scripts through `sh -c`, which
 * does not pass SIGTERM on unless the script `exec`s (ours do), so a container should run
 * `node dist/server.js` itself after `npm run build`.
 */
const dataDir = tempDir('parley-sigterm-');
let child: ChildProcess | undefined;
afterAll(() => {
  // The whole process group, should the test have failed.
  if (child?.pid && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(dataDir, { recursive: true, force: true });
});

function startServer() {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !['DATABASE_URL', 'REDIS_URL', 'SECRET_KEY', 'NODE_OPTIONS'].includes(k)) env[k] = v;
  }
  Object.assign(env, { DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', PROCESS_ROLES: 'web,worker' });
  return spawnServer(env);
}

function send(base: string, path: string, opts: { method?: string; cookie?: string; body?: string } = {}): Promise<{ status: number; headers: IncomingMessage['headers']; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      base + path,
      {
        method: opts.method ?? 'GET',
        agent: false,
        headers: {
          ...(opts.cookie ? { cookie: opts.cookie } : {}),
          ...(opts.body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(opts.body) } : {}),
        },
      },
      (res) => {
        let body = '';
        res
          .setEncoding('utf8')
          .on('data', (c: string) => (body += c))
          .on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

const cookieOf = (headers: IncomingMessage['headers'], name: string) =>
  ([] as string[])
    .concat(headers['set-cookie'] ?? [])
    .map((c) => c.split(';')[0]!)
    .find((c) => c.startsWith(name + '='));

describe('SIGTERM', () => {
  it('finishes the in-flight request, ends live streams and exits 0 within 10 s', { timeout: 120_000 }, async () => {
    const server = startServer();
    child = server.proc;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => server.proc.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
    const listening = await until(() => server.logs.find((l) => l.msg === 'Parley is listening'), 'the server to listen', 90_000, 50).catch((err) => {
      throw new Error(`${(err as Error).message}\n${server.raw.join('\n')}`);
    });
    const base = listening.url!;
    expect((await send(base, '/healthz')).status).toBe(200);
    // Beside the JSON logs, one line for the person who started it (a new install: the owner).
    await until(() => server.raw.find((l) => l.startsWith('Parley is ready: open ')), 'the ready line', 10_000, 50);
    expect(server.raw.find((l) => l.startsWith('Parley is ready: open '))).toMatch(/ to create the owner$/);

    // The owner, logged in, with a live stream open (as a browser tab would be).
    const setupPage = await send(base, '/setup');
    const pre = cookieOf(setupPage.headers, 'parley_csrf')!;
    const csrf = /name="_csrf" value="([^"]+)"/.exec(setupPage.body)![1]!;
    const setup = await send(base, '/setup', { method: 'POST', cookie: pre, body: encodeForm({ _csrf: csrf, name: 'Olga', email: 'olga@shop.test', password: 'supersecret-1' }) });
    expect(setup.status).toBe(303);
    const session = cookieOf(setup.headers, 'parley_session')!;
    // Like a browser: a keep-alive connection, kept open by the client after the stream ends.
    const browserAgent = new Agent({ keepAlive: true });
    const stream = await SseStream.open(`${base}/events`, { cookie: session, agent: browserAgent });
    expect(stream.status).toBe(200);

    // A request in flight: headers and half of the body sent, the rest only after SIGTERM.
    const loginPage = await send(base, '/login');
    const pre2 = cookieOf(loginPage.headers, 'parley_csrf')!;
    const body = encodeForm({ _csrf: /name="_csrf" value="([^"]+)"/.exec(loginPage.body)![1]!, email: 'olga@shop.test', password: 'supersecret-1' });
    // `Expect: 100-continue` makes the server acknowledge the headers: once the 100 arrives the
    // request is in the server's hands (no sleep needed to be sure of it).
    let finishInFlight!: () => void;
    let headersSeen!: () => void;
    const serverHasIt = new Promise<void>((r) => (headersSeen = r));
    const inFlight = new Promise<{ status: number; location: string | undefined }>((resolve, reject) => {
      const req = request(
        base + '/login',
        {
          method: 'POST',
          agent: false,
          headers: { cookie: pre2, 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), expect: '100-continue' },
        },
        (res) => {
          res.resume().on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location }));
        },
      );
      req.on('error', reject);
      req.on('continue', () => {
        req.write(body.slice(0, 10));
        headersSeen();
      });
      finishInFlight = () => req.end(body.slice(10));
    });
    await serverHasIt;

    const signalledAt = Date.now();
    server.proc.kill('SIGTERM');
    await until(() => server.logs.some((l) => l.msg === 'shutting down'), 'the shutdown to start', 10_000);
    // The listener is closed (new connections are refused) while our request is still open.
    await until(
      () =>
        send(base, '/healthz').then(
          () => false,
          () => true,
        ),
      'the listener to close',
      10_000,
    );
    finishInFlight();

    const answered = await inFlight;
    expect(answered).toEqual({ status: 303, location: '/' });
    await stream.waitClosed(10_000);

    const exit = await exited;
    expect(exit.code, server.raw.join('\n')).toBe(0);
    expect(exit.at - signalledAt).toBeLessThan(10_000);
    expect(server.logs.some((l) => l.msg === 'shutdown took too long; exiting')).toBe(false);
    browserAgent.destroy();
  });
});
