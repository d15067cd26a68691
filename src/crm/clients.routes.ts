import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CrmPorts } from './ports.ts';
import { can } from '../auth/permissions.ts';
import { NotFoundError, ValidationError } from '../platform/errors.ts';
import { redirect, wantsFragment } from '../platform/htmx.ts';
import * as repo from './clients.repository.ts';
import * as clients from './clients.service.ts';
import { listClientCalls } from './calls.repository.ts';
import { listClientDocuments, visibleKinds } from './documents.service.ts';
import { KINDS } from './documents.kinds.ts';
import { idParam } from '../platform/http-params.ts';
import { pagerFor, parseListQuery } from './common.ts';
import { callView, documentView, phoneViews } from './crm.view.ts';

type Form = Record<string, string | undefined>;
type Params = { id: string };

/** Clients: the searchable list, the card, create and edit (A4). */
export function clientsRoutes(deps: Pick<CrmPorts, 'db'>) {
  const db = deps.db;

  const formPage = (reply: FastifyReply, opts: { editing: { id: number } | null; values: Form; errors?: Record<string, string> }, status?: number) =>
    reply.view(
      'crm/clients/form',
      {
        editing: opts.editing,
        action: opts.editing ? `/clients/${opts.editing.id}` : '/clients',
        cancelUrl: opts.editing ? `/clients/${opts.editing.id}` : '/clients',
        values: opts.values,
        errors: opts.errors ?? {},
        limits: clients.CLIENT_LIMITS,
      },
      status,
    );

  return async (app: FastifyInstance) => {
    app.get('/clients', { config: { access: 'clients' } }, async (req, reply) => {
      const lq = parseListQuery(req.query);
      const rows = await repo.searchClients(db, lq);
      const page = rows.slice(0, lq.limit);
      const phones = await repo.listPhonesForClients(
        db,
        page.map((c) => c.id),
      );
      const data = {
        q: lq.q,
        clients: page.map((c) => ({ id: c.id, name: c.name, email: c.email, phones: phoneViews(phones.get(c.id)) })),
        pager: pagerFor('/clients', lq, rows.length),
      };
      return reply.view(wantsFragment(req) ? 'crm/clients/_results' : 'crm/clients/index', data);
    });

    app.get('/clients/new', { config: { access: 'clients' } }, async (_req, reply) => formPage(reply, { editing: null, values: {} }));

    app.post('/clients', { config: { access: 'clients' } }, async (req: FastifyRequest<{ Body: Form }>, reply) => {
      const b = req.body ?? {};
      try {
        const id = await clients.createClient(db, clients.clientInputFromForm(b));
        return redirect(req, reply, `/clients/${id}`);
      } catch (err) {
        if (err instanceof ValidationError) return formPage(reply, { editing: null, values: b, errors: err.fields }, 422);
        throw err;
      }
    });

    app.get('/clients/:id', { config: { access: 'clients' } }, async (req: FastifyRequest<{ Params: Params }>, reply) => {
      const client = await clients.getClient(db, idParam(req));
      if (!client) throw new NotFoundError();
      // Only the document kinds (and calls) the employee's role opens are even read.
      const kinds = visibleKinds((p) => can(req.auth, p));
      const [documents, calls] = await Promise.all([listClientDocuments(db, client.id, { kinds }), can(req.auth, 'calls') ? listClientCalls(db, client.id) : Promise.resolve([])]);
      return reply.view('crm/clients/show', {
        client: { ...client, phones: phoneViews(client.phones) },
        kinds: kinds.map((k) => KINDS[k]),
        documents: documents.map(documentView),
        calls: calls.map(callView),
      });
    });

    app.get('/clients/:id/edit', { config: { access: 'clients' } }, async (req: FastifyRequest<{ Params: Params }>, reply) => {
      const client = await clients.getClient(db, idParam(req));
      if (!client) throw new NotFoundError();
      return formPage(reply, {
        editing: client,
        values: { name: client.name, email: client.email ?? '', notes: client.notes ?? '', phones: client.phones.map((p) => p.raw).join('\n') },
      });
    });

    app.post('/clients/:id', { config: { access: 'clients' } }, async (req: FastifyRequest<{ Params: Params; Body: Form }>, reply) => {
      const id = idParam(req);
      if (!(await repo.clientExists(db, id))) throw new NotFoundError();
      const b = req.body ?? {};
      try {
        await clients.updateClient(db, id, clients.clientInputFromForm(b));
        return redirect(req, reply, `/clients/${id}`);
      } catch (err) {
        if (err instanceof ValidationError) return formPage(reply, { editing: { id }, values: b, errors: err.fields }, 422);
        throw err;
      }
    });
  };
}
