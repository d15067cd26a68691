import { sql } from 'kysely';
import type { Conn } from '../../db/database.ts';

/** What a comment shows of its post: the first words and the link. */
export interface PostView {
  text: string | null;
  url: string | null;
}

export async function findPost(db: Conn, channelId: number, externalId: string): Promise<PostView | null> {
  const r = await db.selectFrom('posts').select(['text', 'permalink']).where('channel_id', '=', channelId).where('external_id', '=', externalId).executeTakeFirst();
  return r ? { text: r.text, url: r.permalink } : null;
}

export async function savePost(db: Conn, channelId: number, externalId: string, p: PostView): Promise<void> {
  await db
    .insertInto('posts')
    .values({ channel_id: channelId, external_id: externalId, text: p.text, permalink: p.url, fetched_at: new Date() })
    .onConflict((oc) => oc.columns(['channel_id', 'external_id']).doUpdateSet({ text: p.text, permalink: p.url, fetched_at: new Date() }))
    .execute();
}

/** Gives every comment of the post that does not show it yet its post; returns the messages changed. */
export async function attachPostToComments(db: Conn, channelId: number, externalId: string, p: PostView) {
  return db
    .updateTable('messages')
    .set({ meta: sql`meta || jsonb_build_object('post', ${JSON.stringify(p)}::jsonb)` })
    .where('channel_id', '=', channelId)
    .where('kind', '=', 'comment')
    .where(sql<boolean>`meta->>'postId' = ${externalId} and not (meta ? 'post')`)
    .returning(['id', 'chat_id'])
    .execute();
}
