import { randomInt } from 'node:crypto';
import { ValidationError } from '../platform/errors.ts';
import { inTransaction } from '../platform/tx.ts';
import * as repo from './auth.repository.ts';
import { attemptFailed, attemptSucceeded, passwordProblem, reserveAttempt } from './auth.service.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
import { deleteEmployeeChallenges } from './two-factor.repository.ts';
import type { AuthPorts } from './ports.ts';

type Ctx = Pick<AuthPorts, 'db' | 'logger' | 'live'>;

/**
 * Gives an employee a new password (argon2id) and ends their sessions, but `keepSession`, the
 * live streams of those sessions on every web process, and any login waiting for its code. `temporary`: they must choose their
 * own at their next login (an administrator's reset, `parley employee:password --temporary`).
 */
export async function setPassword(ctx: Ctx, employeeId: number, password: string, o: { temporary: boolean; keepSession?: string }) {
  const problem = passwordProblem(password);
  if (problem) throw new ValidationError({ password: problem });
  const passwordHash = await hashPassword(password);
  await inTransaction(ctx.db, ctx.logger, async (tx) => {
    await repo.setEmployeePassword(tx.db, employeeId, passwordHash, o.temporary);
    await repo.deleteEmployeeSessions(tx.db, employeeId, { except: o.keepSession });
    // A login that got past the old password and waits for its code ends too.
    await deleteEmployeeChallenges(tx.db, employeeId);
    await ctx.live.sessionsEnded(employeeId, tx);
  });
}

/** Settings › Employees › Set a temporary password: the administrator's, or one made here. */
export async function setTemporaryPassword(ctx: Ctx, actorId: number, employeeId: number, typed: string | undefined): Promise<string> {
  if (actorId === employeeId) throw new ValidationError({ password: 'password.self_temporary' });
  if (!(await repo.findEmployee(ctx.db, employeeId))) throw new ValidationError({ employee: 'validation.required' });
  const password = typed ? typed : generatePassword();
  await setPassword(ctx, employeeId, password, { temporary: true });
  return password;
}

/** 16 characters from an alphabet without look-alikes (about 80 bits), in groups of four. */
export function generatePassword(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  const chars = Array.from({ length: 16 }, () => alphabet[randomInt(alphabet.length)]!);
  return [0, 4, 8, 12].map((i) => chars.slice(i, i + 4).join('')).join('-');
}

/**
 * My profile › Change password: the current password (throttled like a login, a wrong one
 * counts), a new one twice. Every other session of the employee ends; this one stays.
 */
export async function changeOwnPassword(ctx: Ctx, me: { employeeId: number; email: string; sessionHash: string }, input: { current?: string; password?: string; confirm?: string }, ip: string) {
  const current = input.current ?? '';
  const password = input.password ?? '';
  const errors: Record<string, string> = {};
  if (!current) errors.current = 'validation.required';
  const weak = passwordProblem(password);
  if (weak) errors.password = weak;
  else if (password !== (input.confirm ?? '')) errors.confirm = 'password.mismatch';
  else if (password === current) errors.password = 'password.same';
  if (Object.keys(errors).length) throw new ValidationError(errors);

  const attempt = await reserveAttempt(ctx.db, me.email, ip);
  const employee = attempt ? await repo.findEmployee(ctx.db, me.employeeId) : undefined;
  if (!attempt || !employee || !(await verifyPassword(employee.password_hash, current))) {
    if (attempt) await attemptFailed(ctx.db, attempt);
    throw new ValidationError({ current: 'password.current_wrong' });
  }
  await attemptSucceeded(ctx.db, attempt);
  await setPassword(ctx, me.employeeId, password, { temporary: false, keepSession: me.sessionHash });
}
