import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * A fragment answers only a non-boosted htmx request; boosted navigation, history restores
 * and cold loads get the full page, so every URL works without JavaScript.
 */
export function wantsFragment(req: FastifyRequest): boolean {
  return req.headers['hx-request'] === 'true' && req.headers['hx-boosted'] !== 'true' && req.headers['hx-history-restore-request'] !== 'true';
}

/** Redirect that htmx follows as a full navigation and a plain browser as a 303. */
export function redirect(req: FastifyRequest, reply: FastifyReply, url: string): FastifyReply {
  if (req.headers['hx-request'] === 'true') {
    return reply.header('HX-Redirect', url).code(204).send();
  }
  return reply.redirect(url, 303);
}
