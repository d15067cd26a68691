/**
 * Two-factor sign-in (TOTP, RFC 6238): turning it on and off, recovery codes, the second step
 * of a login, and the shop's "required for administrators" setting.
 *
 * - The secret is encrypted at rest with SECRET_KEY (platform/crypto.ts), like channel tokens.
 * - A code is accepted within one 30 s step either side of now, and never twice: the step of
 *   each accepted code is recorded and only a later step passes (repository `claimStep`).
 * - Recovery codes: ten, shown once, stored as SHA-256 (they are random, 50 bits each), each
 *   spent by the update that checks it.
 * - The second step of a login is a `login_challenges` row: a random token (only its hash
 *   stored) in an HttpOnly cookie, five minutes, five codes at most. It grants nothing else.
 *   Codes are throttled like passwords: per employee (their own key) and per address.
 */
import { randomInt } from 'node:crypto';
import * as OTPAuth from 'otpauth';
import QRCode from 'qrcode';
import type { Db } from '../db/database.ts';
import { decryptSecret, encryptSecret, randomToken, sha256 } from '../platform/crypto.ts';
import { NotFoundError, ValidationError } from '../platform/errors.ts';
import type { Logger } from '../platform/logger.ts';
import { inTransaction } from '../platform/tx.ts';
import { readSetting, writeSetting } from '../platform/app-settings.repository.ts';
import * as authRepo from './auth.repository.ts';
import { attemptFailed, attemptSucceeded, reserveAttempt, reserveCodeAttempt } from './auth.service.ts';
import { verifyPassword } from './passwords.ts';
import * as repo from './two-factor.repository.ts';
import type { AuthPorts } from './ports.ts';

export const TOTP_ISSUER = 'Parley';
const PERIOD = 30;
const DIGITS = 6;
/** Steps accepted either side of now (RFC 6238 §5.2: allow for clock drift and typing). */
const WINDOW = 1;
export const RECOVERY_CODE_COUNT = 10;
export const CHALLENGE_TTL_MS = 5 * 60_000;
export const CHALLENGE_MAX_ATTEMPTS = 5;
/** No 0/o, 1/l/i: a code read off paper is typed back right. */
const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

export type TwoFactorCtx = Pick<AuthPorts, 'db' | 'logger' | 'live'> & { secretKey: Buffer };

function totp(secretBase32: string, email = ''): OTPAuth.TOTP {
  return new OTPAuth.TOTP({ issuer: TOTP_ISSUER, label: email, algorithm: 'SHA1', digits: DIGITS, period: PERIOD, secret: OTPAuth.Secret.fromBase32(secretBase32) });
}

/** The time step (RFC 6238 T) of a code valid now, or null. */
export function matchingStep(secretBase32: string, code: string, now: number): number | null {
  const delta = totp(secretBase32).validate({ token: code, timestamp: now, window: WINDOW });
  return delta === null ? null : OTPAuth.TOTP.counter({ period: PERIOD, timestamp: now }) + delta;
}

const isTotpCode = (s: string) => /^\d{6}$/.test(s);
const normalizeCode = (raw: unknown) => (typeof raw === 'string' ? raw.replace(/[\s-]/g, '').toLowerCase() : '');

export function newRecoveryCodes(): string[] {
  const codes: string[] = [];
  for (let i = 0; i < RECOVERY_CODE_COUNT; i++) {
    let c = '';
    for (let j = 0; j < 10; j++) c += RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)];
    codes.push(`${c.slice(0, 5)}-${c.slice(5)}`);
  }
  return codes;
}
const hashRecoveryCode = (normalized: string) => sha256(`parley-recovery:${normalized}`);

async function issueRecoveryCodes(db: Db | Parameters<typeof repo.replaceRecoveryCodes>[0], employeeId: number): Promise<string[]> {
  const codes = newRecoveryCodes();
  await repo.replaceRecoveryCodes(
    db,
    employeeId,
    codes.map((c) => hashRecoveryCode(normalizeCode(c))),
  );
  return codes;
}

/**
 * Checks a second factor of an employee whose two-factor is on: a current 6-digit code (each
 * step once) or an unused recovery code (spent). True when accepted.
 */
export async function acceptSecondFactor(ctx: TwoFactorCtx, employeeId: number, raw: unknown, now = Date.now()): Promise<boolean> {
  const code = normalizeCode(raw);
  if (!code || code.length > 64) return false;
  const tf = await repo.findTwoFactor(ctx.db, employeeId);
  if (!tf?.enabled_at) return false;
  if (isTotpCode(code)) {
    const step = matchingStep(decryptSecret(ctx.secretKey, tf.secret_encrypted), code, now);
    return step !== null && (await repo.claimStep(ctx.db, employeeId, step));
  }
  return repo.useRecoveryCode(ctx.db, employeeId, hashRecoveryCode(code), new Date(now));
}

export async function isEnabled(db: Db, employeeId: number): Promise<boolean> {
  return Boolean((await repo.findTwoFactor(db, employeeId))?.enabled_at);
}

// Settings › My profile › Two-factor sign-in

export type TwoFactorState = { state: 'off' } | { state: 'pending'; secret: string; otpauthUrl: string; qrDataUri: string } | { state: 'on'; unusedRecoveryCodes: number };

export async function stateOf(ctx: TwoFactorCtx, employee: { id: number; email: string }): Promise<TwoFactorState> {
  const tf = await repo.findTwoFactor(ctx.db, employee.id);
  if (!tf) return { state: 'off' };
  if (tf.enabled_at) return { state: 'on', unusedRecoveryCodes: await repo.countUnusedRecoveryCodes(ctx.db, employee.id) };
  const secret = decryptSecret(ctx.secretKey, tf.secret_encrypted);
  const otpauthUrl = totp(secret, employee.email).toString();
  // An SVG as a data: URI in an <img>: drawn on the server, no script, no inline style (CSP).
  const svg = await QRCode.toString(otpauthUrl, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return { state: 'pending', secret, otpauthUrl, qrDataUri: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}` };
}

/** Turn on, first half: a new secret, saved encrypted but not in force until confirmed. */
export async function startEnrolment(ctx: TwoFactorCtx, employeeId: number): Promise<void> {
  if (await isEnabled(ctx.db, employeeId)) throw new ValidationError({ code: 'twofactor.already_on' });
  const secret = new OTPAuth.Secret({ size: 20 }).base32;
  await repo.savePendingSecret(ctx.db, employeeId, encryptSecret(ctx.secretKey, secret));
}

/** Turn on, second half: a current code from the app proves it was set up. Returns the recovery codes (shown once). */
export async function confirmEnrolment(ctx: TwoFactorCtx, employeeId: number, raw: unknown, now = Date.now()): Promise<string[]> {
  const code = normalizeCode(raw);
  return inTransaction(ctx.db, ctx.logger, async (tx) => {
    const tf = await repo.findTwoFactor(tx.db, employeeId);
    if (!tf || tf.enabled_at) throw new ValidationError({ code: 'twofactor.not_pending' });
    const step = isTotpCode(code) ? matchingStep(decryptSecret(ctx.secretKey, tf.secret_encrypted), code, now) : null;
    if (step === null || !(await repo.claimStep(tx.db, employeeId, step))) throw new ValidationError({ code: 'twofactor.wrong_code' });
    await repo.markEnabled(tx.db, employeeId, new Date(now));
    const codes = await issueRecoveryCodes(tx.db, employeeId);
    ctx.logger.info({ employeeId }, 'two-factor sign-in turned on');
    return codes;
  });
}

/** The proof My profile asks before turning off or regenerating codes: the current password, or a code. */
export interface Proof {
  password?: string;
  code?: string;
}

/**
 * Checks a proof, throttled as a login is: each kind given is reserved before it is checked
 * (a code on the employee's code key, the password on their account key, both on the address),
 * so a held session cannot guess either faster than the login form allows. A right one releases
 * its reservation; a wrong one counts. Throttled: refused, whatever was typed.
 */
async function proveItIsYou(ctx: TwoFactorCtx, employeeId: number, proof: Proof, ip: string, now = new Date()): Promise<void> {
  let throttled = false;
  if (proof.code) {
    const attempt = await reserveCodeAttempt(ctx.db, employeeId, ip, now);
    if (!attempt) throttled = true;
    else if (await acceptSecondFactor(ctx, employeeId, proof.code, now.getTime())) return attemptSucceeded(ctx.db, attempt);
    else await attemptFailed(ctx.db, attempt, now);
  }
  if (proof.password) {
    const e = await authRepo.findEmployee(ctx.db, employeeId);
    const attempt = e ? await reserveAttempt(ctx.db, e.email, ip, now) : null;
    if (!attempt) throttled = true;
    else if (await verifyPassword(e!.password_hash, proof.password)) return attemptSucceeded(ctx.db, attempt);
    else await attemptFailed(ctx.db, attempt, now);
  }
  throw new ValidationError({ proof: throttled ? 'twofactor.proof_throttled' : 'twofactor.proof_wrong' });
}

export async function turnOff(ctx: TwoFactorCtx, employeeId: number, proof: Proof, ip: string): Promise<void> {
  // A set-up never confirmed protects nothing yet: cancelling it needs no proof.
  if (await isEnabled(ctx.db, employeeId)) await proveItIsYou(ctx, employeeId, proof, ip);
  await repo.deleteTwoFactor(ctx.db, employeeId);
  ctx.logger.info({ employeeId }, 'two-factor sign-in turned off');
}

export async function regenerateRecoveryCodes(ctx: TwoFactorCtx, employeeId: number, proof: Proof, ip: string): Promise<string[]> {
  if (!(await isEnabled(ctx.db, employeeId))) throw new ValidationError({ proof: 'twofactor.not_on' });
  await proveItIsYou(ctx, employeeId, proof, ip);
  return issueRecoveryCodes(ctx.db, employeeId);
}

/**
 * Settings › Employees (lost phone): an administrator turns an employee's two-factor off (or the
 * server's operator, `parley employee:two-factor-off`, actor null). Every session of that
 * employee ends (with its live streams), so does any login waiting for its code, and it is
 * logged. Not one's own (refused: My profile asks for proof). True when it was on.
 */
export async function adminTurnOff(ctx: TwoFactorCtx, actorId: number | null, employeeId: number): Promise<boolean> {
  // One's own goes through My profile, which asks for the password or a code.
  if (actorId === employeeId) throw new ValidationError({ twoFactor: 'twofactor.admin_self' });
  return inTransaction(ctx.db, ctx.logger, async (tx) => {
    if (!(await authRepo.findEmployee(tx.db, employeeId))) throw new NotFoundError();
    const wasOn = await repo.deleteTwoFactor(tx.db, employeeId);
    // A login already past its password step must not finish with a code from the lost phone.
    await repo.deleteEmployeeChallenges(tx.db, employeeId);
    await authRepo.deleteEmployeeSessions(tx.db, employeeId);
    await ctx.live.sessionsEnded(employeeId, tx); // their open live streams close, on every process
    tx.afterCommit(() => ctx.logger.warn({ actorId, employeeId, wasOn }, 'two-factor sign-in turned off by an administrator; sessions ended'));
    return wasOn;
  });
}

// The second step of a login

/** After a right password: the challenge token for the browser's cookie. */
export async function createChallenge(db: Db, employeeId: number, next: string, now = new Date()): Promise<string> {
  await repo.deleteExpiredChallenges(db, now);
  const token = randomToken(32);
  await repo.insertChallenge(db, { tokenHash: sha256(token), employeeId, next, expiresAt: new Date(now.getTime() + CHALLENGE_TTL_MS) });
  return token;
}

export async function liveChallenge(db: Db, token: string | undefined, now = new Date()) {
  return token ? repo.findLiveChallenge(db, sha256(token), now, CHALLENGE_MAX_ATTEMPTS) : undefined;
}

export type ChallengeAnswer = { ok: true; employeeId: number; next: string } | { ok: false; reason: 'expired' | 'wrong' };

/**
 * A code for a challenge. The attempt is counted on the challenge and reserved on the
 * employee's code key and the address's key before the code is checked (as passwords are), so
 * concurrent guesses cannot exceed either limit; five wrong codes in 15 minutes lock the code
 * step for 15 minutes, whatever logins happen meanwhile. A right code releases the reservation.
 */
export async function answerChallenge(ctx: TwoFactorCtx, token: string | undefined, code: unknown, ip: string, now = new Date()): Promise<ChallengeAnswer> {
  if (!token) return { ok: false, reason: 'expired' };
  const tokenHash = sha256(token);
  const challenge = await repo.spendChallengeAttempt(ctx.db, tokenHash, now, CHALLENGE_MAX_ATTEMPTS);
  if (!challenge) {
    await repo.deleteChallenge(ctx.db, tokenHash);
    return { ok: false, reason: 'expired' };
  }
  const employee = await authRepo.findEmployee(ctx.db, challenge.employee_id);
  if (!employee || employee.disabled_at) {
    await repo.deleteChallenge(ctx.db, tokenHash);
    return { ok: false, reason: 'expired' };
  }
  const attempt = await reserveCodeAttempt(ctx.db, employee.id, ip, now);
  if (attempt && (await acceptSecondFactor(ctx, employee.id, code, now.getTime()))) {
    await Promise.all([repo.deleteChallenge(ctx.db, tokenHash), attemptSucceeded(ctx.db, attempt)]);
    return { ok: true, employeeId: employee.id, next: challenge.next };
  }
  if (attempt) await attemptFailed(ctx.db, attempt, now);
  if (challenge.attempts >= CHALLENGE_MAX_ATTEMPTS) {
    await repo.deleteChallenge(ctx.db, tokenHash);
    return { ok: false, reason: 'expired' };
  }
  return { ok: false, reason: 'wrong' };
}

// "Require two-factor sign-in for administrators" (Settings › Employees)

export const TWO_FACTOR_SETTINGS_KEY = 'two_factor';

/**
 * The shop's requirement, read from memory: pages do not pay a statement for it. A save in this
 * process applies at once, one in another process within the TTL (30 s).
 */
export class TwoFactorRequirement {
  private value = false;
  private freshUntil = 0;
  private loading: Promise<boolean> | null = null;

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    private readonly ttlMs = 30_000,
  ) {}

  async forAdmins(): Promise<boolean> {
    if (Date.now() < this.freshUntil) return this.value;
    this.loading ??= readSetting<{ requireForAdmins?: boolean }>(this.db, TWO_FACTOR_SETTINGS_KEY)
      .then((s) => {
        this.value = s?.requireForAdmins === true;
        this.freshUntil = Date.now() + this.ttlMs;
        return this.value;
      })
      .finally(() => (this.loading = null));
    return this.loading;
  }

  async save(requireForAdmins: boolean): Promise<void> {
    await writeSetting(this.db, TWO_FACTOR_SETTINGS_KEY, { requireForAdmins });
    this.value = requireForAdmins;
    this.freshUntil = Date.now() + this.ttlMs;
    this.logger.info({ requireForAdmins }, 'two-factor requirement for administrators saved');
  }

  /** Whether this employee must set two-factor up before any other page. */
  async setupDue(auth: { employeeId: number; isAdmin: boolean }): Promise<boolean> {
    if (!auth.isAdmin || !(await this.forAdmins())) return false;
    return repo.adminLacksTwoFactor(this.db, auth.employeeId);
  }
}
