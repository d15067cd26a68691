import type { ChatsPorts } from './ports.ts';
import type { AuthContext } from '../auth/permissions.ts';
import { NotFoundError } from '../platform/errors.ts';
import { visibleChannelIds } from './access.repository.ts';
import * as repo from './chats.repository.ts';
import { toChatView, type ChatView } from './chats.view.ts';
import type { SendPolicy } from '../channels/adapter.ts';
import { policyOf } from '../channels/runtimes.ts';

/**
 * The channels this request's employee may see, looked up once per request (the AuthContext
 * is built per request): a page that lists chats and opens one asks once, not twice.
 */
const visibleForRequest = new WeakMap<AuthContext, Promise<readonly number[]>>();
export function channelsOf(deps: Pick<ChatsPorts, 'db'>, auth: AuthContext): Promise<readonly number[]> {
  // Requests get the list with their session (one round trip); others look it up once.
  if (auth.channelIds) return Promise.resolve(auth.channelIds);
  let p = visibleForRequest.get(auth);
  if (!p) {
    p = visibleChannelIds(deps.db, auth.employeeId);
    visibleForRequest.set(auth, p);
  }
  return p;
}

/** The composer's send policy (H1–H4), decided from the chat as read for the page. */
export function policyOfChat(deps: Pick<ChatsPorts, 'adapters'>, chat: ChatView, now = new Date()): SendPolicy {
  return policyOf(deps, { id: chat.channelId, kind: chat.channelKind, settings: chat.channelSettings }, chat.lastInboundAt, now);
}

export const PAGE_SIZE = 30;
export const THREAD_PAGE = 50;

/** The largest chat id (`integer`); message ids are `bigint`, bounded by what a JS number holds. */
const INT4_MAX = 2_147_483_647;

/**
 * Keyset cursor: `<epoch ms>_<id>` of the last item shown (a chat of the list, or a message of
 * the thread with `maxId: Number.MAX_SAFE_INTEGER`). Anything out of range is no cursor: a
 * hand-made id beyond the column's type or a date JavaScript cannot hold must not reach a query.
 */
export function parseCursor(raw: unknown, maxId = INT4_MAX): { at: Date; id: number } | undefined {
  if (typeof raw !== 'string') return undefined;
  const m = /^(\d{1,15})_(\d{1,16})$/.exec(raw);
  if (!m) return undefined;
  const at = new Date(Number(m[1]));
  const id = Number(m[2]);
  return Number.isFinite(at.getTime()) && id <= maxId ? { at, id } : undefined;
}

export function cursorOf(at: Date, id: number): string {
  return `${at.getTime()}_${id}`;
}

/** The chat if the employee may see it; otherwise a 404 (never a hint that it exists). */
export async function getChatFor(deps: Pick<ChatsPorts, 'db'>, auth: AuthContext, chatId: number): Promise<ChatView> {
  const channels = await channelsOf(deps, auth);
  const row = await repo.findChatIn(deps.db, chatId, channels);
  if (!row) throw new NotFoundError();
  return toChatView(row);
}
