import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CrmPorts } from './ports.ts';
import { NotFoundError, ValidationError } from '../platform/errors.ts';
import { redirect, wantsFragment } from '../platform/htmx.ts';
import { listClientOptions } from './clients.repository.ts';
import { idParam, parseId } from '../platform/http-params.ts';
import { pagerFor, parseListQuery, todayIso } from './common.ts';
import { documentView } from './crm.view.ts';
import { DOCUMENT_KINDS, KINDS, type KindConfig } from './documents.kinds.ts';
import { listDocuments } from './documents.repository.ts';
import * as documents from './documents.service.ts';

type Form = Record<string, string | undefined>;
type Params = { id: string };
type PickerQuery = { client_id?: string; client_q?: string };

/** How many clients the picker lists before the employee narrows it with the filter. */
const CLIENT_OPTIONS_LIMIT = 200;

function filterText(v: unknown): string {
  return typeof v === 'string' ? v.trim().slice(0, 100) : '';
}

/**
 * Leads, orders, estimates and invoices (A5): one implementation, mounted once per kind under
 * the kind's URL and guarded by the kind's permission.
 */
export function documentsRoutes(deps: Pick<CrmPorts, 'db'>) {
  const db = deps.db;

  return async (app: FastifyInstance) => {
    for (const kind of DOCUMENT_KINDS) mountKind(app, KINDS[kind]);
  };

  function mountKind(app: FastifyInstance, cfg: KindConfig) {
    const access = { config: { access: cfg.permission } };

    const formPage = async (reply: FastifyReply, opts: { editing: { id: number; number: string } | null; values: Form; errors?: Record<string, string>; clientQ?: string }, status?: number) => {
      const selectedClientId = parseId(opts.values.client_id);
      const clients = await listClientOptions(db, { q: opts.clientQ, limit: CLIENT_OPTIONS_LIMIT, includeId: selectedClientId });
      return reply.view(
        'crm/documents/form',
        {
          cfg,
          editing: opts.editing,
          action: opts.editing ? `${cfg.path}/${opts.editing.id}` : cfg.path,
          values: opts.values,
          errors: opts.errors ?? {},
          clients,
          selectedClientId,
          clientQ: opts.clientQ ?? '',
          limits: documents.DOCUMENT_LIMITS,
        },
        status,
      );
    };

    app.get(cfg.path, access, async (req, reply) => {
      const lq = parseListQuery(req.query);
      const rows = await listDocuments(db, cfg.kind, lq);
      const data = {
        cfg,
        q: lq.q,
        documents: rows.slice(0, lq.limit).map(documentView),
        pager: pagerFor(cfg.path, lq, rows.length),
      };
      return reply.view(wantsFragment(req) ? 'crm/documents/_results' : 'crm/documents/index', data);
    });

    // `?client_id=` preselects the client ("create an order from the chat", the client card).
    app.get(`${cfg.path}/new`, access, async (req: FastifyRequest<{ Querystring: PickerQuery }>, reply) =>
      formPage(reply, {
        editing: null,
        values: { client_id: req.query.client_id, status: cfg.statuses[0], issued_on: todayIso() },
        clientQ: filterText(req.query.client_q),
      }),
    );

    app.post(cfg.path, access, async (req: FastifyRequest<{ Body: Form }>, reply) => {
      const b = req.body ?? {};
      try {
        await documents.createDocument(db, documents.documentInputFromForm(cfg.kind, b));
        return redirect(req, reply, cfg.path);
      } catch (err) {
        if (err instanceof ValidationError) return formPage(reply, { editing: null, values: b, errors: err.fields }, 422);
        throw err;
      }
    });

    // The picker's filter: the options of the client <select>, keeping the current choice.
    app.get(`${cfg.path}/client-options`, access, async (req: FastifyRequest<{ Querystring: PickerQuery }>, reply) => {
      const selected = parseId(req.query.client_id);
      const clients = await listClientOptions(db, { q: filterText(req.query.client_q), limit: CLIENT_OPTIONS_LIMIT, includeId: selected });
      return reply.view('crm/documents/_client_options', { clients, selected });
    });

    app.get(`${cfg.path}/:id`, access, async (req: FastifyRequest<{ Params: Params }>, reply) => {
      const doc = await documents.getDocument(db, cfg.kind, idParam(req));
      if (!doc) throw new NotFoundError();
      return reply.redirect(`${cfg.path}/${doc.id}/edit`, 303);
    });

    app.get(`${cfg.path}/:id/edit`, access, async (req: FastifyRequest<{ Params: Params; Querystring: PickerQuery }>, reply) => {
      const doc = await documents.getDocument(db, cfg.kind, idParam(req));
      if (!doc) throw new NotFoundError();
      return formPage(reply, {
        editing: doc,
        values: {
          number: doc.number,
          client_id: doc.client_id === null ? '' : String(doc.client_id),
          status: doc.status,
          amount: documents.amountForInput(doc.amount_cents),
          issued_on: doc.issued_on,
          due_on: doc.due_on ?? '',
          notes: doc.notes ?? '',
        },
        clientQ: filterText(req.query.client_q),
      });
    });

    app.post(`${cfg.path}/:id`, access, async (req: FastifyRequest<{ Params: Params; Body: Form }>, reply) => {
      const doc = await documents.getDocument(db, cfg.kind, idParam(req));
      if (!doc) throw new NotFoundError();
      const b = req.body ?? {};
      try {
        await documents.updateDocument(db, doc.id, documents.documentInputFromForm(cfg.kind, b));
        return redirect(req, reply, cfg.path);
      } catch (err) {
        if (err instanceof ValidationError) return formPage(reply, { editing: doc, values: b, errors: err.fields }, 422);
        throw err;
      }
    });
  }
}
