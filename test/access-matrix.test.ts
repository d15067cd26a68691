import { afterAll, describe, expect, it } from 'vitest';
import { get as httpGet } from 'node:http';
import { createClient } from '../src/crm/clients.service.ts';
import { createDocument } from '../src/crm/documents.service.ts';
import { insertCall } from '../src/crm/calls.repository.ts';
import type { Deps } from '../src/deps.ts';
import { ACCESS_MATRIX, ACTORS, type Actor, type MatrixFixtures, type MatrixRow, type Outcome } from './access-matrix.ts';
import { createTestApp, makeEmployee, TEST_PASSWORD } from './helpers.ts';
import { encodeForm, openAnonForm, sessionFor } from './platform/support.ts';
import { TestAdapter, leadWrites, makeTestChannel } from './support/test-adapter.ts';

/**
 * S3: every route × {admin, agent, role without permissions, anonymous}, from the table in
 * test/access-matrix.ts. A route without a row fails the suite.
 */
const t = await createTestApp({ adapters: [new TestAdapter()] });
const base = await t.app.listen({ port: 0, host: '127.0.0.1' });
afterAll(async () => t.close());

const fixtures = await seedFixtures(t.deps);

/**
 * The records the rows point at. Add here what a new row needs (ids by name in `ids`).
 */
async function seedFixtures(deps: Deps): Promise<MatrixFixtures> {
  const roleId = async (name: string) => (await deps.db.selectFrom('roles').select('id').where('name', '=', name).executeTakeFirstOrThrow()).id;
  const admin = await makeEmployee(deps, { role: 'Admin', email: 'matrix-admin@shop.test' });
  const agent = await makeEmployee(deps, { role: 'Agent', email: 'matrix-agent@shop.test' });
  const noperm = await makeEmployee(deps, { role: 'No permissions', permissions: [], email: 'matrix-noperm@shop.test' });
  const target = await makeEmployee(deps, { role: 'Agent', email: 'matrix-target@shop.test' });

  const client = await createClient(deps.db, { name: 'Matrix Client', phones: ['+33 6 12 34 56 78'], email: 'client@example.test' });
  const doc = async (kind: 'lead' | 'order' | 'estimate' | 'invoice') => (await createDocument(deps.db, { kind, clientId: client, amountCents: 1000 })).id;
  const call = await insertCall(deps.db, { direction: 'in', phone: '+33 6 12 34 56 78', phoneNormalized: '+33612345678', clientId: client, startedAt: new Date(), durationSeconds: 30 });

  // A channel the agent is given (admins see every channel), with one chat in it.
  const channel = await makeTestChannel(deps, { name: 'Matrix Page', employees: [agent.id] });
  const lead = await leadWrites(deps, channel, 'matrix-lead', 'Hello from the matrix');

  return {
    ids: {
      client,
      lead: await doc('lead'),
      order: await doc('order'),
      estimate: await doc('estimate'),
      invoice: await doc('invoice'),
      call,
      channel,
      chat: lead.chatId!,
      message: lead.messageId!,
      contact: lead.contactId!,
    },
    employees: {
      admin: { id: admin.id, email: admin.email, password: TEST_PASSWORD },
      agent: { id: agent.id, email: agent.email, password: TEST_PASSWORD },
      noperm: { id: noperm.id, email: noperm.email, password: TEST_PASSWORD },
    },
    target: { id: target.id },
    roles: { admin: await roleId('Admin'), agent: await roleId('Agent'), noperm: await roleId('No permissions') },
  };
}

type Observed = { status: number; location?: string };

function classify(r: Observed): Exclude<Outcome, number> | string {
  if (r.status === 401) return 'login';
  if (r.status >= 300 && r.status < 400 && r.location?.startsWith('/login?next=')) return 'login';
  if (r.status === 403) return 'forbidden';
  if (r.status === 404) return 'notfound';
  if ((r.status >= 200 && r.status < 400) || r.status === 422) return 'ok';
  return `status ${r.status}`;
}

const matches = (expected: Outcome, r: Observed) => (typeof expected === 'number' ? r.status === expected : classify(r) === expected);
const describeObserved = (r: Observed) => `${classify(r)} (${r.status}${r.location ? ` → ${r.location}` : ''})`;

/** One request as one actor, with a fresh session each time (rows may log out or log in). */
async function request(method: string, row: MatrixRow, routeUrl: string, actor: Actor): Promise<Observed> {
  const url = typeof row.url === 'function' ? row.url(fixtures) : (row.url ?? routeUrl);
  let cookie: string | undefined;
  let csrf: string | undefined;
  if (actor === 'anon') {
    const form = await openAnonForm(t.app, '/login');
    cookie = form.cookie;
    csrf = form.csrf;
  } else {
    const s = await sessionFor(t.deps, fixtures.employees[actor].id);
    cookie = s.cookie;
    csrf = s.csrf;
  }
  if (row.stream) return streamStatus(url, actor === 'anon' ? undefined : cookie);
  const headers: Record<string, string> = { ...(cookie ? { cookie } : {}), ...row.headers };
  if (method === 'GET') {
    const res = await t.app.inject({ method: 'GET', url, headers });
    return { status: res.statusCode, location: res.headers.location as string | undefined };
  }
  const body = typeof row.body === 'function' ? row.body(fixtures) : (row.body ?? {});
  const res = await t.app.inject({
    method: method as 'POST',
    url,
    headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
    payload: encodeForm({ _csrf: csrf, ...body }),
  });
  return { status: res.statusCode, location: res.headers.location as string | undefined };
}

/** The status of a streaming response, read over real HTTP; the connection is then dropped. */
function streamStatus(url: string, cookie: string | undefined): Promise<Observed> {
  return new Promise((resolve, reject) => {
    const req = httpGet(base + url, { agent: false, headers: cookie ? { cookie } : {} }, (res) => {
      resolve({ status: res.statusCode ?? 0, location: res.headers.location });
      req.destroy();
    });
    req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err)));
  });
}

const routes = t.app.routeTable.map((r) => ({ ...r, key: `${r.method} ${r.url}` }));

describe('access matrix (S3)', () => {
  it('has a row for every route', () => {
    const missing = routes.filter((r) => !(r.key in ACCESS_MATRIX));
    expect(
      missing.map((r) => r.key),
      `Routes without a row in test/access-matrix.ts (declared access in brackets). Add one per route, e.g.\n` +
        missing.map((r) => `  '${r.key}': { expect: ... },   // [${r.access}]`).join('\n') +
        '\n',
    ).toEqual([]);
  });

  for (const route of routes) {
    const row = ACCESS_MATRIX[route.key];
    if (!row) continue;
    it(`${route.key} [${route.access}]`, async () => {
      const problems: string[] = [];
      for (const actor of ACTORS) {
        const observed = await request(route.method, row, route.url, actor);
        if (!matches(row.expect[actor], observed)) problems.push(`${actor}: expected ${row.expect[actor]}, got ${describeObserved(observed)}`);
      }
      expect(problems, `${route.key}`).toEqual([]);
    });
  }

  it('the declared access agrees with the rows for the no-permission role and anonymous visitors', () => {
    // A route open to anonymous visitors must be declared public, and a route a role without
    // permissions may use must be public or 'login': catches a row that merely copies a bug.
    for (const route of routes) {
      const row = ACCESS_MATRIX[route.key];
      if (!row) continue;
      if (row.expect.anon === 'ok') expect(route.access, route.key).toBe('public');
      if (row.expect.noperm === 'ok') expect(['public', 'login'], route.key).toContain(route.access);
      if (route.access === 'admin') expect(row.expect.agent, route.key).toBe('forbidden');
    }
  });
});
