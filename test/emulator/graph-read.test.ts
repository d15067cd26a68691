// Read side of the Graph double: Conversations API (§2.10), profiles (§2.9, §3.5),
// Facebook Login (product B2).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../emulator/index.ts';
import { graph } from './receiver.ts';

const PAGE = '104455667788990';
const IG = '17841400011122233';
const TOKEN = 'EAAEMUpage104455667788990';
let emu: Emulator;

beforeEach(async () => {
  emu = await startEmulator();
});
afterEach(() => emu.close());

const get = (path: string, token = TOKEN) => graph(emu.graphUrl, 'GET', path, { token });

describe('Conversations API (§2.10)', () => {
  it('lists conversations, finds one by user_id, and gives details only for the 20 most recent messages', async () => {
    const seeded = emu.seedHistory('messenger', 'anna', { count: 30, spacing: '1h', endAgo: '2h' });
    emu.seedHistory('messenger', 'marc', { count: 3, endAgo: '1d' });
    const psid = emu.scopedId('anna', 'messenger');

    const list = await get(`/${PAGE}/conversations?platform=messenger`);
    expect(list.json.data).toHaveLength(2);
    expect(list.json.data[0]).toEqual({ updated_time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$/), id: expect.stringMatching(/^t_/) });

    const one = await get(`/${PAGE}/conversations?platform=messenger&user_id=${psid}`);
    expect(one.json.data).toHaveLength(1);
    const convId = one.json.data[0].id;

    const page1 = await get(`/${convId}?fields=messages{id,created_time,from,to,message}`);
    const msgs = page1.json.messages.data;
    expect(msgs).toHaveLength(25);
    expect(msgs[0]).toMatchObject({ id: seeded[29]!.id, message: seeded[29]!.text, from: { id: expect.any(String) }, to: { data: [expect.any(Object)] } });
    expect(msgs[19].message).toBe(seeded[10]!.text);
    expect(msgs[20]).toEqual({ id: seeded[9]!.id });
    expect(page1.json.messages.paging.next).toEqual(expect.stringContaining('after='));

    const page2 = (await (await fetch(page1.json.messages.paging.next)).json()) as any;
    expect(page2.data.map((m: any) => m.id)).toEqual(
      seeded
        .slice(0, 5)
        .reverse()
        .map((m) => m.id),
    );
    expect(page2.data.every((m: any) => Object.keys(m).length === 1)).toBe(true);

    const recent = await get(`/${seeded[29]!.id}?fields=id,created_time,from,to,message`);
    expect(recent.json).toMatchObject({ id: seeded[29]!.id, message: seeded[29]!.text });
    const old = await get(`/${seeded[0]!.id}?fields=id,message`);
    expect(old.status).toBe(400);
    expect(old.json.error.code).toBe(100);
    expect(old.json.error.message).toMatch(/deleted/);
  });

  it('works for Instagram with platform=instagram and the Page token', async () => {
    emu.seedHistory('instagram', 'anna', {
      messages: [
        { direction: 'in', text: 'Привет', ago: '3h' },
        { direction: 'out', text: 'Hello', ago: '2h' },
      ],
    });
    const list = await get(`/${PAGE}/conversations?platform=instagram&fields=participants,messages{message,from}`);
    expect(list.json.data).toHaveLength(1);
    const conv = list.json.data[0];
    expect(conv.participants.data).toContainEqual({ username: 'anna.petrova', id: emu.scopedId('anna', 'instagram') });
    expect(conv.messages.data.map((m: any) => m.message)).toEqual(['Hello', 'Привет']);
    expect(conv.messages.data[0].from).toEqual({ username: 'demo.repair.shop', id: IG });
  });

  it('history sets the window from the last inbound message', async () => {
    emu.seedHistory('messenger', 'anna', { messages: [{ direction: 'in', text: 'old', ago: '25h' }] });
    const psid = emu.scopedId('anna', 'messenger');
    const res = await graph(emu.graphUrl, 'POST', `/${PAGE}/messages`, { token: TOKEN, body: { recipient: { id: psid }, messaging_type: 'RESPONSE', message: { text: 'x' } } });
    expect(res.json.error.error_subcode).toBe(2018278);
  });
});

describe('profiles (§2.9, §3.5)', () => {
  it('Messenger profile after the person wrote; hidden profile → 100 / 2018218', async () => {
    emu.send('anna', 'messenger', 'hi');
    const psid = emu.scopedId('anna', 'messenger');
    const res = await get(`/${psid}?fields=first_name,last_name,profile_pic`);
    expect(res.json).toEqual({ first_name: 'Anna', last_name: 'Petrova', profile_pic: expect.stringContaining('/cdn/'), id: psid });
    expect((await fetch(res.json.profile_pic)).status).toBe(200);
    emu.send('hidden', 'messenger', 'hi');
    const hidden = await get(`/${emu.scopedId('hidden', 'messenger')}?fields=first_name,last_name,profile_pic`);
    expect(hidden.status).toBe(400);
    expect(hidden.json.error).toMatchObject({ code: 100, error_subcode: 2018218 });
  });

  it('Instagram profile; consent error 230 for a hidden profile or a commenter who never wrote', async () => {
    emu.send('anna', 'instagram', 'hi');
    const ok = await get(`/${emu.scopedId('anna', 'instagram')}?fields=name,username,profile_pic`);
    expect(ok.json).toMatchObject({ name: 'Anna Petrova', username: 'anna.petrova' });
    emu.send('hidden', 'instagram', 'hi');
    expect((await get(`/${emu.scopedId('hidden', 'instagram')}?fields=name`)).json.error.code).toBe(230);
    emu.comment('marc', emu.posts(IG)[0]!.id, 'nice');
    const commenter = await get(`/${emu.scopedId('marc', 'instagram')}?fields=name,username`);
    expect(commenter.json.error).toMatchObject({ code: 230, message: 'User consent is required to access user profile' });
  });

  it('another channel token cannot read the profile', async () => {
    emu.send('anna', 'messenger', 'hi');
    const res = await get(`/${emu.scopedId('anna', 'messenger')}`, 'EAAEMUwhatsapp106540352242922');
    expect(res.status).toBe(400);
  });
});

describe('Facebook Login (B2)', () => {
  it('dialog → consent → redirect with code and state → token → /me/accounts → Page token that works', async () => {
    const redirect = 'http://127.0.0.1:9/oauth/callback';
    const dialog = await fetch(`${emu.url}/v25.0/dialog/oauth?client_id=100200300400500&redirect_uri=${encodeURIComponent(redirect)}&state=xyz<&scope=pages_messaging,pages_show_list`);
    expect(dialog.status).toBe(200);
    const page = await dialog.text();
    expect(page).toContain('Demo Repair Shop');
    expect(page).toContain('value="xyz&lt;"');
    expect(page).not.toContain('xyz<"');

    const form = new URLSearchParams({ client_id: '100200300400500', redirect_uri: redirect, state: 'xyz<', scope: 'pages_messaging', page_ids: PAGE, action: 'continue' });
    const submit = await fetch(`${emu.url}/v25.0/dialog/oauth`, { method: 'POST', body: form, redirect: 'manual' });
    expect(submit.status).toBe(302);
    const location = new URL(submit.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(redirect);
    expect(location.searchParams.get('state')).toBe('xyz<');
    const code = location.searchParams.get('code')!;

    const exchange = (c: string, secret = 'emulator-app-secret', uri = redirect) =>
      graph(emu.graphUrl, 'GET', `/oauth/access_token?client_id=100200300400500&client_secret=${secret}&redirect_uri=${encodeURIComponent(uri)}&code=${encodeURIComponent(c)}`);
    expect((await exchange(code, 'wrong')).json.error.code).toBe(1);
    expect((await exchange(code, undefined, 'http://elsewhere/')).json.error.code).toBe(100);
    const token = await exchange(code);
    expect(token.json).toEqual({ access_token: expect.any(String), token_type: 'bearer', expires_in: expect.any(Number) });
    expect((await exchange(code)).json.error.code).toBe(100); // codes are single-use

    const me = await get('/me?fields=id,name', token.json.access_token);
    expect(me.json).toEqual({ name: 'Demo Shop Owner', id: '10229000000000001' });
    const accounts = await get('/me/accounts?fields=id,name,access_token,tasks,instagram_business_account{id,username}', token.json.access_token);
    expect(accounts.json.data).toHaveLength(1);
    const acc = accounts.json.data[0];
    expect(acc).toMatchObject({ id: PAGE, name: 'Demo Repair Shop', tasks: expect.arrayContaining(['MESSAGING', 'MODERATE']), instagram_business_account: { id: IG, username: 'demo.repair.shop' } });
    expect(acc.access_token).not.toBe(TOKEN);

    const sub = await graph(emu.graphUrl, 'POST', `/${PAGE}/subscribed_apps?subscribed_fields=messages,message_echoes`, { token: acc.access_token });
    expect(sub.json).toEqual({ success: true });
    // A user token is not a Page token.
    expect((await graph(emu.graphUrl, 'POST', `/${PAGE}/subscribed_apps?subscribed_fields=messages`, { token: token.json.access_token })).json.error.code).toBe(210);
  });

  it('cancel redirects with error=access_denied; a wrong client_id shows an error page', async () => {
    const redirect = 'http://127.0.0.1:9/cb';
    const form = new URLSearchParams({ client_id: '100200300400500', redirect_uri: redirect, state: 's', action: 'cancel' });
    const res = await fetch(`${emu.url}/v25.0/dialog/oauth`, { method: 'POST', body: form, redirect: 'manual' });
    const location = new URL(res.headers.get('location')!);
    expect(location.searchParams.get('error')).toBe('access_denied');
    expect(location.searchParams.get('error_reason')).toBe('user_denied');
    const bad = await fetch(`${emu.url}/v25.0/dialog/oauth?client_id=1&redirect_uri=${encodeURIComponent(redirect)}`);
    expect(bad.status).toBe(400);
  });

  it('authorize() shortcut for tests and long-lived exchange', async () => {
    const { code, redirectUrl } = emu.authorize({ redirectUri: 'http://127.0.0.1:9/cb', state: 'st' });
    expect(redirectUrl).toContain(`code=${encodeURIComponent(code)}`);
    const token = await graph(
      emu.graphUrl,
      'GET',
      `/oauth/access_token?client_id=100200300400500&client_secret=emulator-app-secret&redirect_uri=${encodeURIComponent('http://127.0.0.1:9/cb')}&code=${encodeURIComponent(code)}`,
    );
    const long = await graph(
      emu.graphUrl,
      'GET',
      `/oauth/access_token?grant_type=fb_exchange_token&client_id=100200300400500&client_secret=emulator-app-secret&fb_exchange_token=${token.json.access_token}`,
    );
    expect(long.json.access_token).toEqual(expect.any(String));
    emu.revokeToken({ token: long.json.access_token });
    expect((await get('/me/accounts', long.json.access_token)).json.error.code).toBe(190);
  });

  it('GET /{page-id}?fields=access_token with a user token; debug_token', async () => {
    const user = emu.issueUserToken();
    const pageRes = await get(`/${PAGE}?fields=name,access_token`, user);
    expect(pageRes.json).toMatchObject({ id: PAGE, name: 'Demo Repair Shop', access_token: expect.any(String) });
    const dbg = await get(`/debug_token?input_token=${pageRes.json.access_token}`, '100200300400500|emulator-app-secret');
    expect(dbg.json.data).toMatchObject({ app_id: '100200300400500', type: 'PAGE', is_valid: true, profile_id: PAGE });
    emu.revokeToken({ token: pageRes.json.access_token });
    expect((await get(`/debug_token?input_token=${pageRes.json.access_token}`, '100200300400500|emulator-app-secret')).json.data.is_valid).toBe(false);
  });
});
