/**
 * The access matrix (quality target S3): one row per route, the expected outcome for each actor.
 * `test/access-matrix.test.ts` sends every registered route (app.routeTable) as every actor and
 * compares; a registered route without a row fails the suite. Rows for routes that are not
 * registered (yet) are ignored, so a feature can add its rows before its routes land.
 *
 * Adding a route? Add a row keyed `'METHOD /url/with/:params'` exactly as Fastify registers it:
 *
 *   'GET /things/:id': { url: (f) => `/things/${f.ids.thing}`, expect: needs('things') },
 *   'POST /things': { body: {}, expect: needs('things') },   // 422 counts as allowed
 *
 * and, if the row needs a record, create it in `seedFixtures` in access-matrix.test.ts.
 *
 * Actors:
 *   admin  – the owner (role with the admin flag)
 *   agent  – the default Agent role: every permission except admin
 *   noperm – a role with no permission at all (it can still log in and reach its profile)
 *   anon   – no session (public forms still get their double-submit CSRF cookie)
 *
 * Outcomes (how a response is classified):
 *   'ok'        – allowed: 2xx, 3xx other than a redirect to /login?next=, or 422 (the request
 *                 was allowed and only failed validation)
 *   'login'     – 303 to /login?next=… (GET) or 401 (any method): log in first
 *   'forbidden' – 403
 *   'notfound'  – 404 (e.g. a record outside the employee's channels: never a leak)
 *   a number    – exactly that status (public endpoints with their own rules, e.g. webhooks)
 *
 * Every POST carries a valid CSRF token for logged-in actors, so a 403 means access, not CSRF.
 */
import type { FormFields } from './platform/support.ts';

export type Actor = 'admin' | 'agent' | 'noperm' | 'anon';
export const ACTORS: readonly Actor[] = ['admin', 'agent', 'noperm', 'anon'];

export type Outcome = 'ok' | 'login' | 'forbidden' | 'notfound' | number;
export type Expectation = Readonly<Record<Actor, Outcome>>;

/** Records created before the matrix runs, by name (see seedFixtures in the test). */
export interface MatrixFixtures {
  readonly ids: Readonly<Record<string, number>>;
  readonly employees: Readonly<Record<Exclude<Actor, 'anon'>, { id: number; email: string; password: string }>>;
  /** An employee no actor is, for routes that act on an employee (disable, change role). */
  readonly target: { id: number };
  readonly roles: Readonly<Record<'admin' | 'agent' | 'noperm', number>>;
}

export interface MatrixRow {
  expect: Expectation;
  /** The URL to request; defaults to the route's own URL (which must then have no params). */
  url?: string | ((f: MatrixFixtures) => string);
  /** Form body for POSTs (the CSRF token is added); defaults to an empty form. */
  body?: FormFields | ((f: MatrixFixtures) => FormFields);
  headers?: Record<string, string>;
  /** A never-ending response (SSE): only the status is read, over real HTTP. */
  stream?: boolean;
}

export type AccessMatrix = Readonly<Record<string, MatrixRow>>;

// Shorthands for the common shapes.
export const everyone = (o: Outcome = 'ok'): Expectation => ({ admin: o, agent: o, noperm: o, anon: o });
/** Any logged-in employee, whatever their role. */
export const anyEmployee: Expectation = { admin: 'ok', agent: 'ok', noperm: 'ok', anon: 'login' };
/** Roles with the admin flag only. */
export const adminOnly: Expectation = { admin: 'ok', agent: 'forbidden', noperm: 'forbidden', anon: 'login' };
/** A permission the Agent role has and the no-permission role lacks. */
export const needs = (_permission: 'chats' | 'clients' | 'leads' | 'orders' | 'estimates' | 'invoices' | 'calls'): Expectation => ({
  admin: 'ok',
  agent: 'ok',
  noperm: 'forbidden',
  anon: 'login',
});
/** Like `needs`, for a record the allowed actors cannot see (or that does not exist). */
export const needsButHidden = (permission: Parameters<typeof needs>[0]): Expectation => ({ ...needs(permission), admin: 'notfound', agent: 'notfound' });

/** Rows for a CRM document kind (leads, orders, estimates, invoices): all behind one permission. */
function documentRows(path: string, perm: Parameters<typeof needs>[0], idKey: string): Record<string, MatrixRow> {
  return {
    [`GET /${path}`]: { expect: needs(perm) },
    [`GET /${path}/new`]: { expect: needs(perm) },
    [`POST /${path}`]: { body: {}, expect: needs(perm) },
    [`GET /${path}/client-options`]: { url: `/${path}/client-options?client_q=a`, expect: needs(perm) },
    [`GET /${path}/:id`]: { url: (f) => `/${path}/${f.ids[idKey]}`, expect: needs(perm) },
    [`GET /${path}/:id/edit`]: { url: (f) => `/${path}/${f.ids[idKey]}/edit`, expect: needs(perm) },
    [`POST /${path}/:id`]: { url: (f) => `/${path}/${f.ids[idKey]}`, body: {}, expect: needs(perm) },
  };
}

export const ACCESS_MATRIX: AccessMatrix = {
  // Platform
  'GET /healthz': { expect: everyone('ok') },
  'GET /static/*': { url: () => '/static/css/app.css', expect: everyone('ok') },
  'GET /': { expect: everyone('ok') }, // public: sends each visitor where they belong
  'GET /events': { stream: true, expect: anyEmployee },

  // First run and login. Setup is closed once the owner exists: everyone is sent to /login.
  'GET /setup': { expect: everyone('ok') },
  'POST /setup': { body: { name: 'Intruder', email: 'intruder@shop.test', password: 'intruder password' }, expect: everyone('ok') },
  'GET /login': { expect: everyone('ok') },
  // Valid credentials (the admin's), so every actor gets the success redirect.
  'POST /login': { body: (f) => ({ email: f.employees.admin.email, password: f.employees.admin.password }), expect: everyone('ok') },
  'POST /logout': { expect: anyEmployee },

  // Settings › Employees and Roles (admins), My profile (everyone)
  'GET /settings': { expect: anyEmployee },
  'GET /settings/employees': { expect: adminOnly },
  'POST /settings/employees': { body: {}, expect: adminOnly },
  'POST /settings/employees/:id/disable': { url: (f) => `/settings/employees/${f.target.id}/disable`, expect: adminOnly },
  'POST /settings/employees/:id/enable': { url: (f) => `/settings/employees/${f.target.id}/enable`, expect: adminOnly },
  'POST /settings/employees/:id/password': { url: (f) => `/settings/employees/${f.target.id}/password`, body: { password: '' }, expect: adminOnly },
  'POST /settings/employees/:id/role': { url: (f) => `/settings/employees/${f.target.id}/role`, body: (f) => ({ role_id: String(f.roles.agent) }), expect: adminOnly },
  'GET /settings/roles': { expect: adminOnly },
  'POST /settings/roles': { body: {}, expect: adminOnly },
  'GET /settings/roles/:id/edit': { url: (f) => `/settings/roles/${f.roles.agent}/edit`, expect: adminOnly },
  'POST /settings/roles/:id': { url: (f) => `/settings/roles/${f.roles.agent}`, body: {}, expect: adminOnly },
  'GET /settings/profile': { expect: anyEmployee },
  // Two-factor sign-in: the login's second step is public (without a challenge cookie it sends
  // GETs back to /login and refuses a code with 401); My profile › Two-factor is everyone's own;
  // the requirement and turning off someone else's are admins'.
  'GET /login/two-factor': { expect: everyone('ok') },
  'POST /login/two-factor': { body: { code: '123456' }, expect: everyone(401) },
  'GET /settings/two-factor': { expect: anyEmployee },
  'POST /settings/two-factor/start': { expect: anyEmployee },
  'POST /settings/two-factor/confirm': { body: { code: '000000' }, expect: anyEmployee },
  'POST /settings/two-factor/disable': { expect: anyEmployee },
  'POST /settings/two-factor/recovery-codes': { expect: anyEmployee },
  'POST /settings/two-factor/require': { body: {}, expect: adminOnly },
  'POST /settings/employees/:id/two-factor/disable': { url: (f) => `/settings/employees/${f.target.id}/two-factor/disable`, expect: adminOnly },
  'POST /settings/profile': { body: { locale: '' }, expect: anyEmployee },
  'POST /settings/profile/password': { body: {}, expect: anyEmployee },

  // Settings › Chats (channels): admins
  'GET /settings/chats': { expect: adminOnly },
  'GET /settings/chats/new': { expect: adminOnly },
  // Set-aside webhook changes (R9): an id that is not an open change is a 404 for an admin.
  'POST /settings/chats/deliveries/:id/retry': { url: '/settings/chats/deliveries/999999/retry', expect: { ...adminOnly, admin: 'notfound' } },
  'POST /settings/chats/deliveries/:id/discard': { url: '/settings/chats/deliveries/999999/discard', expect: { ...adminOnly, admin: 'notfound' } },
  'POST /settings/chats': { body: {}, expect: adminOnly },
  'GET /settings/chats/connect/facebook': { expect: adminOnly },
  // Without an OAuth state in progress these answer 400 to an admin (allowed, bad request).
  'GET /settings/chats/connect/facebook/callback': { expect: { ...adminOnly, admin: 400 } },
  'GET /settings/chats/connect/facebook/choose': { expect: { ...adminOnly, admin: 400 } },
  'POST /settings/chats/connect/facebook/choose': { body: {}, expect: { ...adminOnly, admin: 400 } },
  'GET /settings/chats/:id': { url: (f) => `/settings/chats/${f.ids.channel}`, expect: adminOnly },
  'POST /settings/chats/:id': { url: (f) => `/settings/chats/${f.ids.channel}`, body: {}, expect: adminOnly },
  'GET /settings/chats/:id/reconnect': { url: (f) => `/settings/chats/${f.ids.channel}/reconnect`, expect: adminOnly },
  'POST /settings/chats/:id/reconnect': { url: (f) => `/settings/chats/${f.ids.channel}/reconnect`, body: {}, expect: adminOnly },
  'GET /settings/transcription': { expect: adminOnly },
  'POST /settings/transcription': { body: { engine: 'none' }, expect: adminOnly },
  // No engine in the fixtures: the test answers 422 with the reason (still the admin's page).
  'POST /settings/transcription/test': { expect: { ...adminOnly, admin: 422 } },
  // Settings › Shop (the currency): an empty choice is the default, so the empty form saves.
  'GET /settings/shop': { expect: adminOnly },
  'POST /settings/shop': { body: { currency: '' }, expect: adminOnly },
  // Settings › Saved replies: every employee manages their own (admins also the shared ones);
  // no reply has the id 999999, and another's or a shared one is as missing (tested with the feature).
  // Saved replies are for employees who answer chats (the composer's `/` list).
  'GET /settings/saved-replies': { expect: needs('chats') },
  'POST /settings/saved-replies': { body: { shortcut: '', text: '' }, expect: needs('chats') },
  'GET /settings/saved-replies/:id/edit': { url: '/settings/saved-replies/999999/edit', expect: needsButHidden('chats') },
  'POST /settings/saved-replies/:id': { url: '/settings/saved-replies/999999', body: {}, expect: needsButHidden('chats') },
  'POST /settings/saved-replies/:id/delete': { url: '/settings/saved-replies/999999/delete', expect: needsButHidden('chats') },
  // A WhatsApp number's templates fetched again (the fixture's channel has none: nothing to fetch).
  'POST /settings/chats/:id/templates': { url: (f) => `/settings/chats/${f.ids.channel}/templates`, body: {}, expect: adminOnly },

  // CRM: each section behind its permission
  'GET /clients': { expect: needs('clients') },
  'GET /clients/new': { expect: needs('clients') },
  'POST /clients': { body: {}, expect: needs('clients') },
  'GET /clients/:id': { url: (f) => `/clients/${f.ids.client}`, expect: needs('clients') },
  'GET /clients/:id/edit': { url: (f) => `/clients/${f.ids.client}/edit`, expect: needs('clients') },
  'POST /clients/:id': { url: (f) => `/clients/${f.ids.client}`, body: {}, expect: needs('clients') },
  ...documentRows('leads', 'leads', 'lead'),
  ...documentRows('orders', 'orders', 'order'),
  ...documentRows('estimates', 'estimates', 'estimate'),
  ...documentRows('invoices', 'invoices', 'invoice'),
  // The phone hover card: declared 'login', but it needs Chats or Clients to show anything;
  // a role with neither is refused. What it shows per permission is tested with the feature.
  'GET /hovercard': { url: '/hovercard?phone=%2B33612345678', expect: { ...anyEmployee, noperm: 'forbidden' } },
  'GET /calls': { expect: needs('calls') },
  'GET /calls/new': { expect: needs('calls') },
  'POST /calls': { body: {}, expect: needs('calls') },
  'GET /calls/:id': { url: (f) => `/calls/${f.ids.call}`, expect: needs('calls') },

  // Chats: the permission, then the employee's channels (the seeded chat's channel is the
  // agent's; admins see every channel).
  'GET /chats': { expect: needs('chats') },
  'GET /chats/:id': { url: (f) => `/chats/${f.ids.chat}`, expect: needs('chats') },
  'GET /chats/:id/messages': { url: (f) => `/chats/${f.ids.chat}/messages`, expect: needs('chats') },
  'POST /chats/:id/read': { url: (f) => `/chats/${f.ids.chat}/read`, expect: needs('chats') },
  // #21: the opened chat posts that a mention of the viewer is seen (opening is a GET).
  'POST /chats/:id/mentions/seen': { url: (f) => `/chats/${f.ids.chat}/mentions/seen`, expect: needs('chats') },
  'POST /chats/:id/messages': { url: (f) => `/chats/${f.ids.chat}/messages`, body: { text: '' }, expect: needs('chats') },
  // Only a failed outbound message can be retried; the fixture's message is inbound: 404.
  'POST /chats/:id/messages/:mid/retry': { url: (f) => `/chats/${f.ids.chat}/messages/${f.ids.message}/retry`, expect: needsButHidden('chats') },
  // Hiding a comment: the fixture's message is not a comment: 404.
  'POST /chats/:id/messages/:mid/moderate': { url: (f) => `/chats/${f.ids.chat}/messages/${f.ids.message}/moderate`, body: { hidden: '1' }, expect: needsButHidden('chats') },
  // Transcribing a voice note: the fixture's message is text, not audio: 404.
  'POST /chats/:id/messages/:mid/transcribe': { url: (f) => `/chats/${f.ids.chat}/messages/${f.ids.message}/transcribe`, expect: needsButHidden('chats') },
  // The composer alone (template picker, reply mode) and refreshing a number's templates.
  'GET /chats/:id/composer': { url: (f) => `/chats/${f.ids.chat}/composer`, expect: needs('chats') },
  // The composer's saved replies for the chat (a fragment; without htmx, a redirect to the chat).
  'GET /chats/:id/saved-replies': { url: (f) => `/chats/${f.ids.chat}/saved-replies?q=x`, headers: { 'hx-request': 'true' }, expect: needs('chats') },
  'POST /chats/:id/templates/refresh': { url: (f) => `/chats/${f.ids.chat}/templates/refresh`, expect: needs('chats') },
  'POST /chats/:id/archive': { url: (f) => `/chats/${f.ids.chat}/archive`, expect: needs('chats') },
  // #16: assigning (the menu of colleagues, and assigning to oneself) and internal notes. An
  // employee without the chat's channel gets a 404 (test/chats/team.test.ts).
  'GET /chats/:id/assign': { url: (f) => `/chats/${f.ids.chat}/assign`, expect: needs('chats') },
  'POST /chats/:id/assign': { url: (f) => `/chats/${f.ids.chat}/assign`, body: { assignee: 'me' }, expect: needs('chats') },
  'POST /chats/:id/notes': { url: (f) => `/chats/${f.ids.chat}/notes`, body: { text: '' }, expect: needs('chats') },
  'POST /chats/:id/reopen': { url: (f) => `/chats/${f.ids.chat}/reopen`, expect: needs('chats') },
  // The chat's client panel and the compact window (chats inside the CRM)
  'GET /chats/:id/client': { url: (f) => `/chats/${f.ids.chat}/client`, expect: needs('chats') },
  'GET /chats/:id/client/search': { url: (f) => `/chats/${f.ids.chat}/client/search?q=Matrix`, expect: needs('chats') },
  'POST /chats/:id/client': { url: (f) => `/chats/${f.ids.chat}/client`, body: {}, expect: needs('chats') },
  'POST /chats/:id/client/unlink': { url: (f) => `/chats/${f.ids.chat}/client/unlink`, expect: needs('chats') },
  'POST /chats/:id/client/new': { url: (f) => `/chats/${f.ids.chat}/client/new`, body: {}, expect: needs('chats') },
  'POST /chats/:id/client/documents': { url: (f) => `/chats/${f.ids.chat}/client/documents`, body: {}, expect: needs('chats') },
  'GET /chats/:id/mini': { url: (f) => `/chats/${f.ids.chat}/mini`, expect: needs('chats') },
  'GET /chats/for-client/:id': { url: (f) => `/chats/for-client/${f.ids.client}`, expect: needs('chats') },
  'POST /chats/for-client/:id': { url: (f) => `/chats/for-client/${f.ids.client}`, body: {}, expect: needs('chats') },
  // Media of a chat the agent can see would be 'ok'; none is stored in the fixtures, so these
  // check the gate (permission, login) and that a missing file is a plain 404.
  'GET /media/:id': { url: '/media/999999', expect: needsButHidden('chats') },
  'GET /media/avatars/:contactId': { url: (f) => `/media/avatars/${f.ids.contact}`, expect: needsButHidden('chats') },

  // Webhooks: public, proven by the platform's signature / verify token instead of a session.
  'GET /webhooks/meta': { url: '/webhooks/meta?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=42', expect: everyone(403) },
  'POST /webhooks/meta': { body: { object: 'page' }, expect: everyone(401) },
};
