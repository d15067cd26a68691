import { sql, type Kysely } from 'kysely';

// Plain SQL, one statement per call: PGlite's extended protocol takes one at a time.
const statements = [
  `CREATE TABLE roles (
     id serial PRIMARY KEY,
     name text NOT NULL,
     is_admin boolean NOT NULL DEFAULT false,
     permissions text[] NOT NULL DEFAULT '{}',
     created_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE UNIQUE INDEX roles_name_key ON roles (lower(name))`,
  `CREATE TABLE employees (
     id serial PRIMARY KEY,
     email text NOT NULL,
     name text NOT NULL,
     password_hash text NOT NULL,
     role_id integer NOT NULL REFERENCES roles(id),
     locale text,
     disabled_at timestamptz,
     created_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE UNIQUE INDEX employees_email_key ON employees (lower(email))`,
  // The session id is a random 256-bit token; only its SHA-256 is stored, so a database dump
  // gives no usable cookie.
  `CREATE TABLE sessions (
     id_hash text PRIMARY KEY,
     employee_id integer NOT NULL REFERENCES employees(id) ON DELETE CASCADE,
     csrf_token text NOT NULL,
     created_at timestamptz NOT NULL DEFAULT now(),
     last_seen_at timestamptz NOT NULL DEFAULT now(),
     expires_at timestamptz NOT NULL
   )`,
  `CREATE INDEX sessions_employee_idx ON sessions (employee_id)`,
  `CREATE TABLE login_throttle (
     key text PRIMARY KEY,
     failures integer NOT NULL DEFAULT 0,
     window_started_at timestamptz NOT NULL DEFAULT now(),
     locked_until timestamptz
   )`,
  // The durable, increasing sequence behind SSE ids and Last-Event-ID replay.
  `CREATE TABLE live_events (
     id bigserial PRIMARY KEY,
     created_at timestamptz NOT NULL DEFAULT now(),
     audience text NOT NULL CHECK (audience IN ('all', 'admins', 'employee', 'channel')),
     employee_id integer,
     channel_id integer,
     name text NOT NULL,
     html text NOT NULL DEFAULT '',
     data jsonb
   )`,
  `CREATE TABLE clients (
     id serial PRIMARY KEY,
     name text NOT NULL,
     email text,
     notes text,
     created_at timestamptz NOT NULL DEFAULT now(),
     updated_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE INDEX clients_name_idx ON clients (lower(name), id)`,
  `CREATE TABLE client_phones (
     id serial PRIMARY KEY,
     client_id integer NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
     raw text NOT NULL,
     normalized text NOT NULL,
     position integer NOT NULL DEFAULT 0
   )`,
  `CREATE INDEX client_phones_client_idx ON client_phones (client_id, position)`,
  `CREATE INDEX client_phones_normalized_idx ON client_phones (normalized)`,
  // Finding a client by a number written differently (`+33 6…` vs `06…`) compares the last
  // 9 digits (src/crm/phone.ts PHONE_TAIL_DIGITS).
  `CREATE INDEX client_phones_tail_idx ON client_phones (right(normalized, 9))`,
  `CREATE TABLE documents (
     id serial PRIMARY KEY,
     kind text NOT NULL CHECK (kind IN ('lead', 'order', 'estimate', 'invoice')),
     number text NOT NULL,
     client_id integer REFERENCES clients(id) ON DELETE SET NULL,
     status text NOT NULL,
     amount_cents bigint NOT NULL DEFAULT 0,
     issued_on date NOT NULL DEFAULT CURRENT_DATE,
     due_on date,
     notes text,
     created_at timestamptz NOT NULL DEFAULT now(),
     updated_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE UNIQUE INDEX documents_kind_number_key ON documents (kind, number)`,
  // Lists show a kind newest first by the document's own date (back-dated entries sort right).
  `CREATE INDEX documents_kind_issued_idx ON documents (kind, issued_on DESC, id DESC)`,
  `CREATE INDEX documents_client_idx ON documents (client_id, issued_on DESC, id DESC)`,
  `CREATE TABLE calls (
     id serial PRIMARY KEY,
     direction text NOT NULL CHECK (direction IN ('in', 'out', 'missed')),
     phone text NOT NULL,
     phone_normalized text NOT NULL,
     client_id integer REFERENCES clients(id) ON DELETE SET NULL,
     started_at timestamptz NOT NULL DEFAULT now(),
     duration_seconds integer NOT NULL DEFAULT 0
   )`,
  `CREATE INDEX calls_started_idx ON calls (started_at DESC, id DESC)`,
  `CREATE INDEX calls_client_idx ON calls (client_id, started_at DESC)`,
  // The two roles every shop starts with; `parley employee:create --role admin|agent` uses them.
  `INSERT INTO roles (name, is_admin, permissions) VALUES
     ('Admin', true, '{chats,clients,leads,orders,estimates,invoices,calls}'),
     ('Agent', false, '{chats,clients,leads,orders,estimates,invoices,calls}')`,
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const s of statements) await sql.raw(s).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['calls', 'documents', 'client_phones', 'clients', 'live_events', 'login_throttle', 'sessions', 'employees', 'roles']) {
    await sql.raw(`DROP TABLE IF EXISTS ${t}`).execute(db);
  }
}
