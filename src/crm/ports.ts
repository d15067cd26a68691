/**
 * What the CRM feature needs from the outside: only the database (its records are plain rows
 * read and written in its repositories). Route plugins take `Pick<CrmPorts, 'db'>`; the
 * composition root (`deps.ts`) satisfies it structurally, so nothing under `src/crm` imports it.
 */
import type { Db } from '../db/database.ts';

export interface CrmPorts {
  readonly db: Db;
}
