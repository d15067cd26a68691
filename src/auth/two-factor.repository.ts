import { sql } from 'kysely';
import type { Conn } from '../db/database.ts';

/** An employee's two-factor row: the encrypted secret and whether it is on (confirmed). */
export async function findTwoFactor(db: Conn, employeeId: number) {
  return db.selectFrom('employee_two_factor').select(['secret_encrypted', 'enabled_at']).where('employee_id', '=', employeeId).executeTakeFirst();
}

/** Starts (or restarts) turning it on: a new secret, not enabled until a code confirms it. */
export async function savePendingSecret(db: Conn, employeeId: number, secretEncrypted: string) {
  await db
    .insertInto('employee_two_factor')
    .values({ employee_id: employeeId, secret_encrypted: secretEncrypted, enabled_at: null, last_used_step: null })
    .onConflict((oc) => oc.column('employee_id').doUpdateSet({ secret_encrypted: secretEncrypted, enabled_at: null, last_used_step: null }))
    .execute();
}

export async function markEnabled(db: Conn, employeeId: number, at: Date) {
  await db.updateTable('employee_two_factor').set({ enabled_at: at }).where('employee_id', '=', employeeId).execute();
}

/**
 * Records that the code of time step `step` was used, only if no code of this step or a later
 * one was used before: the update is the check, so two requests with the same code (or one
 * replayed later) cannot both pass. True when this use is the first.
 */
export async function claimStep(db: Conn, employeeId: number, step: number): Promise<boolean> {
  const r = await db
    .updateTable('employee_two_factor')
    .set({ last_used_step: step })
    .where('employee_id', '=', employeeId)
    .where((eb) => eb.or([eb('last_used_step', 'is', null), eb('last_used_step', '<', step)]))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Turns two-factor off: the secret and every recovery code go. True when it was on. */
export async function deleteTwoFactor(db: Conn, employeeId: number): Promise<boolean> {
  await db.deleteFrom('two_factor_recovery_codes').where('employee_id', '=', employeeId).execute();
  const r = await db.deleteFrom('employee_two_factor').where('employee_id', '=', employeeId).returning('enabled_at').executeTakeFirst();
  return Boolean(r?.enabled_at);
}

export async function replaceRecoveryCodes(db: Conn, employeeId: number, hashes: string[]) {
  await db.deleteFrom('two_factor_recovery_codes').where('employee_id', '=', employeeId).execute();
  await db
    .insertInto('two_factor_recovery_codes')
    .values(hashes.map((code_hash) => ({ employee_id: employeeId, code_hash })))
    .execute();
}

/** Spends a recovery code: true only for an unused code of this employee (once, even concurrently). */
export async function useRecoveryCode(db: Conn, employeeId: number, hash: string, at: Date): Promise<boolean> {
  const r = await db.updateTable('two_factor_recovery_codes').set({ used_at: at }).where('employee_id', '=', employeeId).where('code_hash', '=', hash).where('used_at', 'is', null).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function countUnusedRecoveryCodes(db: Conn, employeeId: number): Promise<number> {
  const r = await db
    .selectFrom('two_factor_recovery_codes')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('employee_id', '=', employeeId)
    .where('used_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** The ids of employees with two-factor on (Settings › Employees shows it per row). */
export async function listEnabledEmployeeIds(db: Conn): Promise<number[]> {
  const rows = await db.selectFrom('employee_two_factor').select('employee_id').where('enabled_at', 'is not', null).execute();
  return rows.map((r) => r.employee_id);
}

/**
 * Whether this admin must set two-factor up before anything else: the shop requires it for
 * administrators and theirs is not on. One statement, asked only for admins while required.
 */
export async function adminLacksTwoFactor(db: Conn, employeeId: number): Promise<boolean> {
  const r = await db
    .selectNoFrom((eb) => eb.not(eb.exists(eb.selectFrom('employee_two_factor').select(sql`1`.as('x')).where('employee_id', '=', employeeId).where('enabled_at', 'is not', null))).as('lacks'))
    .executeTakeFirstOrThrow();
  return Boolean(r.lacks);
}

// Login challenges (the second step)

export async function insertChallenge(db: Conn, c: { tokenHash: string; employeeId: number; next: string; expiresAt: Date }) {
  await db.insertInto('login_challenges').values({ token_hash: c.tokenHash, employee_id: c.employeeId, next: c.next, expires_at: c.expiresAt }).execute();
}

/**
 * Counts one attempt on a live challenge and returns it, or undefined when it is unknown,
 * expired or out of attempts. The increment comes before the code is checked (in one
 * statement), so concurrent guesses on one challenge cannot exceed `maxAttempts`.
 */
export async function spendChallengeAttempt(db: Conn, tokenHash: string, now: Date, maxAttempts: number) {
  return db
    .updateTable('login_challenges')
    .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
    .where('token_hash', '=', tokenHash)
    .where('expires_at', '>', now)
    .where('attempts', '<', maxAttempts)
    .returning(['employee_id', 'next', 'attempts'])
    .executeTakeFirst();
}

export async function findLiveChallenge(db: Conn, tokenHash: string, now: Date, maxAttempts: number) {
  return db.selectFrom('login_challenges').select(['employee_id', 'next']).where('token_hash', '=', tokenHash).where('expires_at', '>', now).where('attempts', '<', maxAttempts).executeTakeFirst();
}

export async function deleteChallenge(db: Conn, tokenHash: string) {
  await db.deleteFrom('login_challenges').where('token_hash', '=', tokenHash).execute();
}

/** Every pending second step of an employee's logins (their password changed, or their two-factor turned off). */
export async function deleteEmployeeChallenges(db: Conn, employeeId: number) {
  await db.deleteFrom('login_challenges').where('employee_id', '=', employeeId).execute();
}

/** Housekeeping: challenges past their expiry (each new one clears the old ones). */
export async function deleteExpiredChallenges(db: Conn, now: Date) {
  await db.deleteFrom('login_challenges').where('expires_at', '<=', now).execute();
}
