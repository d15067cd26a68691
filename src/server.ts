import cluster from 'node:cluster';
import { exitOnSignals, loadConfigOrExit, start, superviseCopies } from './runtime.ts';

// `npm start`: the roles in PROCESS_ROLES (default web,worker), in WEB_CONCURRENCY processes.
const config = loadConfigOrExit();
if (config.webConcurrency > 1 && cluster.isPrimary) {
  superviseCopies(config);
} else {
  exitOnSignals(await start(config));
}
