import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NotFoundError, ValidationError } from '../../platform/errors.ts';
import { redirect } from '../../platform/htmx.ts';
import { randomToken, safeEqual } from '../../platform/crypto.ts';
import { PlatformError } from '../adapter.ts';
import * as repo from '../channels.repository.ts';
import type { ChannelsPorts } from '../ports.ts';
import { listTemplates } from '../whatsapp/templates.repository.ts';
import { refreshTemplates } from '../whatsapp/templates.service.ts';
import { connectWithToken, reconnectWithToken, type ConnectPorts } from './connect.ts';
import { ConnectError, parseAccess } from './forms.ts';
import { connectFromFacebook, facebookChoices } from './oauth-connect.ts';
import { discardSetAside, listSetAside, type SetAsidePorts } from './set-aside.ts';
import { channelForSettings, listChannelsForSettings, updateChannelSettings, type SettingsPorts } from './settings.service.ts';
import { graphClient } from './verify.ts';
import * as oauth from './oauth.ts';

type Body = Record<string, string | string[] | undefined>;
type Params = { id: string };

const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function idParam(req: FastifyRequest<{ Params: Params }>): number {
  const id = Number(req.params.id);
  if (!/^\d{1,9}$/.test(req.params.id) || !Number.isSafeInteger(id) || id <= 0) throw new NotFoundError();
  return id;
}

/** Notices a redirect may ask the list page to show (never free text from the URL). */
const NOTICES = new Set(['connected', 'saved', 'reconnected', 'fb_connected', 'fb_cancelled', 'delivery_retried', 'delivery_still_failing', 'delivery_discarded']);

/** What Settings › Chats needs: each service's ports (the template refresh's among them). */
export type ChannelSettingsRoutesPorts = Pick<ChannelsPorts, 'config' | 'db' | 'logger'> & ConnectPorts & SettingsPorts & SetAsidePorts;

/** Settings › Chats (admins): channels, their settings, manual connect, Facebook Login, reconnect. */
export function channelSettingsRoutes(deps: ChannelSettingsRoutesPorts) {
  const fbConfigured = () => oauth.facebookLoginConfigured(deps.config);
  const cookieOpts = (maxAgeMs: number) => ({
    path: oauth.FACEBOOK_CONNECT_PATH,
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: deps.config.secureCookies,
    maxAge: Math.floor(maxAgeMs / 1000),
  });

  const listPage = async (reply: FastifyReply, extra: Record<string, unknown> = {}, status?: number) => {
    const [channels, setAside] = await Promise.all([listChannelsForSettings(deps.db), listSetAside(deps.db)]);
    return reply.view('settings/channels', { channels, setAside, fbConfigured: fbConfigured(), callbackUrl: oauth.oauthRedirectUri(deps.config), notice: null, alert: null, ...extra }, status);
  };

  const newPage = async (reply: FastifyReply, extra: Record<string, unknown> = {}, status?: number) => {
    const employees = await repo.listActiveEmployees(deps.db);
    return reply.view('settings/channels_new', { employees, values: { kind: 'messenger', access: 'all' }, errors: {}, reason: '', fbConfigured: fbConfigured(), ...extra }, status);
  };

  const editPage = async (reply: FastifyReply, id: number, extra: Record<string, unknown> = {}, status?: number) => {
    const channel = await channelForSettings(deps.db, id);
    if (!channel) throw new NotFoundError();
    const employees = await repo.listActiveEmployees(deps.db);
    const s = channel.settings;
    const values = {
      name: channel.name,
      access: channel.accessAll ? 'all' : 'list',
      employee_ids: channel.accessIds.map(String),
      comments: s.comments ? 'on' : '',
      human_agent: s.humanAgent ? 'on' : '',
      legacy_tags: s.legacyTags ? 'on' : '',
      rate_limit: s.rateLimitPerSecond ? String(s.rateLimitPerSecond) : '',
    };
    const templates = channel.kind === 'whatsapp' ? await listTemplates(deps.db, id) : null;
    return reply.view('settings/channels_edit', { channel, employees, values, errors: {}, note: null, templates, ...extra }, status);
  };

  const reconnectPage = async (reply: FastifyReply, id: number, extra: Record<string, unknown> = {}, status?: number) => {
    const channel = await channelForSettings(deps.db, id);
    if (!channel) throw new NotFoundError();
    return reply.view('settings/channels_reconnect', { channel, errors: {}, reason: '', fbConfigured: fbConfigured(), ...extra }, status);
  };

  const choosePage = async (reply: FastifyReply, userToken: string, extra: Record<string, unknown> = {}, status?: number) => {
    const accounts = await oauth.listFacebookAccounts(graphClient(deps), userToken);
    const [choices, employees] = await Promise.all([facebookChoices(deps, accounts), repo.listActiveEmployees(deps.db)]);
    return reply.view('settings/channels_facebook', { mode: 'choose', choices, employees, values: { access: 'all' }, errors: {}, failures: [], ...extra }, status);
  };

  /** A Graph failure during Facebook Login, shown on the list page. */
  const loginFailed = (reply: FastifyReply, err: unknown) => {
    if (err instanceof ConnectError) {
      const key = Object.values(err.fields)[0] ?? 'channels.error.platform';
      return listPage(reply, { alert: { key, reason: err.reason ?? '' } }, 422);
    }
    if (err instanceof PlatformError) return listPage(reply, { alert: { key: 'channels.fb.denied', reason: err.reason } }, 422);
    throw err;
  };

  return async (app: FastifyInstance) => {
    app.get('/settings/chats', { config: { access: 'admin' } }, async (req: FastifyRequest<{ Querystring: Record<string, string | undefined> }>, reply) => {
      const n = req.query.notice;
      const count = Number(req.query.count);
      const notice = n && NOTICES.has(n) ? { key: `channels.notice.${n}`, count: Number.isSafeInteger(count) ? count : 0 } : null;
      return listPage(reply, { notice });
    });

    // -- Deliveries set aside (R9): Retry runs the change again, Discard hides it -------------
    app.post('/settings/chats/deliveries/:id/retry', { config: { access: 'admin' } }, async (req: FastifyRequest<{ Params: Params }>, reply) => {
      const outcome = await deps.channelHooks.retrySetAside(idParam(req), req.auth!.employeeId);
      return redirect(req, reply, `/settings/chats?notice=${outcome === 'resolved' ? 'delivery_retried' : 'delivery_still_failing'}`);
    });

    app.post('/settings/chats/deliveries/:id/discard', { config: { access: 'admin' } }, async (req: FastifyRequest<{ Params: Params }>, reply) => {
      await discardSetAside(deps, idParam(req), req.auth!.employeeId);
      return redirect(req, reply, '/settings/chats?notice=delivery_discarded');
    });

    // -- Manual connect --------------------------------------------------------------------
    app.get('/settings/chats/new', { config: { access: 'admin' } }, async (_req, reply) => newPage(reply));

    app.post('/settings/chats', { config: { access: 'admin' } }, async (req: FastifyRequest<{ Body: Body }>, reply) => {
      const b = req.body ?? {};
      const input = {
        kind: first(b.kind),
        external_id: first(b.external_id),
        waba_id: first(b.waba_id),
        token: first(b.token),
        name: first(b.name),
        access: first(b.access),
        employee_ids: list(b.employee_ids),
      };
      try {
        await connectWithToken(deps, input);
        return redirect(req, reply, '/settings/chats?notice=connected');
      } catch (err) {
        if (err instanceof ValidationError) {
          // The token is never sent back into the page.
          const { token: _token, ...values } = input;
          return newPage(reply, { values, errors: err.fields, reason: err instanceof ConnectError ? (err.reason ?? '') : '' }, 422);
        }
        throw err;
      }
    });

    // -- Facebook Login --------------------------------------------------------------------
    app.get(oauth.FACEBOOK_CONNECT_PATH, { config: { access: 'admin' } }, async (req, reply) => {
      if (!fbConfigured()) return reply.view('settings/channels_facebook', { mode: 'setup', callbackUrl: oauth.oauthRedirectUri(deps.config) });
      const state = randomToken(24);
      reply.setCookie(oauth.OAUTH_STATE_COOKIE, oauth.sealCookie(deps.config.secretKey, 'fb-state', req.auth!.employeeId, state, oauth.OAUTH_STATE_TTL_MS), cookieOpts(oauth.OAUTH_STATE_TTL_MS));
      return reply.redirect(oauth.oauthDialogUrl(deps.config, state), 303);
    });

    app.get(oauth.FACEBOOK_CALLBACK_PATH, { config: { access: 'admin' } }, async (req: FastifyRequest<{ Querystring: Record<string, string | undefined> }>, reply) => {
      const q = req.query;
      const expected = oauth.openCookie(deps.config.secretKey, 'fb-state', req.auth!.employeeId, req.cookies[oauth.OAUTH_STATE_COOKIE]);
      reply.clearCookie(oauth.OAUTH_STATE_COOKIE, { path: oauth.FACEBOOK_CONNECT_PATH });
      if (!expected || typeof q.state !== 'string' || !safeEqual(q.state, expected)) {
        req.log.info('facebook login: state missing or wrong');
        return listPage(reply, { alert: { key: 'channels.fb.state_invalid', reason: '' } }, 400);
      }
      if (q.error) {
        if (q.error === 'access_denied') return redirect(req, reply, '/settings/chats?notice=fb_cancelled');
        return listPage(reply, { alert: { key: 'channels.fb.denied', reason: (q.error_description ?? q.error).slice(0, 300) } }, 400);
      }
      if (!q.code) return listPage(reply, { alert: { key: 'channels.fb.state_invalid', reason: '' } }, 400);
      let userToken: string;
      try {
        userToken = await oauth.exchangeCode(graphClient(deps), deps.config, q.code);
      } catch (err) {
        if (err instanceof PlatformError) return loginFailed(reply, err);
        throw err;
      }
      reply.setCookie(oauth.OAUTH_LOGIN_COOKIE, oauth.sealCookie(deps.config.secretKey, 'fb-login', req.auth!.employeeId, userToken, oauth.OAUTH_LOGIN_TTL_MS), cookieOpts(oauth.OAUTH_LOGIN_TTL_MS));
      return redirect(req, reply, oauth.FACEBOOK_CHOOSE_PATH);
    });

    app.get(oauth.FACEBOOK_CHOOSE_PATH, { config: { access: 'admin' } }, async (req, reply) => {
      const userToken = oauth.openCookie(deps.config.secretKey, 'fb-login', req.auth!.employeeId, req.cookies[oauth.OAUTH_LOGIN_COOKIE]);
      if (!userToken) return listPage(reply, { alert: { key: 'channels.fb.expired', reason: '' } }, 400);
      try {
        return await choosePage(reply, userToken);
      } catch (err) {
        return loginFailed(reply, err);
      }
    });

    app.post(oauth.FACEBOOK_CHOOSE_PATH, { config: { access: 'admin' } }, async (req: FastifyRequest<{ Body: Body }>, reply) => {
      const userToken = oauth.openCookie(deps.config.secretKey, 'fb-login', req.auth!.employeeId, req.cookies[oauth.OAUTH_LOGIN_COOKIE]);
      if (!userToken) return listPage(reply, { alert: { key: 'channels.fb.expired', reason: '' } }, 400);
      const b = req.body ?? {};
      const chosen = { messenger: list(b.messenger), instagram: list(b.instagram) };
      const values = { access: first(b.access), employee_ids: list(b.employee_ids), messenger: chosen.messenger, instagram: chosen.instagram };
      const errors: Record<string, string> = {};
      const access = await parseAccess(deps.db, values.access, values.employee_ids, errors);
      if (!chosen.messenger.length && !chosen.instagram.length) errors.form = 'channels.fb.nothing_chosen';
      try {
        if (Object.keys(errors).length) return await choosePage(reply, userToken, { values, errors }, 422);
        const r = await connectFromFacebook(deps, userToken, chosen, access);
        if (r.matched === 0) return await choosePage(reply, userToken, { values, errors: { form: 'channels.fb.nothing_chosen' } }, 422);
        if (r.failures.length) return await choosePage(reply, userToken, { values, failures: r.failures }, 422);
        reply.clearCookie(oauth.OAUTH_LOGIN_COOKIE, { path: oauth.FACEBOOK_CONNECT_PATH });
        return redirect(req, reply, `/settings/chats?notice=fb_connected&count=${r.connected.length}`);
      } catch (err) {
        return loginFailed(reply, err);
      }
    });

    // -- One channel ------------------------------------------------------------------------
    app.get('/settings/chats/:id', { config: { access: 'admin' } }, async (req: FastifyRequest<{ Params: Params; Querystring: Record<string, string | undefined> }>, reply) => {
      const id = idParam(req);
      const q = req.query;
      let note: unknown = null;
      if (q.note === 'comments_unverified') note = { key: 'channels.note.comments_unverified', perms: '' };
      if (q.note === 'templates') note = { key: 'channels.wa.templates_refreshed', perms: '', n: Number(q.n) || 0, ok: true };
      if (q.note === 'comments_missing') {
        const perms = (q.perms ?? '')
          .split(',')
          .filter((p) => /^[a-z_]{1,60}$/.test(p))
          .slice(0, 10)
          .join(', ');
        note = { key: 'channels.note.comments_missing', perms };
      }
      return editPage(reply, id, { note, saved: q.saved === '1' });
    });

    app.post('/settings/chats/:id', { config: { access: 'admin' } }, async (req: FastifyRequest<{ Params: Params; Body: Body }>, reply) => {
      const id = idParam(req);
      const b = req.body ?? {};
      const input = {
        name: first(b.name),
        access: first(b.access),
        employee_ids: list(b.employee_ids),
        comments: first(b.comments),
        human_agent: first(b.human_agent),
        legacy_tags: first(b.legacy_tags),
        rate_limit: first(b.rate_limit),
      };
      try {
        const { commentsNote } = await updateChannelSettings(deps, id, input);
        if (commentsNote === 'unverified') return redirect(req, reply, `/settings/chats/${id}?saved=1&note=comments_unverified`);
        if (commentsNote) return redirect(req, reply, `/settings/chats/${id}?saved=1&note=comments_missing&perms=${encodeURIComponent(commentsNote.missing.join(','))}`);
        return redirect(req, reply, '/settings/chats?notice=saved');
      } catch (err) {
        if (err instanceof ValidationError) return editPage(reply, id, { values: input, errors: err.fields }, 422);
        throw err;
      }
    });

    app.post('/settings/chats/:id/templates', { config: { access: 'admin' } }, async (req: FastifyRequest<{ Params: Params }>, reply) => {
      const id = idParam(req);
      try {
        const n = await refreshTemplates(deps, id);
        return redirect(req, reply, `/settings/chats/${id}?note=templates&n=${n}`);
      } catch (err) {
        if (!(err instanceof PlatformError)) throw err;
        return editPage(reply, id, { note: { key: 'chats.template.refresh_failed', perms: '', reason: err.reason } }, 422);
      }
    });

    app.get('/settings/chats/:id/reconnect', { config: { access: 'admin' } }, async (req: FastifyRequest<{ Params: Params }>, reply) => reconnectPage(reply, idParam(req)));

    app.post('/settings/chats/:id/reconnect', { config: { access: 'admin' } }, async (req: FastifyRequest<{ Params: Params; Body: Body }>, reply) => {
      const id = idParam(req);
      try {
        await reconnectWithToken(deps, id, first(req.body?.token));
        return redirect(req, reply, '/settings/chats?notice=reconnected');
      } catch (err) {
        if (err instanceof ValidationError) return reconnectPage(reply, id, { errors: err.fields, reason: err instanceof ConnectError ? (err.reason ?? '') : '' }, 422);
        throw err;
      }
    });
  };
}
