import type { ColumnType, Generated } from 'kysely';

/** Columns the database fills in (defaults) are optional on insert. */
type Default<T> = ColumnType<T, T | undefined, T>;
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** DATE columns are read as 'YYYY-MM-DD' strings (see db/database.ts). */
type DateOnly = ColumnType<string, string | undefined, string>;

export interface RolesTable {
  id: Generated<number>;
  name: string;
  is_admin: Default<boolean>;
  permissions: Default<string[]>;
  created_at: Timestamp;
}

export interface EmployeesTable {
  id: Generated<number>;
  email: string;
  name: string;
  password_hash: string;
  role_id: number;
  locale: string | null;
  disabled_at: NullableTimestamp;
  created_at: Timestamp;
}

export interface SessionsTable {
  id_hash: string;
  employee_id: number;
  csrf_token: string;
  created_at: Timestamp;
  last_seen_at: Timestamp;
  expires_at: Timestamp;
}

export interface LoginThrottleTable {
  key: string;
  failures: Default<number>;
  window_started_at: Timestamp;
  locked_until: NullableTimestamp;
}

export type Audience = 'all' | 'admins' | 'employee' | 'channel';

export interface LiveEventsTable {
  id: Generated<number>;
  created_at: Timestamp;
  audience: Audience;
  employee_id: number | null;
  channel_id: number | null;
  name: string;
  html: Default<string>;
  data: unknown;
}

export interface ClientsTable {
  id: Generated<number>;
  name: string;
  email: string | null;
  notes: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ClientPhonesTable {
  id: Generated<number>;
  client_id: number;
  raw: string;
  normalized: string;
  position: Default<number>;
}

export type DocumentKind = 'lead' | 'order' | 'estimate' | 'invoice';

export interface DocumentsTable {
  id: Generated<number>;
  kind: DocumentKind;
  number: string;
  client_id: number | null;
  status: string;
  amount_cents: Default<number>;
  issued_on: DateOnly;
  due_on: ColumnType<string | null, string | null | undefined, string | null>;
  notes: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface CallsTable {
  id: Generated<number>;
  direction: 'in' | 'out' | 'missed';
  phone: string;
  phone_normalized: string;
  client_id: number | null;
  started_at: Timestamp;
  duration_seconds: Default<number>;
}

export interface DB {
  roles: RolesTable;
  employees: EmployeesTable;
  sessions: SessionsTable;
  login_throttle: LoginThrottleTable;
  live_events: LiveEventsTable;
  clients: ClientsTable;
  client_phones: ClientPhonesTable;
  documents: DocumentsTable;
  calls: CallsTable;
}
