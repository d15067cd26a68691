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
  red_dot: Default<boolean>;
  /** Set with a temporary password: every page leads to Change password until done. */
  must_change_password: Default<boolean>;
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
  /** Set when the HTML was rendered for one language: only viewers of it receive the event. */
  locale: string | null;
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

export type ChannelState = 'connected' | 'needs_reconnect' | 'disabled';

export interface ChannelsTable {
  id: Generated<number>;
  kind: string;
  name: string;
  external_id: string;
  parent_external_id: string | null;
  credentials_enc: string | null;
  settings: ColumnType<Record<string, unknown>, string | undefined, string>;
  state: Default<ChannelState>;
  state_reason: string | null;
  access_all: Default<boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface WhatsappTemplatesTable {
  channel_id: number;
  name: string;
  language: string;
  status: string;
  category: string | null;
  components: ColumnType<TemplateComponent[], string, string>;
  fetched_at: Timestamp;
}

/** A template part as the Graph API lists it (BODY text with {{1}}… placeholders, HEADER, FOOTER, BUTTONS). */
export interface TemplateComponent {
  type: string;
  format?: string;
  text?: string;
  buttons?: Array<{ type?: string; text?: string }>;
}

export interface ChannelAccessTable {
  channel_id: number;
  employee_id: number;
}

export interface ContactsTable {
  id: Generated<number>;
  channel_id: number;
  external_id: string;
  name: string | null;
  username: string | null;
  phone: string | null;
  phone_normalized: string | null;
  avatar_url: string | null;
  avatar_key: string | null;
  profile_hidden: Default<boolean>;
  profile_fetched_at: NullableTimestamp;
  created_at: Timestamp;
}

export type Indicator = 'unread' | 'unanswered' | 'none';

export interface ChatsTable {
  id: Generated<number>;
  channel_id: number;
  contact_id: number;
  client_id: number | null;
  status: Default<'open' | 'archived'>;
  archived_at: NullableTimestamp;
  archived_by: number | null;
  last_message_at: Timestamp;
  last_message_id: number | null;
  last_direction: 'in' | 'out' | null;
  last_inbound_at: NullableTimestamp;
  preview_kind: string | null;
  preview_text: string | null;
  unread_count: Default<number>;
  indicator: Default<Indicator>;
  read_up_to_message_id: number | null;
  lead_read_watermark: NullableTimestamp;
  /** Who the chat is assigned to (#16; migrations/0010). */
  assignee_id: Default<number | null>;
  created_at: Timestamp;
}

/** Bumped by triggers whenever what a chat's thread shows changes (migrations/0005). */
export interface ThreadVersionsTable {
  chat_id: number;
  version: number;
}

export type MessageDirection = 'in' | 'out' | 'internal';

export type MessageStatus = 'received' | 'queued' | 'sent' | 'delivered' | 'read' | 'failed';

export interface MessagesTable {
  id: Generated<number>;
  chat_id: number;
  channel_id: number;
  /** 'internal': written by Parley for employees only (a note, an assignment), never sent. */
  direction: MessageDirection;
  kind: string;
  text: string | null;
  external_id: string | null;
  sender_employee_id: number | null;
  status: MessageStatus;
  status_reason: string | null;
  idempotency_key: string | null;
  sort_at: Timestamp;
  created_at: Timestamp;
  sent_at: NullableTimestamp;
  delivered_at: NullableTimestamp;
  read_at: NullableTimestamp;
  deleted_at: NullableTimestamp;
  reply_to_message_id: number | null;
  reactions: ColumnType<Record<string, string> | null, string | null | undefined, string | null>;
  meta: ColumnType<Record<string, unknown>, string | undefined, string>;
  attempts: Default<number>;
}

export interface AttachmentsTable {
  id: Generated<number>;
  message_id: number;
  kind: string;
  mime: string | null;
  size_bytes: number | null;
  duration_ms: number | null;
  file_name: string | null;
  source_url: string | null;
  storage_key: string | null;
  status: Default<'pending' | 'stored' | 'failed'>;
  status_reason: string | null;
  transcription: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  created_at: Timestamp;
}

export interface PostsTable {
  channel_id: number;
  external_id: string;
  text: string | null;
  permalink: string | null;
  fetched_at: Timestamp;
}

export interface AppSettingsTable {
  key: string;
  value: ColumnType<Record<string, unknown>, string, string>;
  updated_at: Timestamp;
}

/** Saved replies (migrations/0009): `owner_employee_id` null = shared by the shop. */
export interface SavedRepliesTable {
  id: Generated<number>;
  owner_employee_id: number | null;
  shortcut: string;
  text: string;
  created_at: Timestamp;
}

/** A colleague mentioned in a note, until they open the chat (migrations/0010). */
export interface ChatMentionsTable {
  employee_id: number;
  chat_id: number;
  message_id: number;
  created_at: Timestamp;
}

/** Two-factor sign-in (migrations/0012): the TOTP secret, encrypted; enabled once confirmed. */
export interface EmployeeTwoFactorTable {
  employee_id: number;
  secret_encrypted: string;
  enabled_at: NullableTimestamp;
  last_used_step: number | null;
  created_at: Timestamp;
}

export interface TwoFactorRecoveryCodesTable {
  employee_id: number;
  code_hash: string;
  used_at: NullableTimestamp;
}

/** A login waiting for its second step (password right, code due). */
export interface LoginChallengesTable {
  token_hash: string;
  employee_id: number;
  next: Default<string>;
  attempts: Default<number>;
  expires_at: Timestamp;
  created_at: Timestamp;
}

export interface WebhookInboxTable {
  id: Generated<number>;
  source: string;
  received_at: Timestamp;
  body: string;
  processed_at: NullableTimestamp;
  attempts: Default<number>;
  error: string | null;
}

/** A change of a delivery set aside (R9): shown to admins in Settings › Chats, retried or discarded. */
export interface WebhookFailuresTable {
  id: Generated<number>;
  inbox_id: number;
  change_key: string;
  change: string;
  received_at: Timestamp;
  channel_id: number | null;
  event_type: string | null;
  contact: string | null;
  excerpt: string | null;
  error: string;
  attempts: Default<number>;
  first_failed_at: Timestamp;
  last_failed_at: Timestamp;
  state: Default<'open' | 'resolved' | 'discarded'>;
  resolved_at: NullableTimestamp;
  resolved_by: number | null;
}

export interface DB {
  channels: ChannelsTable;
  channel_access: ChannelAccessTable;
  whatsapp_templates: WhatsappTemplatesTable;
  app_settings: AppSettingsTable;
  posts: PostsTable;
  saved_replies: SavedRepliesTable;
  chat_mentions: ChatMentionsTable;
  contacts: ContactsTable;
  chats: ChatsTable;
  messages: MessagesTable;
  thread_versions: ThreadVersionsTable;
  attachments: AttachmentsTable;
  webhook_inbox: WebhookInboxTable;
  webhook_failures: WebhookFailuresTable;
  roles: RolesTable;
  employees: EmployeesTable;
  sessions: SessionsTable;
  login_throttle: LoginThrottleTable;
  employee_two_factor: EmployeeTwoFactorTable;
  two_factor_recovery_codes: TwoFactorRecoveryCodesTable;
  login_challenges: LoginChallengesTable;
  live_events: LiveEventsTable;
  clients: ClientsTable;
  client_phones: ClientPhonesTable;
  documents: DocumentsTable;
  calls: CallsTable;
}
