import { exitOnSignals, loadConfigOrExit, start } from './runtime.ts';

// `npm start`: the roles in PROCESS_ROLES (default web,worker).
const running = await start(loadConfigOrExit());
exitOnSignals(running);
