import type { ChatsPorts, ChangePorts, RuntimePorts } from '../ports.ts';
import { inTransaction } from '../../platform/tx.ts';
import { safeDownload } from '../../platform/safe-download.ts';
import { platformRefusal } from '../../channels/channels.service.ts';
import { loadRuntime } from '../../channels/runtimes.ts';
import { findChatIdOfContact, findContact, updateContactProfile } from './ingest.repository.ts';
import { publishChatChange } from '../live/chats.live.ts';
import { fetchProfileRef } from './ingest.refs.ts';
import { processorOf } from '../../platform/jobs/ref.ts';

/** Profiles are fetched once, then refreshed at most this often (no retry storm on privacy). */
export const PROFILE_REFRESH_MS = 7 * 24 * 3600_000;

export function fetchProfileJob(deps: ChangePorts & RuntimePorts & Pick<ChatsPorts, 'storage'>) {
  return processorOf(fetchProfileRef, async ({ contactId }) => {
    const contact = await findContact(deps.db, contactId);
    if (!contact) return;
    if (contact.profile_fetched_at && Date.now() - contact.profile_fetched_at.getTime() < PROFILE_REFRESH_MS) return;
    const channel = await loadRuntime(deps, contact.channel_id);
    const adapter = channel ? deps.adapters.get(channel.kind) : undefined;
    if (!channel || !adapter?.fetchProfile) return;
    // A refusal no retry can fix (revoked token 190, unknown user 100/33…) ends the job at once
    // instead of being retried with backoff; privacy answers never get here (they are `hidden`).
    const profile = await adapter.fetchProfile(channel, contact.external_id).catch((err: unknown) => platformRefusal(deps, channel.id, err));
    let avatarKey: string | null | undefined;
    if (profile.avatarUrl) {
      try {
        const file = await safeDownload(profile.avatarUrl, {
          allowedHosts: deps.config.media.allowedHosts,
          trustedPrivateHosts: deps.config.media.trustedPrivateHosts,
          maxBytes: 2 * 1024 * 1024,
          timeoutMs: 15_000,
        });
        if (file.contentType?.startsWith('image/')) {
          avatarKey = deps.storage.newKey('.jpg');
          await deps.storage.put(avatarKey, file.body);
        }
      } catch (err) {
        deps.logger.info({ contactId, reason: (err as Error).message }, 'avatar not downloaded');
      }
    }
    await inTransaction(deps.db, deps.logger, async (tx) => {
      await updateContactProfile(tx.db, contactId, {
        hidden: profile.hidden,
        ...(profile.name ? { name: profile.name } : {}),
        ...(profile.username ? { username: profile.username } : {}),
        ...(avatarKey ? { avatarKey } : {}),
      });
      const chat = await findChatIdOfContact(tx.db, contactId);
      if (chat) await publishChatChange(deps, tx, chat.id, { header: true });
    });
  });
}
