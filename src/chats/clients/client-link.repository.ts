import { sql } from 'kysely';
import { chatsQuery } from '../chats.repository.ts';
import type { Conn } from '../../db/database.ts';

/** Links a chat to a client (or unlinks it with null). Returns false when the chat is gone. */
export async function setChatClient(db: Conn, chatId: number, clientId: number | null): Promise<boolean> {
  const r = await db.updateTable('chats').set({ client_id: clientId }).where('id', '=', chatId).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Links the chat to the client when it has no client yet (a chat started from the client card). */
export async function linkIfUnlinked(db: Conn, chatId: number, clientId: number): Promise<void> {
  await db.updateTable('chats').set({ client_id: clientId }).where('id', '=', chatId).where('client_id', 'is', null).execute();
}

/**
 * The texts of the lead's most recent messages (newest first), where a phone number they
 * typed ("call me on 06 12 34 56 78") is found. Bounded: the thread index serves it.
 */
export async function recentInboundTexts(db: Conn, chatId: number, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('messages')
    .select('text')
    .where('chat_id', '=', chatId)
    .where('direction', '=', 'in')
    .where('text', 'is not', null)
    .orderBy('sort_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => r.text ?? '').filter(Boolean);
}

/** Clients whose name equals `name` ignoring case and surrounding spaces (clients_name_idx). */
export async function findClientsByName(db: Conn, name: string, limit: number) {
  const n = name.trim().toLowerCase();
  if (!n) return [];
  return db.selectFrom('clients').select(['id', 'name', 'email']).where(sql`lower(name)`, '=', n).orderBy('id').limit(limit).execute();
}

/**
 * A client's chats on the given channels (the employee's visible ones), newest activity
 * first, in the shape `toChatView` takes. Served by chats_client_idx.
 */
export async function listClientChats(db: Conn, clientId: number, channelIds: readonly number[], limit: number) {
  if (channelIds.length === 0) return [];
  return chatsQuery(db).where('chats.client_id', '=', clientId).where('chats.channel_id', 'in', channelIds).orderBy('chats.last_message_at', 'desc').orderBy('chats.id', 'desc').limit(limit).execute();
}

/** The channels with these ids (names, kinds and state for "start a chat"), by name. */
export async function listChannelsByIds(db: Conn, ids: readonly number[]) {
  if (ids.length === 0) return [];
  return db.selectFrom('channels').select(['id', 'kind', 'name', 'state']).where('id', 'in', ids).where('state', '<>', 'disabled').orderBy('kind').orderBy('name').orderBy('id').execute();
}
