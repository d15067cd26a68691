import type { FastifyInstance } from 'fastify';
import type { CrmPorts } from './ports.ts';
import { wantsFragment } from '../platform/htmx.ts';
import { listCalls } from './calls.repository.ts';
import { pagerFor, parseListQuery } from './common.ts';
import { callView } from './crm.view.ts';

/** The call log (A6). Calls arrive from telephony (and the demo seed); there is no form. */
export function callsRoutes(deps: Pick<CrmPorts, 'db'>) {
  return async (app: FastifyInstance) => {
    app.get('/calls', { config: { access: 'calls' } }, async (req, reply) => {
      const lq = parseListQuery(req.query);
      const rows = await listCalls(deps.db, lq);
      const data = { calls: rows.slice(0, lq.limit).map(callView), pager: pagerFor('/calls', { ...lq, q: '' }, rows.length) };
      return reply.view(wantsFragment(req) ? 'crm/calls/_results' : 'crm/calls/index', data);
    });
  };
}
