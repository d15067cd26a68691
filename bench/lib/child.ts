import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, RESULTS_DIR } from './env.ts';

/**
 * A server under test in its own process (so the load generator and the server do not share
 * an event loop), talking to the bench over IPC. Like production (`npm start` runs
 * dist/server.js), it runs JavaScript compiled ahead of time by scripts/build.mjs, not tsx:
 * tsx's loader thread alone adds ≈ 85 MB to a process's RSS.
 *   child → parent: { type: 'ready', port?, pid }
 *   parent → child: { id, cmd, args }   child → parent: { id, ok, result | error }
 * Its stdout/stderr (Parley's logs) go to bench/results/logs/<name>.log.
 */
export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly port: number | undefined;
  readonly logFile: string;
  call<T = unknown>(cmd: string, args?: unknown, timeoutMs?: number): Promise<T>;
  /** Asks the process to shut down cleanly; kills it (by pid) if it does not exit in time. */
  stop(timeoutMs?: number): Promise<void>;
  exited: Promise<number | null>;
}

const live = new Set<ChildProcess>();
let hooked = false;

function hookExit() {
  if (hooked) return;
  hooked = true;
  const killAll = () => {
    for (const c of live) {
      try {
        if (c.pid) process.kill(c.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  };
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      killAll();
      process.exit(130);
    });
  }
}

const builds = new Map<string, string>();

/** `bench/servers/x.ts` compiled (once per bench run) to bench/results/build/x.js. */
function compiled(script: string): string {
  let out = builds.get(script);
  if (!out) {
    out = join(RESULTS_DIR, 'build', script.replace(/^.*\//, '').replace(/\.ts$/, '.js'));
    execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), script, out], { cwd: ROOT, stdio: 'inherit' });
    builds.set(script, out);
  }
  return out;
}

export async function startChild(script: string, opts: { name: string; env: Record<string, string>; exposeGc?: boolean; readyTimeoutMs?: number }): Promise<Child> {
  hookExit();
  const logDir = join(RESULTS_DIR, 'logs');
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${opts.name}.log`);
  const fd = openSync(logFile, 'w');
  const proc = fork(compiled(script), [], {
    cwd: ROOT,
    env: opts.env,
    execArgv: opts.exposeGc ? ['--expose-gc'] : [],
    stdio: ['ignore', fd, fd, 'ipc'],
  });
  closeSync(fd);
  live.add(proc);
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => {
      live.delete(proc);
      resolve(code);
    }),
  );

  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  let readyResolve!: (m: { port?: number }) => void;
  let readyReject!: (e: Error) => void;
  const ready = new Promise<{ port?: number }>((res, rej) => ((readyResolve = res), (readyReject = rej)));
  proc.on('message', (raw) => {
    const m = raw as FromChild; // our own child (serveCommands below, or a server's ready/fatal)
    if (m?.type === 'ready') return readyResolve(m);
    if (m?.type === 'fatal') return readyReject(new Error(`${opts.name}: ${m.error}`));
    const p = pending.get(m?.id);
    if (!p) return;
    pending.delete(m.id);
    clearTimeout(p.timer);
    if (m.ok) p.resolve(m.result);
    else p.reject(new Error(`${opts.name} ${m.error}`));
  });
  exited.then((code) => {
    readyReject(new Error(`${opts.name} exited (${code}) before it was ready; see ${logFile}`));
    for (const [, p] of pending) {
      clearTimeout(p.timer);
      p.reject(new Error(`${opts.name} exited (${code}); see ${logFile}`));
    }
    pending.clear();
  });

  const timeout = setTimeout(() => readyReject(new Error(`${opts.name} not ready after ${opts.readyTimeoutMs ?? 60_000} ms; see ${logFile}`)), opts.readyTimeoutMs ?? 60_000);
  let info: { port?: number };
  try {
    info = await ready;
  } catch (err) {
    if (proc.pid)
      try {
        process.kill(proc.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    throw err;
  } finally {
    clearTimeout(timeout);
  }

  const child: Child = {
    name: opts.name,
    pid: proc.pid!,
    port: info.port,
    logFile,
    exited,
    call(cmd, args, timeoutMs = 60_000) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${opts.name}: ${cmd} timed out`));
        }, timeoutMs);
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer }); // the child answers with the T asked for
        proc.send({ id, cmd, args });
      });
    },
    async stop(timeoutMs = 15_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.send({ id: 0, cmd: 'stop' });
      const t = setTimeout(() => {
        if (proc.pid)
          try {
            process.kill(proc.pid, 'SIGKILL');
          } catch {
            /* gone */
          }
      }, timeoutMs);
      await exited;
      clearTimeout(t);
    },
  };
  return child;
}

/** What a child sends its parent: ready/fatal once, then answers to `call`. */
type FromChild = { type?: string; port?: number; error?: string; id: number; ok?: boolean; result?: unknown };
/** What the parent sends a child (`call`). */
type ToChild = { id: number; cmd: string; args?: unknown };

/** Child side: answer the parent's commands. */
export function serveCommands(handlers: Record<string, (args: never) => unknown>, onStop: () => Promise<void>) {
  process.on('message', async (raw) => {
    const m = raw as ToChild; // sent by call() above
    if (m?.cmd === 'stop') {
      try {
        await onStop();
      } finally {
        process.exit(0);
      }
    }
    const h = handlers[m?.cmd];
    if (!h) return process.send?.({ id: m?.id, ok: false, error: `unknown command ${m?.cmd}` });
    try {
      const result = await h(m.args as never); // each command takes the args its caller sends
      process.send?.({ id: m.id, ok: true, result });
    } catch (err) {
      process.send?.({ id: m.id, ok: false, error: (err as Error).stack ?? String(err) });
    }
  });
  // The parent went away: do not linger.
  process.on('disconnect', () => process.exit(0));
}

/**
 * Runs `fn` (a measured load) and, with BENCH_PROFILE=1, a CPU profile of the server over
 * exactly that window: bench/results/profiles/<name>.cpuprofile (read it with
 * `npx tsx bench/lib/profile-summary.ts FILE` or Chrome DevTools).
 */
export async function profiled<T>(child: Child, name: string, fn: () => Promise<T>, log?: (s: string) => void): Promise<T> {
  if (!process.env.BENCH_PROFILE) return fn();
  await child.call('profileStart');
  try {
    return await fn();
  } finally {
    const file = await child.call<string>('profileStop', { name });
    log?.(`profile: ${file}`);
  }
}
