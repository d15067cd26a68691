import type { Conn } from '../../db/database.ts';
import * as threadRepo from './thread.repository.ts';
import { toMessageView, type MessageView } from '../chats.view.ts';

/** Kept here for the ingest code that asks it; the SQL lives in the repository. */
export const lastReadOutboundId = threadRepo.lastReadOutboundId;

function toViews(rows: threadRepo.ThreadRow[]): MessageView[] {
  return rows.map((r) => toMessageView(r, r.chat_read_up_to, r.last_read_outbound_id));
}

export async function loadThread(db: Conn, chatId: number, o: { before?: { at: Date; id: number }; limit: number }) {
  const rows = await threadRepo.listThread(db, chatId, { ...o, limit: o.limit + 1 });
  const hasMore = rows.length > o.limit;
  const page = hasMore ? rows.slice(1) : rows;
  const first = rows[0];
  // The version and read mark these rows were read under (one statement, one snapshot).
  return { messages: toViews(page), hasMore, version: first?.thread_version ?? 0, readUpTo: first?.chat_read_up_to ?? null };
}

/** What a reply shows of the message it quotes (kept on the reply: the thread needs no join). */
export function quoteOf(m: { id: number; direction: string; kind: string; text: string | null } | undefined): Record<string, unknown> {
  if (!m) return { missing: true };
  return { id: m.id, direction: m.direction, kind: m.kind, text: m.text ? [...m.text].slice(0, 140).join('') : null };
}
