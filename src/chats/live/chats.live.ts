import type { ChatsPorts, LivePorts } from '../ports.ts';
import type { Tx } from '../../platform/tx.ts';
import { LOCALES } from '../../platform/i18n/index.ts';
import { renderPartial } from '../../platform/views.ts';
import { employeesSeeingChannel, refreshRedDots } from '../access.repository.ts';
import * as repo from '../chats.repository.ts';
import { listMessagesForLive, type LiveMessageRow } from './live.repository.ts';
import { LIVE_CHANGE, runLiveChange, type LiveChange } from '../../platform/live/live.repository.ts';
import { chatHelpers, toChatView, toMessageView, type MessageView } from '../chats.view.ts';
import { translator } from '../../platform/i18n/index.ts';

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
 * What the caller already holds after its write, so that publishing does not read it again.
 * Everything is optional: what is missing is read in the transaction.
 */
export interface Known {
  /** The chat as `findChatAny` returns it, after the change. */
  chat?: repo.ChatRow;
  /** The views of every message the change names (new and changed), after the change. */
  messages?: MessageView[];
  /** The chat's channel (the events' audience), when `chat` is not given. */
  channelId?: number;
  /**
   * Whether anyone's red dot may have flipped. A caller that knows the chat's "needs attention"
   * state (open and not `none`) before and after the change passes `false` when it did not
   * change: each employee's dot is maintained, so it cannot have flipped.
   */
  redDots?: boolean;
}

/** The view of one message, as the thread renders it (thread.ts `toViews`, from a live row). */
export function toLiveMessageView(r: LiveMessageRow): MessageView {
  return toMessageView(r, r.read_up_to_message_id ?? null, r.last_read_id);
}

/**
 * Records the live events for a chat change inside the write transaction: one `ui` event per
 * language with out-of-band swaps (list item, messages, header), visible to the channel's
 * audience only, and a `red-dot` event for each employee whose dot flipped.
 */
export async function publishChatChange(deps: LivePorts, tx: Tx, chatId: number, change: ChatChange, known: Known = {}): Promise<void> {
  // Message-only changes (a status, a reaction, a downloaded file) leave the list item, the
  // indicator and everyone's red dot as they were: skip reading, rendering and recomputing those.
  const chatLevel = Boolean(change.moved || change.header || change.item);
  const msgIds = [...(change.newMessageIds ?? []), ...(change.changedMessageIds ?? [])];
  let channelId = known.channelId;
  let messages: MessageView[] = [];
  if (known.messages) messages = known.messages;
  else if (msgIds.length) {
    const rows = await listMessagesForLive(tx.db, chatId, msgIds);
    messages = rows.map(toLiveMessageView);
    channelId = rows[0]?.channel_id;
  }
  const row = chatLevel ? (known.chat ?? (await repo.findChatAny(tx.db, chatId))) : known.chat;
  if (row) channelId = row.channel_id;
  if (channelId === undefined) {
    if (!messages.length) return;
    // Known message views without the chat: the audience is the chat's channel.
    channelId = (await repo.findChatAny(tx.db, chatId))?.channel_id;
    if (channelId === undefined) return;
  }
  const chat = row ? toChatView(row) : undefined;
  const fresh = new Set(change.newMessageIds ?? []);
  const appended = messages.filter((m) => fresh.has(m.id));
  const changed = messages.filter((m) => !fresh.has(m.id));
  for (const locale of LOCALES) {
    const h = chatHelpers(translator(locale));
    const parts: string[] = [];
    if (chat && change.moved) {
      const target = chat.status === 'open' ? '#chat-list-open' : '#chat-list-archived';
      parts.push(`<div hx-swap-oob="afterbegin:${target}">${renderPartial(deps.eta, '/chats/inbox/_chat_item', locale, { chat, h })}</div>`);
    } else if (chat && chatLevel) parts.push(renderPartial(deps.eta, '/chats/inbox/_chat_item', locale, { chat, h, oob: true }));
    if (appended.length) {
      parts.push(
        `<div hx-swap-oob="beforeend:#thread-messages-${chatId}">${appended
          .map((message) => renderPartial(deps.eta, '/chats/thread/_message', locale, { message, chatId, h, live: true }))
          .join('')}</div>`,
      );
    }
    for (const message of changed) {
      parts.push(renderPartial(deps.eta, '/chats/thread/_message', locale, { message, chatId, h, oob: true }));
    }
    if (chat && change.header) parts.push(renderPartial(deps.eta, '/chats/thread/_header', locale, { chat, h, oob: true }));
    if (parts.length) await deps.live.record(tx, { audience: 'channel', channelId, name: 'ui', html: parts.join('\n'), locale });
  }
  if (chatLevel && known.redDots !== false) await publishRedDots(deps, tx, channelId);
}

export async function publishRedDots(deps: Pick<ChatsPorts, 'live'>, tx: Tx, channelId: number): Promise<void> {
  await publishRedDotsOf(deps, tx, await employeesSeeingChannel(tx.db, channelId));
}

/**
 * A channel's audience changed (channels' hook, `ChannelHooks.audienceChanged`): red dots of
 * those who see it now, and of those who saw it before and no longer do.
 */
export async function channelAudienceChanged(deps: Pick<ChatsPorts, 'live'>, tx: Tx, channelId: number, seeingBefore: number[]): Promise<void> {
  await publishRedDots(deps, tx, channelId);
  const now = new Set(await employeesSeeingChannel(tx.db, channelId));
  await publishRedDotsOf(
    deps,
    tx,
    seeingBefore.filter((id) => !now.has(id)),
  );
}

/** Recomputes these employees' red dots; each one that flipped gets a `red-dot` event. Returns those. */
export async function publishRedDotsOf(deps: Pick<ChatsPorts, 'live'>, tx: Tx, employeeIds: number[]): Promise<Array<{ id: number; red_dot: boolean }>> {
  const changed = await refreshRedDots(tx.db, employeeIds);
  for (const e of changed) {
    await deps.live.record(tx, { audience: 'employee', employeeId: e.id, name: 'red-dot', data: { on: e.red_dot } });
  }
  return changed;
}

/**
 * A unit of work that is one autocommitted statement: `change` (live.repository.ts
 * `LiveChange`) and the live events `record` records for it are written together, so the live
 * events' lock is held only inside the server, never across a round trip to this process.
 * `record` only renders and records events (it must run no statement: its `tx.db` refuses);
 * they are written only if the change applies, and published once the statement returned.
 * Returns the change's rows (empty: it did not apply, and nothing was recorded).
 */
export async function inOneStatement<R>(deps: Pick<ChatsPorts, 'logger'>, change: LiveChange<R>, record: (tx: Tx) => Promise<void>): Promise<R[]> {
  const finals: Array<() => Promise<void>> = [];
  const effects: Array<() => unknown> = [];
  const refuse = new Proxy({} as Tx['db'], {
    get() {
      throw new Error('inOneStatement: record() may not run statements of its own');
    },
  });
  const tx: Tx = {
    db: refuse,
    afterCommit: (e) => void effects.push(e),
    beforeCommit: (f) => void finals.push(f),
    scratch: new Map<string, unknown>([[LIVE_CHANGE, change]]),
  };
  await record(tx);
  if (finals.length === 0) await runLiveChange(change);
  for (const f of finals) await f();
  for (const effect of effects) {
    try {
      await effect();
    } catch (err) {
      // Committed: a web process that missed the notification reads the events from the log.
      deps.logger.warn({ err: (err as Error).message }, 'after-commit effect failed');
    }
  }
  return change.rows ?? [];
}
