import { sql, type Kysely } from 'kysely';

/**
 * `thread_versions.version` changes whenever anything a chat's thread shows changes: one of its
 * messages or attachments is inserted, updated or deleted, or an employee who sent one of them
 * is renamed. Web processes keep the rendered HTML of a chat's latest messages and reuse it
 * while the version (and the team's read mark) is the one they rendered
 * (src/chats/thread-html.ts).
 *
 * - Triggers keep it, not the code paths that write messages: a new path (a transcription, an
 *   import) cannot forget it.
 * - Statement-level triggers with transition tables: a read receipt that updates fifty messages
 *   bumps its chat once.
 * - A table of its own, not a column of `chats`: the bump locks only this row, at the end of a
 *   message statement. A column would make a send job (message row, then chat row) and an
 *   incoming echo (chat row, then the same message) wait for each other: a deadlock. No
 *   foreign key either: its check would lock the chat row too. Chat ids are never reused, so
 *   the row of a deleted chat is only a few bytes left behind.
 */
const bump = (chatIds: string) => `
     INSERT INTO thread_versions AS v (chat_id, version)
       SELECT DISTINCT chat_id, 1 FROM (${chatIds}) ids
     ON CONFLICT (chat_id) DO UPDATE SET version = v.version + 1;`;

/** A trigger function `thread_versions_bump_<name>()` running `body`. */
const triggerFunction = (name: string, body: string) => `CREATE FUNCTION thread_versions_bump_${name}() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     ${body.trim()}
     RETURN NULL;
   END $$`;

/** A statement-level trigger with its transition table (a trigger with one has one event). */
const trigger = (table: string, event: 'INSERT' | 'UPDATE' | 'DELETE', fn: string) =>
  `CREATE TRIGGER ${table}_thread_${event.slice(0, 3).toLowerCase()} AFTER ${event} ON ${table}
     REFERENCING ${event === 'DELETE' ? 'OLD' : 'NEW'} TABLE AS changed_rows
     FOR EACH STATEMENT EXECUTE FUNCTION thread_versions_bump_${fn}()`;

const statements = [
  `CREATE TABLE thread_versions (
     chat_id integer PRIMARY KEY,
     version bigint NOT NULL
   )`,
  triggerFunction('messages', bump('SELECT chat_id FROM changed_rows')),
  triggerFunction('attachments', bump('SELECT m.chat_id FROM messages m WHERE m.id IN (SELECT message_id FROM changed_rows)')),
  // Deleted rows: their chat may be going too (a cascade); only existing versions move.
  triggerFunction('deleted', 'UPDATE thread_versions SET version = version + 1 WHERE chat_id IN (SELECT chat_id FROM changed_rows);'),
  triggerFunction('employee', bump('SELECT chat_id FROM messages WHERE sender_employee_id = NEW.id')),
  trigger('messages', 'INSERT', 'messages'),
  trigger('messages', 'UPDATE', 'messages'),
  trigger('messages', 'DELETE', 'deleted'),
  trigger('attachments', 'INSERT', 'attachments'),
  trigger('attachments', 'UPDATE', 'attachments'),
  // A deleted attachment's message is gone too (a cascade) or still there (it bumps its chat).
  trigger('attachments', 'DELETE', 'attachments'),
  // Renames are rare (Parley has no rename form yet); this reads the employee's messages.
  `CREATE TRIGGER employees_thread_name AFTER UPDATE OF name ON employees
     FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION thread_versions_bump_employee()`,
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const s of statements) await sql.raw(s).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const s of [
    'DROP TRIGGER IF EXISTS employees_thread_name ON employees',
    ...['ins', 'upd', 'del'].flatMap((e) => [`DROP TRIGGER IF EXISTS messages_thread_${e} ON messages`, `DROP TRIGGER IF EXISTS attachments_thread_${e} ON attachments`]),
    ...['employee', 'deleted', 'attachments', 'messages'].map((f) => `DROP FUNCTION IF EXISTS thread_versions_bump_${f}()`),
    'DROP TABLE IF EXISTS thread_versions',
  ]) {
    await sql.raw(s).execute(db);
  }
}
