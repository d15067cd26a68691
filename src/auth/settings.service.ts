import type { Db } from '../db/database.ts';
import { ValidationError } from '../platform/errors.ts';
import { ACCESS_CHANGED } from '../platform/live/hub.ts';
import { inTransaction, type Tx } from '../platform/tx.ts';
import { isLocale } from '../platform/i18n/index.ts';
import * as repo from './auth.repository.ts';
import { validateEmployeeInput } from './auth.service.ts';
import { hashPassword } from './passwords.ts';
import { isPermission } from './permissions.ts';
import type { AuthPorts } from './ports.ts';

type Ctx = Pick<AuthPorts, 'db' | 'logger' | 'live'>;

/** Tells every web process to rebuild this employee's (or everyone's) live-stream access. */
async function accessChanged(ctx: Ctx, tx: Tx, employeeId?: number) {
  await ctx.live.record(tx, { audience: 'all', name: ACCESS_CHANGED, data: employeeId === undefined ? {} : { employeeId } });
}

export async function createEmployee(ctx: Ctx, input: { name?: string; email?: string; password?: string; roleId?: string | number }) {
  const v = validateEmployeeInput(input);
  const roleId = Number(input.roleId);
  const role = Number.isInteger(roleId) ? await repo.findRole(ctx.db, roleId) : undefined;
  if (!role) throw new ValidationError({ roleId: 'validation.unknown_role' });
  if (await repo.findEmployeeByEmail(ctx.db, v.email)) throw new ValidationError({ email: 'validation.email_taken' });
  const passwordHash = await hashPassword(v.password);
  try {
    return await repo.insertEmployee(ctx.db, { email: v.email, name: v.name, passwordHash, roleId: role.id });
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw new ValidationError({ email: 'validation.email_taken' });
    throw err;
  }
}

/** Disabling ends every session of the employee and closes their live streams. */
export async function setDisabled(ctx: Ctx, actorId: number, employeeId: number, disabled: boolean) {
  if (disabled && actorId === employeeId) throw new ValidationError({ employee: 'validation.self_disable' });
  await inTransaction(ctx.db, ctx.logger, async (tx) => {
    if (disabled) await repo.lockAdminChanges(tx.db);
    const e = await repo.findEmployee(tx.db, employeeId);
    if (!e) throw new ValidationError({ employee: 'validation.required' });
    if (disabled) {
      const role = await repo.findRole(tx.db, e.role_id);
      if (role?.is_admin && (await repo.countActiveAdmins(tx.db, { employeeId })) === 0) {
        throw new ValidationError({ employee: 'validation.last_admin' });
      }
      await repo.deleteEmployeeSessions(tx.db, employeeId);
    }
    await repo.setEmployeeDisabled(tx.db, employeeId, disabled);
    await accessChanged(ctx, tx, employeeId);
  });
}

export async function changeRole(ctx: Ctx, employeeId: number, roleIdRaw: string | number | undefined) {
  const roleId = Number(roleIdRaw);
  await inTransaction(ctx.db, ctx.logger, async (tx) => {
    await repo.lockAdminChanges(tx.db);
    const role = Number.isInteger(roleId) ? await repo.findRole(tx.db, roleId) : undefined;
    if (!role) throw new ValidationError({ roleId: 'validation.unknown_role' });
    const e = await repo.findEmployee(tx.db, employeeId);
    if (!e) throw new ValidationError({ employee: 'validation.required' });
    if (!role.is_admin && !e.disabled_at && (await repo.countActiveAdmins(tx.db, { employeeId })) === 0) {
      throw new ValidationError({ roleId: 'validation.last_admin' });
    }
    await repo.setEmployeeRole(tx.db, employeeId, role.id);
    await accessChanged(ctx, tx, employeeId);
  });
}

export function parseRoleInput(input: { name?: string; is_admin?: string; permissions?: string | string[] }) {
  const name = (input.name ?? '').trim();
  const errors: Record<string, string> = {};
  if (!name) errors.name = 'validation.required';
  else if (name.length > 60) errors.name = 'validation.too_long';
  const raw = input.permissions === undefined ? [] : Array.isArray(input.permissions) ? input.permissions : [input.permissions];
  const permissions = [...new Set(raw.filter(isPermission))];
  if (Object.keys(errors).length) throw new ValidationError(errors);
  return { name, isAdmin: input.is_admin === 'on' || input.is_admin === 'true', permissions };
}

export async function createRole(ctx: Ctx, input: Parameters<typeof parseRoleInput>[0]) {
  const r = parseRoleInput(input);
  if (await repo.findRoleByName(ctx.db, r.name)) throw new ValidationError({ name: 'validation.name_taken' });
  return repo.insertRole(ctx.db, r);
}

export async function updateRole(ctx: Ctx, roleId: number, input: Parameters<typeof parseRoleInput>[0]) {
  const r = parseRoleInput(input);
  await inTransaction(ctx.db, ctx.logger, async (tx) => {
    await repo.lockAdminChanges(tx.db);
    const role = await repo.findRole(tx.db, roleId);
    if (!role) throw new ValidationError({ name: 'validation.required' });
    const clash = await repo.findRoleByName(tx.db, r.name);
    if (clash && clash.id !== roleId) throw new ValidationError({ name: 'validation.name_taken' });
    if (role.is_admin && !r.isAdmin) {
      // Removing the admin flag must leave some other active admin.
      if ((await repo.countActiveAdmins(tx.db, { roleId })) === 0) throw new ValidationError({ is_admin: 'validation.last_admin' });
    }
    await repo.updateRole(tx.db, roleId, r);
    await accessChanged(ctx, tx);
  });
}

export async function setLocale(db: Db, employeeId: number, locale: string | undefined) {
  if (locale !== undefined && locale !== '' && !isLocale(locale)) throw new ValidationError({ locale: 'validation.choice' });
  await repo.setEmployeeLocale(db, employeeId, locale ? locale : null);
}
