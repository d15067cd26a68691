import type { Deps } from '../deps.ts';
import type { Tx } from '../platform/tx.ts';
import { LOCALES } from '../platform/i18n/index.ts';
import { renderPartial } from '../platform/views.ts';
import { employeesSeeingChannel, refreshRedDots } from './access.repository.ts';
import * as repo from './chats.repository.ts';
import { loadMessageViews } from './thread.ts';
import { chatHelpers, toChatView } from './chats.view.ts';
import { translator } from '../platform/i18n/index.ts';

export interface ChatChange {
  /** Move the list item to the top (new activity) instead of replacing it in place. */
  moved?: boolean;
  /** Messages to append to open threads. */
  newMessageIds?: number[];
  /** Messages to re-render in place (status, reactions, deletion). */
  changedMessageIds?: number[];
  /** Re-render the header (archive state). */
  header?: boolean;
  /** The chat itself changed (indicator, preview) though it did not move. */
  item?: boolean;
}

/**
 * Records the live events for a chat change inside the write transaction: one `ui` event per
 * language with out-of-band swaps (list item, messages, header), visible to the channel's
 * audience only, and a `red-dot` event for each employee whose dot flipped.
 */
export async function publishChatChange(deps: Deps, tx: Tx, chatId: number, change: ChatChange): Promise<void> {
  const row = await repo.findChatAny(tx.db, chatId);
  if (!row) return;
  const chat = toChatView(row);
  const msgIds = [...(change.newMessageIds ?? []), ...(change.changedMessageIds ?? [])];
  const messages = msgIds.length ? await loadMessageViews(tx.db, chatId, msgIds) : [];
  // Message-only changes (a status, a reaction, a downloaded file) leave the list item, the
  // indicator and everyone's red dot as they were: skip rendering and recomputing those.
  const chatLevel = Boolean(change.moved || change.header || change.item);
  for (const locale of LOCALES) {
    const h = chatHelpers(translator(locale));
    const parts: string[] = [];
    const target = chat.status === 'open' ? '#chat-list-open' : '#chat-list-archived';
    if (change.moved) parts.push(`<div hx-swap-oob="afterbegin:${target}">${renderPartial(deps.eta, '/chats/_chat_item', locale, { chat, h })}</div>`);
    else if (chatLevel) parts.push(renderPartial(deps.eta, '/chats/_chat_item', locale, { chat, h, oob: true }));
    const fresh = new Set(change.newMessageIds ?? []);
    const appended = messages.filter((m) => fresh.has(m.id));
    if (appended.length) {
      parts.push(
        `<div hx-swap-oob="beforeend:#thread-messages-${chatId}">${appended
          .map((message) => renderPartial(deps.eta, '/chats/_message', locale, { message, chatId, h, live: true }))
          .join('')}</div>`,
      );
    }
    for (const message of messages.filter((m) => !fresh.has(m.id))) {
      parts.push(renderPartial(deps.eta, '/chats/_message', locale, { message, chatId, h, oob: true }));
    }
    if (change.header) parts.push(renderPartial(deps.eta, '/chats/_header', locale, { chat, h, oob: true }));
    if (parts.length) await deps.live.record(tx, { audience: 'channel', channelId: chat.channelId, name: 'ui', html: parts.join('\n'), locale });
  }
  if (chatLevel) await publishRedDots(deps, tx, chat.channelId);
}

export async function publishRedDots(deps: Deps, tx: Tx, channelId: number): Promise<void> {
  const changed = await refreshRedDots(tx.db, await employeesSeeingChannel(tx.db, channelId));
  for (const e of changed) {
    await deps.live.record(tx, { audience: 'employee', employeeId: e.id, name: 'red-dot', data: { on: e.red_dot } });
  }
}
