import type { ChatsPorts, ChangePorts } from '../ports.ts';
import type { AuthContext } from '../../auth/permissions.ts';
import { inTransaction } from '../../platform/tx.ts';
import type { PrefetchAsk } from '../../auth/prefetch.ts';
import { parseId } from '../../platform/http-params.ts';
import * as repo from '../chats.repository.ts';
import { channelsOf, cursorOf, getChatFor, parseCursor, PAGE_SIZE } from '../chats.service.ts';
import { publishChatChange } from '../live/chats.live.ts';
import { toChatListItem, toChatView, type ChatListItem, type ChatView } from '../chats.view.ts';
import * as inboxRepo from './inbox.repository.ts';
import { markSeenRef } from '../thread/thread.refs.ts';

/** The list filter a URL asks for (`?filter=mine|unassigned`; anything else: all chats). */
export function listFilterOf(raw: unknown): inboxRepo.ListFilter {
  return raw === 'mine' || raw === 'unassigned' ? raw : 'all';
}

export async function listChatsFor(
  deps: Pick<ChatsPorts, 'db' | 'logger' | 'config'>,
  auth: AuthContext,
  o: { status: 'open' | 'archived'; filter: inboxRepo.ListFilter; q?: string; after?: string },
) {
  const channels = await channelsOf(deps, auth);
  const after = parseCursor(o.after);
  const options = { status: o.status, filter: o.filter, me: auth.employeeId, ...(after ? { after } : {}), limit: PAGE_SIZE + 1 };
  if (o.q?.trim()) {
    const found = await searchChats(deps, channels, { ...options, q: o.q });
    return { ...listPage(found.rows.map(toChatListItem)), q: found.q, searchNotes: found.notes };
  }
  return { ...listPage((await inboxRepo.listChats(deps.db, channels, options)).map(toChatListItem)), q: '', searchNotes: [] };
}

/** The search box takes this many characters (`maxlength`); a longer term is cut, visibly. */
export const MAX_SEARCH = 100;

/** What the list says under the search box: keys of chats.i18n.ts, each with `{ n }`. */
export type SearchNote = { key: 'chats.search_long' | 'chats.search_short' | 'chats.search_timeout' | 'chats.search_busy'; n: number };

/** Searches one employee may have running at once in a process; more wait for none, they are refused. */
export const SEARCHES_PER_EMPLOYEE = 2;

const runningSearches = new WeakMap<object, Map<number, number>>();

/** PostgreSQL's "canceling statement due to statement timeout". */
const QUERY_CANCELED = '57014';

/**
 * A search of the list (#21, finding 8): the term cut at MAX_SEARCH characters, message text
 * searched only from MIN_TEXT_SEARCH letters or digits (repository), and the statements given
 * SEARCH_TIMEOUT_MS by PostgreSQL (`SET LOCAL` in the search's own transaction, so no other
 * statement and no other request is limited); a search cancelled there finds nothing and says
 * "refine it". PGlite (embedded) has no statement timeout: there the term rules are the bound.
 */
export async function searchChats(deps: Pick<ChatsPorts, 'db' | 'logger' | 'config'>, channels: readonly number[], o: inboxRepo.ListChatsOptions & { q: string }) {
  let q = o.q.trim();
  const notes: SearchNote[] = [];
  if (q.length > MAX_SEARCH) {
    q = q
      .slice(0, MAX_SEARCH)
      .replace(/[\uD800-\uDBFF]$/, '')
      .trim();
    notes.push({ key: 'chats.search_long', n: MAX_SEARCH });
  }
  if (inboxRepo.realCharacters(q) < repo.MIN_TEXT_SEARCH) notes.push({ key: 'chats.search_short', n: repo.MIN_TEXT_SEARCH });
  // One employee's burst of searches (a held key, a script) cannot take every connection.
  let running = runningSearches.get(deps);
  if (!running) runningSearches.set(deps, (running = new Map()));
  const me = o.me ?? 0;
  const mine = running.get(me) ?? 0;
  if (mine >= SEARCHES_PER_EMPLOYEE) return { rows: [], q, notes: [...notes, { key: 'chats.search_busy' as const, n: SEARCHES_PER_EMPLOYEE }] };
  running.set(me, mine + 1);
  try {
    const rows = await inTransaction(deps.db, deps.logger, async (tx) => {
      await inboxRepo.limitStatementTime(tx.db, deps.config.searchTimeoutMs);
      return inboxRepo.listChats(tx.db, channels, { ...o, q });
    });
    return { rows, q, notes };
  } catch (err) {
    if ((err as { code?: unknown }).code !== QUERY_CANCELED) throw err;
    deps.logger.info({ ms: deps.config.searchTimeoutMs }, 'chat search cancelled by its statement timeout');
    return { rows: [], q, notes: [...notes, { key: 'chats.search_timeout' as const, n: MAX_SEARCH }] };
  } finally {
    const left = (running.get(me) ?? 1) - 1;
    if (left > 0) running.set(me, left);
    else running.delete(me);
  }
}

/** A page of the list from up to PAGE_SIZE + 1 items (one more means there is a next page). */
export function listPage(items: ChatListItem[]) {
  const chats = items.slice(0, PAGE_SIZE);
  const last = chats[chats.length - 1];
  return { chats, next: items.length > PAGE_SIZE && last ? cursorOf(last.lastMessageAt, last.id) : null };
}

/**
 * The Chats page's prefetch (auth/prefetch.ts): the digest of the list's first page (unless a
 * search or a later page is asked for) and, on a deep link, the chat.
 */
export function chatsPagePrefetch(req: { params: unknown; query: unknown }): PrefetchAsk | null {
  const query = req.query as { status?: string; q?: string; after?: string; filter?: string };
  // As the handler reads it (`idParam`): anything else is its 404, not a statement error.
  const chatId = parseId((req.params as { id?: string }).id);
  const withChat = chatId !== null;
  const withList = !query.q?.trim() && !query.after;
  if (!withChat && !withList) return null;
  const status = query.status === 'archived' ? 'archived' : 'open';
  const filter = listFilterOf(query.filter);
  return {
    key: `chats:${withChat ? 'chat' : ''}:${withList ? `${status}:${filter}` : ''}`,
    values: withChat ? { chatId } : {},
    columns: (p, who, db) => {
      const chatIdSlot = p.chatId as number; // the slot standing for values.chatId
      return {
        ...(withList ? { list_digest: inboxRepo.pagePrefetchColumns.listDigest(db, { status, filter, limit: PAGE_SIZE + 1 }, who) } : {}),
        ...(withChat ? { chat: inboxRepo.pagePrefetchColumns.chat(db, chatIdSlot, who.channels), mentioned: inboxRepo.pagePrefetchColumns.mentioned(db, chatIdSlot, who.employee) } : {}),
      };
    },
  };
}

/** What the prefetch brought: the chat (undefined: not asked; null: not visible) and the digest. */
export function prefetchedPage(prefetched: Record<string, unknown> | null): { chat?: ChatView | null; listDigest?: string; mentioned?: boolean } {
  if (!prefetched) return {};
  const json = prefetched.chat as Parameters<typeof inboxRepo.chatRowFromJson>[0] | null | undefined;
  return {
    ...(typeof prefetched.mentioned === 'boolean' ? { mentioned: prefetched.mentioned } : {}),
    ...(json !== undefined ? { chat: json === null ? null : toChatView(inboxRepo.chatRowFromJson(json)) } : {}),
    ...(typeof prefetched.list_digest === 'string' ? { listDigest: prefetched.list_digest } : {}),
  };
}

/**
 * Opening a chat marks it read for the whole team (C3) and, where the platform supports it,
 * asks the channel to show the lead their messages as seen (E4), once per batch read.
 */
export async function markRead(deps: ChangePorts & Pick<ChatsPorts, 'adapters' | 'queue'>, auth: AuthContext, chatId: number): Promise<boolean> {
  const chat = await getChatFor(deps, auth, chatId);
  return inTransaction(deps.db, deps.logger, async (tx) => {
    const before = await repo.findChatLastMessageId(tx.db, chatId);
    const changed = await repo.markChatRead(tx.db, chatId);
    if (!changed) return false;
    const unreadIds = await repo.latestInboundMessageIds(tx.db, chatId, 50);
    await publishChatChange(deps, tx, chatId, { item: true, changedMessageIds: unreadIds.map((r) => r.id) });
    const upTo = before?.last_message_id;
    const adapter = deps.adapters.get(chat.channelKind);
    if (upTo && adapter?.capabilities.markSeen) {
      tx.afterCommit(() => deps.queue.enqueue(markSeenRef, { chatId, upToMessageId: upTo }));
    }
    return true;
  });
}

export async function setArchived(deps: ChangePorts, auth: AuthContext, chatId: number, archived: boolean): Promise<void> {
  await getChatFor(deps, auth, chatId);
  await inTransaction(deps.db, deps.logger, async (tx) => {
    const changed = await repo.setChatArchived(tx.db, chatId, auth.employeeId, archived);
    if (!changed) return;
    await publishChatChange(deps, tx, chatId, { moved: true, header: true });
  });
}
