// Conversations API (meta-platform.md §2.10, §3.6):
// GET /{page-id}/conversations?platform=messenger|instagram[&user_id=…]
// GET /{conversation-id}?fields=messages…   and   GET /{conversation-id}/messages
// GET /{message-id}?fields=id,created_time,from,to,message,attachments
// "You can only get details about the 20 most recent messages in the conversation. If you query a
// message that is older than the last 20, you will see an error that the message has been
// deleted": the list gives ids only beyond the 20 newest, and a lookup of an older one fails.
import { graphTime } from '../clock.ts';
import type { Ctx } from '../context.ts';
import type { Channel, Message, Person, Thread } from '../state.ts';
import { authenticate, requireAccess } from './auth.ts';
import { errors, GraphError } from './errors.ts';
import { field, parseFields, pick, type FieldSpec } from './fields.ts';
import { paginate } from './paging.ts';
import { graphUrl, type GraphRequest, type GraphResponse } from './request.ts';
import { resolveSender } from './send.ts';

function participant(channel: Channel, who: Person | 'business'): Record<string, unknown> {
  if (channel.platform === 'instagram') {
    return who === 'business' ? { username: channel.username, id: channel.id } : { username: who.username, id: who.scopedIds[channel.id] };
  }
  if (who === 'business') return { name: channel.name, email: `${channel.id}@facebook.com`, id: channel.id };
  const psid = who.scopedIds[channel.id] ?? '';
  return { name: who.hiddenProfile ? 'Facebook user' : who.name, email: `${psid}@facebook.com`, id: psid };
}

/** Visible messages, newest first (unsent ones are gone). */
function newestFirst(thread: Thread): Message[] {
  return thread.messages.filter((m) => !m.deleted).reverse();
}

function attachmentsJson(ctx: Ctx, message: Message): unknown {
  const now = ctx.clock.now();
  const data = message.attachments
    .filter((a) => a.mediaId)
    .map((a) => {
      const media = ctx.media.get(a.mediaId ?? '');
      const url = media ? ctx.media.cdnUrl(ctx.mediaBaseUrl(), media, now + ctx.config.media.cdnTtlMs) : a.sourceUrl;
      const base: Record<string, unknown> = { id: a.mediaId, mime_type: media?.mimeType ?? a.mimeType, name: media?.filename ?? a.filename, size: media?.size ?? a.size };
      if (a.type === 'image' || a.type === 'sticker') base.image_data = { url, preview_url: url, width: 0, height: 0, max_width: 0, max_height: 0 };
      else if (a.type === 'video') base.video_data = { url, preview_url: url, width: 0, height: 0 };
      else base.file_url = url;
      return base;
    });
  return data.length ? { data } : undefined;
}

export function messageJson(ctx: Ctx, thread: Thread, message: Message, fields: FieldSpec[] | undefined): Record<string, unknown> {
  const channel = ctx.store.requireChannel(thread.channelId);
  const person = ctx.store.people.get(thread.personId);
  if (!person) return { id: message.id };
  const fromBusiness = message.direction === 'out';
  const full: Record<string, unknown> = {
    id: message.id,
    created_time: graphTime(message.timestamp),
    from: participant(channel, fromBusiness ? 'business' : person),
    to: { data: [participant(channel, fromBusiness ? person : 'business')] },
    message: message.text ?? '',
    attachments: attachmentsJson(ctx, message),
    sticker: message.attachments.find((a) => a.type === 'sticker') ? ctx.media.get(message.attachments.find((a) => a.type === 'sticker')?.mediaId ?? '')?.filename : undefined,
    is_unsupported: message.unsupported ? true : undefined,
    tags: fromBusiness ? { data: [{ name: 'source:chat' }] } : { data: [{ name: 'inbox' }] },
  };
  return pick(full, fields, ['created_time']);
}

function messagesEdge(ctx: Ctx, thread: Thread, spec: FieldSpec | undefined, selfUrl: string, query: Record<string, string>): unknown {
  const limit = ctx.config.conversations.detailLimit;
  const list = newestFirst(thread);
  const q = spec?.limit ? { ...query, limit: String(spec.limit) } : query;
  return paginate(list, q, 25, selfUrl, (m, index) => (index < limit ? messageJson(ctx, thread, m, spec?.sub) : { id: m.id }));
}

function threadChannelAccess(ctx: Ctx, req: GraphRequest, thread: Thread): Channel {
  const grant = authenticate(ctx, req.token, 'graph');
  const channel = ctx.store.requireChannel(thread.channelId);
  requireAccess(grant, channel.id);
  return channel;
}

function conversationJson(ctx: Ctx, req: GraphRequest, thread: Thread, fields: FieldSpec[] | undefined): Record<string, unknown> {
  const channel = ctx.store.requireChannel(thread.channelId);
  const person = ctx.store.people.get(thread.personId);
  const visible = newestFirst(thread);
  const lastBusinessSeen = thread.seenByBusinessAt ?? 0;
  const full: Record<string, unknown> = {
    id: thread.id,
    updated_time: graphTime(thread.updatedAt),
    message_count: visible.length,
    unread_count: visible.filter((m) => m.direction === 'in' && m.timestamp > lastBusinessSeen).length,
    participants: person ? { data: [participant(channel, person), participant(channel, 'business')] } : undefined,
    senders: person ? { data: [participant(channel, person), participant(channel, 'business')] } : undefined,
    can_reply: true,
    link: `/${channel.id}/inbox/${thread.id}`,
    snippet: visible[0]?.text?.slice(0, 100),
  };
  const messagesSpec = field(fields, 'messages');
  if (messagesSpec) {
    const url = graphUrl(ctx, req, `/${thread.id}/messages`, { fields: messagesSpec.sub?.map((f) => f.name).join(',') });
    full.messages = messagesEdge(ctx, thread, messagesSpec, url, {});
  }
  return pick(full, fields, ['updated_time']);
}

/** GET /{page-id}/conversations */
export function handleConversationList(ctx: Ctx, req: GraphRequest, objectId: string, selfUrl: string): GraphResponse {
  const grant = authenticate(ctx, req.token, 'graph');
  const sender = resolveSender(ctx, grant, objectId);
  const platform = req.query.platform ?? (sender.platform === 'instagram' ? 'instagram' : 'messenger');
  if (platform !== 'messenger' && platform !== 'instagram') throw errors.invalidParam('param platform must be one of {messenger, instagram}');
  const channelId = platform === 'instagram' ? (sender.platform === 'instagram' ? sender.id : sender.instagramId) : sender.pageId;
  if (!channelId) throw errors.invalidParam(`this Page has no ${platform} account`);
  const fault = ctx.guards.takeFault(req.method, req.path, channelId);
  if (fault) throw fault;
  let threads = [...ctx.store.threads.values()].filter((t) => t.channelId === channelId && t.messages.length > 0);
  if (req.query.user_id) threads = threads.filter((t) => ctx.store.people.get(t.personId)?.scopedIds[channelId] === req.query.user_id);
  threads.sort((a, b) => b.updatedAt - a.updatedAt);
  const fields = parseFields(req.query.fields);
  return { json: paginate(threads, req.query, 25, selfUrl, (t) => conversationJson(ctx, req, t, fields)), channelId };
}

/** GET /{conversation-id} */
export function conversationObject(ctx: Ctx, req: GraphRequest, thread: Thread): GraphResponse {
  threadChannelAccess(ctx, req, thread);
  return { json: conversationJson(ctx, req, thread, parseFields(req.query.fields)), channelId: thread.channelId };
}

/** GET /{conversation-id}/messages */
export function conversationMessages(ctx: Ctx, req: GraphRequest, thread: Thread, selfUrl: string): GraphResponse {
  threadChannelAccess(ctx, req, thread);
  const fields = parseFields(req.query.fields);
  return { json: messagesEdge(ctx, thread, { name: 'messages', sub: fields }, selfUrl, req.query), channelId: thread.channelId };
}

/** GET /{message-id}: only the 20 most recent messages are served (§2.10). */
export function messageObject(ctx: Ctx, req: GraphRequest, message: Message): GraphResponse {
  const thread = ctx.store.threadOf(message);
  if (thread.platform === 'whatsapp') throw errors.unsupported('get', message.id);
  threadChannelAccess(ctx, req, thread);
  const index = newestFirst(thread).findIndex((m) => m.id === message.id);
  if (index < 0 || (index >= ctx.config.conversations.detailLimit && ctx.config.conversations.olderMessageLookup === 'error')) {
    throw new GraphError(400, { message: '(#100) This message has been deleted.', type: 'OAuthException', code: 100 });
  }
  return { json: messageJson(ctx, thread, message, parseFields(req.query.fields)), channelId: thread.channelId };
}
