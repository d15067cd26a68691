import type { FastifyInstance } from 'fastify';
import type { Deps } from '../deps.ts';
import { callsRoutes } from './calls.routes.ts';
import { clientsRoutes } from './clients.routes.ts';
import { documentsRoutes } from './documents.routes.ts';

/** Clients, documents (leads, orders, estimates, invoices) and calls. */
export function crmRoutes(deps: Deps) {
  return async (app: FastifyInstance) => {
    await app.register(clientsRoutes(deps));
    await app.register(documentsRoutes(deps));
    await app.register(callsRoutes(deps));
  };
}
