import { NotFoundError, ValidationError } from '../platform/errors.ts';
import type { Conn } from '../db/database.ts';
import { atomically } from './common.ts';
import * as repo from './clients.repository.ts';
import { normalizePhone } from './phone.ts';

export const CLIENT_LIMITS = { name: 120, email: 200, notes: 5000, phone: 40, phones: 10 } as const;

export interface ClientInput {
  name: string;
  email?: string | null;
  notes?: string | null;
  /** Numbers as entered; each is kept as is for display and normalized for matching. */
  phones?: string[];
}

interface ValidClient {
  name: string;
  email: string | null;
  notes: string | null;
  phones: Array<{ raw: string; normalized: string }>;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Checks and cleans a client; every problem is reported at once (field → message key). */
export function validateClient(input: ClientInput): ValidClient {
  const errors: Record<string, string> = {};
  const name = (input.name ?? '').trim();
  if (!name) errors.name = 'validation.required';
  else if (name.length > CLIENT_LIMITS.name) errors.name = 'validation.too_long';
  const email = (input.email ?? '').trim();
  if (email.length > CLIENT_LIMITS.email) errors.email = 'validation.too_long';
  else if (email && !EMAIL.test(email)) errors.email = 'validation.email';
  const notes = (input.notes ?? '').trim();
  if (notes.length > CLIENT_LIMITS.notes) errors.notes = 'validation.too_long';

  const phones: ValidClient['phones'] = [];
  const seen = new Set<string>();
  for (const line of input.phones ?? []) {
    const raw = line.trim();
    if (!raw) continue;
    const normalized = raw.length <= CLIENT_LIMITS.phone ? normalizePhone(raw) : null;
    if (!normalized) {
      errors.phones = 'validation.phone';
      continue;
    }
    if (seen.has(normalized)) continue; // the same number typed twice
    seen.add(normalized);
    phones.push({ raw, normalized });
  }
  if (!errors.phones && phones.length > CLIENT_LIMITS.phones) errors.phones = 'validation.too_many_phones';

  if (Object.keys(errors).length) throw new ValidationError(errors);
  return { name, email: email || null, notes: notes || null, phones };
}

/** The client form's fields (the phones textarea holds one number per line). */
export function clientInputFromForm(form: Record<string, unknown>): ClientInput {
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  return {
    name: str(form.name),
    email: str(form.email),
    notes: str(form.notes),
    phones: str(form.phones).split(/\r?\n/),
  };
}

/** Creates a client with its phones; returns the new id. Also for "create client from a chat". */
export async function createClient(db: Conn, input: ClientInput): Promise<number> {
  const v = validateClient(input);
  return atomically(db, async (trx) => {
    const id = await repo.insertClient(trx, v);
    await repo.replaceClientPhones(trx, id, v.phones);
    return id;
  });
}

export async function updateClient(db: Conn, id: number, input: ClientInput): Promise<void> {
  const v = validateClient(input);
  await atomically(db, async (trx) => {
    if (!(await repo.updateClient(trx, id, v))) throw new NotFoundError();
    await repo.replaceClientPhones(trx, id, v.phones);
  });
}

/** A client with its phones (the card, the edit form, a chat's details panel). */
export async function getClient(db: Conn, id: number) {
  const client = await repo.findClient(db, id);
  if (!client) return undefined;
  return { ...client, phones: await repo.listClientPhones(db, id) };
}
