import type { FastifyReply } from 'fastify';
import { anonCsrfCookie } from './anon-csrf.ts';
import type { NewSession } from './auth.service.ts';
import type { AuthPorts } from './ports.ts';

export const SESSION_COOKIE = 'parley_session';

/** The cookie of a new session (after setup, a login, or a login's two-factor step). */
export function setSessionCookie(deps: Pick<AuthPorts, 'config' | 'sessionPolicy'>, reply: FastifyReply, s: NewSession) {
  reply.setCookie(SESSION_COOKIE, s.token, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: deps.config.secureCookies,
    maxAge: Math.floor(deps.sessionPolicy.absoluteMs / 1000),
  });
  const anon = anonCsrfCookie(deps.config.secureCookies);
  reply.clearCookie(anon.name, anon.options);
}
