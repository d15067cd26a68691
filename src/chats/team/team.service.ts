/**
 * The team side of a chat (#16): who it is assigned to, and the notes employees leave each other.
 * Both are written as internal messages of the thread (direction 'internal': never sent, never an
 * answer), so they are recorded with who and when, kept HTML and live updates follow as for any
 * message, and access is the chat's own.
 */
import type { ChatsPorts, ChangePorts } from '../ports.ts';
import type { AuthContext } from '../../auth/permissions.ts';
import { ValidationError } from '../../platform/errors.ts';
import { inTransaction, type Tx } from '../../platform/tx.ts';
import { colleaguesOnChannel } from '../access.repository.ts';
import * as repo from '../chats.repository.ts';
import * as team from './team.repository.ts';
import { publishChatChange, publishRedDotsOf } from '../live/chats.live.ts';
import { getChatFor } from '../chats.service.ts';
import { checkText } from '../message-text.ts';

/** What an assignment record carries (the thread renders it in the reader's language). */
export interface AssignmentMeta {
  to: { id: number; name: string } | null;
  from: { id: number; name: string } | null;
  /** Taken by answering first, not chosen. */
  auto?: boolean;
  /** The employee assigned it to themselves. */
  self?: boolean;
}

async function recordAssignment(tx: Tx, chat: { id: number; channel_id: number }, actorId: number, meta: AssignmentMeta, at: Date): Promise<number> {
  const inserted = await repo.insertMessage(tx.db, {
    chatId: chat.id,
    channelId: chat.channel_id,
    direction: 'internal',
    kind: 'assignment',
    text: null,
    externalId: null,
    senderEmployeeId: actorId,
    status: 'sent',
    sortAt: at,
    meta: meta as unknown as Record<string, unknown>,
  });
  return inserted!.id;
}

async function nameOf(deps: Pick<ChatsPorts, 'db'>, colleagues: Array<{ id: number; name: string }>, id: number | null) {
  if (id === null) return null;
  const known = colleagues.find((c) => c.id === id);
  if (known) return known;
  // Someone who no longer sees the channel (or is disabled) can still be the one it was taken from.
  return (await team.findEmployeeName(deps.db, id)) ?? null;
}

/**
 * Assigns the chat to `assigneeId` (null: to nobody), who must be able to use its channel. An
 * unchanged assignment records nothing; a change is recorded in the thread and goes live to
 * everyone who sees the chat (list item, header, thread).
 */
export async function assignChat(deps: ChangePorts, auth: AuthContext, chatId: number, assigneeId: number | null): Promise<void> {
  const chat = await getChatFor(deps, auth, chatId);
  const colleagues = await colleaguesOnChannel(deps.db, chat.channelId);
  const to = assigneeId === null ? null : colleagues.find((c) => c.id === assigneeId);
  if (to === undefined) throw new ValidationError({ assignee: 'chats.assign.not_allowed' });
  await inTransaction(deps.db, deps.logger, async (tx) => {
    const changed = await team.setAssignee(tx.db, chatId, assigneeId);
    if (!changed) return;
    const from = await nameOf(deps, colleagues, changed.before);
    const eventId = await recordAssignment(tx, { id: chatId, channel_id: chat.channelId }, auth.employeeId, { to, from, self: to?.id === auth.employeeId }, new Date());
    await publishChatChange(deps, tx, chatId, { item: true, header: true, newMessageIds: [eventId] }, { redDots: false });
  });
}

/**
 * By default the employee who first answers takes the chat (#16), inside the send's
 * transaction: returns the record's id when they took it (the caller publishes it with its
 * message), or null when the chat was already someone's.
 */
export async function takeOnFirstAnswer(tx: Tx, auth: AuthContext, chat: { id: number; channel_id: number }, answerAt: Date): Promise<number | null> {
  if (!(await team.claimIfUnassigned(tx.db, chat.id, auth.employeeId))) return null;
  const me = (await team.findEmployeeName(tx.db, auth.employeeId))!;
  // Just before the answer, so the thread reads "took this chat", then the answer.
  return recordAssignment(tx, chat, auth.employeeId, { to: me, from: null, auto: true }, new Date(answerAt.getTime() - 1));
}

/**
 * The colleagues a note mentions: `@` followed by a colleague's full name, or by their first
 * name when no other colleague on the channel shares it; whatever the case, and only as a
 * whole word. The longest names are matched first ("@Anna Marie" is not "@Anna").
 */
export function mentionsIn(text: string, colleagues: ReadonlyArray<{ id: number; name: string }>): Array<{ id: number; token: string }> {
  const lower = text.toLocaleLowerCase();
  const firstNames = new Map<string, number[]>();
  for (const c of colleagues) {
    const first = c.name.trim().split(/\s+/)[0]!.toLocaleLowerCase();
    firstNames.set(first, [...(firstNames.get(first) ?? []), c.id]);
  }
  const candidates: Array<{ id: number; token: string }> = [];
  for (const c of colleagues) candidates.push({ id: c.id, token: c.name.trim().toLocaleLowerCase() });
  for (const [first, ids] of firstNames) if (ids.length === 1) candidates.push({ id: ids[0]!, token: first });
  candidates.sort((a, b) => b.token.length - a.token.length);
  const found = new Map<number, Set<string>>();
  let rest = lower;
  for (const { id, token } of candidates) {
    if (!token) continue;
    let at = rest.indexOf('@' + token);
    while (at >= 0) {
      const after = rest.charAt(at + 1 + token.length);
      if (!after || !/[\p{L}\p{N}_]/u.test(after)) {
        found.set(id, (found.get(id) ?? new Set()).add(token));
        // Taken: a shorter token cannot match inside it again.
        rest = rest.slice(0, at) + ' '.repeat(token.length + 1) + rest.slice(at + 1 + token.length);
      }
      at = rest.indexOf('@' + token, at + 1);
    }
  }
  // One entry per colleague and way they were named (the thread marks exactly these).
  return [...found].flatMap(([id, tokens]) => [...tokens].map((token) => ({ id, token })));
}

/**
 * A note only employees see (#16): stored as an internal message (never sent to the platform,
 * never an answer for the indicator), once per submit (the composer's idempotency key). The
 * colleagues it mentions get the red dot until they open the chat.
 */
export async function addNote(deps: ChangePorts, auth: AuthContext, chatId: number, input: { text: string; idempotencyKey: string }): Promise<{ messageId: number; created: boolean }> {
  const problem = checkText(input.text);
  if (problem) throw new ValidationError({ text: problem.key });
  const key = input.idempotencyKey.trim();
  if (!/^[A-Za-z0-9_-]{8,64}$/.test(key)) throw new ValidationError({ text: 'validation.required' });
  const chat = await getChatFor(deps, auth, chatId);
  const existing = await repo.findMessageByIdempotencyKey(deps.db, chatId, key);
  if (existing) return { messageId: existing.id, created: false };
  const colleagues = await colleaguesOnChannel(deps.db, chat.channelId);
  const matches = mentionsIn(input.text, colleagues).filter((m) => m.id !== auth.employeeId);
  const mentioned = [...new Set(matches.map((m) => m.id))];
  return inTransaction(deps.db, deps.logger, async (tx) => {
    const inserted = await repo.insertMessage(tx.db, {
      chatId,
      channelId: chat.channelId,
      direction: 'internal',
      kind: 'note',
      text: input.text,
      externalId: null,
      senderEmployeeId: auth.employeeId,
      status: 'sent',
      idempotencyKey: key,
      sortAt: new Date(),
      // Who, and how the note named them (what the thread marks: chats.view.ts `noteParts`).
      meta: { mentions: colleagues.filter((c) => mentioned.includes(c.id)).map((c) => ({ ...c, tokens: matches.filter((m) => m.id === c.id).map((m) => m.token) })) },
    });
    if (!inserted) {
      const earlier = await repo.findMessageByIdempotencyKey(tx.db, chatId, key);
      return { messageId: earlier!.id, created: false };
    }
    await team.addMentions(tx.db, chatId, inserted.id, mentioned);
    // Only the thread changes for the team; the list item, the indicator and the team's red
    // dots stay as they were. The mentioned colleagues' own dots may light.
    await publishChatChange(deps, tx, chatId, { newMessageIds: [inserted.id] }, { channelId: chat.channelId });
    await publishRedDotsOf(deps, tx, mentioned);
    return { messageId: inserted.id, created: true };
  });
}

/**
 * Whether the employee is mentioned in the chat: the opened chat then posts
 * `/chats/:id/mentions/seen` (opening is a GET and changes nothing, S5). `known` is what the
 * page's prefetch already says (then no statement).
 */
export async function mentionedIn(deps: Pick<ChatsPorts, 'db'>, auth: AuthContext, chatId: number, known?: boolean): Promise<boolean> {
  return known ?? team.hasMention(deps.db, auth.employeeId, chatId);
}

/**
 * The employee saw the chat (its POST /chats/:id/mentions/seen): a mention of them there is seen. `known` is what the page's
 * prefetch already says (no statement when there is none). Returns the employee's red dot
 * when it changed, so the page being rendered shows it right.
 */
export async function openedChat(deps: Pick<ChatsPorts, 'db' | 'logger' | 'live'>, auth: AuthContext, chatId: number, known?: boolean): Promise<boolean | undefined> {
  if (known === false) return undefined;
  if (known === undefined && !(await team.hasMention(deps.db, auth.employeeId, chatId))) return undefined;
  return inTransaction(deps.db, deps.logger, async (tx) => {
    if (!(await team.clearMention(tx.db, auth.employeeId, chatId))) return undefined;
    return (await publishRedDotsOf(deps, tx, [auth.employeeId]))[0]?.red_dot;
  });
}

/** The chat's colleagues (the header's assign menu, the note composer's @ list). */
export async function colleaguesOf(deps: Pick<ChatsPorts, 'db'>, auth: AuthContext, chatId: number) {
  const chat = await getChatFor(deps, auth, chatId);
  return { chat, colleagues: await colleaguesOnChannel(deps.db, chat.channelId) };
}
