import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Deps } from '../../deps.ts';
import { loadViewer } from '../../auth/viewer.ts';

/**
 * GET /events: the logged-in employee's live stream (SSE). The browser resumes with the
 * standard Last-Event-ID header; the first connection passes `?after=` with the id the page
 * was rendered at, so nothing between render and connect is lost.
 */
export function liveRoutes(deps: Deps) {
  return async (app: FastifyInstance) => {
    app.get('/events', { config: { access: 'login' } }, async (req: FastifyRequest<{ Querystring: { after?: string } }>, reply) => {
      const acceptLanguage = req.headers['accept-language'];
      const viewer = await loadViewer(deps.db, req.auth!.employeeId, acceptLanguage);
      if (!viewer) return reply.code(401).send();
      const raw = req.headers['last-event-id'] ?? req.query.after;
      const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : null;
      reply.hijack();
      // Headers set by hooks (CSP etc.) are not sent on a hijacked reply; SSE needs none of them.
      await deps.live.connect(reply.raw, viewer, n, acceptLanguage);
    });
  };
}
