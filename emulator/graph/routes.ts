// The Graph API double: one catch-all route `/{version}/…` (any vNN.N) dispatching on path
// segments the way Graph resolves node ids and edges, answering Graph error JSON with a
// fbtrace_id, and recording every call for the control API ("what Parley sent").
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Ctx } from '../context.ts';
import { handleConversationList, conversationMessages, conversationObject, messageObject } from './conversations.ts';
import { GraphError, errors } from './errors.ts';
import { MultipartPayload } from '../http.ts';
import { channelObject, commentObject, listComments, postObject, profileObject } from './objects.ts';
import { debugToken, meAccounts, meObject, mePermissions, oauthAccessToken, oauthDialog, oauthDialogSubmit } from './oauth.ts';
import { extractToken } from './auth.ts';
import type { UploadedFile } from './multipart.ts';
import type { GraphRequest, GraphResponse } from './request.ts';
import { handleAttachmentUpload, handleCommentReply, handleSendMessage } from './send.ts';
import { handleSubscribedApps } from './subscriptions.ts';
import { handlePhoneNumbers, handleTemplates, handleWabaSubscribedApps, handleWhatsAppMediaUpload, handleWhatsAppMessages, isWaba, wabaJson, whatsappMediaInfo } from './whatsapp.ts';

const VERSION = /^v\d+\.\d+$/;

function firstValues(query: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((query ?? {}) as Record<string, unknown>)) {
    const value = Array.isArray(v) ? v[0] : v;
    if (value !== undefined && value !== null) out[k] = String(value);
  }
  return out;
}

export function toGraphRequest(request: FastifyRequest, version: string, rest: string): GraphRequest {
  const query = firstValues(request.query);
  let params: Record<string, unknown> = { ...query };
  let files: Record<string, UploadedFile> = {};
  const body = request.body;
  if (body instanceof MultipartPayload) {
    params = { ...params, ...body.fields };
    files = body.files;
  } else if (body && typeof body === 'object' && !Array.isArray(body)) {
    params = { ...params, ...(body as Record<string, unknown>) };
  }
  const segments = rest
    .split('/')
    .filter(Boolean)
    .map((s) => decodeURIComponent(s));
  return {
    method: request.method,
    version,
    path: `/${segments.join('/')}`,
    segments,
    query,
    params,
    files,
    token: extractToken(query, params, request.headers.authorization),
    headers: request.headers,
  };
}

/** Resolves `/{id}` and `/{id}/{edge}` to a handler. */
export async function dispatchGraph(ctx: Ctx, req: GraphRequest, selfUrl: string): Promise<GraphResponse> {
  const [id, edge, ...extra] = req.segments;
  const method = req.method;
  if (!id || extra.length) throw errors.unknownPath(req.path);

  if (id === 'dialog' && edge === 'oauth') return method === 'POST' ? oauthDialogSubmit(ctx, req) : oauthDialog(ctx, req);
  if (id === 'oauth' && edge === 'access_token') return oauthAccessToken(ctx, req);
  if (id === 'debug_token' && edge === undefined) return debugToken(ctx, req);

  const store = ctx.store;
  if (edge === undefined) {
    if (id === 'me') {
      const asUser = meObject(ctx, req);
      if (asUser) return asUser;
      const grant = store.tokens.get(req.token ?? '');
      const own = grant?.channelIds.map((c) => store.channels.get(c)).find(Boolean);
      if (own) return channelObject(ctx, req, own);
      throw errors.unsupported(method, id);
    }
    if (id === ctx.config.user.id) return { json: { name: ctx.config.user.name, id } };
    const channel = store.channels.get(id);
    if (channel && method === 'GET') return channelObject(ctx, req, channel);
    if (isWaba(ctx, id) && method === 'GET') return wabaJson(ctx, req, id);
    const thread = store.threads.get(id);
    if (thread && method === 'GET') return conversationObject(ctx, req, thread);
    const message = store.messages.get(id);
    if (message && method === 'GET') return messageObject(ctx, req, message);
    const comment = store.comments.get(id);
    if (comment) return commentObject(ctx, req, comment);
    const post = store.posts.get(id);
    if (post && method === 'GET') return postObject(ctx, req, post);
    const media = ctx.media.get(id);
    if (media?.channelId && store.channels.get(media.channelId)?.platform === 'whatsapp' && (method === 'GET' || method === 'DELETE')) {
      return whatsappMediaInfo(ctx, req, media);
    }
    const scoped = store.personByScopedId(id);
    if (scoped && method === 'GET') return profileObject(ctx, req, scoped.person, scoped.channel);
    throw errors.unsupported(method, id);
  }

  if (id === 'me' && edge === 'accounts' && method === 'GET') return meAccounts(ctx, req, selfUrl);
  if (id === 'me' && edge === 'permissions') return mePermissions(ctx, req);

  const channel = id === 'me' ? undefined : store.channels.get(id);
  switch (edge) {
    case 'messages': {
      if (method === 'POST') {
        if (channel?.platform === 'whatsapp') return handleWhatsAppMessages(ctx, req, id);
        return handleSendMessage(ctx, req, id);
      }
      const thread = store.threads.get(id);
      if (thread && method === 'GET') return conversationMessages(ctx, req, thread, selfUrl);
      break;
    }
    case 'message_attachments':
      if (method === 'POST') return handleAttachmentUpload(ctx, req, id);
      break;
    case 'media':
      if (method === 'POST' && channel?.platform === 'whatsapp') return handleWhatsAppMediaUpload(ctx, req, id);
      break;
    case 'conversations':
      if (method === 'GET') return handleConversationList(ctx, req, id, selfUrl);
      break;
    case 'subscribed_apps':
      if (isWaba(ctx, id)) return handleWabaSubscribedApps(ctx, req, id);
      return handleSubscribedApps(ctx, req, id);
    case 'comments':
    case 'replies': {
      const comment = store.comments.get(id);
      const post = store.posts.get(id);
      if (method === 'POST') return handleCommentReply(ctx, req, id, edge);
      if (method === 'GET' && comment) return listComments(ctx, req, { postId: comment.postId, commentId: comment.id, channelId: comment.channelId }, selfUrl);
      if (method === 'GET' && post) return listComments(ctx, req, { postId: post.id, channelId: post.channelId }, selfUrl);
      break;
    }
    case 'message_templates':
      if (method === 'GET' && isWaba(ctx, id)) return handleTemplates(ctx, req, id, selfUrl);
      break;
    case 'phone_numbers':
      if (method === 'GET' && isWaba(ctx, id)) return handlePhoneNumbers(ctx, req, id);
      break;
  }
  if (!channel && !store.threads.has(id) && !store.comments.has(id) && !store.posts.has(id) && !isWaba(ctx, id) && id !== 'me') {
    throw errors.unsupported(method, id);
  }
  throw errors.unknownPath(req.path);
}

function redact(values: Record<string, unknown>): Record<string, unknown> {
  const { access_token: _token, ...rest } = values;
  return rest;
}

export function registerGraphRoutes(app: FastifyInstance, ctx: Ctx): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const { version = '', '*': rest = '' } = request.params as { version?: string; '*'?: string };
    const fbtrace = ctx.ids.fbtraceId();
    reply.header('x-fb-trace-id', fbtrace);
    let req: GraphRequest | undefined;
    let result: GraphResponse;
    let status = 200;
    try {
      if (!VERSION.test(version)) throw errors.badVersion(version);
      req = toGraphRequest(request, version, rest);
      result = await dispatchGraph(ctx, req, `${ctx.baseUrl()}${request.url}`);
      status = result.status ?? (result.redirect ? 302 : 200);
    } catch (err) {
      const e =
        err instanceof GraphError ? err : new GraphError(500, { message: 'An unexpected error has occurred. Please retry your request later.', type: 'OAuthException', code: 2, is_transient: true });
      if (!(err instanceof GraphError)) ctx.log.error('graph handler failed', { err: (err as Error).stack ?? String(err), url: request.url });
      for (const [k, v] of Object.entries(e.headers)) reply.header(k, v);
      status = e.status;
      result = { json: { error: { ...e.body, fbtrace_id: fbtrace } } };
    }
    if (req && !(req.segments[0] === 'dialog')) {
      ctx.store.recordCall({
        seq: ctx.ids.seq(),
        at: ctx.clock.now(),
        method: req.method,
        path: req.path,
        query: redact(req.query) as Record<string, string>,
        body:
          req.method === 'GET'
            ? undefined
            : {
                ...redact(req.params),
                ...Object.fromEntries(Object.entries(req.files).map(([k, f]) => [k, { filename: f.filename, contentType: f.contentType, size: f.data.length }])),
              },
        token: req.token,
        status,
        response: result.json,
        channelId: result.channelId,
        // Every POST/DELETE counts, refused ones included (status tells): what Parley tried to change.
        mutating: req.method !== 'GET' || result.mutating === true,
      });
    }
    if (result.redirect) return reply.redirect(result.redirect, 302);
    if (result.html !== undefined) return reply.code(status).type('text/html; charset=utf-8').send(result.html);
    return reply
      .code(status)
      .type('application/json; charset=UTF-8')
      .send(JSON.stringify(result.json ?? {}));
  };
  app.route({ method: ['GET', 'POST', 'DELETE'], url: '/:version/*', handler });
}
