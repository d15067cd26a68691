import { join } from 'node:path';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import type { Deps } from './deps.ts';
import type { Config } from './config.ts';
import { can, type Access, type AuthContext } from './auth/permissions.ts';
import { resolveSession, type PageContext } from './auth/auth.service.ts';
import { AnonCsrf, anonCsrfCookie } from './auth/anon-csrf.ts';
import { temporaryPasswordGate } from './auth/password-gate.ts';
import { SESSION_COOKIE } from './auth/session-cookie.ts';
import { pickLocale, translator, type Locale, type MessageKey, type Translate } from './platform/i18n/index.ts';
import { securityHeaders } from './platform/security.ts';
import { loadAssets, staticRoutes } from './platform/assets.ts';
import { formatters, type BaseViewData } from './platform/views.ts';
import { ForbiddenError, NotFoundError, ValidationError } from './platform/errors.ts';
import { safeEqual } from './platform/crypto.ts';
import { wantsFragment } from './platform/htmx.ts';
import { authRoutes } from './auth/auth.routes.ts';
import { settingsRoutes } from './auth/settings.routes.ts';
import { channelSettingsRoutes } from './channels/settings/settings.routes.ts';
import { liveRoutes } from './platform/live/live.routes.ts';
import { healthRoutes } from './platform/health.routes.ts';
import { crmRoutes } from './crm/crm.routes.ts';
import { homeRoutes } from './home.routes.ts';
import { chatsRoutes } from './chats/chats.routes.ts';
import { transcriptionRoutes } from './transcription/transcription.routes.ts';
import { mediaRoutes } from './chats/thread/media.routes.ts';
import { metaWebhookRoutes } from './channels/meta/webhook.routes.ts';
import { clientLinkRoutes } from './chats/clients/client-link.routes.ts';
import { hovercardRoutes } from './chats/clients/hovercard.routes.ts';
import { savedRepliesRoutes } from './chats/saved-replies/saved-replies.routes.ts';
import { teamRoutes } from './chats/team/team.routes.ts';
import { shopSettingsRoutes } from './shop/shop.routes.ts';
import { twoFactorGate, twoFactorRoutes } from './auth/two-factor.routes.ts';
import { TwoFactorRequirement } from './auth/two-factor.service.ts';
import type { Prefetch } from './auth/prefetch.ts';
import { acceptsEncoding, assembleBody, partMarkers, type BodyPiece } from './platform/page-body.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    /** Set false only where another check replaces CSRF (signed webhooks). */
    csrf?: boolean;
    /** What the handler of a full page reads first, fetched with the session (auth/prefetch.ts). */
    prefetch?: Prefetch;
  }
  interface FastifyRequest {
    auth: AuthContext | null;
    locale: Locale;
    t: Translate;
    /** The token forms and htmx must send back on state changes. */
    csrfToken: string;
    /** Full pages only: the red dot and the reconnect banner, read with the session. */
    pageContext: PageContext | null;
    /** Full pages of routes with `config.prefetch`: what it asked for, read with the session. */
    prefetched: Record<string, unknown> | null;
    /** Kept parts this response's view splices in at their markers (chats/kept-html.ts). */
    keptParts: BodyPiece[][] | null;
  }
  interface FastifyReply {
    /** Render a template with the common view data (a page calls layout(); a partial does not). */
    view(template: string, data?: Record<string, unknown>, status?: number): FastifyReply;
  }
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export async function buildApp(deps: Deps): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.logger as unknown as FastifyBaseLogger,
    // Fastify's own request logs include URLs (which can carry tokens); app.ts logs its own.
    logController: new LogController({ disableRequestLogging: true }),
    // A hop count or the proxies' addresses, never every hop (config.ts TRUST_PROXY).
    trustProxy: trustedProxies(deps.config.trustProxy),
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    forceCloseConnections: false,
  });
  const assets = loadAssets(join(deps.root, 'public'));
  // Anonymous forms (setup, login, the code step) use a double-submit cookie until a session exists.
  const anonCsrf = new AnonCsrf(deps.config.secretKey);
  const anonCookie = anonCsrfCookie(deps.config.secureCookies);

  // Every route must say who may use it; a route without a declaration is a boot error.
  const routes: Array<{ method: string; url: string; access: Access }> = [];
  app.decorate('routeTable', routes);
  app.addHook('onRoute', (r) => {
    const access = r.config?.access;
    if (!access) throw new Error(`Route ${String(r.method)} ${r.url} has no config.access`);
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    for (const m of methods) if (m !== 'HEAD') routes.push({ method: m, url: r.url, access });
  });

  await app.register(fastifyCookie);
  await app.register(fastifyFormbody, { bodyLimit: 256 * 1024 });
  await app.register(staticRoutes(assets));
  securityHeaders(app, { hsts: deps.config.secureCookies });

  app.decorateRequest('auth', null);
  app.decorateRequest('locale', 'en');
  app.decorateRequest('t', null as unknown as Translate);
  app.decorateRequest('csrfToken', '');
  app.decorateRequest('pageContext', null);
  app.decorateRequest('keptParts', null);
  app.decorateRequest('prefetched', null);

  app.addHook('onRequest', async (req, reply) => {
    // Every route reads query values as single strings: `?q=a&q=b` or a NUL must not reach a
    // handler (or the prefetch below) as an array or as text PostgreSQL cannot hold.
    singleQueryValues(req.query);
    // Webhooks carry their own proof (a signature) and no cookies: skip the session work.
    if (req.url.startsWith('/static/') || req.url.startsWith('/webhooks/')) return;
    const token = req.cookies[SESSION_COOKIE];
    // A full page (not a fragment, not the live stream) also shows the red dot and, to admins,
    // the reconnect banner: the session look-up brings them in the same round trip.
    const page = req.method === 'GET' && !wantsFragment(req) && !req.url.startsWith('/events');
    const prefetch = page && token ? req.routeOptions.config?.prefetch?.(req) : null;
    const session = token ? await resolveSession(deps, token, { page, prefetch }) : null;
    req.auth = session?.auth ?? null;
    req.pageContext = session?.page ?? null;
    req.prefetched = session?.prefetched ?? null;
    if (token && !req.auth) reply.clearCookie(SESSION_COOKIE, { path: '/' });
    req.locale = pickLocale(req.auth?.locale, req.headers['accept-language']);
    req.t = translator(req.locale);
    if (req.auth) req.csrfToken = req.auth.csrfToken;
    else {
      // Only a token Parley signed counts: a planted one is replaced (auth/anon-csrf.ts).
      let pre = req.cookies[anonCookie.name];
      if (!anonCsrf.isValid(pre)) {
        pre = anonCsrf.issue();
        reply.setCookie(anonCookie.name, pre, anonCookie.options);
      }
      req.csrfToken = pre;
    }
  });

  // PostgreSQL text cannot hold U+0000: a form field, JSON value or multipart field carrying
  // one would end in a 500 deep in some statement. It never means anything in a form, so it
  // goes here, once; as a preHandler, after every body parser (multipart parses its fields in
  // its own preValidation) and before access and CSRF.
  app.addHook('preHandler', async (req) => {
    if (req.routeOptions.config?.csrf === false) return; // webhooks: raw bytes, signed as sent
    req.body = stripNul(req.body);
  });

  app.addHook('preHandler', async (req, reply) => {
    const access = req.routeOptions.config?.access;
    if (!access) return; // 404 handler
    if (!can(req.auth, access)) {
      if (!req.auth) {
        if (req.method === 'GET' && !wantsFragment(req) && !req.url.startsWith('/events')) {
          return reply.redirect(`/login?next=${encodeURIComponent(req.url)}`, 303);
        }
        reply.header('HX-Redirect', '/login');
        return reply.code(401).view('errors/error', { code: 401, title: req.t('auth.login_title'), body: '' }, 401);
      }
      throw new ForbiddenError();
    }
    if (STATE_CHANGING.has(req.method) && req.routeOptions.config?.csrf !== false) {
      const body = req.body as Record<string, unknown> | undefined;
      const field = body?._csrf;
      // Multipart forms (file uploads) carry fields as { value }.
      const fromBody = typeof field === 'string' ? field : field && typeof field === 'object' && 'value' in field ? String((field as { value: unknown }).value) : undefined;
      const sent = fromBody ?? req.headers['x-csrf-token'];
      // An anonymous token proves Parley issued it, not to this browser: an anonymous form the
      // browser says came from another site (Sec-Fetch-Site) is refused whatever it carries.
      const crossSite = !req.auth && req.headers['sec-fetch-site'] === 'cross-site';
      if (crossSite || typeof sent !== 'string' || !safeEqual(sent, req.csrfToken)) {
        req.log.info({ route: req.routeOptions.url, crossSite }, 'csrf token missing or wrong, or an anonymous form posted cross-site');
        return reply.view('errors/error', { code: 403, title: req.t('error.csrf.title'), body: req.t('error.csrf.body') }, 403);
      }
    }
  });

  // An employee holding a temporary password chooses their own before anything else.
  app.addHook('preHandler', temporaryPasswordGate);

  // Admins sent to set up two-factor sign-in first, while the shop requires it (after access and CSRF).
  const twoFactorRequirement = new TwoFactorRequirement(deps.db, deps.logger);
  app.addHook('preHandler', twoFactorGate(twoFactorRequirement));

  app.decorateReply('view', function (this: FastifyReply, template: string, data: Record<string, unknown> = {}, status?: number) {
    const req = this.request;
    const base: BaseViewData = {
      t: req.t ?? translator('en'),
      locale: req.locale ?? 'en',
      csrf: req.csrfToken ?? '',
      fmt: formatters(req.locale ?? 'en', deps.currency.current()),
      me: req.auth
        ? {
            id: req.auth.employeeId,
            name: req.auth.name,
            isAdmin: req.auth.isAdmin,
            can: (p: string) => can(req.auth, p as Access),
          }
        : null,
      // The red dot shows only to those whose role grants Chats.
      redDot: Boolean(req.pageContext?.redDot && can(req.auth, 'chats')),
      reconnectChannels: req.auth?.isAdmin ? (req.pageContext?.reconnectChannels ?? []) : [],
      lastEventId: deps.live.lastEventId,
      path: req.url.split('?')[0] ?? '/',
      assets: assets.urls,
    };
    const extras = (req as FastifyRequest & { viewExtras?: Record<string, unknown> }).viewExtras;
    const html = deps.eta.render(template, { ...base, ...extras, ...data });
    if (status) this.code(status);
    // As bytes (a string would be scanned for its length, then encoded again), with the kept
    // parts' own bytes spliced in, compressed when the client takes gzip (page-body.ts).
    const pieces = req.keptParts?.length ? partMarkers.splice(html, req.keptParts) : [html];
    const { body, gzip } = assembleBody(pieces, acceptsEncoding(req.headers['accept-encoding'], 'gzip'));
    if (gzip) this.header('Content-Encoding', 'gzip');
    this.header('Vary', 'HX-Request, Accept-Encoding').type('text/html; charset=utf-8').send(body);
    return this;
  });

  app.addHook('onResponse', async (req, reply) => {
    if (req.url.startsWith('/static/')) return;
    // Method, route pattern and status only: URLs and bodies may carry tokens. Webhook traffic
    // is high-volume machine traffic, logged at debug unless it fails.
    const quiet = req.url.startsWith('/webhooks/') && reply.statusCode < 400;
    req.log[quiet ? 'debug' : 'info']({ method: req.method, route: req.routeOptions.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });

  app.setErrorHandler(async (err: Error, req, reply) => {
    const t = req.t ?? translator('en');
    if (err instanceof NotFoundError) {
      return reply.view('errors/error', { code: 404, title: t('error.404.title'), body: t('error.404.body') }, 404);
    }
    if (err instanceof ForbiddenError) {
      return reply.view('errors/error', { code: 403, title: t('error.403.title'), body: t('error.403.body') }, 403);
    }
    if (err instanceof ValidationError) {
      // Routes render their own form with errors; this is the fallback for the rest.
      return reply.view(
        'errors/error',
        {
          code: 422,
          title: t('common.form_errors'),
          body: Object.values(err.fields)
            .map((k) => t(k as MessageKey))
            .join(' '),
        },
        422,
      );
    }
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) {
      return reply.code(status).type('text/plain; charset=utf-8').send(err.message);
    }
    req.log.error({ err: { message: err.message, stack: err.stack }, route: req.routeOptions?.url }, 'unhandled error');
    return reply.view('errors/error', { code: 500, title: t('error.500.title'), body: t('error.500.body') }, 500);
  });

  app.setNotFoundHandler(async (req, reply) => {
    return reply.view('errors/error', { code: 404, title: req.t('error.404.title'), body: req.t('error.404.body') }, 404);
  });

  await app.register(healthRoutes(deps));
  await app.register(authRoutes(deps));
  await app.register(settingsRoutes(deps));
  await app.register(channelSettingsRoutes(deps));
  await app.register(liveRoutes(deps));
  await app.register(crmRoutes(deps));
  await app.register(metaWebhookRoutes(deps));
  await app.register(chatsRoutes(deps));
  await app.register(transcriptionRoutes(deps));
  await app.register(shopSettingsRoutes(deps));
  await app.register(mediaRoutes(deps));
  await app.register(clientLinkRoutes(deps));
  await app.register(hovercardRoutes(deps));
  await app.register(savedRepliesRoutes(deps));
  await app.register(teamRoutes(deps));
  await app.register(twoFactorRoutes(deps, twoFactorRequirement));
  await app.register(homeRoutes(deps));
  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    routeTable: Array<{ method: string; url: string; access: Access }>;
  }
}

/** Query values as the routes read them: one string each (the last of a repeated key), no NUL. */
function singleQueryValues(q: unknown): void {
  if (!q || typeof q !== 'object') return;
  const rec = q as Record<string, unknown>;
  for (const [k, v] of Object.entries(rec)) {
    const one = Array.isArray(v) ? v[v.length - 1] : v;
    rec[k] = typeof one === 'string' ? one.replaceAll('\u0000', '') : '';
  }
}

/**
 * A parsed body without NUL characters: urlencoded forms, JSON at any depth (bounded), and
 * multipart fields (`{ type: 'field', value }`); uploaded files are left as they are.
 */
function stripNul(v: unknown, seen = new WeakSet<object>(), depth = 0): unknown {
  if (typeof v === 'string') return v.includes('\u0000') ? v.replaceAll('\u0000', '') : v;
  // Multipart parts refer to each other (`fields`): each object is cleaned once.
  if (!v || typeof v !== 'object' || Buffer.isBuffer(v) || depth > 32 || seen.has(v)) return v;
  seen.add(v);
  const rec = v as Record<string, unknown>;
  if (rec.type === 'file' && 'toBuffer' in rec) return v;
  for (const [k, x] of Object.entries(rec)) {
    const clean = stripNul(x, seen, depth + 1);
    if (clean !== x) rec[k] = clean;
  }
  return v;
}

/**
 * Fastify's option for TRUST_PROXY. A hop count is a function of the hop's position (0: the
 * socket's peer, the nearest proxy): with 1, the address that proxy appended to
 * X-Forwarded-For is the client, whatever the client wrote before it. (Fastify's own number
 * option trusts nothing; `true` would trust every hop.)
 */
function trustedProxies(trust: Config['trustProxy']): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (trust === false) return false;
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  return [...trust];
}
