import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { ValidationError } from '../platform/errors.ts';
import { redirect } from '../platform/htmx.ts';
import { readSetting } from '../platform/app-settings.repository.ts';
import type { AuthPorts } from './ports.ts';
import { SESSION_COOKIE, setSessionCookie } from './session-cookie.ts';
import { OPEN_WHILE_TEMPORARY } from './password-gate.ts';
import { startSession } from './auth.service.ts';
import * as repo from './two-factor.repository.ts';
import * as tf from './two-factor.service.ts';

type Form = Record<string, string | undefined>;

/** The second step's cookie: the challenge token, sent only to /login/… and only for its few minutes. */
export const CHALLENGE_COOKIE = 'parley_2fa';
export const TWO_FACTOR_SETTINGS_PATH = '/settings/two-factor';

/** What the two-factor routes need. */
type TwoFactorPorts = Pick<AuthPorts, 'config' | 'db' | 'logger' | 'live' | 'sessionPolicy'>;

export const ctxOf = (deps: Pick<AuthPorts, 'config' | 'db' | 'logger' | 'live'>): tf.TwoFactorCtx => ({ db: deps.db, logger: deps.logger, live: deps.live, secretKey: deps.config.secretKey });

/**
 * Called by POST /login after a right password: an employee with two-factor on gets a challenge
 * (cookie) and a redirect to the code page instead of a session. True when it answered; false
 * (nothing sent) when two-factor is off. A boolean, not the reply: a reply is thenable, so an
 * async function returning one resolves to undefined once it is sent.
 */
export async function beginSecondStep(deps: Pick<AuthPorts, 'config' | 'db'>, reply: FastifyReply, employeeId: number, next: string): Promise<boolean> {
  if (!(await tf.isEnabled(deps.db, employeeId))) return false;
  const token = await tf.createChallenge(deps.db, employeeId, next);
  reply.setCookie(CHALLENGE_COOKIE, token, {
    path: '/login',
    httpOnly: true,
    sameSite: 'strict',
    secure: deps.config.secureCookies,
    maxAge: Math.floor(tf.CHALLENGE_TTL_MS / 1000),
  });
  reply.redirect('/login/two-factor', 303);
  return true;
}

/**
 * What an administrator who must set two-factor up may still use (method and route, so an
 * admin-only action under the same prefix, such as switching the requirement off, is not among
 * them): the set-up page and its start, confirm and cancel, logout, and the live stream.
 */
const OPEN_WHILE_SETUP_DUE = new Set([
  `GET ${TWO_FACTOR_SETTINGS_PATH}`,
  `POST ${TWO_FACTOR_SETTINGS_PATH}/start`,
  `POST ${TWO_FACTOR_SETTINGS_PATH}/confirm`,
  `POST ${TWO_FACTOR_SETTINGS_PATH}/disable`,
  'POST /logout',
  'GET /events',
]);

/**
 * While the shop requires two-factor for administrators, an admin without it reaches only its
 * set-up page (and logout, the live stream, public pages): everything else leads there.
 */
export function twoFactorGate(requirement: tf.TwoFactorRequirement): preHandlerAsyncHookHandler {
  return async (req, reply) => {
    if (!req.auth?.isAdmin || reply.sent) return;
    const access = req.routeOptions.config?.access;
    if (!access || access === 'public') return;
    const route = `${req.method} ${req.routeOptions.url}`;
    if (OPEN_WHILE_SETUP_DUE.has(route)) return;
    // A temporary password is changed first (password-gate.ts): its page and form stay open, or
    // two gates pointing at each other's page would loop.
    if (req.auth.mustChangePassword && OPEN_WHILE_TEMPORARY.has(route)) return;
    if (await requirement.setupDue(req.auth)) return redirect(req, reply, TWO_FACTOR_SETTINGS_PATH);
  };
}

/** Rows of Settings › Employees: who has two-factor on, and the shop's requirement. */
export async function employeesTwoFactorView(deps: Pick<AuthPorts, 'db'>) {
  const [ids, setting] = await Promise.all([repo.listEnabledEmployeeIds(deps.db), readSetting<{ requireForAdmins?: boolean }>(deps.db, tf.TWO_FACTOR_SETTINGS_KEY)]);
  return { enabledIds: new Set(ids), requireForAdmins: setting?.requireForAdmins === true };
}

/** The login's second step, My profile › Two-factor sign-in, and the admins' switches. */
export function twoFactorRoutes(deps: TwoFactorPorts, requirement: tf.TwoFactorRequirement) {
  const ctx = ctxOf(deps);

  /** Renders My profile › Two-factor sign-in on `reply` (resolves once rendered, not once sent). */
  const settingsPage = async (req: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status?: number): Promise<void> => {
    const me = req.auth!;
    const state = await tf.stateOf(ctx, { id: me.employeeId, email: me.email });
    const required = me.isAdmin && (await requirement.forAdmins()) && state.state !== 'on';
    reply.view('settings/two_factor', { tf: state, required, codes: null, errors: {}, ...extra }, status);
  };
  /**
   * Runs a settings action that answers on `reply`; a ValidationError shows the page again with
   * it (422). The action returns nothing: a reply is thenable, awaiting one waits for its end.
   */
  const orFormErrors = async (req: FastifyRequest, reply: FastifyReply, action: () => Promise<void>) => {
    try {
      await action();
      return reply;
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      await settingsPage(req, reply, { errors: err.fields }, 422);
      return reply;
    }
  };
  const proofOf = (b: Form | undefined): tf.Proof => ({ password: b?.password, code: b?.code });
  const challengePage = (reply: FastifyReply, status: 'ask' | 'wrong' | 'expired', code = 200) => reply.view('auth/two_factor', { status }, code);

  return async (app: FastifyInstance) => {
    app.get('/login/two-factor', { config: { access: 'public' } }, async (req, reply) => {
      if (req.auth) return reply.redirect('/', 303);
      if (!(await tf.liveChallenge(deps.db, req.cookies[CHALLENGE_COOKIE]))) return reply.redirect('/login', 303);
      return challengePage(reply, 'ask');
    });

    app.post('/login/two-factor', { config: { access: 'public' } }, async (req: FastifyRequest<{ Body: Form }>, reply) => {
      const answer = await tf.answerChallenge(ctx, req.cookies[CHALLENGE_COOKIE], req.body?.code, req.ip);
      if (!answer.ok) {
        req.log.info({ ip: req.ip, reason: answer.reason }, 'two-factor code refused');
        if (answer.reason === 'expired') reply.clearCookie(CHALLENGE_COOKIE, { path: '/login' });
        return challengePage(reply, answer.reason, 401);
      }
      reply.clearCookie(CHALLENGE_COOKIE, { path: '/login' });
      const session = await startSession(deps.db, answer.employeeId, req.cookies[SESSION_COOKIE], deps.sessionPolicy);
      setSessionCookie(deps, reply, session);
      return reply.redirect(answer.next, 303);
    });

    app.get(TWO_FACTOR_SETTINGS_PATH, { config: { access: 'login' } }, async (req, reply) => {
      await settingsPage(req, reply);
      return reply;
    });

    app.post(`${TWO_FACTOR_SETTINGS_PATH}/start`, { config: { access: 'login' } }, async (req, reply) =>
      orFormErrors(req, reply, async () => {
        await tf.startEnrolment(ctx, req.auth!.employeeId);
        redirect(req, reply, TWO_FACTOR_SETTINGS_PATH);
      }),
    );

    // The recovery codes are in this answer only (never stored readable, never shown again).
    app.post(`${TWO_FACTOR_SETTINGS_PATH}/confirm`, { config: { access: 'login' } }, async (req: FastifyRequest<{ Body: Form }>, reply) =>
      orFormErrors(req, reply, async () => settingsPage(req, reply, { codes: await tf.confirmEnrolment(ctx, req.auth!.employeeId, req.body?.code) })),
    );

    app.post(`${TWO_FACTOR_SETTINGS_PATH}/disable`, { config: { access: 'login' } }, async (req: FastifyRequest<{ Body: Form }>, reply) =>
      orFormErrors(req, reply, async () => {
        await tf.turnOff(ctx, req.auth!.employeeId, proofOf(req.body), req.ip);
        redirect(req, reply, TWO_FACTOR_SETTINGS_PATH);
      }),
    );

    app.post(`${TWO_FACTOR_SETTINGS_PATH}/recovery-codes`, { config: { access: 'login' } }, async (req: FastifyRequest<{ Body: Form }>, reply) =>
      orFormErrors(req, reply, async () => settingsPage(req, reply, { codes: await tf.regenerateRecoveryCodes(ctx, req.auth!.employeeId, proofOf(req.body), req.ip) })),
    );

    app.post(`${TWO_FACTOR_SETTINGS_PATH}/require`, { config: { access: 'admin' } }, async (req: FastifyRequest<{ Body: Form }>, reply) => {
      await requirement.save(req.body?.require === 'on' || req.body?.require === 'true');
      return redirect(req, reply, '/settings/employees');
    });
  };
}
