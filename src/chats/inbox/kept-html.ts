import { randomBytes } from 'node:crypto';
import type { ChatsPorts } from '../ports.ts';
import type { AuthContext } from '../../auth/permissions.ts';
import type { Locale } from '../../platform/i18n/index.ts';
import { translator } from '../../platform/i18n/index.ts';
import { renderPartial } from '../../platform/views.ts';
import { EncodedPart, partMarkers, type BodyPiece } from '../../platform/page-body.ts';
import * as inboxRepo from './inbox.repository.ts';
import { chatHelpers, toChatListItem, type ChatView } from '../chats.view.ts';
import { channelsOf, PAGE_SIZE } from '../chats.service.ts';
import { listPage, searchChats } from './inbox.service.ts';
import { loadThread } from '../thread/thread.ts';

/** How many rendered parts a web process keeps (threads are 20–60 KB, list pages about 25 KB). */
export const KEPT_HTML_ENTRIES = 500;
/** How long a part is reused at most (a stamp made of transaction ids must not outlive them). */
export const KEPT_HTML_MAX_AGE_MS = 10 * 60_000;

/** Where the response's CSRF token goes in a kept part. */
const CSRF = Symbol('csrf');

interface Entry {
  stamp: string;
  keptAt: number;
  /** The HTML as bytes, split where it held `csrfSlot` (a failed message's Retry form). */
  parts: Array<EncodedPart | typeof CSRF>;
}

/**
 * Rendered parts of the Chats page, kept by a web process and reused while the data they show
 * is unchanged, which the page learns in the statement it runs anyway:
 *
 * - a chat's thread (its latest messages), stamped with the chat's thread version (kept by
 *   triggers, migrations/0005) and the team's read mark, which the chat row brings;
 * - the first page of the list, stamped with the digest of its rows (chats.repository.ts
 *   `listDigest`: ids and row versions), which PostgreSQL computes instead of sending the rows.
 *
 * Dates are formatted in the process's time zone, the same for every employee, so they need no
 * key. An entry is reused for ten minutes at most. The CSRF token differs per session: a kept
 * part holds a slot in its place, filled per response. Least recently used entries go first.
 *
 * A part is kept as bytes (platform/page-body.ts `EncodedPart`): spliced into the response
 * without being encoded, or compressed, again.
 */
export class KeptHtml {
  private readonly entries = new Map<string, Entry>();
  /** Stands for the CSRF token in a kept part: random, so no message text can forge it. */
  readonly csrfSlot = `csrf-slot-${randomBytes(16).toString('hex')}`;

  constructor(
    private readonly max = KEPT_HTML_ENTRIES,
    private readonly maxAgeMs = KEPT_HTML_MAX_AGE_MS,
  ) {}

  get(key: string, stamp: string, csrf: string, now = Date.now()): BodyPiece[] | undefined {
    const e = this.entries.get(key);
    if (!e || e.stamp !== stamp || now - e.keptAt > this.maxAgeMs) return undefined;
    this.entries.delete(key);
    this.entries.set(key, e);
    return fill(e, csrf);
  }

  /** Keeps `html` (rendered with `csrfSlot` as the token) and returns it for this response. */
  set(key: string, stamp: string, html: string, csrf: string, now = Date.now()): BodyPiece[] {
    const parts: Entry['parts'] = [];
    for (const [i, text] of html.split(this.csrfSlot).entries()) {
      if (i > 0) parts.push(CSRF);
      if (text) parts.push(new EncodedPart(text));
    }
    const e = { stamp, keptAt: now, parts };
    this.entries.delete(key);
    this.entries.set(key, e);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
    return fill(e, csrf);
  }

  get size(): number {
    return this.entries.size;
  }
}

function fill(e: Entry, csrf: string): BodyPiece[] {
  return e.parts.map((p) => (p === CSRF ? csrf : p));
}

/** The text of kept pieces (tests; responses splice the bytes). */
export function textOf(pieces: readonly BodyPiece[]): string {
  return pieces.map((p) => (typeof p === 'string' ? p : p.bytes.toString('utf8'))).join('');
}

const kept = new WeakMap<object, KeptHtml>();

/** The process's kept parts (one set per `ChatsPorts`: each test app has its own). */
export function keptHtmlOf(deps: object): KeptHtml {
  let c = kept.get(deps);
  if (!c) kept.set(deps, (c = new KeptHtml()));
  return c;
}

export interface Viewer {
  locale: Locale;
  csrf: string;
  /** The response's kept parts, which its view splices in where their markers are. */
  parts: BodyPiece[][];
}

/** The request's language and CSRF token: what a kept part depends on per response. */
export function viewerOf(req: { locale: Locale; csrfToken: string; keptParts: BodyPiece[][] | null }): Viewer {
  return { locale: req.locale, csrf: req.csrfToken, parts: (req.keptParts ??= []) };
}

/** Stands for `pieces` in the response's template: `reply.view` splices the bytes in. */
function markerFor(viewer: Viewer, pieces: BodyPiece[]): string {
  return partMarkers.marker(viewer.parts.push(pieces) - 1);
}

function render(deps: Pick<ChatsPorts, 'eta'>, template: string, viewer: Viewer, data: Record<string, unknown>): string {
  return renderPartial(deps.eta, template, viewer.locale, { ...data, h: chatHelpers(translator(viewer.locale)), csrf: keptHtmlOf(deps).csrfSlot });
}

/**
 * The thread of `chat` (read for this employee, so access is already checked): its last
 * `limit` messages with day separators and the "load older" link (`chats/thread/_thread.eta`). Returns
 * a marker for the response's template to output raw; `reply.view` splices the part in.
 */
export async function threadHtml(deps: Pick<ChatsPorts, 'db' | 'eta'>, viewer: Viewer, chat: ChatView, limit: number): Promise<string> {
  const cache = keptHtmlOf(deps);
  const key = `thread|${chat.id}|${viewer.locale}|${limit}`;
  const hit = cache.get(key, `${chat.threadVersion}|${chat.readUpTo}`, viewer.csrf);
  if (hit !== undefined) return markerFor(viewer, hit);
  const thread = await loadThread(deps.db, chat.id, { limit });
  const html = render(deps, '/chats/thread/_thread', viewer, { chat, thread });
  // Kept under what the rows were read with, which may already be newer than `chat`'s.
  return markerFor(viewer, cache.set(key, `${thread.version}|${thread.readUpTo}`, html, viewer.csrf));
}

/**
 * The list column (`chats/inbox/_list.eta`: the Open/Archived switch, the search box, the first page
 * of chats) for the employee. Without a search it is kept under its digest; `digest` is the one
 * the caller already read (beside the open chat), otherwise it is read here. Like `threadHtml`,
 * a kept list comes back as a marker for `reply.view` (a searched one as its HTML).
 */
export async function listHtml(
  deps: Pick<ChatsPorts, 'db' | 'eta' | 'logger' | 'config'>,
  viewer: Viewer,
  auth: AuthContext,
  o: { status: 'open' | 'archived'; filter: inboxRepo.ListFilter; q?: string },
  digest?: string,
): Promise<string> {
  const q = o.q ?? '';
  const channels = await channelsOf(deps, auth);
  const me = auth.employeeId;
  const data = { status: o.status, filter: o.filter, meId: me };
  if (q.trim()) {
    const found = await searchChats(deps, channels, { status: o.status, filter: o.filter, me, q, limit: PAGE_SIZE + 1 });
    return render(deps, '/chats/inbox/_list', viewer, { ...data, list: listPage(found.rows.map(toChatListItem)), q: found.q, searchNotes: found.notes });
  }
  const cache = keptHtmlOf(deps);
  // *Mine* is the employee's own page; the others are shared by everyone with the same channels.
  const key = `list|${o.status}|${o.filter}${o.filter === 'mine' ? `:${me}` : ''}|${viewer.locale}|${channels.join(',')}`;
  const page = { status: o.status, filter: o.filter, me, limit: PAGE_SIZE + 1 };
  const hit = cache.get(key, digest ?? (await inboxRepo.listDigest(deps.db, channels, page)), viewer.csrf);
  if (hit !== undefined) return markerFor(viewer, hit);
  const r = await inboxRepo.listChatsWithDigest(deps.db, channels, page);
  const html = render(deps, '/chats/inbox/_list', viewer, { ...data, list: listPage(r.rows.map(toChatListItem)), q: '' });
  return markerFor(viewer, cache.set(key, r.digest, html, viewer.csrf));
}
