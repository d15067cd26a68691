import { sql, type Kysely } from 'kysely';

/**
 * #16 items 1–2: a chat's assignee, internal messages (an employee's note, a record of an
 * assignment) and the mentions a note makes.
 *
 * - `chats.assignee_id`: who the chat is assigned to (null: nobody). An index per assignee in
 *   the list's order serves *Mine* (P4's keyset paging); *Unassigned* filters the list index.
 * - `messages.direction = 'internal'`: written by Parley for employees only. Every platform
 *   path names 'in' or 'out' (the outbox sends only `out`, windows read `in`, the indicator
 *   reads the chat's `last_direction`, which an internal message never sets), so a note can
 *   neither be sent nor count as an answer.
 * - `chat_mentions`: a colleague mentioned in a note, until they open the chat; their red dot
 *   is on while they have one (access.repository.ts). One row per colleague and chat.
 */
const statements = [
  `ALTER TABLE chats ADD COLUMN assignee_id integer REFERENCES employees(id) ON DELETE SET NULL`,
  `CREATE INDEX chats_assignee_list_idx ON chats (assignee_id, status, last_message_at DESC, id DESC) WHERE assignee_id IS NOT NULL`,
  `ALTER TABLE messages DROP CONSTRAINT messages_direction_check`,
  `ALTER TABLE messages ADD CONSTRAINT messages_direction_check CHECK (direction IN ('in', 'out', 'internal'))`,
  `CREATE TABLE chat_mentions (
     employee_id integer NOT NULL REFERENCES employees(id) ON DELETE CASCADE,
     chat_id integer NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
     message_id bigint NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
     created_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (employee_id, chat_id)
   )`,
  `CREATE INDEX chat_mentions_chat_idx ON chat_mentions (chat_id)`,
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const s of statements) await sql.raw(s).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql.raw('DROP TABLE IF EXISTS chat_mentions').execute(db);
  await sql.raw(`DELETE FROM messages WHERE direction = 'internal'`).execute(db);
  await sql.raw('ALTER TABLE messages DROP CONSTRAINT messages_direction_check').execute(db);
  await sql.raw(`ALTER TABLE messages ADD CONSTRAINT messages_direction_check CHECK (direction IN ('in', 'out'))`).execute(db);
  await sql.raw('ALTER TABLE chats DROP COLUMN assignee_id').execute(db);
}
