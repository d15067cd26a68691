// The control API for tests and scripts: JSON under /_emulator/… Every endpoint maps to one
// EmulatorCore method (the programmatic API in index.ts calls the same methods).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ChaosConfig, RateLimitRule, WebhookObject } from './config.ts';
import { ControlError } from './context.ts';
import type { CustomerMessageInput, HistoryInput } from './customer.ts';
import type { EmulatorCore } from './emulator.ts';
import type { FaultInput } from './graph/guards.ts';

type Body = Record<string, unknown>;

function body(request: FastifyRequest): Body {
  const b = request.body;
  return b && typeof b === 'object' && !Array.isArray(b) ? (b as Body) : {};
}

function need(b: Body, key: string): string {
  const v = b[key];
  if (typeof v !== 'string' || !v) throw new ControlError(400, `"${key}" is required`);
  return v;
}

function opt(b: Body, key: string): string | undefined {
  const v = b[key];
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;
}

function bool(v: unknown): boolean | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  return v === true || v === 'true' || v === '1' || v === 1;
}

export function registerControlRoutes(app: FastifyInstance, core: EmulatorCore): void {
  const P = '/_emulator';
  const wrap =
    (fn: (request: FastifyRequest, reply: FastifyReply) => unknown | Promise<unknown>) =>
    async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
      try {
        const result = await fn(request, reply);
        if (reply.sent) return reply;
        return reply.code(reply.statusCode === 200 ? 200 : reply.statusCode).send(result ?? { ok: true });
      } catch (err) {
        if (err instanceof ControlError) return reply.code(err.status).send({ error: err.message });
        core.ctx.log.error('control API failed', { err: (err as Error).stack ?? String(err) });
        return reply.code(500).send({ error: (err as Error).message });
      }
    };
  const params = (r: FastifyRequest) => r.params as Record<string, string>;
  const query = (r: FastifyRequest) => r.query as Record<string, string | undefined>;

  app.get(
    P,
    wrap(() => ({ endpoints: ENDPOINTS })),
  );
  app.get(
    `${P}/state`,
    wrap(() => core.state()),
  );
  app.post(
    `${P}/reset`,
    wrap(() => (core.reset(), { ok: true })),
  );
  app.post(
    `${P}/flush`,
    wrap(async () => (await core.flush(), { ok: true })),
  );
  app.get(
    `${P}/samples`,
    wrap(() => core.ctx.media.sampleList()),
  );

  // The speech-to-text double: behaviour (slow, failing, hanging, API key), its calls, new texts.
  app.get(
    `${P}/stt`,
    wrap(() => ({ behaviour: core.stt.behaviour, calls: core.stt.calls })),
  );
  app.put(
    `${P}/stt`,
    wrap((request) => {
      const b = body(request);
      const failNext = Array.isArray(b.failNext) ? b.failNext.map(Number).filter((n) => Number.isInteger(n) && n >= 400 && n <= 599) : undefined;
      return core.stt.set({
        ...(b.delayMs !== undefined ? { delayMs: Math.max(0, Number(b.delayMs) || 0) } : {}),
        ...(failNext ? { failNext } : {}),
        ...(bool(b.hang) !== undefined ? { hang: bool(b.hang)! } : {}),
        ...('apiKey' in b ? { apiKey: typeof b.apiKey === 'string' && b.apiKey ? b.apiKey : null } : {}),
      });
    }),
  );
  app.delete(
    `${P}/stt`,
    wrap(() => (core.stt.reset(), { ok: true })),
  );
  app.post(
    `${P}/stt/texts`,
    wrap((request) => {
      const b = body(request);
      const text = need(b, 'text');
      const bytes = Buffer.from(need(b, 'dataBase64'), 'base64');
      core.stt.learn(bytes, text, opt(b, 'language') ?? 'en');
      return { ok: true, bytes: bytes.length };
    }),
  );

  // Channels
  app.get(
    `${P}/channels`,
    wrap(() => core.channels()),
  );
  app.get(
    `${P}/channels/:ref`,
    wrap((r) => core.channel(params(r).ref ?? '')),
  );
  app.put(
    `${P}/channels/:ref/subscribed-fields`,
    wrap((r) => {
      const fields = body(r).fields;
      if (!Array.isArray(fields)) throw new ControlError(400, '"fields" must be an array');
      return core.setSubscribedFields(params(r).ref ?? '', fields.map(String));
    }),
  );
  app.post(
    `${P}/channels/:ref/inbox-messages`,
    wrap((r) => {
      const b = body(r);
      return core.sendFromPageInbox(params(r).ref ?? '', need(b, 'person'), { text: opt(b, 'text'), attachment: b.attachment as CustomerMessageInput['attachment'] });
    }),
  );

  // People and what they do
  app.get(
    `${P}/people`,
    wrap(() => core.people()),
  );
  app.post(
    `${P}/people`,
    wrap((r, reply) => {
      const b = body(r);
      reply.code(201);
      return core.createPerson({
        id: opt(b, 'id'),
        name: need(b, 'name'),
        hiddenProfile: bool(b.hiddenProfile),
        unreachable: bool(b.unreachable),
        phone: opt(b, 'phone'),
        username: opt(b, 'username'),
        locale: opt(b, 'locale'),
      });
    }),
  );
  app.get(
    `${P}/people/:id`,
    wrap((r) => core.person(params(r).id ?? '')),
  );
  app.patch(
    `${P}/people/:id`,
    wrap((r) => {
      const b = body(r);
      return core.updatePerson(params(r).id ?? '', { name: opt(b, 'name'), hiddenProfile: bool(b.hiddenProfile), unreachable: bool(b.unreachable), username: opt(b, 'username') });
    }),
  );
  app.post(
    `${P}/people/:id/messages`,
    wrap((r, reply) => {
      const b = body(r);
      reply.code(201);
      return core.send(params(r).id ?? '', need(b, 'channel'), {
        text: opt(b, 'text'),
        attachment: b.attachment as CustomerMessageInput['attachment'],
        sticker: bool(b.sticker),
        replyTo: opt(b, 'replyTo'),
        quickReplyPayload: opt(b, 'quickReplyPayload'),
        timestamp: (b.timestamp as number | string | undefined) ?? undefined,
      });
    }),
  );
  app.post(
    `${P}/people/:id/reactions`,
    wrap((r) => {
      const b = body(r);
      const emoji = b.emoji === null || b.emoji === '' || b.action === 'unreact' ? null : (opt(b, 'emoji') ?? '❤️');
      return core.react(params(r).id ?? '', need(b, 'messageId'), emoji);
    }),
  );
  app.post(
    `${P}/people/:id/unsend`,
    wrap((r) => core.unsend(params(r).id ?? '', need(body(r), 'messageId'))),
  );
  app.post(
    `${P}/people/:id/edits`,
    wrap((r) => core.edit(params(r).id ?? '', need(body(r), 'messageId'), need(body(r), 'text'))),
  );
  app.post(
    `${P}/people/:id/read`,
    wrap((r) => ({ read: core.read(params(r).id ?? '', need(body(r), 'channel')) })),
  );
  app.post(
    `${P}/people/:id/deliver`,
    wrap((r) => ({ delivered: core.deliver(params(r).id ?? '', need(body(r), 'channel')) })),
  );
  app.post(
    `${P}/people/:id/postbacks`,
    wrap((r) => core.postback(params(r).id ?? '', need(body(r), 'channel'), opt(body(r), 'title') ?? 'Get Started', opt(body(r), 'payload') ?? 'GET_STARTED')),
  );
  app.post(
    `${P}/people/:id/comments`,
    wrap((r, reply) => {
      const b = body(r);
      reply.code(201);
      return core.comment(params(r).id ?? '', need(b, 'postId'), need(b, 'text'), opt(b, 'parentId'));
    }),
  );

  // Posts, threads, history
  app.get(
    `${P}/posts`,
    wrap((r) => core.posts(query(r).channel)),
  );
  app.post(
    `${P}/posts`,
    wrap((r, reply) => {
      const b = body(r);
      reply.code(201);
      return core.createPost(need(b, 'channel'), need(b, 'text'), opt(b, 'mediaProductType'));
    }),
  );
  app.get(
    `${P}/threads`,
    wrap((r) => core.threads({ channel: query(r).channel, person: query(r).person })),
  );
  app.get(
    `${P}/threads/:id`,
    wrap((r) => {
      const thread = core.ctx.store.threads.get(params(r).id ?? '');
      if (!thread) throw new ControlError(404, 'unknown thread');
      return core.threadView(thread);
    }),
  );
  app.post(
    `${P}/history`,
    wrap((r, reply) => {
      const b = body(r);
      reply.code(201);
      return { messages: core.seedHistory(need(b, 'channel'), need(b, 'person'), b as HistoryInput) };
    }),
  );

  // What Parley sent; webhook deliveries
  app.get(
    `${P}/calls`,
    wrap((r) => {
      const q = query(r);
      return core.calls({ method: q.method, pathIncludes: q.path, channelId: q.channel, since: q.since ? Number(q.since) : undefined, all: bool(q.all) });
    }),
  );
  app.delete(
    `${P}/calls`,
    wrap(() => (core.clearCalls(), { ok: true })),
  );
  app.get(
    `${P}/webhooks/deliveries`,
    wrap(() => core.deliveries()),
  );
  app.post(
    `${P}/webhooks/flush`,
    wrap(async () => (await core.flush(), { ok: true })),
  );
  app.put(
    `${P}/webhooks/callback`,
    wrap((r) => {
      const b = body(r);
      core.setCallbackUrl(opt(b, 'url'), opt(b, 'object') as WebhookObject | undefined);
      return { callbackUrl: core.ctx.config.webhooks.callbackUrl, callbackUrls: core.ctx.config.webhooks.callbackUrls ?? {} };
    }),
  );
  app.post(
    `${P}/webhooks/verify`,
    wrap(() => core.verifyWebhooks()),
  );

  // Tokens and OAuth shortcuts
  app.post(
    `${P}/tokens/revoke`,
    wrap((r) => ({ revoked: core.revokeToken({ token: opt(body(r), 'token'), channelId: opt(body(r), 'channelId') }) })),
  );
  app.post(
    `${P}/tokens/user`,
    wrap((r) => {
      const b = body(r);
      return { access_token: core.issueUserToken(b.pageIds as string[] | undefined, (b.scopes as string[] | undefined) ?? undefined) };
    }),
  );
  app.post(
    `${P}/oauth/authorize`,
    wrap((r) => {
      const b = body(r);
      return core.authorize({ redirectUri: need(b, 'redirectUri'), state: opt(b, 'state'), pageIds: b.pageIds as string[] | undefined, scopes: b.scopes as string[] | undefined });
    }),
  );

  // Rate limits, faults, chaos, clock
  app.get(
    `${P}/rate-limits`,
    wrap(() => core.ctx.guards.rules),
  );
  app.post(
    `${P}/rate-limits`,
    wrap((r) => core.setRateLimit(body(r) as unknown as RateLimitRule)),
  );
  app.delete(
    `${P}/rate-limits`,
    wrap((r) => (core.clearRateLimits(query(r).channel), { ok: true })),
  );
  app.get(
    `${P}/faults`,
    wrap(() => core.ctx.guards.faults),
  );
  app.post(
    `${P}/faults`,
    wrap((r, reply) => (reply.code(201), core.injectFault(body(r) as unknown as FaultInput))),
  );
  app.delete(
    `${P}/faults`,
    wrap(() => (core.clearFaults(), { ok: true })),
  );
  app.get(
    `${P}/chaos`,
    wrap(() => core.ctx.config.chaos),
  );
  app.put(
    `${P}/chaos`,
    wrap((r) => core.setChaos(body(r) as Partial<ChaosConfig>)),
  );
  app.get(
    `${P}/clock`,
    wrap(() => core.clockInfo()),
  );
  app.post(
    `${P}/clock`,
    wrap((r) => {
      const b = body(r);
      if (b.reset) return core.setClock(Date.now());
      if (b.set !== undefined) return core.setClock(b.set as number | string);
      if (b.advance !== undefined) return core.advanceClock(b.advance as number | string);
      throw new ControlError(400, 'use {"advance": "24h1m"}, {"set": "2026-06-01T10:00:00Z"} or {"reset": true}');
    }),
  );
}

/** Self-description at GET /_emulator. */
const ENDPOINTS = [
  'GET /_emulator/state',
  'POST /_emulator/reset',
  'POST /_emulator/flush',
  'GET /_emulator/samples',
  'GET|PUT|DELETE /_emulator/stt',
  'POST /_emulator/stt/texts',
  'GET /_emulator/channels',
  'GET /_emulator/channels/:ref',
  'PUT /_emulator/channels/:ref/subscribed-fields {fields}',
  'POST /_emulator/channels/:ref/inbox-messages {person, text|attachment}',
  'GET /_emulator/people',
  'POST /_emulator/people {name, id?, phone?, username?, hiddenProfile?, unreachable?}',
  'GET /_emulator/people/:id',
  'PATCH /_emulator/people/:id {name?, hiddenProfile?, unreachable?, username?}',
  'POST /_emulator/people/:id/messages {channel, text?, attachment?, sticker?, replyTo?, quickReplyPayload?, timestamp?}',
  'POST /_emulator/people/:id/reactions {messageId, emoji|null}',
  'POST /_emulator/people/:id/unsend {messageId}',
  'POST /_emulator/people/:id/edits {messageId, text}',
  'POST /_emulator/people/:id/read {channel}',
  'POST /_emulator/people/:id/deliver {channel}',
  'POST /_emulator/people/:id/postbacks {channel, title?, payload?}',
  'POST /_emulator/people/:id/comments {postId, text, parentId?}',
  'GET /_emulator/posts?channel=',
  'POST /_emulator/posts {channel, text, mediaProductType?}',
  'GET /_emulator/threads?channel=&person=',
  'GET /_emulator/threads/:id',
  'POST /_emulator/history {channel, person, count?|messages?, spacing?, endAt?, endAgo?, last?}',
  'GET /_emulator/calls?method=&path=&channel=&since=&all=',
  'DELETE /_emulator/calls',
  'GET /_emulator/webhooks/deliveries',
  'POST /_emulator/webhooks/flush',
  'PUT /_emulator/webhooks/callback {url, object?}',
  'POST /_emulator/webhooks/verify',
  'POST /_emulator/tokens/revoke {token|channelId}',
  'POST /_emulator/tokens/user {pageIds?, scopes?}',
  'POST /_emulator/oauth/authorize {redirectUri, state?, pageIds?, scopes?}',
  'GET|POST|DELETE /_emulator/rate-limits',
  'GET|POST|DELETE /_emulator/faults',
  'GET|PUT /_emulator/chaos',
  'GET|POST /_emulator/clock {advance|set|reset}',
];
