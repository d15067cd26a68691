import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NotFoundError, ValidationError } from '../platform/errors.ts';
import { redirect } from '../platform/htmx.ts';
import * as repo from './auth.repository.ts';
import { PERMISSIONS } from './permissions.ts';
import * as settings from './settings.service.ts';
import { changeOwnPassword, setTemporaryPassword } from './password.service.ts';
import { ctxOf, employeesTwoFactorView } from './two-factor.routes.ts';
import { adminTurnOff } from './two-factor.service.ts';
import { idParam } from '../platform/http-params.ts';
import type { AuthPorts } from './ports.ts';

type Form = Record<string, string | undefined>;
type Params = { id: string };

/** Settings › Employees, Settings › Roles (admins) and My profile (everyone). */
export function settingsRoutes(deps: Pick<AuthPorts, 'config' | 'db' | 'logger' | 'live'>) {
  const ctx = { db: deps.db, logger: deps.logger, live: deps.live };

  const employeesPage = async (reply: FastifyReply, extra: Record<string, unknown> = {}, status?: number) => {
    const [employees, roles, twoFactor] = await Promise.all([repo.listEmployeesWithRoles(deps.db), repo.listRoles(deps.db), employeesTwoFactorView(deps)]);
    // The last active admin can be neither disabled nor given a role without the admin flag:
    // the page does not offer it (the service refuses it too).
    const activeAdmins = employees.filter((e) => e.is_admin && !e.disabled_at);
    const lastAdminId = activeAdmins.length === 1 ? activeAdmins[0]!.id : null;
    return reply.view('settings/employees', { employees, roles, lastAdminId, twoFactor, values: {}, errors: {}, ...extra }, status);
  };
  const rolesPage = async (reply: FastifyReply, extra: Record<string, unknown> = {}, status?: number) => {
    const roles = await repo.listRoles(deps.db);
    return reply.view('settings/roles', { roles, permissions: PERMISSIONS, values: {}, errors: {}, editing: null, ...extra }, status);
  };

  const profilePage = (req: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status?: number) =>
    reply.view('settings/profile', { current: req.auth!.locale ?? '', errors: {}, passwordErrors: {}, mustChangePassword: Boolean(req.auth!.mustChangePassword), ...extra }, status);

  return async (app: FastifyInstance) => {
    app.get('/settings', { config: { access: 'login' } }, async (req, reply) => reply.redirect(req.auth!.isAdmin ? '/settings/employees' : '/settings/profile', 303));

    app.get('/settings/employees', { config: { access: 'admin' } }, async (_req, reply) => employeesPage(reply));

    app.post('/settings/employees', { config: { access: 'admin' } }, async (req: FastifyRequest<{ Body: Form }>, reply) => {
      const b = req.body ?? {};
      try {
        await settings.createEmployee(ctx, { name: b.name, email: b.email, password: b.password, roleId: b.role_id });
        return redirect(req, reply, '/settings/employees');
      } catch (err) {
        if (err instanceof ValidationError) return employeesPage(reply, { values: { name: b.name, email: b.email, role_id: b.role_id }, errors: err.fields }, 422);
        throw err;
      }
    });

    /** An action on one employee's row: back to the list, or the list with the row's error (422). */
    const rowAction = async (req: FastifyRequest<{ Params: Params }>, reply: FastifyReply, action: (id: number) => Promise<unknown>) => {
      const id = idParam(req);
      try {
        await action(id);
        return redirect(req, reply, '/settings/employees');
      } catch (err) {
        if (err instanceof ValidationError) return employeesPage(reply, { rowErrors: { [String(id)]: err.fields } }, 422);
        throw err;
      }
    };

    for (const [path, disabled] of [
      ['disable', true],
      ['enable', false],
    ] as const) {
      app.post(`/settings/employees/:id/${path}`, { config: { access: 'admin' } }, async (req: FastifyRequest<{ Params: Params }>, reply) =>
        rowAction(req, reply, (id) => settings.setDisabled(ctx, req.auth!.employeeId, id, disabled)),
      );
    }

    // Lost phone: an employee's two-factor off, their sessions ended (not one's own: My profile asks for proof).
    app.post('/settings/employees/:id/two-factor/disable', { config: { access: 'admin' } }, async (req: FastifyRequest<{ Params: Params }>, reply) =>
      rowAction(req, reply, (id) => adminTurnOff(ctxOf(deps), req.auth!.employeeId, id)),
    );

    // Settings › Employees › Set a temporary password: shown once, on this answer only.
    app.post('/settings/employees/:id/password', { config: { access: 'admin' } }, async (req: FastifyRequest<{ Params: Params; Body: Form }>, reply) => {
      const id = idParam(req);
      try {
        const password = await setTemporaryPassword(ctx, req.auth!.employeeId, id, req.body?.password);
        const employee = await repo.findEmployee(deps.db, id);
        return employeesPage(reply, { temporaryPassword: { id, name: employee?.name ?? '', password } });
      } catch (err) {
        if (err instanceof ValidationError) return employeesPage(reply, { rowErrors: { [String(id)]: err.fields } }, 422);
        throw err;
      }
    });

    app.post('/settings/employees/:id/role', { config: { access: 'admin' } }, async (req: FastifyRequest<{ Params: Params; Body: Form }>, reply) =>
      rowAction(req, reply, (id) => settings.changeRole(ctx, id, req.body?.role_id)),
    );

    app.get('/settings/roles', { config: { access: 'admin' } }, async (_req, reply) => rolesPage(reply));

    app.post('/settings/roles', { config: { access: 'admin' } }, async (req: FastifyRequest<{ Body: Form & { permissions?: string | string[] } }>, reply) => {
      const b = req.body ?? {};
      try {
        await settings.createRole(ctx, b);
        return redirect(req, reply, '/settings/roles');
      } catch (err) {
        if (err instanceof ValidationError) return rolesPage(reply, { values: b, errors: err.fields }, 422);
        throw err;
      }
    });

    app.get('/settings/roles/:id/edit', { config: { access: 'admin' } }, async (req: FastifyRequest<{ Params: Params }>, reply) => {
      const role = await repo.findRole(deps.db, idParam(req));
      if (!role) throw new NotFoundError();
      return rolesPage(reply, { editing: role });
    });

    app.post('/settings/roles/:id', { config: { access: 'admin' } }, async (req: FastifyRequest<{ Params: Params; Body: Form & { permissions?: string | string[] } }>, reply) => {
      const id = idParam(req);
      const role = await repo.findRole(deps.db, id);
      if (!role) throw new NotFoundError();
      try {
        await settings.updateRole(ctx, id, req.body ?? {});
        return redirect(req, reply, '/settings/roles');
      } catch (err) {
        if (err instanceof ValidationError) return rolesPage(reply, { editing: role, errors: err.fields }, 422);
        throw err;
      }
    });

    app.get('/settings/profile', { config: { access: 'login' } }, async (req: FastifyRequest<{ Querystring: { password?: string } }>, reply) =>
      profilePage(req, reply, { passwordChanged: req.query.password === 'changed' }),
    );

    // My profile › Change password (any employee, also the one a temporary password holds back).
    app.post('/settings/profile/password', { config: { access: 'login' } }, async (req: FastifyRequest<{ Body: Form }>, reply) => {
      try {
        await changeOwnPassword(ctx, req.auth!, req.body ?? {}, req.ip);
        return redirect(req, reply, '/settings/profile?password=changed');
      } catch (err) {
        if (err instanceof ValidationError) return profilePage(req, reply, { passwordErrors: err.fields }, 422);
        throw err;
      }
    });

    app.post('/settings/profile', { config: { access: 'login' } }, async (req: FastifyRequest<{ Body: Form }>, reply) => {
      try {
        await settings.setLocale(deps.db, req.auth!.employeeId, req.body?.locale);
        return redirect(req, reply, '/settings/profile');
      } catch (err) {
        if (err instanceof ValidationError) return profilePage(req, reply, { errors: err.fields }, 422);
        throw err;
      }
    });
  };
}
