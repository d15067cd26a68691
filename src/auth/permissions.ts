/** Permissions a role can grant. Admins have all of them plus Settings. */
export const PERMISSIONS = ['chats', 'clients', 'leads', 'orders', 'estimates', 'invoices', 'calls'] as const;
export type Permission = (typeof PERMISSIONS)[number];

export function isPermission(v: string): v is Permission {
  return (PERMISSIONS as readonly string[]).includes(v);
}

/**
 * What a route requires, declared on every route as `config.access` (app.ts refuses to start
 * with a route that lacks it, and the access-matrix test covers every declared route).
 *   public  – anyone, logged in or not (setup, login, health, webhooks, static files)
 *   login   – any active employee
 *   admin   – an employee whose role has the admin flag
 *   a Permission – an employee whose role grants it (admins always do)
 */
export type Access = 'public' | 'login' | 'admin' | Permission;

export interface AuthContext {
  employeeId: number;
  name: string;
  email: string;
  locale: string | null;
  roleId: number;
  roleName: string;
  isAdmin: boolean;
  permissions: ReadonlySet<string>;
  sessionHash: string;
  csrfToken: string;
  /** The channels this employee may use, read with the session (absent where built otherwise). */
  channelIds?: readonly number[];
  /** A temporary password is in use: every page leads to Change password (password-gate.ts). */
  mustChangePassword?: boolean;
}

export function can(auth: AuthContext | null, access: Access): boolean {
  if (access === 'public') return true;
  if (!auth) return false;
  if (access === 'login') return true;
  if (auth.isAdmin) return true;
  if (access === 'admin') return false;
  return auth.permissions.has(access);
}
