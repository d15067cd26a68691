import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ValidationError } from '../platform/errors.ts';
import { countEmployees } from './auth.repository.ts';
import { checkCredentials, logout, setupOwner, startSession } from './auth.service.ts';
import type { AuthPorts } from './ports.ts';
import { SESSION_COOKIE, setSessionCookie } from './session-cookie.ts';
import { beginSecondStep } from './two-factor.routes.ts';

type Form = Record<string, string | undefined>;

/** Only same-site relative paths are followed after login (no open redirect). */
function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/(?!\/)[^\s\\]*$/.test(next) ? next : '/';
}

export function authRoutes(deps: Pick<AuthPorts, 'config' | 'db' | 'logger' | 'live' | 'sessionPolicy'>) {
  return async (app: FastifyInstance) => {
    app.get('/setup', { config: { access: 'public' } }, async (_req, reply) => {
      if ((await countEmployees(deps.db)) > 0) return reply.redirect('/login', 303);
      return reply.view('auth/setup', { values: {}, errors: {} });
    });

    app.post('/setup', { config: { access: 'public' } }, async (req: FastifyRequest<{ Body: Form }>, reply) => {
      const body = req.body ?? {};
      // Once an owner exists, setup is closed: answer before validating or hashing, so an
      // anonymous POST can neither see the setup form again nor make the server run argon2.
      if ((await countEmployees(deps.db)) > 0) return reply.redirect('/login', 303);
      try {
        const session = await setupOwner(deps.db, deps.logger, body, deps.sessionPolicy);
        if (!session) return reply.redirect('/login', 303);
        setSessionCookie(deps, reply, session);
        return reply.redirect('/', 303);
      } catch (err) {
        if (err instanceof ValidationError) {
          return reply.view('auth/setup', { values: { name: body.name, email: body.email }, errors: err.fields }, 422);
        }
        throw err;
      }
    });

    app.get('/login', { config: { access: 'public' } }, async (req: FastifyRequest<{ Querystring: { next?: string } }>, reply) => {
      if ((await countEmployees(deps.db)) === 0) return reply.redirect('/setup', 303);
      if (req.auth) return reply.redirect(safeNext(req.query.next), 303);
      return reply.view('auth/login', { values: {}, failed: false, next: safeNext(req.query.next) });
    });

    app.post('/login', { config: { access: 'public' } }, async (req: FastifyRequest<{ Body: Form }>, reply) => {
      const body = req.body ?? {};
      const checked = await checkCredentials(deps.db, { email: body.email, password: body.password, ip: req.ip });
      if (!checked.ok) {
        // Evaluated or not (throttled), the answer is the same; the log tells them apart.
        req.log.info({ ip: req.ip, evaluated: checked.evaluated }, 'login refused');
        return reply.view('auth/login', { values: { email: body.email }, failed: true, next: safeNext(body.next) }, 401);
      }
      // Two-factor on: no session yet, the code page first (two-factor.routes.ts).
      if (await beginSecondStep(deps, reply, checked.employee.id, safeNext(body.next))) return reply;
      const session = await startSession(deps.db, checked.employee.id, req.cookies[SESSION_COOKIE], deps.sessionPolicy);
      setSessionCookie(deps, reply, session);
      return reply.redirect(safeNext(body.next), 303);
    });

    app.post('/logout', { config: { access: 'login' } }, async (req, reply) => {
      if (req.auth) await logout(deps.db, req.auth.sessionHash);
      if (req.auth) await deps.live.sessionsEnded(req.auth.employeeId); // this session's live streams end, on every process
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.redirect('/login', 303);
    });
  };
}
