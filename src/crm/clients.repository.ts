import { expressionBuilder, sql, type ExpressionBuilder } from 'kysely';
import type { ClientsTable, DB } from '../db/schema.ts';
import type { Conn } from '../db/database.ts';
import { containsPattern } from './common.ts';
import { PHONE_TAIL_DIGITS, phoneMatchKeys, phoneSearchDigits } from './phone.ts';

export interface PhoneRow {
  client_id: number;
  raw: string;
  normalized: string;
}

export interface ClientRow {
  id: number;
  name: string;
  email: string | null;
  notes: string | null;
}

/** `right(normalized, 9)`: the expression behind client_phones_tail_idx. */
const tailOf = (ref: string) => sql<string>`right(${sql.ref(ref)}, ${sql.lit(PHONE_TAIL_DIGITS)})`;

/**
 * The search box rule: name or email contains the text, or — when the text looks like a phone
 * number — one of the client's phones is that number in any format (exact / trailing digits)
 * or contains those digits.
 */
/**
 * For phone-like search text: "one of this client's phones is that number in any format
 * (exact, same trailing digits) or contains those digits". Null when the text has no digits.
 * Shared by every list that searches by a client's phone.
 */
export function phoneSearchCondition(clientIdRef: string, q: string) {
  const digits = phoneSearchDigits(q);
  if (!digits) return null;
  const keys = phoneMatchKeys(q);
  // Its own builder: the condition goes into queries over different tables (clients, documents);
  // the client id is the outer query's column, named by `clientIdRef`.
  const eb = expressionBuilder<DB>();
  return eb.exists(
    eb
      .selectFrom('client_phones as p')
      .select(sql.lit(1).as('one'))
      .whereRef('p.client_id', '=', sql.ref<number>(clientIdRef))
      .where((pb) => {
        const phoneOrs = [pb('p.normalized', 'like', containsPattern(digits))];
        if (keys) phoneOrs.push(pb('p.normalized', '=', keys.normalized));
        if (keys?.tail) phoneOrs.push(pb(tailOf('p.normalized'), '=', keys.tail));
        return pb.or(phoneOrs);
      }),
  );
}

function clientMatches(eb: ExpressionBuilder<DB & { c: ClientsTable }, 'c'>, q: string) {
  const pattern = containsPattern(q);
  const ors = [eb('c.name', 'ilike', pattern), eb('c.email', 'ilike', pattern)];
  const phone = phoneSearchCondition('c.id', q);
  if (phone) {
    ors.push(phone);
  }
  return eb.or(ors);
}

/** Clients by name (A–Z), optionally filtered by the search box; `limit + 1` tells if more exist. */
export async function searchClients(db: Conn, opts: { q?: string; limit: number; offset: number }): Promise<ClientRow[]> {
  let query = db.selectFrom('clients as c').select(['c.id', 'c.name', 'c.email', 'c.notes']);
  if (opts.q) query = query.where((eb) => clientMatches(eb, opts.q!));
  return query
    .orderBy(sql`lower(c.name)`)
    .orderBy('c.id')
    .limit(opts.limit + 1)
    .offset(opts.offset)
    .execute();
}

export async function findClient(db: Conn, id: number): Promise<ClientRow | undefined> {
  return db.selectFrom('clients').select(['id', 'name', 'email', 'notes']).where('id', '=', id).executeTakeFirst();
}

export async function clientExists(db: Conn, id: number): Promise<boolean> {
  const r = await db.selectFrom('clients').select('id').where('id', '=', id).executeTakeFirst();
  return Boolean(r);
}

/** Phones of several clients in display order, grouped by client id. */
export async function listPhonesForClients(db: Conn, clientIds: number[]): Promise<Map<number, PhoneRow[]>> {
  const out = new Map<number, PhoneRow[]>();
  if (clientIds.length === 0) return out;
  const rows = await db.selectFrom('client_phones').select(['client_id', 'raw', 'normalized']).where('client_id', 'in', clientIds).orderBy('client_id').orderBy('position').orderBy('id').execute();
  for (const r of rows) {
    const list = out.get(r.client_id) ?? [];
    list.push(r);
    out.set(r.client_id, list);
  }
  return out;
}

export async function listClientPhones(db: Conn, clientId: number): Promise<PhoneRow[]> {
  return (await listPhonesForClients(db, [clientId])).get(clientId) ?? [];
}

export async function insertClient(db: Conn, c: { name: string; email: string | null; notes: string | null }): Promise<number> {
  const r = await db.insertInto('clients').values({ name: c.name, email: c.email, notes: c.notes }).returning('id').executeTakeFirstOrThrow();
  return r.id;
}

export async function updateClient(db: Conn, id: number, c: { name: string; email: string | null; notes: string | null }): Promise<boolean> {
  const r = await db.updateTable('clients').set({ name: c.name, email: c.email, notes: c.notes, updated_at: sql<Date>`now()` }).where('id', '=', id).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Replaces a client's phone list (order = position). */
export async function replaceClientPhones(db: Conn, clientId: number, phones: Array<{ raw: string; normalized: string }>) {
  await db.deleteFrom('client_phones').where('client_id', '=', clientId).execute();
  if (phones.length === 0) return;
  await db
    .insertInto('client_phones')
    .values(phones.map((p, position) => ({ client_id: clientId, raw: p.raw, normalized: p.normalized, position })))
    .execute();
}

/** Clients for a picker (document form): by name, optionally filtered, always including `includeId`. */
export async function listClientOptions(db: Conn, opts: { q?: string; limit: number; includeId?: number | null }) {
  let query = db.selectFrom('clients as c').select(['c.id', 'c.name']);
  if (opts.q) query = query.where((eb) => clientMatches(eb, opts.q!));
  const rows = await query.orderBy(sql`lower(c.name)`).orderBy('c.id').limit(opts.limit).execute();
  if (opts.includeId && !rows.some((r) => r.id === opts.includeId)) {
    const extra = await db.selectFrom('clients').select(['id', 'name']).where('id', '=', opts.includeId).executeTakeFirst();
    if (extra) rows.unshift(extra);
  }
  return rows;
}

export interface ClientPhoneMatch {
  id: number;
  name: string;
  email: string | null;
  /** The client's number that matched, as entered and normalized. */
  phone: { raw: string; normalized: string };
  /** True when the normalized forms are equal; false for a trailing-digits match. */
  exact: boolean;
}

/**
 * Clients owning a number, written in any format (chat linking, WhatsApp senders, telephony):
 * equal normalized form first, then same trailing 9 digits. One entry per client; none when
 * `raw` is not a phone number.
 */
export async function findClientsByPhone(db: Conn, raw: string): Promise<ClientPhoneMatch[]> {
  const keys = phoneMatchKeys(raw);
  if (!keys) return [];
  const rows = await db
    .selectFrom('client_phones as p')
    .innerJoin('clients as c', 'c.id', 'p.client_id')
    .select(['c.id', 'c.name', 'c.email', 'p.raw', 'p.normalized', 'p.position'])
    .where((eb) => {
      const ors = [eb('p.normalized', '=', keys.normalized)];
      if (keys.tail) ors.push(eb(tailOf('p.normalized'), '=', keys.tail));
      return eb.or(ors);
    })
    .orderBy('c.id')
    .orderBy('p.position')
    .limit(100)
    .execute();
  const byClient = new Map<number, ClientPhoneMatch>();
  for (const r of rows) {
    const exact = r.normalized === keys.normalized;
    const prev = byClient.get(r.id);
    if (!prev || (exact && !prev.exact)) {
      byClient.set(r.id, { id: r.id, name: r.name, email: r.email, phone: { raw: r.raw, normalized: r.normalized }, exact });
    }
  }
  return [...byClient.values()].sort((a, b) => Number(b.exact) - Number(a.exact) || a.id - b.id);
}

export async function countCrmRecords(db: Conn): Promise<{ clients: number; documents: number; calls: number }> {
  const count = async (table: 'clients' | 'documents' | 'calls') =>
    Number(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  return { clients: await count('clients'), documents: await count('documents'), calls: await count('calls') };
}
