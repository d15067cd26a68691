// Facebook Login (product B2): the OAuth dialog where the "user" picks the Pages to grant,
// the code exchange, long-lived token exchange, and /me, /me/accounts, /me/permissions.
import type { Ctx } from '../context.ts';
import { DEFAULT_SCOPES, type Channel, type TokenGrant } from '../state.ts';
import { html, page } from '../ui/html.ts';
import { authenticate, pageTokenForUser } from './auth.ts';
import { GraphError, errors } from './errors.ts';
import { parseFields } from './fields.ts';
import { paginate } from './paging.ts';
import { pageJson } from './objects.ts';
import { listParam, stringParam, type GraphRequest, type GraphResponse } from './request.ts';

const CODE_TTL_MS = 10 * 60_000;
/** What Graph reports for a long-lived user token: ~60 days. */
const USER_TOKEN_TTL_S = 5_183_944;

function oauthError(code: number, message: string, subcode?: number): GraphError {
  return new GraphError(400, { message, type: 'OAuthException', code, ...(subcode ? { error_subcode: subcode } : {}) });
}

function managedPages(ctx: Ctx): Channel[] {
  const ids = ctx.config.user.pageIds;
  return [...ctx.store.channels.values()].filter((c) => c.platform === 'messenger' && (!ids || ids.includes(c.id)));
}

function validRedirect(uri: string | undefined): uri is string {
  if (!uri) return false;
  try {
    const url = new URL(uri);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

function errorPage(message: string): GraphResponse {
  return { status: 400, html: page('Login error', html`<section class="card"><h1>Sorry, something went wrong</h1><p>${message}</p></section>`) };
}

/** GET /{version}/dialog/oauth — the consent page. */
export function oauthDialog(ctx: Ctx, req: GraphRequest): GraphResponse {
  const q = req.query;
  if (q.client_id !== ctx.config.appId) return errorPage(`Invalid App ID: ${q.client_id ?? '(missing)'} (the emulated app id is ${ctx.config.appId}).`);
  if (!validRedirect(q.redirect_uri)) return errorPage('redirect_uri must be an absolute http(s) URL.');
  const scopes = (q.scope ?? '').split(/[ ,]+/).filter(Boolean);
  const pages = managedPages(ctx);
  const body = html`
<section class="card oauth">
  <h1>${ctx.config.appName} wants to connect to your Facebook account</h1>
  <p>You are logged in as <strong>${ctx.config.user.name}</strong> (user id ${ctx.config.user.id}).</p>
  <form method="post" action="/${req.version}/dialog/oauth">
    <input type="hidden" name="client_id" value="${q.client_id}">
    <input type="hidden" name="redirect_uri" value="${q.redirect_uri}">
    <input type="hidden" name="state" value="${q.state ?? ''}">
    <input type="hidden" name="scope" value="${scopes.join(',')}">
    <h2>Choose the Pages ${ctx.config.appName} may use</h2>
    ${pages.map((p) => {
      const ig = p.instagramId ? ctx.store.channels.get(p.instagramId) : undefined;
      return html`<label class="choice"><input type="checkbox" name="page_ids" value="${p.id}" checked> <strong>${p.name}</strong> <small>Page ${p.id}</small>${
        ig ? html` <small>· Instagram @${ig.username ?? ''}</small>` : ''
      }</label>`;
    })}
    <h2>Requested permissions</h2>
    <ul class="scopes">${(scopes.length ? scopes : ['public_profile']).map((s) => html`<li><code>${s}</code></li>`)}</ul>
    <p class="actions"><button type="submit" name="action" value="continue">Continue</button>
    <button type="submit" name="action" value="cancel" class="secondary">Cancel</button></p>
  </form>
</section>`;
  return { html: page('Log in with Facebook', body) };
}

/** POST /{version}/dialog/oauth — the user's choice; redirects like Facebook does. */
export function oauthDialogSubmit(ctx: Ctx, req: GraphRequest): GraphResponse {
  const p = req.params;
  const clientId = stringParam(p, 'client_id');
  const redirectUri = stringParam(p, 'redirect_uri');
  const state = stringParam(p, 'state') ?? '';
  if (clientId !== ctx.config.appId) return errorPage('Invalid App ID.');
  if (!validRedirect(redirectUri)) return errorPage('redirect_uri must be an absolute http(s) URL.');
  const url = new URL(redirectUri);
  if (stringParam(p, 'action') === 'cancel') {
    url.searchParams.set('error', 'access_denied');
    url.searchParams.set('error_code', '200');
    url.searchParams.set('error_description', 'Permissions error');
    url.searchParams.set('error_reason', 'user_denied');
    url.searchParams.set('state', state);
    return { redirect: url.toString() };
  }
  const managed = new Set(managedPages(ctx).map((c) => c.id));
  const pageIds = (listParam(p, 'page_ids') ?? []).filter((id) => managed.has(id));
  const scopes = (stringParam(p, 'scope') ?? '').split(/[ ,]+/).filter(Boolean);
  const code = issueCode(ctx, { clientId, redirectUri, pageIds, scopes });
  url.searchParams.set('code', code);
  url.searchParams.set('state', state);
  // Facebook appends "#_=_" to the redirect.
  return { redirect: `${url.toString()}#_=_` };
}

export function issueCode(ctx: Ctx, input: { clientId: string; redirectUri: string; pageIds: string[]; scopes: string[] }): string {
  const code = ctx.ids.oauthCode();
  ctx.store.oauthCodes.set(code, { code, ...input, scopes: input.scopes.length ? input.scopes : DEFAULT_SCOPES, createdAt: ctx.clock.now(), used: false });
  return code;
}

function mintUserToken(ctx: Ctx, pageIds: string[], scopes: string[]): TokenGrant {
  const now = ctx.clock.now();
  return ctx.store.addToken({ token: ctx.ids.token('EAAEMUuser'), kind: 'user', channelIds: pageIds, scopes, userId: ctx.config.user.id, now, expiresAt: now + USER_TOKEN_TTL_S * 1000 });
}

/** GET /{version}/oauth/access_token — code exchange or fb_exchange_token. */
export function oauthAccessToken(ctx: Ctx, req: GraphRequest): GraphResponse {
  const q = { ...req.query, ...Object.fromEntries(Object.entries(req.params).map(([k, v]) => [k, String(v)])) };
  if (q.client_id !== ctx.config.appId) throw oauthError(101, 'Error validating application. Invalid application ID.');
  if (q.client_secret !== ctx.config.appSecret) throw oauthError(1, 'Error validating client secret.');
  if (q.grant_type === 'fb_exchange_token') {
    const old = authenticate(ctx, q.fb_exchange_token, 'graph');
    if (old.kind !== 'user') throw errors.invalidParam('fb_exchange_token must be a user access token');
    const grant = mintUserToken(ctx, old.channelIds, old.scopes);
    return { json: { access_token: grant.token, token_type: 'bearer', expires_in: USER_TOKEN_TTL_S }, mutating: true };
  }
  if (q.grant_type === 'client_credentials') {
    return { json: { access_token: `${ctx.config.appId}|${ctx.config.appSecret}`, token_type: 'bearer' } };
  }
  const code = q.code ? ctx.store.oauthCodes.get(q.code) : undefined;
  if (!code) throw oauthError(100, 'Invalid verification code format.', 36007);
  if (code.used) throw oauthError(100, 'This authorization code has been used.', 36009);
  if (ctx.clock.now() - code.createdAt > CODE_TTL_MS) throw oauthError(100, 'This authorization code has expired.', 36007);
  if (q.redirect_uri !== code.redirectUri) {
    throw oauthError(100, 'Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request', 36008);
  }
  code.used = true;
  const grant = mintUserToken(ctx, code.pageIds, code.scopes);
  return { json: { access_token: grant.token, token_type: 'bearer', expires_in: USER_TOKEN_TTL_S }, mutating: true };
}

/** GET /me/accounts — the Pages the user granted, with Page tokens and tasks. */
export function meAccounts(ctx: Ctx, req: GraphRequest, selfUrl: string): GraphResponse {
  const grant = authenticate(ctx, req.token, 'graph');
  if (grant.kind !== 'user') throw oauthError(100, '(#100) Tried accessing nonexisting field (accounts) on node type (Page)');
  const fields = parseFields(req.query.fields ?? 'access_token,category,category_list,name,id,tasks');
  const pages = grant.channelIds.map((id) => ctx.store.channels.get(id)).filter((c): c is Channel => c?.platform === 'messenger');
  const page = paginate(pages, req.query, 25, selfUrl, (p) => pageJson(ctx, p, fields, { access_token: pageTokenForUser(ctx, grant, p) }));
  return { json: page };
}

export function meObject(ctx: Ctx, req: GraphRequest): GraphResponse | undefined {
  const grant = authenticate(ctx, req.token, 'graph');
  if (grant.kind !== 'user') return undefined;
  return { json: { name: ctx.config.user.name, id: ctx.config.user.id } };
}

export function mePermissions(ctx: Ctx, req: GraphRequest): GraphResponse {
  const grant = authenticate(ctx, req.token, 'graph');
  if (req.method === 'DELETE') {
    grant.revoked = true;
    return { json: { success: true }, mutating: true };
  }
  return { json: { data: grant.scopes.map((permission) => ({ permission, status: 'granted' })) } };
}

/** GET /debug_token?input_token=… (app token or any valid token as access_token). */
export function debugToken(ctx: Ctx, req: GraphRequest): GraphResponse {
  const appToken = `${ctx.config.appId}|${ctx.config.appSecret}`;
  if (req.token !== appToken) authenticate(ctx, req.token, 'graph');
  const input = req.query.input_token;
  const grant = input ? ctx.store.tokens.get(input) : undefined;
  if (!grant) return { json: { data: { error: { code: 190, message: 'Invalid OAuth access token.' }, is_valid: false, scopes: [] } } };
  const type = grant.kind === 'user' ? 'USER' : grant.kind === 'system' ? 'SYSTEM_USER' : 'PAGE';
  const valid = !grant.revoked && (grant.expiresAt === undefined || grant.expiresAt > ctx.clock.now());
  const data: Record<string, unknown> = {
    app_id: ctx.config.appId,
    type,
    application: ctx.config.appName,
    data_access_expires_at: 0,
    expires_at: grant.expiresAt ? Math.floor(grant.expiresAt / 1000) : 0,
    is_valid: valid,
    scopes: grant.scopes,
    granular_scopes: grant.scopes.map((scope) => ({ scope, target_ids: grant.channelIds })),
    user_id: grant.userId ?? ctx.config.user.id,
  };
  if (grant.kind === 'page') data.profile_id = grant.channelIds[0];
  if (!valid) data.error = { code: 190, subcode: grant.revoked ? 460 : 463, message: 'Error validating access token.' };
  return { json: { data } };
}
