import type { CallsTable } from '../db/schema.ts';
import type { Conn } from '../db/database.ts';

export type CallDirection = CallsTable['direction'];

export interface CallListRow {
  id: number;
  direction: CallDirection;
  phone: string;
  phone_normalized: string;
  client_id: number | null;
  client_name: string | null;
  started_at: Date;
  duration_seconds: number;
}

const COLUMNS = ['k.id', 'k.direction', 'k.phone', 'k.phone_normalized', 'k.client_id', 'c.name as client_name', 'k.started_at', 'k.duration_seconds'] as const;

/** The call log, newest first; `limit + 1` rows tell if more exist. */
export async function listCalls(db: Conn, opts: { limit: number; offset: number }): Promise<CallListRow[]> {
  return db
    .selectFrom('calls as k')
    .leftJoin('clients as c', 'c.id', 'k.client_id')
    .select(COLUMNS)
    .orderBy('k.started_at', 'desc')
    .orderBy('k.id', 'desc')
    .limit(opts.limit + 1)
    .offset(opts.offset)
    .execute();
}

export async function listClientCalls(db: Conn, clientId: number, limit = 50): Promise<CallListRow[]> {
  return db
    .selectFrom('calls as k')
    .leftJoin('clients as c', 'c.id', 'k.client_id')
    .select(COLUMNS)
    .where('k.client_id', '=', clientId)
    .orderBy('k.started_at', 'desc')
    .orderBy('k.id', 'desc')
    .limit(limit)
    .execute();
}

/** Records a call (telephony integration, seed). `phoneNormalized` comes from normalizePhone. */
export async function insertCall(
  db: Conn,
  c: { direction: CallDirection; phone: string; phoneNormalized: string; clientId: number | null; startedAt: Date; durationSeconds: number },
): Promise<number> {
  const r = await db
    .insertInto('calls')
    .values({
      direction: c.direction,
      phone: c.phone,
      phone_normalized: c.phoneNormalized,
      client_id: c.clientId,
      started_at: c.startedAt,
      duration_seconds: c.durationSeconds,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return r.id;
}
