/**
 * F2 moderation: hide or show a comment on the platform from the thread (admins and employees
 * with the channel). The platform is asked first; Parley records what it said and shows the
 * change live to everyone who sees the chat.
 */
import type { ChangePorts, RuntimePorts } from '../ports.ts';
import type { AuthContext } from '../../auth/permissions.ts';
import { NotFoundError, ValidationError } from '../../platform/errors.ts';
import { inTransaction } from '../../platform/tx.ts';
import { PlatformError } from '../../channels/adapter.ts';
import { loadRuntime } from '../../channels/runtimes.ts';
import { channelsOf } from '../chats.service.ts';
import * as repo from '../chats.repository.ts';
import { publishChatChange } from '../live/chats.live.ts';

export class ModerationError extends ValidationError {
  constructor(readonly reason: string) {
    super({ moderate: 'chats.comment.moderate_failed' }, reason);
  }
}

export async function moderateComment(deps: ChangePorts & RuntimePorts, auth: AuthContext, chatId: number, messageId: number, hidden: boolean): Promise<void> {
  const chat = await repo.findChatIn(deps.db, chatId, await channelsOf(deps, auth));
  if (!chat) throw new NotFoundError();
  const m = await repo.findMessage(deps.db, messageId);
  if (!m || m.chat_id !== chatId || m.kind !== 'comment' || m.direction !== 'in' || !m.external_id || m.deleted_at) throw new NotFoundError();
  if (Boolean(m.meta?.hidden) === hidden) return;
  const channel = await loadRuntime(deps, m.channel_id);
  const adapter = channel ? deps.adapters.get(channel.kind) : undefined;
  if (!channel || !adapter?.moderateComment) throw new ModerationError('i18n:chats.comment.cannot_moderate');
  try {
    await adapter.moderateComment(channel, m.external_id, hidden);
  } catch (err) {
    if (err instanceof PlatformError) throw new ModerationError(err.reason);
    throw err;
  }
  await inTransaction(deps.db, deps.logger, async (tx) => {
    await repo.mergeMessageMeta(tx.db, messageId, { hidden });
    await publishChatChange(deps, tx, chatId, { changedMessageIds: [messageId] });
  });
}
