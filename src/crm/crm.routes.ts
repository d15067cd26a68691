import type { FastifyInstance } from 'fastify';
import type { CrmPorts } from './ports.ts';
import { callsRoutes } from './calls.routes.ts';
import { clientsRoutes } from './clients.routes.ts';
import { documentsRoutes } from './documents.routes.ts';

/** Clients, documents (leads, orders, estimates, invoices) and calls. */
export function crmRoutes(deps: Pick<CrmPorts, 'db'>) {
  return async (app: FastifyInstance) => {
    await app.register(clientsRoutes(deps));
    await app.register(documentsRoutes(deps));
    await app.register(callsRoutes(deps));
  };
}
