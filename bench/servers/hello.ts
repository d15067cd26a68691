import Fastify from 'fastify';
import { serveCommands } from '../lib/child.ts';

// The baseline: a bare Fastify hello-world, same Node, same machine, same load settings.
const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
serveCommands({}, () => app.close());
process.send?.({ type: 'ready', port: typeof address === 'object' && address ? address.port : 0, pid: process.pid });
