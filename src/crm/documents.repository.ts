import { sql, type ExpressionBuilder, type Nullable } from 'kysely';
import type { ClientsTable, DB, DocumentKind, DocumentsTable } from '../db/schema.ts';
import type { Conn } from '../db/database.ts';
import { containsPattern } from './common.ts';
import { phoneSearchCondition } from './clients.repository.ts';

export interface DocumentValues {
  number: string;
  client_id: number | null;
  status: string;
  amount_cents: number;
  issued_on: string;
  due_on: string | null;
  notes: string | null;
}

export interface DocumentRow extends DocumentValues {
  id: number;
  kind: DocumentKind;
}

/** A list row: the document with its client's name and first phone number. */
export interface DocumentListRow extends DocumentRow {
  client_name: string | null;
  phone_raw: string | null;
  phone_normalized: string | null;
}

const DOC_COLUMNS = ['d.id', 'd.kind', 'd.number', 'd.client_id', 'd.status', 'd.amount_cents', 'd.issued_on', 'd.due_on', 'd.notes'] as const;

/** Number, client name, or (for phone-like text) one of the client's numbers in any format. */
function documentMatches(eb: ExpressionBuilder<DB & { d: DocumentsTable } & { c: Nullable<ClientsTable> } & { ph: Nullable<{ raw: string; normalized: string }> }, 'd' | 'c' | 'ph'>, q: string) {
  const pattern = containsPattern(q);
  const ors = [eb('d.number', 'ilike', pattern), eb('c.name', 'ilike', pattern)];
  const phone = phoneSearchCondition('d.client_id', q);
  if (phone) {
    ors.push(phone);
  }
  return eb.or(ors);
}

/** One kind, newest first (document date, then id); `limit + 1` rows tell if more exist. */
export async function listDocuments(db: Conn, kind: DocumentKind, opts: { q?: string; limit: number; offset: number }): Promise<DocumentListRow[]> {
  let query = db
    .selectFrom('documents as d')
    .leftJoin('clients as c', 'c.id', 'd.client_id')
    .leftJoinLateral(
      (eb) => eb.selectFrom('client_phones as p').select(['p.raw', 'p.normalized']).whereRef('p.client_id', '=', 'd.client_id').orderBy('p.position').orderBy('p.id').limit(1).as('ph'),
      (join) => join.onTrue(),
    )
    .select([...DOC_COLUMNS, 'c.name as client_name', 'ph.raw as phone_raw', 'ph.normalized as phone_normalized'])
    .where('d.kind', '=', kind);
  if (opts.q) query = query.where((eb) => documentMatches(eb, opts.q!));
  const rows = await query
    .orderBy('d.issued_on', 'desc')
    .orderBy('d.id', 'desc')
    .limit(opts.limit + 1)
    .offset(opts.offset)
    .execute();
  return rows.map((r) => ({ ...r, amount_cents: Number(r.amount_cents) }));
}

export async function findDocument(db: Conn, id: number): Promise<DocumentRow | undefined> {
  const r = await db.selectFrom('documents as d').select(DOC_COLUMNS).where('d.id', '=', id).executeTakeFirst();
  return r ? { ...r, amount_cents: Number(r.amount_cents) } : undefined;
}

/** A client's documents of the given kinds, newest first. */
export async function listDocumentsForClient(db: Conn, clientId: number, kinds: readonly DocumentKind[], limit = 200): Promise<DocumentRow[]> {
  if (kinds.length === 0) return [];
  const rows = await db
    .selectFrom('documents as d')
    .select(DOC_COLUMNS)
    .where('d.client_id', '=', clientId)
    .where('d.kind', 'in', kinds)
    .orderBy('d.issued_on', 'desc')
    .orderBy('d.id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ ...r, amount_cents: Number(r.amount_cents) }));
}

/**
 * The highest `<prefix>-<digits>` number of a kind. Numbers typed by hand in another shape
 * (`2024/17`) are ignored; the unique index still guards against any duplicate.
 */
export async function maxAutoNumber(db: Conn, kind: DocumentKind, prefix: string): Promise<number> {
  const pattern = `^${prefix}-(\\d{1,9})$`;
  const r = await db.selectFrom('documents').select(sql<number | null>`max((substring(number from ${pattern}))::int)`.as('n')).where('kind', '=', kind).executeTakeFirstOrThrow();
  return Number(r.n ?? 0);
}

/**
 * Inserts unless (kind, number) is taken, in which case it returns undefined. ON CONFLICT
 * rather than catching the unique violation: an error would abort the caller's transaction.
 */
export async function insertDocumentIfNumberFree(db: Conn, kind: DocumentKind, v: DocumentValues): Promise<number | undefined> {
  const r = await db
    .insertInto('documents')
    .values({ kind, ...v })
    .onConflict((oc) => oc.columns(['kind', 'number']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return r?.id;
}

export async function numberTakenByOther(db: Conn, kind: DocumentKind, number: string, exceptId: number): Promise<boolean> {
  const r = await db.selectFrom('documents').select('id').where('kind', '=', kind).where('number', '=', number).where('id', '<>', exceptId).executeTakeFirst();
  return Boolean(r);
}

export async function updateDocument(db: Conn, id: number, v: DocumentValues): Promise<boolean> {
  const r = await db
    .updateTable('documents')
    .set({ ...v, updated_at: sql<Date>`now()` })
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}
