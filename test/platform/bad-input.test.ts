import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, createTestApp, login, makeEmployee, type Session, type TestApp } from '../helpers.ts';
import { TestAdapter, leadWrites, makeTestChannel } from '../support/test-adapter.ts';

/**
 * Issue #21 finding 9c: inputs an attacker can send that once ended in an unhandled 500. Each
 * must be a 4xx or an ordinary answer, and nothing with a NUL may reach PostgreSQL.
 */
let t: TestApp;
let agent: Session;
let chatId: number;
const HX = { 'hx-request': 'true' };

beforeAll(async () => {
  t = await createTestApp({ adapters: [new TestAdapter()] });
  const e = await makeEmployee(t.deps, { role: 'agent', email: 'agent@shop.test' });
  const channel = await makeTestChannel(t.deps, { name: 'Shop Page', employees: [e.id] });
  chatId = (await leadWrites(t.deps, channel, 'lead-1', 'Hello there'))!.chatId!;
  agent = await login(t.app, e.email);
});
afterAll(async () => t?.close());

function multipart(fields: Record<string, string>): { body: Buffer; type: string } {
  const boundary = '----parleytest' + Math.random().toString(16).slice(2);
  let s = '';
  for (const [k, v] of Object.entries(fields)) s += `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`;
  s += `--${boundary}--\r\n`;
  return { body: Buffer.from(s), type: `multipart/form-data; boundary=${boundary}` };
}

const texts = async () => (await t.deps.db.selectFrom('messages').select('text').where('chat_id', '=', chatId).execute()).map((r) => r.text);

describe('bodies carrying U+0000', () => {
  it('a NUL in a multipart field is dropped, the message is sent (no 500)', async () => {
    const { body, type } = multipart({ _csrf: agent.csrf, text: 'multi\u0000part', idempotency_key: 'k-multipart-nul' });
    const res = await t.app.inject({ method: 'POST', url: `/chats/${chatId}/messages`, headers: { cookie: agent.cookie, 'content-type': type, ...HX }, payload: body });
    expect(res.statusCode).toBe(200);
    expect(await texts()).toContain('multipart');
  });

  it('JSON shaped like a multipart field, with a NUL inside, is no 500', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: `/chats/${chatId}/messages`,
      headers: { cookie: agent.cookie, 'content-type': 'application/json', 'x-csrf-token': agent.csrf, ...HX },
      payload: JSON.stringify({ text: { value: 'json\u0000value' }, idempotency_key: 'k-json-nul' }),
    });
    expect(res.statusCode).toBeLessThan(500);
    expect((await texts()).some((x) => x?.includes('\u0000'))).toBe(false);
  });

  it('a NUL deep in a JSON note is dropped', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: `/chats/${chatId}/notes`,
      headers: { cookie: agent.cookie, 'content-type': 'application/json', 'x-csrf-token': agent.csrf, ...HX },
      payload: JSON.stringify({ text: 'note\u0000text', idempotency_key: 'k-json-note' }),
    });
    expect(res.statusCode).toBe(200);
    expect(await texts()).toContain('notetext');
  });
});

describe('query values', () => {
  it('?after= and ?before= beyond 32 bits are ordinary answers, not 500s', async () => {
    for (const url of [
      `/chats?after=99999999999999_99999999999`,
      `/chats?after=1700000000000_4294967296`,
      `/chats/${chatId}/messages?before=1700000000000_99999999999`,
      `/chats/${chatId}/messages?before=99999999999999_4294967296`,
      `/chats/${chatId}/messages?before=1700000000000_9007199254740993`,
    ]) {
      const res = await as(t.app, agent).get(url, HX);
      expect(res.statusCode, url).toBeLessThan(500);
    }
  });

  it('repeated or bracketed query keys (arrays where strings are expected) are no 500', async () => {
    for (const url of [
      '/chats?q[]=a&q[]=b',
      '/chats?q=abc&q=def',
      '/chats?status=open&status=archived&filter=mine&filter=all',
      `/chats/${chatId}?template=a&template=b&reply_to=1&reply_to=2&mode=note&mode=x`,
      `/chats/${chatId}/composer?template=a&template=b&reply_to=1&reply_to=2`,
      '/clients?q=a&q=b&page=1&page=2',
      '/hovercard?phone=1&phone=2&client_id=1&client_id=2',
    ]) {
      for (const headers of [{}, HX]) {
        const res = await as(t.app, agent).get(url, headers);
        expect(res.statusCode, `${url} ${JSON.stringify(headers)}`).toBeLessThan(500);
      }
    }
  });

  it('every GET route with an id beyond 32 bits, a huge number, a negative one or a NUL in it answers without a 500', async () => {
    const routes = t.app.routeTable.filter((r) => r.method === 'GET' && r.url.includes(':'));
    expect(routes.length).toBeGreaterThan(10);
    for (const r of routes) {
      for (const v of ['4294967296', '99999999999999999999', '1e30', '-1', 'a%00b']) {
        const url = r.url.replace(/:\w+/g, v);
        for (const headers of [{}, HX]) {
          const res = await as(t.app, agent).get(url, headers);
          expect(res.statusCode, `${url} ${JSON.stringify(headers)}`).toBeLessThan(500);
        }
      }
    }
  });

  it('every POST route with such an id answers without a 500', async () => {
    const routes = t.app.routeTable.filter((r) => r.method === 'POST' && r.url.includes(':'));
    for (const r of routes) {
      for (const v of ['4294967296', '99999999999999999999', '1e30', '-1']) {
        const url = r.url.replace(/:\w+/g, v);
        const res = await as(t.app, agent).post(url, { text: 'x', assignee: v, client_id: v, channel_id: v }, { headers: HX });
        expect(res.statusCode, url).toBeLessThan(500);
      }
    }
  });

  it('a NUL in a query value is dropped', async () => {
    const res = await as(t.app, agent).get('/chats?q=Hel%00lo', HX);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain(`chat-${chatId}`);
  });
});

describe('admin routes (review of #21: the agent above stops at 403 before any id is read)', () => {
  let admin: Session;
  beforeAll(async () => {
    const a = await makeEmployee(t.deps, { role: 'Admin', email: 'admin@shop.test' });
    admin = await login(t.app, a.email);
  });

  it('every admin GET and POST route with an id beyond int4 answers 404, never a 500', async () => {
    const routes = t.app.routeTable.filter((r) => r.access === 'admin' && (r.method === 'GET' || r.method === 'POST') && r.url.includes(':'));
    expect(routes.map((r) => r.url)).toEqual(expect.arrayContaining(['/settings/employees/:id/password', '/settings/employees/:id/two-factor/disable', '/settings/roles/:id']));
    for (const r of routes) {
      const url = r.url.replace(/:\w+/g, '4294967296');
      const res = r.method === 'GET' ? await as(t.app, admin).get(url) : await as(t.app, admin).post(url, { role_id: '1', password: 'a long enough password' });
      expect(`${r.method} ${url} ${res.statusCode}`).toBe(`${r.method} ${url} 404`);
    }
  });
});
