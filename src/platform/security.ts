import type { FastifyInstance } from 'fastify';

/**
 * S9: a CSP with no inline script or style and no eval (htmx runs with allowEval:false and
 * indicator styles off, see layouts/main.eta), no framing, no sniffing, no referrer leaks.
 */
export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** HSTS for a year, subdomains included: sent only when PUBLIC_URL is https (`hsts`). */
export const HSTS = 'max-age=31536000; includeSubDomains';

export function securityHeaders(app: FastifyInstance, o: { hsts?: boolean } = {}) {
  app.addHook('onSend', async (_req, reply, payload) => {
    // A response with a policy of its own (stored media: `sandbox`) keeps it.
    if (!reply.hasHeader('Content-Security-Policy')) reply.header('Content-Security-Policy', CSP);
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Referrer-Policy', 'same-origin');
    reply.header('X-Frame-Options', 'DENY');
    reply.header('Cross-Origin-Opener-Policy', 'same-origin');
    reply.header('Permissions-Policy', 'camera=(), microphone=(), geolocation=()');
    if (o.hsts) reply.header('Strict-Transport-Security', HSTS);
    return payload;
  });
}
