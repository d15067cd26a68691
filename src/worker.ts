import { exitOnSignals, loadConfigOrExit, start } from './runtime.ts';

// `npm run worker`: background jobs only (needs REDIS_URL; run as many as you like).
const config = loadConfigOrExit();
if (!config.redisUrl) {
  process.stderr.write('npm run worker needs REDIS_URL: without Redis, jobs run inside `npm start`.\n');
  process.exit(1);
}
const running = await start(config, ['worker']);
running.deps.logger.info('worker started');
exitOnSignals(running);
