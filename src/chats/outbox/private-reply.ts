/**
 * F2's private reply, one rule for the composer (why the choice is off) and the send (refused
 * with the same key): to an inbound comment only, once per comment, within 7 days of it.
 */

/** F2: a private reply is possible this long after the comment (§2.8, §3.3). */
export const PRIVATE_REPLY_MS = 7 * 24 * 3600_000;

export interface PrivateReplyTarget {
  kind: string;
  direction: string;
  sort_at: Date;
  meta: unknown;
}

/** Why a private reply to this message cannot be sent (a message key), or null when it can. */
export function privateReplyProblem(m: PrivateReplyTarget, now = Date.now()): string | null {
  if (m.kind !== 'comment' || m.direction !== 'in') return 'chats.comment.private_own';
  if ((m.meta as { privateReplyMessageId?: number } | null)?.privateReplyMessageId) return 'chats.error.private_reply_used';
  if (now - m.sort_at.getTime() > PRIVATE_REPLY_MS) return 'chats.comment.private_too_late';
  return null;
}
