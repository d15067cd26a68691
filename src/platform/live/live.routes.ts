import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from '../logger.ts';
import type { LiveHub } from './hub.ts';

/**
 * GET /events: the logged-in employee's live stream (SSE). The browser resumes with the
 * standard Last-Event-ID header; the first connection passes `?after=` with the id the page
 * was rendered at, so nothing between render and connect is lost.
 */
export function liveRoutes(deps: { readonly logger: Logger; readonly live: Pick<LiveHub, 'viewerOf' | 'connect'> }) {
  return async (app: FastifyInstance) => {
    app.get('/events', { config: { access: 'login' } }, async (req: FastifyRequest<{ Querystring: { after?: string } }>, reply) => {
      const acceptLanguage = req.headers['accept-language'];
      // The stream is bound to this session: it ends when the session does (hub.ts).
      const session = req.auth!.sessionHash;
      const viewer = await deps.live.viewerOf(req.auth!.employeeId, acceptLanguage);
      if (!viewer) return reply.code(401).send();
      const raw = req.headers['last-event-id'] ?? req.query.after;
      const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : null;
      reply.hijack();
      releaseFastifyRequest(reply.raw);
      releaseRequestHeaders(req.raw);
      // app.ts's one line per request, written when the stream ends (from plain values: the
      // closure must not hold the request either).
      const reqId = req.id;
      const started = performance.now();
      reply.raw.once('close', () => deps.logger.info({ reqId, method: 'GET', route: '/events', status: 200, ms: Math.round(performance.now() - started) }, 'request'));
      // Headers set by hooks (CSP etc.) are not sent on a hijacked reply; SSE needs none of them.
      await deps.live.connect(reply.raw, viewer, n, acceptLanguage, session);
    });
  };
}

/**
 * A stream stays open for hours, and until it ends Fastify's own 'finish'/'error' listener
 * (`onResFinished`, which runs the onResponse hooks) keeps the whole request alive: request,
 * reply, child logger, decorations, ≈ 2.6 KB of heap per stream (P7). A hijacked reply needs
 * none of it once handed to the hub, so that listener is removed; the route logs the request's
 * line itself. (Matched by name: should Fastify rename it, nothing breaks, the memory figure of
 * P7 just goes back up.)
 */
function releaseFastifyRequest(res: ServerResponse) {
  for (const event of ['finish', 'error'] as const) {
    for (const listener of res.listeners(event)) {
      if (listener.name === 'onResFinished') res.removeListener(event, listener as (...args: unknown[]) => void);
    }
  }
  // That listener also caught the response's 'error' (a write after the stream ended, during a
  // replay racing a drop): without one it would be thrown. The client is gone; nothing to do.
  res.on('error', ignore);
}

const ignore = () => {};

/**
 * Node's request object lives as long as the stream (the response and the parser point to it),
 * and with it every header the browser sent, twice (`rawHeaders` and the parsed `headers`),
 * ≈ 0.7 KB per stream (P7). Everything the stream needs from them has been read above.
 */
function releaseRequestHeaders(req: IncomingMessage) {
  req.rawHeaders = [];
  req.headers = {};
  // Computed lazily from rawHeaders: set too, so that a later reader gets nothing, not an error.
  req.headersDistinct = {};
}
