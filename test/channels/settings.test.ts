// Settings › Chats (B2, B3, H1, A1): manual connect against the Meta emulator, per-channel
// settings and access, reconnect, the admin banner, admins only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../emulator/index.ts';
import { decryptSecret } from '../../src/platform/crypto.ts';
import { visibleChannelIds } from '../../src/chats/access.repository.ts';
import { updateChannel } from '../../src/channels/channels.repository.ts';
import { ACCESS_CHANGED } from '../../src/platform/live/hub.ts';
import { renderPartial } from '../../src/platform/views.ts';
import { ConnectError } from '../../src/channels/settings/forms.ts';
import { channelsNeedingReconnect } from '../../src/channels/settings/settings.service.ts';
import { MESSENGER_PAGE_FIELDS, verifyAccount } from '../../src/channels/settings/verify.ts';
import { as, createTestApp, login, makeEmployee, type Session, type TestApp } from '../helpers.ts';

const PAGE = '104455667788990';
const TOKEN = 'EAAEMUpage104455667788990';
const IG = '17841400011122233';

let emu: Emulator;
let t: TestApp;
let admin: Session;
let agent: Session;
let ana: { id: number; email: string };
let bob: { id: number; email: string };

beforeAll(async () => {
  emu = await startEmulator({ webhooks: { handshakeOnStart: false } });
  t = await createTestApp({
    env: { META_GRAPH_URL: emu.url, META_APP_ID: emu.config.appId, META_APP_SECRET: emu.config.appSecret, META_VERIFY_TOKEN: 'verify-me-please' },
  });
  const a = await makeEmployee(t.deps, { role: 'admin', email: 'admin@shop.test', name: 'Olga Admin' });
  ana = await makeEmployee(t.deps, { role: 'agent', email: 'ana@shop.test', name: 'Ana Agent' });
  bob = await makeEmployee(t.deps, { role: 'agent', email: 'bob@shop.test', name: 'Bob Agent' });
  admin = await login(t.app, a.email);
  agent = await login(t.app, ana.email);
});
afterAll(async () => {
  await t?.close();
  await emu?.close();
});

const channelRow = (kind: string, externalId: string) => t.deps.db.selectFrom('channels').selectAll().where('kind', '=', kind).where('external_id', '=', externalId).executeTakeFirst();
const channelCount = async () => (await t.deps.db.selectFrom('channels').select('id').execute()).length;
const subscribeCalls = () => emu.calls({ method: 'POST', pathIncludes: '/subscribed_apps' });

describe('manual connect (B2)', () => {
  it('answers a bad token with 422 "token invalid", keeps the values but never the token, and creates nothing', async () => {
    const n = await channelCount();
    const calls = subscribeCalls().length;
    const res = await as(t.app, admin).post('/settings/chats', { kind: 'messenger', external_id: PAGE, token: 'EAAbogus-token-value', name: 'My <b>Page</b>', access: 'all' });
    expect(res.statusCode).toBe(422);
    expect(res.body).toContain('Meta refused this token (invalid or expired, error 190)');
    expect(res.body).toContain(`value="${PAGE}"`);
    expect(res.body).toContain('My &lt;b&gt;Page&lt;/b&gt;');
    expect(res.body).not.toContain('EAAbogus-token-value');
    expect(await channelCount()).toBe(n);
    expect(subscribeCalls().length).toBe(calls);
  });

  it('verifies the token, subscribes the Page, stores the token encrypted, lists the channel', async () => {
    const before = subscribeCalls().length;
    const res = await as(t.app, admin).post('/settings/chats', { kind: 'messenger', external_id: PAGE, token: TOKEN, name: '', access: 'all' });
    expect([res.statusCode, res.headers.location]).toEqual([303, '/settings/chats?notice=connected']);

    const row = (await channelRow('messenger', PAGE))!;
    expect(row).toMatchObject({ name: 'Demo Repair Shop', state: 'connected', access_all: true, parent_external_id: null });
    expect(row.credentials_enc).toBeTruthy();
    expect(row.credentials_enc).not.toContain(TOKEN);
    expect(JSON.parse(decryptSecret(t.deps.config.secretKey, row.credentials_enc!))).toEqual({ accessToken: TOKEN });
    expect(row.settings).toMatchObject({ comments: false, humanAgent: false, legacyTags: false });

    // What Parley sent to the platform: the Page subscribed with the Messenger fields, with its token.
    const calls = subscribeCalls().slice(before);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ path: `/${PAGE}/subscribed_apps`, token: TOKEN, status: 200 });
    const fields = String(calls[0]!.query.subscribed_fields ?? (calls[0]!.body as Record<string, string>).subscribed_fields).split(',');
    for (const f of MESSENGER_PAGE_FIELDS) expect(fields).toContain(f);
    expect(emu.channel(PAGE).subscribedFields).toEqual(expect.arrayContaining([...MESSENGER_PAGE_FIELDS]));

    const list = await as(t.app, admin).get('/settings/chats?notice=connected');
    expect(list.statusCode).toBe(200);
    expect(list.body).toContain(`id="channel-${row.id}"`);
    expect(list.body).toContain('Demo Repair Shop');
    expect(list.body).toContain('Channel connected.');
    expect(list.body).toMatch(new RegExp(`id="channel-${row.id}"[^>]*data-state="connected"`));
    expect(list.body).toContain('All employees');
    expect(list.body).toContain(PAGE);
    expect(list.body).not.toContain(TOKEN);
    const edit = await as(t.app, admin).get(`/settings/chats/${row.id}`);
    expect(edit.statusCode).toBe(200);
    expect(edit.body).not.toContain(TOKEN);
    expect(edit.body).toContain('ACCOUNT_UPDATE, POST_PURCHASE_UPDATE and CONFIRMED_EVENT_UPDATE');
  });

  it('refuses an account already connected (422) and changes nothing', async () => {
    const n = await channelCount();
    const res = await as(t.app, admin).post('/settings/chats', { kind: 'messenger', external_id: PAGE, token: TOKEN, access: 'all' });
    expect(res.statusCode).toBe(422);
    expect(res.body).toContain('This account is already connected');
    expect(await channelCount()).toBe(n);
  });

  it('connects the Instagram account through its linked Page, with an access list', async () => {
    const before = subscribeCalls().length;
    const res = await as(t.app, admin).post('/settings/chats', { kind: 'instagram', external_id: IG, token: TOKEN, name: 'Insta shop', access: 'list', employee_ids: [String(ana.id)] });
    expect(res.statusCode).toBe(303);
    const row = (await channelRow('instagram', IG))!;
    expect(row).toMatchObject({ name: 'Insta shop', parent_external_id: PAGE, access_all: false, state: 'connected' });
    expect(row.credentials_enc).not.toContain(TOKEN);
    const [call] = subscribeCalls().slice(before);
    expect(call).toMatchObject({ path: `/${PAGE}/subscribed_apps`, token: TOKEN, status: 200 });
    // The Messenger channel of the same Page keeps its fields.
    expect(emu.channel(PAGE).subscribedFields).toEqual(expect.arrayContaining([...MESSENGER_PAGE_FIELDS]));
    expect(await visibleChannelIds(t.deps.db, ana.id)).toContain(row.id);
    expect(await visibleChannelIds(t.deps.db, bob.id)).not.toContain(row.id);
    const list = await as(t.app, admin).get('/settings/chats');
    expect(list.body).toMatch(new RegExp(`id="channel-${row.id}"[\\s\\S]*?Ana Agent[\\s\\S]*?</tr>`));
  });

  it('validates the form (kind, id, token, access) before calling the platform', async () => {
    const res = await as(t.app, admin).post('/settings/chats', { kind: 'telegram', external_id: 'abc', token: '', access: 'list', employee_ids: ['999999'] });
    expect(res.statusCode).toBe(422);
    expect(res.body).toContain('Choose one of the options.');
    expect(res.body).toContain('Enter the numeric id (digits only).');
    expect(res.body).toContain('This field is required.');
    expect(res.body).toContain('Choose employees from the list.');
  });

  it('refuses an Instagram id the token’s Page is not linked to', async () => {
    const res = await as(t.app, admin).post('/settings/chats', { kind: 'instagram', external_id: '17840000000000000', token: TOKEN, access: 'all' });
    expect(res.statusCode).toBe(422);
    expect(res.body).toContain('not linked to this Instagram account');
  });

  it('says clearly when the Graph API cannot be reached', async () => {
    const config = { ...t.deps.config, meta: { ...t.deps.config.meta, graphUrl: 'http://127.0.0.1:1' } };
    const err = await verifyAccount({ config }, 'messenger', PAGE, TOKEN).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).fields).toEqual({ form: 'channels.error.unreachable' });
    expect((err as ConnectError).reason).toMatch(/Could not reach/);
  });
});

describe('connecting a WhatsApp number (B2 for WhatsApp)', () => {
  const WA = '106540352242922';
  const WABA = '102290129340398';
  const WA_TOKEN = 'EAAEMUwhatsapp106540352242922';

  it('the form names the WABA field; a wrong token, number or WABA is refused in plain words and nothing is stored', async () => {
    const form = await as(t.app, admin).get('/settings/chats/new');
    expect(form.body).toContain('<option value="whatsapp"');
    expect(form.body).toContain('name="waba_id"');
    const badToken = await as(t.app, admin).post('/settings/chats', { kind: 'whatsapp', external_id: WA, waba_id: WABA, token: 'EAAnope', access: 'all' });
    expect(badToken.statusCode).toBe(422);
    expect(badToken.body).not.toContain('EAAnope');
    const badNumber = await as(t.app, admin).post('/settings/chats', { kind: 'whatsapp', external_id: '123456789', waba_id: WABA, token: WA_TOKEN, access: 'all' });
    expect(badNumber.statusCode).toBe(422);
    expect(badNumber.body).toContain('Copy the phone number ID');
    const noWaba = await as(t.app, admin).post('/settings/chats', { kind: 'whatsapp', external_id: WA, token: WA_TOKEN, access: 'all' });
    expect(noWaba.statusCode).toBe(422);
    expect(await channelRow('whatsapp', WA)).toBeUndefined();
  });

  it('verifies the number, subscribes the WABA, stores the token encrypted, fetches the templates', async () => {
    const before = subscribeCalls().length;
    const res = await as(t.app, admin).post('/settings/chats', { kind: 'whatsapp', external_id: WA, waba_id: WABA, token: WA_TOKEN, name: '', access: 'all' });
    expect([res.statusCode, res.headers.location]).toEqual([303, '/settings/chats?notice=connected']);
    const row = (await channelRow('whatsapp', WA))!;
    expect(row).toMatchObject({ name: 'Demo Repair Shop +15550001234', state: 'connected', parent_external_id: WABA });
    expect(row.settings).toMatchObject({ displayPhoneNumber: '+15550001234' });
    expect(JSON.parse(decryptSecret(t.deps.config.secretKey, row.credentials_enc!))).toEqual({ accessToken: WA_TOKEN });
    expect(
      subscribeCalls()
        .slice(before)
        .map((c) => [c.path, c.token, c.status]),
    ).toEqual([[`/${WABA}/subscribed_apps`, WA_TOKEN, 200]]);
    await t.deps.queue.idle();
    const templates = await t.deps.db.selectFrom('whatsapp_templates').select(['name', 'language', 'status']).where('channel_id', '=', row.id).orderBy('name').orderBy('language').execute();
    expect(templates).toEqual([
      { name: 'hello_world', language: 'en_US', status: 'APPROVED' },
      { name: 'order_ready', language: 'en_US', status: 'APPROVED' },
      { name: 'order_ready', language: 'fr', status: 'APPROVED' },
      { name: 'spring_promo', language: 'en_US', status: 'PENDING' },
    ]);
    const edit = await as(t.app, admin).get(`/settings/chats/${row.id}`);
    expect(edit.body).toContain('+15550001234');
    expect(edit.body).toContain('data-template="spring_promo:en_US" data-status="PENDING"');
    expect(edit.body).not.toContain('name="human_agent"');
    expect(edit.body).not.toContain(WA_TOKEN);
    const refreshed = await as(t.app, admin).post(`/settings/chats/${row.id}/templates`);
    expect(refreshed.headers.location).toBe(`/settings/chats/${row.id}?note=templates&n=4`);
    expect((await as(t.app, admin).get(String(refreshed.headers.location))).body).toContain('4 templates fetched from WhatsApp.');
    // Reconnecting takes a new token for the same number (no Facebook Login offered for WhatsApp).
    const reconnect = await as(t.app, admin).get(`/settings/chats/${row.id}/reconnect`);
    expect(reconnect.body).not.toContain('reconnect-facebook');
    const again = await as(t.app, admin).post(`/settings/chats/${row.id}/reconnect`, { token: WA_TOKEN });
    expect([again.statusCode, again.headers.location]).toEqual([303, '/settings/chats?notice=reconnected']);
  });
});

describe('channel settings (B3, H1)', () => {
  it('saves name, access list, comments, human agent, legacy tags and rate limit; access changes go live', async () => {
    const row = (await channelRow('messenger', PAGE))!;
    const lastEvent = await t.deps.db
      .selectFrom('live_events')
      .select((eb) => eb.fn.max('id').as('max'))
      .executeTakeFirst();
    const res = await as(t.app, admin).post(`/settings/chats/${row.id}`, {
      name: 'Shop <script>alert(1)</script>',
      access: 'list',
      employee_ids: [String(ana.id)],
      comments: 'on',
      human_agent: 'on',
      legacy_tags: 'on',
      rate_limit: '25',
    });
    expect([res.statusCode, res.headers.location]).toEqual([303, '/settings/chats?notice=saved']);
    const saved = (await channelRow('messenger', PAGE))!;
    expect(saved).toMatchObject({ name: 'Shop <script>alert(1)</script>', access_all: false });
    expect(saved.settings).toMatchObject({ comments: true, humanAgent: true, legacyTags: true, rateLimitPerSecond: 25 });
    expect(await visibleChannelIds(t.deps.db, ana.id)).toContain(row.id);
    expect(await visibleChannelIds(t.deps.db, bob.id)).not.toContain(row.id);
    const events = await t.deps.db
      .selectFrom('live_events')
      .select(['name', 'audience'])
      .where('id', '>', Number(lastEvent?.max ?? 0))
      .execute();
    expect(events).toContainEqual({ name: ACCESS_CHANGED, audience: 'all' });

    // Hostile names render escaped everywhere.
    for (const url of ['/settings/chats', `/settings/chats/${row.id}`, `/settings/chats/${row.id}/reconnect`]) {
      const page = await as(t.app, admin).get(url);
      expect(page.body).not.toContain('<script>alert(1)</script>');
      expect(page.body).toContain('Shop &lt;script&gt;alert(1)&lt;/script&gt;');
    }

    // Back to everyone, legacy tags off, no limit.
    const back = await as(t.app, admin).post(`/settings/chats/${row.id}`, { name: 'Demo Repair Shop', access: 'all', human_agent: 'on', comments: 'on', rate_limit: '' });
    expect(back.statusCode).toBe(303);
    const again = (await channelRow('messenger', PAGE))!;
    expect(again.access_all).toBe(true);
    expect(again.settings).toMatchObject({ comments: true, humanAgent: true, legacyTags: false });
    expect(again.settings).not.toHaveProperty('rateLimitPerSecond');
    expect(await visibleChannelIds(t.deps.db, bob.id)).toContain(row.id);
  });

  it('answers bad settings with 422 keeping what was typed', async () => {
    const row = (await channelRow('messenger', PAGE))!;
    const res = await as(t.app, admin).post(`/settings/chats/${row.id}`, { name: 'Kept name', access: 'all', rate_limit: '0.5' });
    expect(res.statusCode).toBe(422);
    expect(res.body).toContain('Enter a whole number from 1 to 1000');
    expect(res.body).toContain('value="Kept name"');
    expect((await as(t.app, admin).post(`/settings/chats/${row.id}`, { name: ' ', access: 'all' })).statusCode).toBe(422);
    expect((await as(t.app, admin).get('/settings/chats/999999')).statusCode).toBe(404);
  });

  it('Instagram has no legacy tags setting', async () => {
    const row = (await channelRow('instagram', IG))!;
    const page = await as(t.app, admin).get(`/settings/chats/${row.id}`);
    expect(page.body).toContain('name="comments"');
    expect(page.body).toContain('name="human_agent"');
    expect(page.body).not.toContain('name="legacy_tags"');
    await as(t.app, admin).post(`/settings/chats/${row.id}`, { name: 'Insta shop', access: 'list', employee_ids: [String(ana.id)], legacy_tags: 'on' });
    expect((await channelRow('instagram', IG))!.settings).toMatchObject({ legacyTags: false });
  });

  it('turning comments on for a channel connected without comment permissions asks for a reconnect', async () => {
    const row = (await channelRow('messenger', PAGE))!;
    // A Page token granted without the comment permissions (through a limited Facebook Login).
    const userToken = emu.issueUserToken([PAGE], ['pages_show_list', 'pages_messaging', 'pages_manage_metadata']);
    const accounts = (await (await fetch(`${emu.graphUrl}/me/accounts?fields=id,access_token`, { headers: { authorization: `Bearer ${userToken}` } })).json()) as {
      data: Array<{ id: string; access_token: string }>;
    };
    const limited = accounts.data.find((p) => p.id === PAGE)!.access_token;
    expect((await as(t.app, admin).post(`/settings/chats/${row.id}/reconnect`, { token: limited })).statusCode).toBe(303);
    await as(t.app, admin).post(`/settings/chats/${row.id}`, { name: 'Demo Repair Shop', access: 'all' });

    const res = await as(t.app, admin).post(`/settings/chats/${row.id}`, { name: 'Demo Repair Shop', access: 'all', comments: 'on' });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toMatch(new RegExp(`^/settings/chats/${row.id}\\?saved=1&note=comments_missing&perms=`));
    // The setting stays off until the permissions are there (F1: the seed article's warning).
    expect((await channelRow('messenger', PAGE))!.settings).toMatchObject({ comments: false });
    const page = await as(t.app, admin).get(res.headers.location as string);
    expect(page.body).toContain('connected without these permissions: pages_manage_engagement, pages_read_engagement');
    expect(page.body).toContain(`href="/settings/chats/${row.id}/reconnect"`);
    // Reconnect with the full token: now the setting turns on, and the Page's `feed` is subscribed.
    expect((await as(t.app, admin).post(`/settings/chats/${row.id}/reconnect`, { token: TOKEN })).statusCode).toBe(303);
    const on = await as(t.app, admin).post(`/settings/chats/${row.id}`, { name: 'Demo Repair Shop', access: 'all', comments: 'on' });
    expect(on.headers.location).toBe('/settings/chats?notice=saved');
    expect((await channelRow('messenger', PAGE))!.settings).toMatchObject({ comments: true });
    expect(emu.channel(PAGE).subscribedFields).toContain('feed');
  });
});

describe('needs reconnecting (B3)', () => {
  it('shows the state and reason, feeds the admin banner, and a new token connects it again', async () => {
    const row = (await channelRow('messenger', PAGE))!;
    await updateChannel(t.deps.db, row.id, { state: 'needs_reconnect', stateReason: 'Error validating access token (code 190/460)' });

    const list = await as(t.app, admin).get('/settings/chats');
    expect(list.body).toMatch(new RegExp(`id="channel-${row.id}"[^>]*data-state="needs_reconnect"`));
    expect(list.body).toContain('Needs reconnecting');
    expect(list.body).toContain('Reason: Error validating access token (code 190/460)');
    expect(list.body).toContain(`href="/settings/chats/${row.id}/reconnect"`);

    const needing = await channelsNeedingReconnect(t.deps.db);
    expect(needing).toEqual([{ id: row.id, kind: 'messenger', name: row.name, reason: 'Error validating access token (code 190/460)' }]);
    const me = { id: 1, name: 'Olga', isAdmin: true, can: () => true };
    const banner = renderPartial(t.deps.eta, '/settings/_channels_banner', 'en', { me, reconnectChannels: [{ ...needing[0]!, name: '<img src=x onerror=alert(1)>' }] });
    expect(banner).toContain('id="channels-banner"');
    expect(banner).toContain('href="/settings/chats"');
    expect(banner).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(banner).not.toContain('<img');
    expect(renderPartial(t.deps.eta, '/settings/_channels_banner', 'en', { me: { ...me, isAdmin: false }, reconnectChannels: needing })).not.toContain('channels-banner');
    expect(renderPartial(t.deps.eta, '/settings/_channels_banner', 'fr', { me, reconnectChannels: needing })).toContain('Des canaux de chat sont à reconnecter');

    // A revoked token is refused; the channel stays as it was.
    const revoked = emu.issueUserToken([PAGE]);
    emu.revokeToken({ token: revoked });
    const bad = await as(t.app, admin).post(`/settings/chats/${row.id}/reconnect`, { token: revoked });
    expect(bad.statusCode).toBe(422);
    expect(bad.body).toContain('error 190');
    expect((await channelRow('messenger', PAGE))!.state).toBe('needs_reconnect');

    const before = subscribeCalls().length;
    const ok = await as(t.app, admin).post(`/settings/chats/${row.id}/reconnect`, { token: TOKEN });
    expect([ok.statusCode, ok.headers.location]).toEqual([303, '/settings/chats?notice=reconnected']);
    expect((await channelRow('messenger', PAGE))!).toMatchObject({ state: 'connected', state_reason: null });
    expect(subscribeCalls().length).toBe(before + 1);
    expect(await channelsNeedingReconnect(t.deps.db)).toEqual([]);
  });
});

describe('access (A1)', () => {
  it('every /settings/chats route is admin-only: agents get 403, anonymous visitors the login', async () => {
    const row = (await channelRow('messenger', PAGE))!;
    const routes = t.app.routeTable.filter((r) => r.url.startsWith('/settings/chats'));
    expect(routes.map((r) => `${r.method} ${r.url}`).sort()).toEqual(
      [
        'GET /settings/chats',
        'GET /settings/chats/new',
        'POST /settings/chats',
        'GET /settings/chats/connect/facebook',
        'GET /settings/chats/connect/facebook/callback',
        'GET /settings/chats/connect/facebook/choose',
        'POST /settings/chats/connect/facebook/choose',
        'GET /settings/chats/:id',
        'POST /settings/chats/:id',
        'GET /settings/chats/:id/reconnect',
        'POST /settings/chats/:id/reconnect',
        'POST /settings/chats/:id/templates',
        'POST /settings/chats/deliveries/:id/retry',
        'POST /settings/chats/deliveries/:id/discard',
      ].sort(),
    );
    for (const r of routes) {
      expect(r.access).toBe('admin');
      const url = r.url.replace(':id', String(row.id));
      const res = r.method === 'GET' ? await as(t.app, agent).get(url) : await as(t.app, agent).post(url, { name: 'x', token: TOKEN, access: 'all' });
      expect([url, res.statusCode]).toEqual([url, 403]);
      const anon = r.method === 'GET' ? await as(t.app, null).get(url) : await as(t.app, null).post(url, {});
      expect([url, anon.statusCode]).toEqual([url, r.method === 'GET' ? 303 : 401]);
    }
    // Nothing changed.
    expect((await channelRow('messenger', PAGE))!.name).toBe('Demo Repair Shop');
    // The Chats tab is for admins only.
    expect((await as(t.app, admin).get('/settings/profile')).body).toContain('href="/settings/chats"');
    expect((await as(t.app, agent).get('/settings/profile')).body).not.toContain('href="/settings/chats"');
  });

  it('renders in French', async () => {
    const page = await as(t.app, admin).get('/settings/chats/new', { 'accept-language': 'fr' });
    expect(page.body).toContain('Connecter une Page ou un compte Instagram');
  });
});
