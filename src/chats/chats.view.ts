import type { Translate } from '../platform/i18n/index.ts';
import { I18N_REASON } from '../platform/i18n/reasons.ts';
import { NO_RETRY_REASONS } from '../channels/whatsapp/errors.ts';
import { MAX_DURATION_MS } from '../platform/audio-duration.ts';
import type { MessageKey } from '../platform/i18n/index.ts';
import type { ChannelSettings } from '../channels/adapter.ts';
import { MIN_TEXT_SEARCH } from './chats.repository.ts';
import type { MessageDirection } from '../db/schema.ts';

/** Row → view model for the chat list item, header and details panel. */
export interface ChatView {
  id: number;
  channelId: number;
  status: 'open' | 'archived';
  indicator: 'unread' | 'unanswered' | 'none';
  name: string | null;
  username: string | null;
  phone: string | null;
  hidden: boolean;
  avatarUrl: string | null;
  channelKind: string;
  channelName: string;
  /** The channel's settings (the send policy depends on them). */
  channelSettings: ChannelSettings;
  previewKind: string | null;
  previewText: string | null;
  lastMessageAt: Date;
  lastInboundAt: Date | null;
  archivedAt: Date | null;
  archivedByName: string | null;
  clientId: number | null;
  contactId: number;
  /** The team's read mark: inbound messages up to it show as read. */
  readUpTo: number | null;
  /** Changes whenever anything the thread shows changes (a rendered thread is kept by it). */
  threadVersion: number;
  /** Who the chat is assigned to (#16), and their name. */
  assigneeId: number | null;
  assigneeName: string | null;
}

/** A list item: the part of a chat the list shows. */
export type ChatListItem = Pick<
  ChatView,
  | 'id'
  | 'channelId'
  | 'contactId'
  | 'status'
  | 'indicator'
  | 'name'
  | 'username'
  | 'hidden'
  | 'avatarUrl'
  | 'channelKind'
  | 'channelName'
  | 'previewKind'
  | 'previewText'
  | 'lastMessageAt'
  | 'assigneeId'
  | 'assigneeName'
>;

interface ListRow {
  id: number;
  channel_id: number;
  contact_id: number;
  status: 'open' | 'archived';
  indicator: 'unread' | 'unanswered' | 'none';
  contact_name: string | null;
  contact_username: string | null;
  contact_hidden: boolean;
  contact_avatar_key: string | null;
  channel_kind: string;
  channel_name: string;
  preview_kind: string | null;
  preview_text: string | null;
  last_message_at: Date;
  assignee_id: number | null;
  assignee_name: string | null;
}

export function toChatListItem(r: ListRow): ChatListItem {
  return {
    id: r.id,
    channelId: r.channel_id,
    contactId: r.contact_id,
    status: r.status,
    indicator: r.indicator,
    name: r.contact_name,
    username: r.contact_username,
    hidden: r.contact_hidden,
    avatarUrl: r.contact_avatar_key ? `/media/avatars/${r.contact_id}` : null,
    channelKind: r.channel_kind,
    channelName: r.channel_name,
    previewKind: r.preview_kind,
    previewText: r.preview_text,
    lastMessageAt: r.last_message_at,
    assigneeId: r.assignee_id,
    assigneeName: r.assignee_name,
  };
}

export function toChatView(
  r: ListRow & {
    client_id: number | null;
    contact_phone: string | null;
    channel_settings: Record<string, unknown>;
    last_inbound_at: Date | null;
    archived_at: Date | null;
    archived_by_name: string | null;
    read_up_to_message_id: number | null;
    thread_version: number;
  },
): ChatView {
  return {
    ...toChatListItem(r),
    clientId: r.client_id,
    phone: r.contact_phone,
    channelSettings: r.channel_settings as ChannelSettings,
    lastInboundAt: r.last_inbound_at,
    archivedAt: r.archived_at,
    archivedByName: r.archived_by_name,
    readUpTo: r.read_up_to_message_id,
    threadVersion: r.thread_version,
  };
}

/** C5: a hidden or unknown profile shows as "Unknown client". */
export function displayName(c: Pick<ChatView, 'name' | 'username'>, t: Translate): string {
  return c.name || (c.username ? '@' + c.username : t('chats.unknown_client'));
}

const PREVIEW_KEYS: Record<string, MessageKey> = {
  image: 'chats.preview.photo',
  audio: 'chats.preview.voice',
  video: 'chats.preview.video',
  file: 'chats.preview.file',
  sticker: 'chats.preview.sticker',
  deleted: 'chats.preview.deleted',
  unsupported: 'chats.preview.unsupported',
  location: 'chats.preview.location',
  contacts: 'chats.preview.contacts',
};

/** C6: the preview is the text, or a label for media, or "Comment: …". */
export function previewLabel(kind: string | null, text: string | null, t: Translate): string {
  if (!kind) return '';
  if (kind === 'comment') return t('chats.preview.comment', { text: (text ?? '').slice(0, 80) });
  if (kind === 'text' || kind === 'template') return (text ?? '').slice(0, 120);
  const key = PREVIEW_KEYS[kind];
  const label = key ? t(key) : t('chats.preview.unsupported');
  return text ? `${label}: ${text.slice(0, 80)}` : label;
}

/** What `data-status` says for a message (issue #4 item 8). Inbound: read by the team or not. */
export function uiStatus(m: { direction: string; status: string; id: number }, readUpTo: number | null): string {
  if (m.direction === 'in') return readUpTo !== null && m.id <= readUpTo ? 'read' : 'delivered';
  return m.status === 'queued' ? 'sending' : m.status;
}

export interface AttachmentView {
  id: number;
  kind: string;
  mime: string | null;
  fileName: string | null;
  sizeBytes: number | null;
  status: string;
  url: string | null;
  /** Length read from the stored file (audio, video). */
  durationMs: number | null;
  /** An audio attachment's transcript (G1–G3), as `transcription.service.ts` records it. */
  transcription: TranscriptionView | null;
}

export interface TranscriptionView {
  status: 'pending' | 'done' | 'failed';
  text?: string;
  language?: string | null;
  engine?: string;
  requestedByName?: string | null;
  requestedAt?: string;
  completedAt?: string;
  durationMs?: number | null;
  /** A failure: Parley's reason (a message key), the engine's words, whether Retry can help. */
  error?: { key: string; detail?: string; retry: boolean };
}

export function toAttachmentView(a: {
  id: number;
  kind: string;
  mime: string | null;
  file_name: string | null;
  size_bytes: number | null;
  status: string;
  storage_key: string | null;
  duration_ms?: number | null;
  transcription?: Record<string, unknown> | null;
}): AttachmentView {
  return {
    id: a.id,
    kind: a.kind,
    mime: a.mime,
    fileName: a.file_name,
    sizeBytes: a.size_bytes,
    status: a.status,
    url: a.status === 'stored' && a.storage_key ? `/media/${a.id}` : null,
    durationMs: a.duration_ms ?? null,
    transcription: (a.transcription as TranscriptionView | null | undefined) ?? null,
  };
}

export function formatBytes(n: number | null): string {
  if (n === null || n === undefined) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** Helpers every chats template gets as `it.h`, bound to the page's language. */
export function chatHelpers(t: Translate) {
  return {
    preview: (kind: string | null, text: string | null) => previewLabel(kind, text, t),
    bytes: formatBytes,
    minTextSearch: MIN_TEXT_SEARCH,
    /** Parley's own reasons are stored as `i18n:<key>`; the platform's are shown as given. */
    reason: (r: string | null) => (r ? (r.startsWith(I18N_REASON) ? t(r.slice(I18N_REASON.length) as MessageKey) : r) : ''),
    /** Whether sending a failed message again can succeed (not after 131047: that needs a template). */
    retryHelps: (r: string | null) => !r || !NO_RETRY_REASONS.has(r),
    /** A shared location on a map (OpenStreetMap: no key, no tracking script). */
    mapUrl: (loc: { latitude: number; longitude: number }) =>
      `https://www.openstreetmap.org/?mlat=${encodeURIComponent(loc.latitude)}&mlon=${encodeURIComponent(loc.longitude)}#map=17/${encodeURIComponent(loc.latitude)}/${encodeURIComponent(loc.longitude)}`,
    /** `m:ss` of a duration in milliseconds. */
    clock: (ms: number | null | undefined) => {
      if (ms === null || ms === undefined) return '';
      const total = Math.round(ms / 1000);
      return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
    },
    maxTranscribeMs: MAX_DURATION_MS,
    /** A template's language code in words where Parley knows it (`fr` → French). */
    language: (code: string) => {
      const key = `chats.language.${code.toLowerCase().split(/[_-]/)[0]}` as MessageKey;
      const name = t(key);
      return name === key ? code : `${name} (${code})`;
    },
    /** What an assignment record says (team.service.ts `AssignmentMeta`), in the reader's language. */
    assignment: (actor: string | null, meta: Record<string, unknown>) => assignmentText(actor, meta, t),
    /** A note's text split where it mentions a colleague (shown marked). */
    noteParts,
  };
}

type Named = { id: number; name: string } | null | undefined;

function assignmentText(actor: string | null, meta: Record<string, unknown>, t: Translate): string {
  const to = meta.to as Named;
  const from = meta.from as Named;
  const who = actor ?? t('chats.unknown_client');
  if (meta.auto && to) return t('chats.event.auto', { to: to.name });
  if (!to) return t('chats.event.unassigned', { actor: who, from: from?.name ?? '' });
  if (meta.self) return from ? t('chats.event.taken_from', { actor: who, from: from.name }) : t('chats.event.assigned_self', { actor: who });
  if (from) return t('chats.event.reassigned', { actor: who, to: to.name, from: from.name });
  return t('chats.event.assigned', { actor: who, to: to.name });
}

/**
 * `text` in pieces, the mentions flagged: exactly the `@token`s the note was read with
 * (team.service.ts `mentionsIn`: a full name, or a first name no other colleague shares), whole
 * words only, whatever the case.
 */
export function noteParts(text: string | null, mentions: unknown): Array<{ text: string; mention: boolean }> {
  const value = text ?? '';
  const tokens = (Array.isArray(mentions) ? mentions : []).flatMap((m) => {
    const t = (m as { tokens?: unknown }).tokens;
    return Array.isArray(t) ? t.map(String).filter(Boolean) : [];
  });
  if (!tokens.length) return [{ text: value, mention: false }];
  const escaped = [...new Set(tokens)].sort((a, b) => b.length - a.length).map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const re = new RegExp(`@(?:${escaped.join('|')})(?![\\p{L}\\p{N}_])`, 'giu');
  const parts: Array<{ text: string; mention: boolean }> = [];
  let last = 0;
  for (const m of value.matchAll(re)) {
    if (m.index! > last) parts.push({ text: value.slice(last, m.index), mention: false });
    parts.push({ text: m[0], mention: true });
    last = m.index! + m[0].length;
  }
  if (last < value.length) parts.push({ text: value.slice(last), mention: false });
  return parts;
}

// A message as the thread, live re-renders and the send job show it

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
