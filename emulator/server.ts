// HTTP wiring: one Fastify instance serves the Graph double (/vNN.N/…), the media paths, the
// control API (/_emulator/…) and the customer web UI (/ui…).
import Fastify, { type FastifyInstance } from 'fastify';
import { registerControlRoutes } from './control.ts';
import type { EmulatorCore } from './emulator.ts';
import { registerGraphRoutes } from './graph/routes.ts';
import { registerBodyParsers } from './http.ts';
import { registerMediaRoutes } from './media-routes.ts';
import { registerUiRoutes } from './ui/routes.ts';

/** WhatsApp documents up to 100 MB (§4.5): uploads must fit. */
const BODY_LIMIT = 110 * 1024 * 1024;

export function buildServer(core: EmulatorCore): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: BODY_LIMIT, forceCloseConnections: true });
  registerBodyParsers(app);
  app.setErrorHandler((error, request, reply) => {
    const err = error as Error & { statusCode?: number };
    const status = typeof err.statusCode === 'number' ? err.statusCode : 500;
    if (/^\/v\d+\.\d+\//.test(request.url)) {
      // Body parse errors on Graph paths still answer Graph-shaped JSON.
      return reply.code(400).send({ error: { message: `(#100) ${err.message}`, type: 'OAuthException', code: 100, fbtrace_id: core.ctx.ids.fbtraceId() } });
    }
    if (status >= 500) core.ctx.log.error('request failed', { url: request.url, err: err.stack ?? err.message });
    return reply.code(status).send({ error: err.message });
  });
  app.get('/', async (_request, reply) => reply.redirect('/ui'));
  app.get('/healthz', async () => ({ ok: true }));
  core.stt.register(app);
  registerGraphRoutes(app, core.ctx);
  registerMediaRoutes(app, core.ctx);
  registerControlRoutes(app, core);
  registerUiRoutes(app, core);
  return app;
}
