import type { Db } from '../../db/database.ts';
import type { Tx } from '../../platform/tx.ts';
import type { MessageDirection } from '../../db/schema.ts';
import * as repo from '../chats.repository.ts';
import * as threadRepo from './thread.repository.ts';
import { toAttachmentView, uiStatus, type AttachmentView } from '../chats.view.ts';

type Conn = Db | Tx['db'];

export interface MessageView {
  id: number;
  direction: MessageDirection;
  kind: string;
  text: string | null;
  status: string;
  statusReason: string | null;
  senderName: string | null;
  at: Date;
  readAt: Date | null;
  deleted: boolean;
  reactions: string[];
  attachments: AttachmentView[];
  meta: Record<string, unknown>;
  /** Show "Read HH:MM" under this message: the last outbound one the lead has read (E3). */
  showReadAt: boolean;
}

/** Kept here for the ingest code that asks it; the SQL lives in the repository. */
export const lastReadOutboundId = threadRepo.lastReadOutboundId;

/** What a message row must carry to be shown (the thread page, live re-renders, the send job). */
export interface MessageViewRow {
  id: number;
  direction: MessageDirection;
  kind: string;
  text: string | null;
  status: string;
  status_reason: string | null;
  sender_name: string | null;
  sort_at: Date;
  read_at: Date | null;
  deleted_at: Date | null;
  reactions: Record<string, string> | null;
  meta: Record<string, unknown> | null;
  attachments: Parameters<typeof toAttachmentView>[0][] | null;
}

/**
 * The one row → view mapping. `readUpTo`: the team's read mark (inbound ticks); `lastReadId`:
 * the last outbound message the lead has read ("Read HH:MM" shows under it only).
 */
export function toMessageView(r: MessageViewRow, readUpTo: number | null, lastReadId: number | null): MessageView {
  return {
    id: r.id,
    direction: r.direction,
    kind: r.kind,
    text: r.text,
    status: uiStatus(r, readUpTo),
    statusReason: r.status_reason,
    senderName: r.sender_name,
    at: r.sort_at,
    readAt: r.read_at,
    deleted: r.deleted_at !== null,
    reactions: Object.values(r.reactions ?? {}),
    attachments: (r.attachments ?? []).map(toAttachmentView),
    meta: r.meta ?? {},
    showReadAt: lastReadId !== null && r.id === Number(lastReadId),
  };
}

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
