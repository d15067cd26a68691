import type { FastifyInstance } from 'fastify';
import type { Deps } from './deps.ts';
import { can, type Permission } from './auth/permissions.ts';
import { countEmployees } from './auth/auth.repository.ts';

/** `/` sends each employee to the first section their role opens. */
const LANDING: Array<[Permission, string]> = [
  ['chats', '/chats'],
  ['clients', '/clients'],
  ['orders', '/orders'],
  ['leads', '/leads'],
  ['estimates', '/estimates'],
  ['invoices', '/invoices'],
  ['calls', '/calls'],
];

export function homeRoutes(deps: Deps) {
  return async (app: FastifyInstance) => {
    app.get('/', { config: { access: 'public' } }, async (req, reply) => {
      if (!req.auth) return reply.redirect((await countEmployees(deps.db)) === 0 ? '/setup' : '/login', 303);
      const hasChatsPage = app.routeTable.some((r) => r.url === '/chats');
      for (const [perm, url] of LANDING) {
        if (perm === 'chats' && !hasChatsPage) continue;
        if (can(req.auth, perm)) return reply.redirect(url, 303);
      }
      return reply.redirect('/settings/profile', 303);
    });
  };
}
