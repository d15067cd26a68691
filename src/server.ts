import cluster from 'node:cluster';
import { exitOnSignals, loadConfigOrExit, start, superviseCopies } from './runtime.ts';
import { countEmployees } from './auth/auth.repository.ts';

// `npm start`: the roles in PROCESS_ROLES (default web,worker), in WEB_CONCURRENCY processes.
const config = loadConfigOrExit();
if (config.webConcurrency > 1 && cluster.isPrimary) {
  superviseCopies(config);
} else {
  const running = await start(config);
  // One line for the person who started it, beside the JSON logs (once, not per copy).
  if (config.processRoles.includes('web') && (cluster.isPrimary || cluster.worker?.id === 1)) {
    const fresh = (await countEmployees(running.deps.db)) === 0;
    process.stdout.write(`Parley is ready: open ${config.publicUrl}${fresh ? ' to create the owner' : ''}\n`);
  }
  exitOnSignals(running);
}
