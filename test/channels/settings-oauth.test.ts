// Facebook Login end to end against the emulator (B2): Parley → dialog → the user picks Pages →
// callback (state checked, code exchanged) → the admin chooses → channels created and subscribed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../emulator/index.ts';
import { decryptSecret } from '../../src/platform/crypto.ts';
import { visibleChannelIds } from '../../src/chats/access.repository.ts';
import { updateChannel } from '../../src/channels/channels.repository.ts';
import { FACEBOOK_LOGIN_SCOPES, oauthDialogBaseUrl } from '../../src/channels/settings/oauth.ts';
import { as, createTestApp, login, makeEmployee, type Session, type TestApp } from '../helpers.ts';

const PAGE = '104455667788990';
const CONFIG_TOKEN = 'EAAEMUpage104455667788990';
const IG = '17841400011122233';

let emu: Emulator;
let t: TestApp;
let admin: Session;
let otherAdmin: Session;
let ana: { id: number; email: string };

beforeAll(async () => {
  emu = await startEmulator({ webhooks: { handshakeOnStart: false } });
  t = await createTestApp({
    env: { META_GRAPH_URL: emu.url, META_APP_ID: emu.config.appId, META_APP_SECRET: emu.config.appSecret, META_VERIFY_TOKEN: 'verify-me-please' },
  });
  const a = await makeEmployee(t.deps, { role: 'admin', email: 'admin@shop.test', name: 'Olga Admin' });
  const b = await makeEmployee(t.deps, { role: 'admin', email: 'boss@shop.test', name: 'Boss' });
  ana = await makeEmployee(t.deps, { role: 'agent', email: 'ana@shop.test', name: 'Ana Agent' });
  admin = await login(t.app, a.email);
  otherAdmin = await login(t.app, b.email);
});
afterAll(async () => {
  await t?.close();
  await emu?.close();
});

function setCookies(res: { headers: Record<string, unknown> }): Record<string, { value: string; raw: string }> {
  const out: Record<string, { value: string; raw: string }> = {};
  for (const c of ([] as string[]).concat((res.headers['set-cookie'] as string | string[] | undefined) ?? [])) {
    const [pair] = c.split(';');
    const i = pair!.indexOf('=');
    out[pair!.slice(0, i)] = { value: pair!.slice(i + 1), raw: c };
  }
  return out;
}

const withCookies = (s: Session, extra: Record<string, string>) => ({
  cookie: [s.cookie, ...Object.entries(extra).map(([k, v]) => `${k}=${v}`)].join('; '),
});

/** Starts the login in Parley and returns the dialog URL and the state cookie. */
async function start(s: Session = admin) {
  const res = await as(t.app, s).get('/settings/chats/connect/facebook');
  expect(res.statusCode).toBe(303);
  const cookies = setCookies(res);
  expect(cookies.parley_fb_state).toBeDefined();
  expect(cookies.parley_fb_state!.raw).toMatch(/HttpOnly/i);
  expect(cookies.parley_fb_state!.raw).toMatch(/Path=\/settings\/chats\/connect\/facebook/);
  return { dialog: new URL(res.headers.location as string), stateCookie: cookies.parley_fb_state!.value };
}

/** Plays the user on the emulated Facebook dialog: opens it, submits the form, returns the redirect. */
async function consent(dialog: URL, action: 'continue' | 'cancel' = 'continue'): Promise<URL> {
  const page = await fetch(dialog);
  expect(page.status).toBe(200);
  const html = await page.text();
  const form = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) form.append(m[1]!, m[2]!.replace(/&amp;/g, '&'));
  for (const m of html.matchAll(/<input type="checkbox" name="page_ids" value="([^"]+)" checked/g)) form.append('page_ids', m[1]!);
  form.set('action', action);
  const action_ = /<form method="post" action="([^"]+)"/.exec(html)![1]!;
  const res = await fetch(new URL(action_, dialog), { method: 'POST', body: form, redirect: 'manual' });
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location')!);
}

/** Hands the redirect back to Parley (the browser follows it with its cookies). */
function callback(redirect: URL, s: Session, cookies: Record<string, string>) {
  return as(t.app, s).get(`${redirect.pathname}${redirect.search}`, withCookies(s, cookies));
}

describe('Facebook Login (B2)', () => {
  it('redirects to the dialog with the app id, redirect URI, state and the §9 scopes', async () => {
    const { dialog } = await start();
    expect(`${dialog.origin}${dialog.pathname}`).toBe(`${emu.url}/${t.config.meta.graphVersion}/dialog/oauth`);
    expect(dialog.searchParams.get('client_id')).toBe(emu.config.appId);
    expect(dialog.searchParams.get('redirect_uri')).toBe(`${t.config.publicUrl}/settings/chats/connect/facebook/callback`);
    expect(dialog.searchParams.get('state')!.length).toBeGreaterThanOrEqual(20);
    expect(dialog.searchParams.get('scope')!.split(',')).toEqual([...FACEBOOK_LOGIN_SCOPES]);
    expect(dialog.searchParams.get('client_secret')).toBeNull();
  });

  it('connects the chosen Page and its Instagram account end to end, tokens kept server-side', async () => {
    const { dialog, stateCookie } = await start();
    const back = await consent(dialog);
    expect(back.pathname).toBe('/settings/chats/connect/facebook/callback');
    expect(back.searchParams.get('state')).toBe(dialog.searchParams.get('state'));
    expect(back.searchParams.get('code')).toBeTruthy();

    const cb = await callback(back, admin, { parley_fb_state: stateCookie });
    expect([cb.statusCode, cb.headers.location]).toEqual([303, '/settings/chats/connect/facebook/choose']);
    const login = setCookies(cb).parley_fb_login!;
    expect(login.raw).toMatch(/HttpOnly/i);
    expect(login.value).not.toMatch(/EAAEMU/);

    const choose = await as(t.app, admin).get('/settings/chats/connect/facebook/choose', withCookies(admin, { parley_fb_login: login.value }));
    expect(choose.statusCode).toBe(200);
    expect(choose.body).toContain('Demo Repair Shop');
    expect(choose.body).toContain(`name="messenger" value="${PAGE}"`);
    expect(choose.body).toContain(`name="instagram" value="${IG}"`);
    expect(choose.body).not.toMatch(/EAAEMU/); // no token in the HTML

    const before = emu.calls({ method: 'POST', pathIncludes: '/subscribed_apps' }).length;
    const done = await as(t.app, admin).post(
      '/settings/chats/connect/facebook/choose',
      { messenger: PAGE, instagram: IG, access: 'list', employee_ids: [String(ana.id)] },
      { headers: withCookies(admin, { parley_fb_login: login.value }) },
    );
    expect([done.statusCode, done.headers.location]).toEqual([303, '/settings/chats?notice=fb_connected&count=2']);
    expect(setCookies(done).parley_fb_login?.value ?? '').toBe(''); // cleared

    const rows = await t.deps.db.selectFrom('channels').selectAll().orderBy('id').execute();
    expect(rows.map((r) => [r.kind, r.external_id, r.parent_external_id, r.name, r.state, r.access_all])).toEqual([
      ['messenger', PAGE, null, 'Demo Repair Shop', 'connected', false],
      ['instagram', IG, PAGE, 'Demo Repair Shop', 'connected', false],
    ]);
    for (const r of rows) expect(await visibleChannelIds(t.deps.db, ana.id)).toContain(r.id);
    const tokens = rows.map((r) => (JSON.parse(decryptSecret(t.deps.config.secretKey, r.credentials_enc!)) as { accessToken: string }).accessToken);
    expect(tokens[0]).toMatch(/^EAAEMUpage/);
    expect(tokens[0]).not.toBe(CONFIG_TOKEN); // the Page token Facebook Login handed out
    for (const r of rows) expect(r.credentials_enc).not.toContain(tokens[0]!);
    const subs = emu.calls({ method: 'POST', pathIncludes: '/subscribed_apps' }).slice(before);
    expect(subs).toHaveLength(2);
    for (const c of subs) expect(c).toMatchObject({ path: `/${PAGE}/subscribed_apps`, token: tokens[0], status: 200 });

    const list = await as(t.app, admin).get(done.headers.location as string);
    expect(list.body).toContain('Channels connected with Facebook Login: 2.');
  });

  it('going through it again reconnects the channels in place (new token, connected)', async () => {
    const m = (await t.deps.db.selectFrom('channels').selectAll().where('kind', '=', 'messenger').executeTakeFirst())!;
    await updateChannel(t.deps.db, m.id, { state: 'needs_reconnect', stateReason: 'Session has been invalidated (code 190/460)' });
    const { dialog, stateCookie } = await start();
    const cb = await callback(await consent(dialog), admin, { parley_fb_state: stateCookie });
    const login = setCookies(cb).parley_fb_login!.value;
    const choose = await as(t.app, admin).get('/settings/chats/connect/facebook/choose', withCookies(admin, { parley_fb_login: login }));
    expect(choose.body).toContain('already connected: it will be reconnected');
    const done = await as(t.app, admin).post('/settings/chats/connect/facebook/choose', { messenger: PAGE, access: 'all' }, { headers: withCookies(admin, { parley_fb_login: login }) });
    expect(done.statusCode).toBe(303);
    const rows = await t.deps.db.selectFrom('channels').selectAll().execute();
    expect(rows).toHaveLength(2);
    const again = rows.find((r) => r.id === m.id)!;
    expect(again).toMatchObject({ state: 'connected', state_reason: null, access_all: false, name: m.name });
    expect(again.credentials_enc).not.toBe(m.credentials_enc);
  });

  it('refuses a callback whose state does not match, or that another admin started', async () => {
    const { dialog, stateCookie } = await start();
    const back = await consent(dialog);
    const forged = new URL(back);
    forged.searchParams.set('state', 'someone-elses-state-value-123');
    const bad = await callback(forged, admin, { parley_fb_state: stateCookie });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('did not start here');
    expect(setCookies(bad).parley_fb_login).toBeUndefined();

    const noCookie = await callback(back, admin, {});
    expect(noCookie.statusCode).toBe(400);
    const other = await callback(back, otherAdmin, { parley_fb_state: stateCookie });
    expect(other.statusCode).toBe(400);
    // The choose step needs the sealed login cookie of this admin.
    const expired = await as(t.app, admin).get('/settings/chats/connect/facebook/choose');
    expect(expired.statusCode).toBe(400);
    expect(expired.body).toContain('session has expired');
    const garbage = await as(t.app, admin).post('/settings/chats/connect/facebook/choose', { messenger: PAGE }, { headers: withCookies(admin, { parley_fb_login: 'v1.abc.def.ghi' }) });
    expect(garbage.statusCode).toBe(400);
  });

  it('a cancelled dialog connects nothing', async () => {
    const n = (await t.deps.db.selectFrom('channels').select('id').execute()).length;
    const { dialog, stateCookie } = await start();
    const back = await consent(dialog, 'cancel');
    expect(back.searchParams.get('error')).toBe('access_denied');
    const res = await callback(back, admin, { parley_fb_state: stateCookie });
    expect([res.statusCode, res.headers.location]).toEqual([303, '/settings/chats?notice=fb_cancelled']);
    expect((await t.deps.db.selectFrom('channels').select('id').execute()).length).toBe(n);
  });

  it('the choose step needs at least one account and only accepts accounts Facebook returned', async () => {
    const { dialog, stateCookie } = await start();
    const cb = await callback(await consent(dialog), admin, { parley_fb_state: stateCookie });
    const login = setCookies(cb).parley_fb_login!.value;
    const none = await as(t.app, admin).post('/settings/chats/connect/facebook/choose', { access: 'all' }, { headers: withCookies(admin, { parley_fb_login: login }) });
    expect(none.statusCode).toBe(422);
    expect(none.body).toContain('Tick at least one Page or Instagram account.');
    const n = (await t.deps.db.selectFrom('channels').select('id').execute()).length;
    const stranger = await as(t.app, admin).post('/settings/chats/connect/facebook/choose', { messenger: '999999999', access: 'all' }, { headers: withCookies(admin, { parley_fb_login: login }) });
    expect(stranger.statusCode).toBe(422);
    expect(stranger.body).toContain('Tick at least one Page or Instagram account.');
    expect((await t.deps.db.selectFrom('channels').select('id').execute()).length).toBe(n);
  });
});

describe('Facebook Login not configured', () => {
  it('explains what to configure instead of failing (and an unreachable Graph API is a clear 422)', async () => {
    const bare = await createTestApp({ env: { META_GRAPH_URL: 'http://127.0.0.1:1' } });
    try {
      const a = await makeEmployee(bare.deps, { role: 'admin', email: 'solo@shop.test' });
      const s = await login(bare.app, a.email);
      const list = await as(bare.app, s).get('/settings/chats');
      expect(list.statusCode).toBe(200);
      expect(list.body).not.toContain('id="connect-facebook"');
      expect(list.body).toContain('META_APP_ID and META_APP_SECRET');
      expect(list.body).toContain(`${bare.config.publicUrl}/settings/chats/connect/facebook/callback`);
      const fb = await as(bare.app, s).get('/settings/chats/connect/facebook');
      expect(fb.statusCode).toBe(200);
      expect(fb.body).toContain('id="facebook-setup"');
      expect(fb.body).toContain('href="/settings/chats/new"');

      const res = await as(bare.app, s).post('/settings/chats', { kind: 'messenger', external_id: PAGE, token: CONFIG_TOKEN, name: 'Shop', access: 'all' });
      expect(res.statusCode).toBe(422);
      expect(res.body).toContain('Could not reach Meta’s Graph API (Could not reach the platform');
      expect(res.body).toContain('value="Shop"');
      expect(res.body).not.toContain(CONFIG_TOKEN);
      expect(await bare.deps.db.selectFrom('channels').select('id').execute()).toEqual([]);
    } finally {
      await bare.close();
    }
  });

  it('the dialog lives on www.facebook.com for Meta, on the Graph URL for the emulator, or where META_OAUTH_DIALOG_URL says', () => {
    const meta = (graphUrl: string) => ({ meta: { graphUrl, graphVersion: 'v23.0', appId: '1', appSecret: 's', verifyToken: undefined, oauthDialogUrl: undefined } });
    expect(oauthDialogBaseUrl(meta('https://graph.facebook.com'), {})).toBe('https://www.facebook.com');
    expect(oauthDialogBaseUrl(meta('http://127.0.0.1:4100'), {})).toBe('http://127.0.0.1:4100');
    expect(oauthDialogBaseUrl(meta('https://graph.facebook.com'), { META_OAUTH_DIALOG_URL: 'https://login.example.test/' })).toBe('https://login.example.test');
    expect(oauthDialogBaseUrl(meta('https://graph.facebook.com'), { META_OAUTH_DIALOG_URL: 'javascript:alert(1)' })).toBe('https://www.facebook.com');
  });
});
