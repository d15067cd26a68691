import type { FastifyReply, FastifyRequest } from 'fastify';
import { redirect } from '../platform/htmx.ts';

/** What an employee holding a temporary password may still do: choose their own, or leave. */
export const OPEN_WHILE_TEMPORARY = new Set(['GET /settings/profile', 'POST /settings/profile/password', 'POST /logout']);
const CHANGE_PASSWORD_PAGE = '/settings/profile';

/**
 * A preHandler (after access and CSRF): an employee whose password is temporary (set by an
 * administrator or `parley employee:password --temporary`) is led to My profile › Change
 * password from every page and action until they have chosen their own. Public routes
 * (static files, health, login) are untouched.
 */
export async function temporaryPasswordGate(req: FastifyRequest, reply: FastifyReply) {
  if (!req.auth?.mustChangePassword) return;
  const access = req.routeOptions.config?.access;
  if (!access || access === 'public') return;
  if (OPEN_WHILE_TEMPORARY.has(`${req.method} ${req.routeOptions.url}`)) return;
  return redirect(req, reply, CHANGE_PASSWORD_PAGE);
}
