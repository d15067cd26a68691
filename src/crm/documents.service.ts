import type { DocumentKind } from '../db/schema.ts';
import type { Permission } from '../auth/permissions.ts';
import { NotFoundError, ValidationError } from '../platform/errors.ts';
import type { Conn } from '../db/database.ts';
import { parseId } from '../platform/http-params.ts';
import { isIsoDate, todayIso } from './common.ts';
import { clientExists } from './clients.repository.ts';
import * as repo from './documents.repository.ts';
import { DOCUMENT_KINDS, KINDS } from './documents.kinds.ts';

export const DOCUMENT_LIMITS = { number: 30, notes: 5000 } as const;
/** Attempts at the next free auto number when other requests take it first. */
const NUMBER_ATTEMPTS = 20;

export interface DocumentInput {
  kind: DocumentKind;
  clientId?: number | null;
  /** Blank or absent: the next `O-0001`-style number of the kind. */
  number?: string | null;
  /** Absent: the kind's first status (new / draft / unpaid). */
  status?: string | null;
  amountCents?: number | null;
  /** YYYY-MM-DD; absent: today. */
  issuedOn?: string | null;
  dueOn?: string | null;
  notes?: string | null;
}

/**
 * A typed-in amount in cents: `120`, `120.50`, `120,50`, `1 200,50`, `€120`. Null when it is
 * not one (negative, three decimals, letters).
 */
export function parseAmount(text: string): number | null {
  const s = text.replace(/[\s\u00a0\u202f€$£]/g, '');
  const m = /^(\d{1,12})(?:[.,](\d{1,2}))?$/.exec(s);
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
}

/** Cents as the amount field shows them for editing (`120.50`; both separators are accepted back). */
export function amountForInput(cents: number): string {
  return (cents / 100).toFixed(2);
}

export function autoNumber(prefix: string, n: number): string {
  return `${prefix}-${String(n).padStart(4, '0')}`;
}

/** The document form's fields; format errors (amount, dates, client id) are reported together. */
export function documentInputFromForm(kind: DocumentKind, form: Record<string, unknown>): DocumentInput {
  const str = (v: unknown) => (typeof v === 'string' ? v.trim() : '');
  const errors: Record<string, string> = {};
  const clientRaw = str(form.client_id);
  let clientId: number | null = null;
  if (clientRaw) {
    clientId = parseId(clientRaw);
    if (clientId === null) errors.client_id = 'validation.unknown_client';
  }
  const amountRaw = str(form.amount);
  const amountCents = amountRaw === '' ? 0 : parseAmount(amountRaw);
  if (amountCents === null) errors.amount = 'validation.amount';
  const input: DocumentInput = {
    kind,
    clientId,
    number: str(form.number),
    status: str(form.status) || null,
    amountCents,
    issuedOn: str(form.issued_on) || null,
    dueOn: str(form.due_on) || null,
    notes: str(form.notes),
  };
  let all = errors;
  try {
    validateDocument(input);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    all = { ...err.fields, ...errors }; // the format errors above are the more precise ones
  }
  if (Object.keys(all).length) throw new ValidationError(all);
  return input;
}

interface ValidDocument extends Omit<repo.DocumentValues, 'number'> {
  number: string | null;
}

function validateDocument(input: DocumentInput): ValidDocument {
  const cfg = KINDS[input.kind];
  if (!cfg) throw new Error(`unknown document kind ${String(input.kind)}`);
  const errors: Record<string, string> = {};
  const number = (input.number ?? '').trim();
  if (number.length > DOCUMENT_LIMITS.number) errors.number = 'validation.too_long';
  const status = input.status ?? cfg.statuses[0]!;
  if (!cfg.statuses.includes(status)) errors.status = 'validation.choice';
  const amount = input.amountCents ?? 0;
  if (!Number.isSafeInteger(amount) || amount < 0) errors.amount = 'validation.amount';
  const issuedOn = input.issuedOn || todayIso();
  if (!isIsoDate(issuedOn)) errors.issued_on = 'validation.date';
  const dueOn = input.dueOn || null;
  if (dueOn !== null && !isIsoDate(dueOn)) errors.due_on = 'validation.date';
  const notes = (input.notes ?? '').trim();
  if (notes.length > DOCUMENT_LIMITS.notes) errors.notes = 'validation.too_long';
  const clientId = input.clientId ?? null;
  if (clientId !== null && (!Number.isSafeInteger(clientId) || clientId <= 0 || clientId > 2_147_483_647)) errors.client_id = 'validation.unknown_client';
  if (Object.keys(errors).length) throw new ValidationError(errors);
  return { number: number || null, client_id: clientId, status, amount_cents: amount, issued_on: issuedOn, due_on: dueOn, notes: notes || null };
}

/**
 * Creates a lead, order, estimate or invoice (the forms, the seed, and "create an order from
 * the chat"). A blank number takes the kind's next `O-0001`-style number: concurrent creators
 * may compute the same one, the unique (kind, number) index lets one win, and the others
 * retry with the next. Safe inside the caller's transaction (no statement errors on a clash).
 */
export async function createDocument(db: Conn, input: DocumentInput): Promise<{ id: number; number: string }> {
  const v = validateDocument(input);
  if (v.client_id !== null && !(await clientExists(db, v.client_id))) throw new ValidationError({ client_id: 'validation.unknown_client' });
  if (v.number !== null) {
    const id = await repo.insertDocumentIfNumberFree(db, input.kind, { ...v, number: v.number });
    if (id === undefined) throw new ValidationError({ number: 'validation.number_taken' });
    return { id, number: v.number };
  }
  const prefix = KINDS[input.kind].prefix;
  for (let attempt = 0; attempt < NUMBER_ATTEMPTS; attempt++) {
    const number = autoNumber(prefix, (await repo.maxAutoNumber(db, input.kind, prefix)) + 1);
    const id = await repo.insertDocumentIfNumberFree(db, input.kind, { ...v, number });
    if (id !== undefined) return { id, number };
  }
  throw new Error(`could not allocate a ${input.kind} number after ${NUMBER_ATTEMPTS} attempts`);
}

/** Saves an edited document; a blank number keeps the current one. */
export async function updateDocument(db: Conn, id: number, input: DocumentInput): Promise<void> {
  const v = validateDocument(input);
  const current = await repo.findDocument(db, id);
  if (!current || current.kind !== input.kind) throw new NotFoundError();
  const number = v.number ?? current.number;
  if (v.client_id !== null && !(await clientExists(db, v.client_id))) throw new ValidationError({ client_id: 'validation.unknown_client' });
  if (number !== current.number && (await repo.numberTakenByOther(db, input.kind, number, id))) {
    throw new ValidationError({ number: 'validation.number_taken' });
  }
  try {
    await repo.updateDocument(db, id, { ...v, number });
  } catch (err) {
    // Someone took the number between the check and the update.
    if ((err as { code?: string }).code === '23505') throw new ValidationError({ number: 'validation.number_taken' });
    throw err;
  }
}

export async function getDocument(db: Conn, kind: DocumentKind, id: number) {
  const d = await repo.findDocument(db, id);
  return d && d.kind === kind ? d : undefined;
}

/** The document kinds an employee may see, for a `can(permission)` check (client card, chat panel). */
export function visibleKinds(can: (permission: Permission) => boolean): DocumentKind[] {
  return DOCUMENT_KINDS.filter((k) => can(KINDS[k].permission));
}

/** A client's documents, newest first; pass `kinds` to keep only those the employee may see. */
export async function listClientDocuments(db: Conn, clientId: number, opts: { kinds?: readonly DocumentKind[]; limit?: number } = {}) {
  return repo.listDocumentsForClient(db, clientId, opts.kinds ?? DOCUMENT_KINDS, opts.limit);
}
