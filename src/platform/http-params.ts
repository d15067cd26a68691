import type { FastifyRequest } from 'fastify';
import { NotFoundError } from './errors.ts';

/** Ids are PostgreSQL `integer`s; a larger number in a URL or form must not reach a query. */
export function parseId(v: unknown): number | null {
  if (typeof v !== 'string' || !/^\d{1,10}$/.test(v)) return null;
  const n = Number(v);
  return n > 0 && n <= 2_147_483_647 ? n : null;
}

/** The `:id` of a record URL; anything else is a 404. */
export function idParam(req: FastifyRequest<{ Params: { id: string } }>): number {
  const id = parseId(req.params.id);
  if (id === null) throw new NotFoundError();
  return id;
}
