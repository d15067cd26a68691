// GET /{id} for the objects Parley reads: user profiles (PSID / IGSID, §2.9, §3.5), Pages,
// Instagram accounts, phone numbers, posts and comments (§2.8, §3.3), plus comment listing,
// hiding and deleting.
import { graphTime } from '../clock.ts';
import type { Ctx } from '../context.ts';
import type { Channel, Comment, Person, Post } from '../state.ts';
import { authenticate, pageTokenForUser, requireAccess } from './auth.ts';
import { errors } from './errors.ts';
import { field, parseFields, pick, type FieldSpec } from './fields.ts';
import { paginate } from './paging.ts';
import { stringParam, type GraphRequest, type GraphResponse } from './request.ts';
import { phoneNumberJson } from './whatsapp.ts';

function avatarUrl(ctx: Ctx): string {
  const now = ctx.clock.now();
  const item = ctx.media.avatar(now);
  // profile_pic URLs expire (§2.9, §3.5).
  return ctx.media.cdnUrl(ctx.mediaBaseUrl(), item, now + ctx.config.media.cdnTtlMs);
}

/**
 * Profile of a PSID / IGSID. Access comes with the person starting the conversation; people who
 * hide their profile answer Messenger 2018218 and Instagram 230 "User consent is required".
 */
export function profileObject(ctx: Ctx, req: GraphRequest, person: Person, channel: Channel): GraphResponse {
  const grant = authenticate(ctx, req.token, 'graph');
  requireAccess(grant, channel.id);
  const fault = ctx.guards.takeFault(req.method, req.path, channel.id);
  if (fault) throw fault;
  const thread = ctx.store.findThread(channel.id, person.id);
  const consented = thread?.lastInboundAt !== undefined;
  const fields = parseFields(req.query.fields);
  const scopedId = person.scopedIds[channel.id];
  if (channel.platform === 'instagram') {
    // Only after the person messaged the business; a commenter alone gets 230 (§3.5).
    if (person.hiddenProfile || !consented) throw errors.igConsent();
    const full: Record<string, unknown> = {
      name: person.name,
      username: person.username,
      profile_pic: avatarUrl(ctx),
      follower_count: 42,
      is_user_follow_business: true,
      is_business_follow_user: false,
      is_verified_user: false,
      id: scopedId,
    };
    return { json: pick(full, fields, ['name', 'username', 'profile_pic']), channelId: channel.id };
  }
  if (person.hiddenProfile || !consented) throw errors.noProfile();
  const full: Record<string, unknown> = {
    first_name: person.firstName,
    last_name: person.lastName,
    name: person.name,
    profile_pic: avatarUrl(ctx),
    locale: person.locale,
    timezone: 0,
    gender: undefined,
    id: scopedId,
  };
  return { json: pick(full, fields, ['first_name', 'last_name', 'profile_pic']), channelId: channel.id };
}

function instagramAccountJson(ctx: Ctx, ig: Channel, fields: FieldSpec[] | undefined): Record<string, unknown> {
  return pick(
    {
      id: ig.id,
      username: ig.username,
      name: ig.name,
      profile_picture_url: avatarUrl(ctx),
      followers_count: 1234,
      media_count: [...ctx.store.posts.values()].filter((p) => p.channelId === ig.id).length,
    },
    fields,
    ['id'],
  );
}

export function pageJson(ctx: Ctx, page: Channel, fields: FieldSpec[] | undefined, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const igSpec = field(fields, 'instagram_business_account') ?? field(fields, 'connected_instagram_account');
  const ig = page.instagramId ? ctx.store.channels.get(page.instagramId) : undefined;
  const full: Record<string, unknown> = {
    name: page.name,
    category: page.category,
    category_list: [{ id: '2500', name: page.category }],
    tasks: page.tasks,
    link: `https://www.facebook.com/${page.id}`,
    ...extra,
    id: page.id,
  };
  if (igSpec && ig) {
    const igJson = instagramAccountJson(ctx, ig, igSpec.sub);
    full.instagram_business_account = igJson;
    full.connected_instagram_account = igJson;
  }
  return pick(full, fields, ['name']);
}

export function channelObject(ctx: Ctx, req: GraphRequest, channel: Channel): GraphResponse {
  const grant = authenticate(ctx, req.token, channel.platform === 'whatsapp' ? 'whatsapp' : 'graph');
  const fields = parseFields(req.query.fields);
  if (channel.platform === 'messenger') {
    // A user token that manages the Page may read it too (Facebook Login flow).
    if (grant.kind === 'user' && grant.channelIds.includes(channel.id)) {
      // GET /{page-id}?fields=access_token with a user token hands out the Page token.
      const extra = fields?.some((f) => f.name === 'access_token') ? { access_token: pageTokenForUser(ctx, grant, channel) } : {};
      return { json: pageJson(ctx, channel, fields, extra), channelId: channel.id };
    }
    requireAccess(grant, channel.id);
    return { json: pageJson(ctx, channel, fields), channelId: channel.id };
  }
  requireAccess(grant, channel.id);
  if (channel.platform === 'instagram') return { json: instagramAccountJson(ctx, channel, fields ?? [{ name: 'id' }, { name: 'username' }]), channelId: channel.id };
  const json = phoneNumberJson(channel);
  return { json: fields ? pick(json, fields, []) : json, channelId: channel.id };
}

export function postJson(ctx: Ctx, post: Post, fields: FieldSpec[] | undefined): Record<string, unknown> {
  if (post.platform === 'instagram') {
    const channel = ctx.store.channels.get(post.channelId);
    return pick(
      {
        id: post.id,
        caption: post.text,
        media_product_type: post.mediaProductType,
        media_type: post.mediaProductType === 'REELS' ? 'VIDEO' : 'IMAGE',
        timestamp: graphTime(post.createdAt),
        permalink: `https://www.instagram.com/p/${post.id}/`,
        username: channel?.username,
        comments_count: [...ctx.store.comments.values()].filter((c) => c.postId === post.id && !c.deleted).length,
      },
      fields,
      ['id'],
    );
  }
  return pick({ id: post.id, message: post.text, created_time: graphTime(post.createdAt), permalink_url: `https://www.facebook.com/${post.id}`, status_type: 'added_photos' }, fields, [
    'created_time',
    'message',
  ]);
}

export function commentJson(ctx: Ctx, comment: Comment, fields: FieldSpec[] | undefined): Record<string, unknown> {
  const channel = ctx.store.requireChannel(comment.channelId);
  const person = comment.from.kind === 'person' ? ctx.store.people.get(comment.from.personId) : undefined;
  if (comment.platform === 'instagram') {
    const from = comment.from.kind === 'business' ? { id: channel.id, username: channel.username } : { id: person?.scopedIds[channel.id], username: person?.username };
    return pick(
      {
        id: comment.id,
        text: comment.text,
        timestamp: graphTime(comment.createdAt),
        username: from.username,
        from,
        media: { id: comment.postId },
        parent_id: comment.parentId,
        hidden: comment.hidden,
        like_count: 0,
      },
      fields,
      ['timestamp', 'text'],
    );
  }
  const from = comment.from.kind === 'business' ? { name: channel.name, id: channel.id } : { name: person?.hiddenProfile ? undefined : person?.name, id: person?.scopedIds[channel.id] };
  const within = ctx.clock.now() - comment.createdAt <= ctx.config.windows.privateReplyMs;
  return pick(
    {
      id: comment.id,
      message: comment.text,
      created_time: graphTime(comment.createdAt),
      from,
      parent: comment.parentId ? { id: comment.parentId } : undefined,
      is_hidden: comment.hidden,
      // One private reply per comment, within 7 days (§2.8).
      can_reply_privately: comment.from.kind === 'person' && !comment.privateReplyMessageId && within,
      comment_count: [...ctx.store.comments.values()].filter((c) => c.parentId === comment.id).length,
    },
    fields,
    ['created_time', 'from', 'message'],
  );
}

function requirePostAccess(ctx: Ctx, req: GraphRequest, channelId: string): void {
  const grant = authenticate(ctx, req.token, 'graph');
  requireAccess(grant, channelId);
}

export function postObject(ctx: Ctx, req: GraphRequest, post: Post): GraphResponse {
  requirePostAccess(ctx, req, post.channelId);
  return { json: postJson(ctx, post, parseFields(req.query.fields)), channelId: post.channelId };
}

/** GET/POST(hide)/DELETE /{comment-id}. */
export function commentObject(ctx: Ctx, req: GraphRequest, comment: Comment): GraphResponse {
  requirePostAccess(ctx, req, comment.channelId);
  if (req.method === 'DELETE') {
    comment.deleted = true;
    return { json: { success: true }, channelId: comment.channelId, mutating: true };
  }
  if (req.method === 'POST') {
    const hide = stringParam(req.params, 'hide') ?? stringParam(req.params, 'is_hidden');
    if (hide === undefined) throw errors.invalidParam('param hide is required');
    comment.hidden = hide === 'true';
    return { json: { success: true }, channelId: comment.channelId, mutating: true };
  }
  return { json: commentJson(ctx, comment, parseFields(req.query.fields)), channelId: comment.channelId };
}

/** GET /{post-id}/comments, /{comment-id}/comments, /{ig-comment-id}/replies. */
export function listComments(ctx: Ctx, req: GraphRequest, parent: { postId: string; commentId?: string; channelId: string }, selfUrl: string): GraphResponse {
  requirePostAccess(ctx, req, parent.channelId);
  const list = [...ctx.store.comments.values()]
    .filter((c) => c.postId === parent.postId && !c.deleted && (parent.commentId ? c.parentId === parent.commentId : c.parentId === undefined))
    .sort((a, b) => a.createdAt - b.createdAt);
  const fields = parseFields(req.query.fields);
  return { json: paginate(list, req.query, 25, selfUrl, (c) => commentJson(ctx, c, fields)), channelId: parent.channelId };
}
