import type { ChangePorts, RuntimePorts } from '../ports.ts';
import { inTransaction } from '../../platform/tx.ts';
import { platformRefusal } from '../../channels/channels.service.ts';
import { loadRuntime } from '../../channels/runtimes.ts';
import { publishChatChange } from '../live/chats.live.ts';
import { attachPostToComments, findPost, savePost } from './posts.repository.ts';
import { fetchPostRef } from './ingest.refs.ts';
import { processorOf } from '../../platform/jobs/ref.ts';

/** First words of a post shown with its comments. */
const POST_TEXT = 140;

/**
 * F1: fetches a post once (its first words and permalink) and shows it with every comment
 * under it; comments that arrive later find it at ingest. Job id: channel and post.
 */
export function fetchPostJob(deps: ChangePorts & RuntimePorts) {
  return processorOf(fetchPostRef, async ({ channelId, postId }) => {
    let post = await findPost(deps.db, channelId, postId);
    if (!post) {
      const channel = await loadRuntime(deps, channelId);
      const adapter = channel ? deps.adapters.get(channel.kind) : undefined;
      if (!channel || !adapter?.fetchPost) return;
      const info = await adapter.fetchPost(channel, postId).catch((err: unknown) => platformRefusal(deps, channelId, err));
      // The link goes into an href: a platform's https address only.
      const url = info.permalink && /^https:\/\//i.test(info.permalink) ? info.permalink : null;
      post = { text: info.text ? [...info.text].slice(0, POST_TEXT).join('') : null, url };
      await savePost(deps.db, channelId, postId, post);
    }
    const found = post;
    await inTransaction(deps.db, deps.logger, async (tx) => {
      const changed = await attachPostToComments(tx.db, channelId, postId, found);
      const byChat = new Map<number, number[]>();
      for (const m of changed) byChat.set(m.chat_id, [...(byChat.get(m.chat_id) ?? []), m.id]);
      for (const [chatId, ids] of byChat) await publishChatChange(deps, tx, chatId, { changedMessageIds: ids });
    });
  });
}
