import cluster from 'node:cluster';
import type { FastifyInstance } from 'fastify';
import { createLogger } from './platform/logger.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { buildApp } from './app.ts';
import { createDeps, registryList, type Deps } from './deps.ts';
import { BullQueue } from './platform/jobs/bullmq-queue.ts';
import { maintenanceRef } from './platform/maintenance.jobs.ts';
import { outboxSweepRef } from './chats/outbox/outbox.refs.ts';

/** How long after Redis comes back the pending work is swept (see the reconnect sweep). */
const RECONNECT_SWEEP_DELAY_MS = 2_000;

export interface Running {
  deps: Deps;
  app: FastifyInstance | undefined;
  url: string | undefined;
  stop(): Promise<void>;
}

export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(err.message + '\n');
      process.exit(1);
    }
    throw err;
  }
}

const SHUTDOWN_BUDGET_MS = 9_000;
/** About the jobs a worker runs at once (BullMQ concurrency 16), and a web process's usual need. */
export const WARM_WORKER_CONNECTIONS = 16;
export const WARM_WEB_CONNECTIONS = 4;

/**
 * Starts the roles this process was given. Without Redis the job runner lives in the web
 * process (embedded); with Redis, `web` only produces jobs and `worker` processes them.
 */
export async function start(config: Config, roles = config.processRoles): Promise<Running> {
  const deps = await createDeps(config);
  let app: FastifyInstance | undefined;
  let url: string | undefined;
  const runJobs = roles.includes('worker') || deps.queue.kind === 'local';
  // Connections (and their backends' caches) ready before the first job or request.
  await deps.database.warm(runJobs ? WARM_WORKER_CONNECTIONS : WARM_WEB_CONNECTIONS);
  if (runJobs) await deps.queue.startWorkers(registryList(deps));

  let maintenance: NodeJS.Timeout | undefined;
  let sweeper: NodeJS.Timeout | undefined;
  if (runJobs) {
    const tick = () => deps.queue.enqueue(maintenanceRef, { hour: new Date().toISOString().slice(0, 13) }).catch((e) => deps.logger.warn({ err: (e as Error).message }, 'maintenance not enqueued'));
    void tick();
    maintenance = setInterval(tick, 15 * 60_000);
    maintenance.unref();
    // The outbox sweeper: anything still queued after a crash or a Redis outage goes out.
    const sweep = (payload: { slot: string; minAgeMs?: number }) =>
      deps.queue.enqueue(outboxSweepRef, payload).catch((e) => deps.logger.debug({ err: (e as Error).message }, 'outbox sweep not enqueued'));
    sweeper = setInterval(() => void sweep({ slot: String(Math.floor(Date.now() / 15_000)) }), 15_000);
    sweeper.unref();
    // Redis back after an outage: what it held may be lost; sweep everything pending now rather
    // than at the next tick 20 s later (R3, R6). Every worker asks; the slot makes it one sweep.
    if (deps.queue instanceof BullQueue) {
      deps.queue.onReconnect(() => {
        deps.logger.info('redis is back: sweeping the outbox and the webhook inbox');
        // A moment first: a send still in flight from before the outage (its job gone with
        // Redis) records itself; sweeping it at once could start a second run beside it.
        setTimeout(() => void sweep({ slot: `reconnect-${Math.floor(Date.now() / 10_000)}`, minAgeMs: 0 }), RECONNECT_SWEEP_DELAY_MS).unref();
      });
    }
  }

  if (roles.includes('web')) {
    app = await buildApp(deps);
    await deps.live.start();
    url = await app.listen({ port: config.port, host: config.host });
    deps.logger.info({ url, mode: config.embedded ? 'embedded' : 'postgres', queue: deps.queue.kind, roles }, 'Parley is listening');
  }

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (maintenance) clearInterval(maintenance);
      if (sweeper) clearInterval(sweeper);
      // Live streams first: they never finish on their own and would hold app.close() open.
      await deps.live.close();
      await app?.close(); // waits for in-flight requests
      await deps.close(); // waits for active jobs, then closes Redis and the database
    })());
  return { deps, app, url, stop };
}

/** SIGTERM/SIGINT: finish in-flight work and exit within 10 s whatever happens. */
export function exitOnSignals(running: Running) {
  const onSignal = (signal: string) => {
    running.deps.logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      running.deps.logger.warn('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_BUDGET_MS);
    force.unref();
    running.stop().then(
      () => process.exit(0),
      (err) => {
        running.deps.logger.error({ err: (err as Error).message }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
}

/**
 * WEB_CONCURRENCY=N: this process only supervises N copies of itself (node:cluster), which share
 * the listening port; each runs the configured roles. A copy that dies is replaced; SIGTERM is
 * passed to every copy, and this process exits once they all have (within the same 10 s).
 */
export function superviseCopies(config: Config) {
  const logger = createLogger(config.logLevel);
  let stopping = false;
  let failed = false;
  const live = () => Object.values(cluster.workers ?? {}).filter((w) => w && !w.isDead());
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (code !== 0) failed = true;
      if (live().length === 0) process.exit(failed ? 1 : 0);
      return;
    }
    logger.error({ pid: worker.process.pid, code, signal }, 'web process died; starting another');
    // A short pause keeps a process that dies at boot from being restarted in a tight loop.
    setTimeout(() => {
      if (!stopping) cluster.fork();
    }, 1000).unref();
  });
  for (let i = 0; i < config.webConcurrency; i++) cluster.fork();
  logger.info({ processes: config.webConcurrency, roles: config.processRoles }, 'Parley is starting its processes');

  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => process.exit(1), SHUTDOWN_BUDGET_MS + 500).unref();
    const running = live();
    if (running.length === 0) process.exit(0);
    for (const w of running) w?.process.kill('SIGTERM');
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
}
