import type { FastifyInstance } from 'fastify';
import type { Deps } from '../deps.ts';

/** Clients, documents (leads, orders, estimates, invoices) and calls. */
export function crmRoutes(_deps: Deps) {
  return async (_app: FastifyInstance) => {};
}
