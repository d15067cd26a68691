import { sql, type Kysely } from 'kysely';

const statements = [
  // One connected account: a Facebook Page, an Instagram professional account, a WhatsApp number.
  `CREATE TABLE channels (
     id serial PRIMARY KEY,
     kind text NOT NULL,
     name text NOT NULL,
     external_id text NOT NULL,
     parent_external_id text,
     credentials_enc text,
     settings jsonb NOT NULL DEFAULT '{}',
     state text NOT NULL DEFAULT 'connected' CHECK (state IN ('connected', 'needs_reconnect', 'disabled')),
     state_reason text,
     access_all boolean NOT NULL DEFAULT true,
     created_at timestamptz NOT NULL DEFAULT now(),
     updated_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE UNIQUE INDEX channels_kind_external_key ON channels (kind, external_id)`,
  `CREATE TABLE channel_access (
     channel_id integer NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
     employee_id integer NOT NULL REFERENCES employees(id) ON DELETE CASCADE,
     PRIMARY KEY (channel_id, employee_id)
   )`,
  `CREATE INDEX channel_access_employee_idx ON channel_access (employee_id)`,
  // The person on the other side, as one channel knows them (PSID, IGSID, wa_id).
  `CREATE TABLE contacts (
     id serial PRIMARY KEY,
     channel_id integer NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
     external_id text NOT NULL,
     name text,
     username text,
     phone text,
     phone_normalized text,
     avatar_url text,
     avatar_key text,
     profile_hidden boolean NOT NULL DEFAULT false,
     profile_fetched_at timestamptz,
     created_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE UNIQUE INDEX contacts_channel_external_key ON contacts (channel_id, external_id)`,
  `CREATE INDEX contacts_phone_idx ON contacts (phone_normalized) WHERE phone_normalized IS NOT NULL`,
  // One chat per contact (a contact belongs to one channel). Preview, counters and the
  // indicator are maintained in the write transaction so lists and the red dot never count
  // messages (P6).
  `CREATE TABLE chats (
     id serial PRIMARY KEY,
     channel_id integer NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
     contact_id integer NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
     client_id integer REFERENCES clients(id) ON DELETE SET NULL,
     status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'archived')),
     archived_at timestamptz,
     archived_by integer REFERENCES employees(id) ON DELETE SET NULL,
     last_message_at timestamptz NOT NULL DEFAULT now(),
     last_message_id bigint,
     last_direction text CHECK (last_direction IN ('in', 'out')),
     last_inbound_at timestamptz,
     preview_kind text,
     preview_text text,
     unread_count integer NOT NULL DEFAULT 0,
     indicator text NOT NULL DEFAULT 'none' CHECK (indicator IN ('unread', 'unanswered', 'none')),
     read_up_to_message_id bigint,
     lead_read_watermark timestamptz,
     created_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE UNIQUE INDEX chats_contact_key ON chats (contact_id)`,
  // The list: newest activity first, keyset-paged (P4).
  `CREATE INDEX chats_list_idx ON chats (status, last_message_at DESC, id DESC)`,
  `CREATE INDEX chats_channel_list_idx ON chats (channel_id, status, last_message_at DESC, id DESC)`,
  // The red dot: does any open chat need attention? A partial index keeps it a probe.
  `CREATE INDEX chats_attention_idx ON chats (channel_id) WHERE status = 'open' AND indicator <> 'none'`,
  `CREATE INDEX chats_client_idx ON chats (client_id) WHERE client_id IS NOT NULL`,
  `CREATE TABLE messages (
     id bigserial PRIMARY KEY,
     chat_id integer NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
     channel_id integer NOT NULL,
     direction text NOT NULL CHECK (direction IN ('in', 'out')),
     kind text NOT NULL,
     text text,
     external_id text,
     sender_employee_id integer REFERENCES employees(id) ON DELETE SET NULL,
     status text NOT NULL CHECK (status IN ('received', 'queued', 'sent', 'delivered', 'read', 'failed')),
     status_reason text,
     idempotency_key text,
     sort_at timestamptz NOT NULL DEFAULT now(),
     created_at timestamptz NOT NULL DEFAULT now(),
     sent_at timestamptz,
     delivered_at timestamptz,
     read_at timestamptz,
     deleted_at timestamptz,
     reply_to_message_id bigint REFERENCES messages(id) ON DELETE SET NULL,
     reactions jsonb,
     meta jsonb NOT NULL DEFAULT '{}',
     attempts integer NOT NULL DEFAULT 0
   )`,
  // A platform id is applied once per channel, whatever the redeliveries (R2).
  `CREATE UNIQUE INDEX messages_external_key ON messages (channel_id, external_id) WHERE external_id IS NOT NULL`,
  // One message per composer submit (R4).
  `CREATE UNIQUE INDEX messages_idempotency_key ON messages (chat_id, idempotency_key) WHERE idempotency_key IS NOT NULL`,
  `CREATE INDEX messages_thread_idx ON messages (chat_id, sort_at DESC, id DESC)`,
  `CREATE INDEX messages_outbox_idx ON messages (created_at) WHERE status = 'queued'`,
  `CREATE TABLE attachments (
     id bigserial PRIMARY KEY,
     message_id bigint NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
     kind text NOT NULL,
     mime text,
     size_bytes bigint,
     duration_ms integer,
     file_name text,
     source_url text,
     storage_key text,
     status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'stored', 'failed')),
     status_reason text,
     transcription jsonb,
     created_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE INDEX attachments_message_idx ON attachments (message_id)`,
  // Raw webhook deliveries, written before the 200 and processed from here (R1).
  `CREATE TABLE webhook_inbox (
     id bigserial PRIMARY KEY,
     source text NOT NULL,
     received_at timestamptz NOT NULL DEFAULT now(),
     body text NOT NULL,
     processed_at timestamptz,
     attempts integer NOT NULL DEFAULT 0,
     error text
   )`,
  `CREATE INDEX webhook_inbox_pending_idx ON webhook_inbox (id) WHERE processed_at IS NULL`,
  // Maintained with the chats' indicators: only a change of this flag sends a live event.
  `ALTER TABLE employees ADD COLUMN red_dot boolean NOT NULL DEFAULT false`,
  `ALTER TABLE live_events ADD COLUMN locale text`,
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const s of statements) await sql.raw(s).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql.raw('ALTER TABLE live_events DROP COLUMN locale').execute(db);
  await sql.raw('ALTER TABLE employees DROP COLUMN red_dot').execute(db);
  for (const t of ['webhook_inbox', 'attachments', 'messages', 'chats', 'contacts', 'channel_access', 'channels']) {
    await sql.raw(`DROP TABLE IF EXISTS ${t}`).execute(db);
  }
}
