import { randomBytes } from 'node:crypto';
import type { Deps } from '../deps.ts';
import type { Locale } from '../platform/i18n/index.ts';
import { renderPartial } from '../platform/views.ts';
import { chatHelpers, type ChatView } from './chats.view.ts';
import { translator } from '../platform/i18n/index.ts';
import { loadThread } from './thread.ts';

/** How many rendered threads a web process keeps (about 20–60 KB each). */
export const THREAD_HTML_ENTRIES = 500;

interface Entry {
  version: number;
  readUpTo: number | null;
  html: string;
  /** The HTML holds `csrfSlot` (a failed message's Retry form). */
  hasCsrf: boolean;
}

/**
 * The rendered thread of a chat (its latest messages, what `/chats/:id` shows) per language,
 * reused while the chat's thread version and the team's read mark are those it was rendered
 * under. The version changes with anything the thread shows (migrations/0005 keeps it by
 * triggers) and the chat row read for the page brings it: a page with a kept thread reads no
 * message and renders none. Dates are formatted in the process's time zone, the same for
 * every employee, so they need no key.
 *
 * The CSRF token differs per session: a kept thread holds a slot in its place, filled per
 * response. Least recently used entries go first.
 */
export class ThreadHtmlCache {
  private readonly entries = new Map<string, Entry>();
  /** Stands for the CSRF token in a kept thread: random, so no message text can forge it. */
  readonly csrfSlot = `csrf-slot-${randomBytes(16).toString('hex')}`;

  constructor(private readonly max = THREAD_HTML_ENTRIES) {}

  get(chatId: number, locale: string, limit: number, version: number, readUpTo: number | null, csrf: string): string | undefined {
    const key = `${chatId}|${locale}|${limit}`;
    const e = this.entries.get(key);
    if (!e || e.version !== version || e.readUpTo !== readUpTo) return undefined;
    this.entries.delete(key);
    this.entries.set(key, e);
    return this.fill(e, csrf);
  }

  /** Keeps `html` (rendered with `csrfSlot` as the token) and returns it for this response. */
  set(chatId: number, locale: string, limit: number, version: number, readUpTo: number | null, html: string, csrf: string): string {
    const key = `${chatId}|${locale}|${limit}`;
    const e = { version, readUpTo, html, hasCsrf: html.includes(this.csrfSlot) };
    this.entries.delete(key);
    this.entries.set(key, e);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
    return this.fill(e, csrf);
  }

  get size(): number {
    return this.entries.size;
  }

  private fill(e: Entry, csrf: string): string {
    return e.hasCsrf ? e.html.replaceAll(this.csrfSlot, csrf) : e.html;
  }
}

const caches = new WeakMap<Deps, ThreadHtmlCache>();

/** The process's kept threads (one per `Deps`: each test app has its own). */
export function threadCacheOf(deps: Deps): ThreadHtmlCache {
  let c = caches.get(deps);
  if (!c) caches.set(deps, (c = new ThreadHtmlCache()));
  return c;
}

/**
 * The thread of `chat` (read for this employee, so access is already checked) as HTML: its
 * last `limit` messages with day separators and the "load older" link (`chats/_thread.eta`),
 * kept or rendered now.
 */
export async function threadHtml(deps: Deps, viewer: { locale: Locale; csrf: string }, chat: ChatView, limit: number): Promise<string> {
  const cache = threadCacheOf(deps);
  const kept = cache.get(chat.id, viewer.locale, limit, chat.threadVersion, chat.readUpTo, viewer.csrf);
  if (kept !== undefined) return kept;
  const thread = await loadThread(deps.db, chat.id, { limit });
  const html = renderPartial(deps.eta, '/chats/_thread', viewer.locale, {
    chat,
    thread,
    h: chatHelpers(translator(viewer.locale)),
    csrf: cache.csrfSlot,
  });
  // Kept under what the rows were read with, which may already be newer than `chat`'s.
  return cache.set(chat.id, viewer.locale, limit, thread.version, thread.readUpTo, html, viewer.csrf);
}
