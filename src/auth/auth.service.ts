import type { Db } from '../db/database.ts';
import { randomToken, sha256 } from '../platform/crypto.ts';
import { ValidationError } from '../platform/errors.ts';
import type { Logger } from '../platform/logger.ts';
import { inTransaction, type Tx } from '../platform/tx.ts';
import * as repo from './auth.repository.ts';
import { hashPassword, MIN_PASSWORD_LENGTH, verifyPassword } from './passwords.ts';
import type { AuthContext } from './permissions.ts';
import type { PrefetchAsk } from './prefetch.ts';
import type { AuthPorts, SessionPolicy } from './ports.ts';

export type { SessionPolicy } from './ports.ts';

export const DEFAULT_SESSION_POLICY: SessionPolicy = { idleMs: 12 * 3600_000, absoluteMs: 14 * 24 * 3600_000 };

export const THROTTLE = {
  windowMs: 15 * 60_000,
  lockMs: 15 * 60_000,
  perAccount: 5,
  perIp: 20,
};

/** Last-seen is written at most this often, so reading a page is not a write. */
const TOUCH_EVERY_MS = 60_000;

export interface NewSession {
  token: string;
  csrfToken: string;
}

export async function createSession(db: Db | Tx['db'], employeeId: number, policy: SessionPolicy, now = new Date()): Promise<NewSession> {
  const token = randomToken(32);
  const csrfToken = randomToken(32);
  await repo.insertSession(db, {
    idHash: sha256(token),
    employeeId,
    csrfToken,
    expiresAt: new Date(now.getTime() + policy.absoluteMs),
  });
  return { token, csrfToken };
}

/** What a full page shows around its content: the side menu's red dot and the admins' banner. */
export interface PageContext {
  redDot: boolean;
  reconnectChannels: Array<{ id: number; kind: string; name: string; reason: string | null }>;
}

/**
 * Resolves a session cookie to its employee, or null when missing, expired, idle or disabled.
 * With `page`, the same round trip also brings the red dot and the reconnect banner, and with
 * `prefetch` what the page's handler reads first (prefetch.ts).
 */
export async function resolveSession(
  deps: Pick<AuthPorts, 'db' | 'sessionPolicy' | 'channelAccess'>,
  token: string,
  o: { page?: boolean; now?: Date; prefetch?: PrefetchAsk | null } = {},
): Promise<{ auth: AuthContext; page: PageContext | null; prefetched: Record<string, unknown> | null } | null> {
  const { db, sessionPolicy: policy } = deps;
  const now = o.now ?? new Date();
  const idHash = sha256(token);
  const row = await repo.findSessionContext(db, idHash, { page: Boolean(o.page), prefetch: o.prefetch ?? null, channelAccess: deps.channelAccess });
  if (!row) return null;
  const expired = row.expires_at.getTime() <= now.getTime() || now.getTime() - row.last_seen_at.getTime() > policy.idleMs || row.disabled_at !== null;
  if (expired) {
    await repo.deleteSession(db, idHash);
    return null;
  }
  if (now.getTime() - row.last_seen_at.getTime() > TOUCH_EVERY_MS) await repo.touchSession(db, idHash, now);
  const auth: AuthContext = {
    employeeId: row.employee_id,
    name: row.name,
    email: row.email,
    locale: row.locale,
    roleId: row.role_id,
    roleName: row.role_name,
    isAdmin: row.is_admin,
    permissions: new Set(row.permissions),
    sessionHash: idHash,
    csrfToken: row.csrf_token,
    channelIds: row.channel_ids,
    mustChangePassword: row.must_change_password,
  };
  const page =
    row.red_dot !== null
      ? {
          redDot: row.red_dot,
          reconnectChannels: (row.reconnect ?? []).map((r) => ({ id: r.id, kind: r.kind, name: r.name, reason: r.state_reason })),
        }
      : null;
  let prefetched: Record<string, unknown> | null = null;
  if (o.prefetch) {
    prefetched = {};
    for (const [k, v] of Object.entries(row)) if (k.startsWith(repo.PREFETCH_PREFIX)) prefetched[k.slice(repo.PREFETCH_PREFIX.length)] = v;
  }
  return { auth, page, prefetched };
}

export function validateEmployeeInput(input: { name?: string; email?: string; password?: string }): { name: string; email: string; password: string } {
  const errors: Record<string, string> = {};
  const name = (input.name ?? '').trim();
  const email = (input.email ?? '').trim();
  const password = input.password ?? '';
  if (!name) errors.name = 'validation.required';
  else if (name.length > 120) errors.name = 'validation.too_long';
  if (!email) errors.email = 'validation.required';
  else if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email) || email.length > 254) errors.email = 'validation.email';
  const weak = passwordProblem(password);
  if (weak) errors.password = weak;
  if (Object.keys(errors).length) throw new ValidationError(errors);
  return { name, email, password };
}

/** What is wrong with a new password (its message key), or null. */
export function passwordProblem(password: string): 'validation.password_short' | 'validation.too_long' | null {
  if (password.length < MIN_PASSWORD_LENGTH) return 'validation.password_short';
  if (password.length > 1024) return 'validation.too_long';
  return null;
}

/**
 * First run: creates the owner (admin) only while no employee exists. The table lock makes two
 * simultaneous setup submissions create one owner, not two.
 */
export async function setupOwner(db: Db, logger: Logger, input: { name?: string; email?: string; password?: string }, policy: SessionPolicy): Promise<NewSession | null> {
  const v = validateEmployeeInput(input);
  const passwordHash = await hashPassword(v.password);
  return inTransaction(db, logger, async (tx) => {
    await repo.lockEmployeesForSetup(tx.db);
    if ((await repo.countEmployees(tx.db)) > 0) return null;
    const adminRole = await repo.findFirstAdminRole(tx.db);
    const roleId = adminRole?.id ?? (await repo.insertRole(tx.db, { name: 'Admin', isAdmin: true, permissions: [] }));
    const id = await repo.insertEmployee(tx.db, { email: v.email, name: v.name, passwordHash, roleId });
    return createSession(tx.db, id, policy);
  });
}

export type CredentialsResult =
  | { ok: true; employee: { id: number; email: string; mustChangePassword: boolean } }
  /** `evaluated`: whether the password was checked at all (false when throttled). */
  | { ok: false; evaluated: boolean };

/**
 * The first step of a login: the email and password, throttled per account and per IP. Every
 * failure (unknown email, wrong password, disabled account, throttled) gives the same answer
 * (S6). The attempt is reserved on both keys before the password is checked, so however many
 * guesses arrive at once, at most `perAccount` per account and `perIp` per address reach argon2
 * in a window; a throttled guess is refused without it.
 */
export async function checkCredentials(db: Db, input: { email?: string; password?: string; ip: string }, now = new Date()): Promise<CredentialsResult> {
  const email = (input.email ?? '').trim().toLowerCase();
  const attempt = await reserveAttempt(db, email, input.ip, now);
  if (!attempt) return { ok: false, evaluated: false };
  const employee = email ? await repo.findEmployeeByEmail(db, email) : undefined;
  const passwordOk = await verifyPassword(employee?.password_hash ?? null, input.password ?? '');
  if (!employee || !passwordOk || employee.disabled_at) {
    await attemptFailed(db, attempt, now);
    return { ok: false, evaluated: true };
  }
  await attemptSucceeded(db, attempt);
  return { ok: true, employee: { id: employee.id, email: employee.email, mustChangePassword: employee.must_change_password } };
}

/** The throttle keys of one password attempt, reserved. */
interface Attempt {
  accountKey: string;
  ipKey: string;
}

/**
 * Reserves a password attempt on the account and the address before any password is checked
 * (login, and the current password of Change password); null when either is spent or locked.
 */
export async function reserveAttempt(db: Db, email: string, ip: string, now = new Date()): Promise<Attempt | null> {
  return reserveKeys(db, { accountKey: `account:${email.trim().toLowerCase()}`, ipKey: `ip:${ip}` }, now);
}

/**
 * Reserves a two-factor code attempt (the login's second step, and the proof My profile asks
 * for) on the employee's own code key and the address, as `reserveAttempt` does for passwords.
 * Codes have their own key: a right password clears the account's key, so counting codes there
 * would give someone who has the password fresh guesses at every login.
 */
export async function reserveCodeAttempt(db: Db, employeeId: number, ip: string, now = new Date()): Promise<Attempt | null> {
  return reserveKeys(db, { accountKey: `two-factor:${employeeId}`, ipKey: `ip:${ip}` }, now);
}

async function reserveKeys(db: Db, a: Attempt, now: Date): Promise<Attempt | null> {
  const [acctOk, ipOk] = await Promise.all([
    repo.reserveLoginAttempt(db, a.accountKey, now, THROTTLE.windowMs, THROTTLE.perAccount),
    repo.reserveLoginAttempt(db, a.ipKey, now, THROTTLE.windowMs, THROTTLE.perIp),
  ]);
  return acctOk && ipOk ? a : null;
}

export async function attemptFailed(db: Db, a: Attempt, now = new Date()) {
  await Promise.all([repo.lockIfSpent(db, a.accountKey, now, THROTTLE.perAccount, THROTTLE.lockMs), repo.lockIfSpent(db, a.ipKey, now, THROTTLE.perIp, THROTTLE.lockMs)]);
}

/** The right password (or code): the account's (or code key's) count is cleared, the address's reservation released. */
export async function attemptSucceeded(db: Db, a: Attempt) {
  await Promise.all([repo.clearThrottle(db, a.accountKey), repo.releaseLoginAttempt(db, a.ipKey)]);
}

/**
 * The last step of a login: a fresh session. Rotation: whatever session the browser had
 * before is ended; the new id is fresh.
 */
export async function startSession(db: Db, employeeId: number, previousSessionToken: string | undefined, policy: SessionPolicy, now = new Date()): Promise<NewSession> {
  if (previousSessionToken) await repo.deleteSession(db, sha256(previousSessionToken));
  return createSession(db, employeeId, policy, now);
}

export async function logout(db: Db, sessionHash: string) {
  await repo.deleteSession(db, sessionHash);
}

/** The hourly chore (platform/maintenance.jobs.ts, passed in by the root): sessions past their end or idle too long go. */
export async function endExpiredSessions(deps: Pick<AuthPorts, 'db' | 'sessionPolicy'>, now: Date) {
  await repo.deleteExpiredSessions(deps.db, now, new Date(now.getTime() - deps.sessionPolicy.idleMs));
}
