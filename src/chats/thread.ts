import type { Db } from '../db/database.ts';
import type { Tx } from '../platform/tx.ts';
import * as repo from './chats.repository.ts';
import { toAttachmentView, uiStatus, type AttachmentView } from './chats.view.ts';

type Conn = Db | Tx['db'];

export interface MessageView {
  id: number;
  direction: 'in' | 'out';
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

type MessageRow = Awaited<ReturnType<typeof repo.listThread>>[number];

async function toViews(db: Conn, chatId: number, rows: MessageRow[]): Promise<MessageView[]> {
  const chat = await db.selectFrom('chats').select(['read_up_to_message_id']).where('id', '=', chatId).executeTakeFirst();
  const atts = await repo.listAttachments(db, rows.map((r) => r.id));
  const byMessage = new Map<number, AttachmentView[]>();
  for (const a of atts) {
    const list = byMessage.get(a.message_id) ?? [];
    list.push(toAttachmentView(a));
    byMessage.set(a.message_id, list);
  }
  const lastRead = await lastReadOutboundId(db, chatId);
  return rows.map((r) => ({
    id: r.id,
    direction: r.direction,
    kind: r.kind,
    text: r.text,
    status: uiStatus(r, chat?.read_up_to_message_id ?? null),
    statusReason: r.status_reason,
    senderName: r.sender_name,
    at: r.sort_at,
    readAt: r.read_at,
    deleted: r.deleted_at !== null,
    reactions: Object.values(r.reactions ?? {}),
    attachments: byMessage.get(r.id) ?? [],
    meta: r.meta ?? {},
    showReadAt: r.id === lastRead,
  }));
}

export async function lastReadOutboundId(db: Conn, chatId: number): Promise<number | null> {
  const r = await db
    .selectFrom('messages')
    .select('id')
    .where('chat_id', '=', chatId)
    .where('direction', '=', 'out')
    .where('status', '=', 'read')
    .orderBy('sort_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return r?.id ?? null;
}

export async function loadThread(db: Conn, chatId: number, o: { before?: { at: Date; id: number }; limit: number }) {
  const rows = await repo.listThread(db, chatId, { ...o, limit: o.limit + 1 });
  const hasMore = rows.length > o.limit;
  const page = hasMore ? rows.slice(1) : rows;
  return { messages: await toViews(db, chatId, page), hasMore };
}

export async function loadMessageViews(db: Conn, chatId: number, ids: number[]): Promise<MessageView[]> {
  const rows: MessageRow[] = [];
  for (const id of ids) {
    const r = await repo.findMessageWithSender(db, id);
    if (r && r.chat_id === chatId) rows.push(r);
  }
  rows.sort((a, b) => a.sort_at.getTime() - b.sort_at.getTime() || a.id - b.id);
  return toViews(db, chatId, rows);
}
