import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, login, makeEmployee, type Session, type TestApp } from '../helpers.ts';
import { getAs, textOf } from './support.ts';

/**
 * S9 headers on every kind of answer, the htmx safety settings (S2), no inline script or style
 * that the CSP would have to allow, and error pages rendered inside the layout.
 */
let t: TestApp;
let admin: Session;
let noperm: Session;
beforeAll(async () => {
  t = await createTestApp();
  const a = await makeEmployee(t.deps, { role: 'Admin', email: 'admin@shop.test', name: 'Ada Admin' });
  const n = await makeEmployee(t.deps, { role: 'Nothing', permissions: [], email: 'nothing@shop.test', name: 'Nina Noperm' });
  admin = await login(t.app, a.email);
  noperm = await login(t.app, n.email);
});
afterAll(async () => t?.close());

function parseCsp(header: unknown): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of String(header ?? '').split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) out.set(name, values);
  }
  return out;
}

function assertSecurityHeaders(res: { headers: Record<string, unknown> }, what: string) {
  const csp = parseCsp(res.headers['content-security-policy']);
  expect(csp.size, `${what}: CSP present`).toBeGreaterThan(0);
  const all = [...csp.values()].flat();
  expect(all, what).not.toContain("'unsafe-inline'");
  expect(all, what).not.toContain("'unsafe-eval'");
  expect(all, what).not.toContain('*');
  expect(csp.get('default-src'), what).toEqual(["'self'"]);
  expect(csp.get('script-src'), what).toEqual(["'self'"]);
  expect(csp.get('frame-ancestors'), what).toEqual(["'none'"]);
  expect(csp.get('object-src'), what).toEqual(["'none'"]);
  expect(csp.get('base-uri'), what).toEqual(["'none'"]);
  expect(res.headers['x-content-type-options'], what).toBe('nosniff');
  expect(['no-referrer', 'same-origin', 'strict-origin', 'strict-origin-when-cross-origin'], what).toContain(res.headers['referrer-policy']);
  expect(res.headers['x-frame-options'], what).toBe('DENY');
}

/** What the CSP forbids must not be in the HTML at all: the browser test checks it for real. */
function assertNoInlineCode(html: string, what: string) {
  for (const tag of html.match(/<script\b[^>]*>/g) ?? []) expect(tag, `${what}: external scripts only`).toMatch(/\ssrc="\/static\//);
  expect(html, `${what}: inline script`).not.toMatch(/<script\b(?![^>]*\ssrc=)[^>]*>/);
  expect(html, `${what}: <style>`).not.toMatch(/<style\b/);
  expect(html, `${what}: style=""`).not.toMatch(/\sstyle\s*=/);
  expect(html, `${what}: on*= handler`).not.toMatch(/<[^>]+\son[a-z]+\s*=/);
  expect(html, `${what}: javascript: URL`).not.toMatch(/(href|src|action)\s*=\s*"\s*javascript:/i);
  expect(html, `${what}: hx-on`).not.toMatch(/\shx-on[:-]/);
}

describe('security headers (S9)', () => {
  it.each([
    ['anonymous page', null, '/login'],
    ['page', 'admin', '/settings/employees'],
    ['page (roles)', 'admin', '/settings/roles'],
    ['redirect', null, '/settings/profile'],
    ['404 page', 'admin', '/no/such/page'],
    ['403 page', 'noperm', '/settings/employees'],
    ['health JSON', null, '/healthz'],
    ['static file', null, '/static/css/app.css'],
  ] as const)('%s %s', async (_what, who, url) => {
    const s = who === 'admin' ? admin : who === 'noperm' ? noperm : null;
    const res = await getAs(t.app, s, url);
    assertSecurityHeaders(res, url);
  });

  it('HTML pages vary on HX-Request and are not cached by shared caches with someone else’s data', async () => {
    const res = await getAs(t.app, admin, '/settings/profile');
    expect(String(res.headers.vary)).toMatch(/HX-Request/i);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
  });
});

describe('htmx safety settings (S2)', () => {
  it('every full page sets allowEval:false, allowScriptTags:false, includeIndicatorStyles:false, historyCacheSize:0', async () => {
    for (const url of ['/settings/profile', '/settings/employees', '/settings/roles', '/no/such/page']) {
      const res = await getAs(t.app, admin, url);
      const meta = /<meta name="htmx-config" content='([^']+)'>/.exec(res.body);
      expect(meta, url).not.toBeNull();
      const config = JSON.parse(meta![1]!);
      expect(config, url).toMatchObject({ allowEval: false, allowScriptTags: false, includeIndicatorStyles: false, historyCacheSize: 0 });
      // The vendored htmx, served from our own origin (no CDN).
      expect(res.body, url).toMatch(/<script src="\/static\/vendor\/htmx-2\.\d+\.\d+\.min\.js\?v=[0-9a-f]+" defer><\/script>/);
    }
  });

  it('pages contain no inline script, style or event handler', async () => {
    const pages: Array<[Session | null, string]> = [
      [null, '/login'],
      [admin, '/settings/employees'],
      [admin, '/settings/roles'],
      [admin, '/settings/profile'],
      [admin, '/settings/roles/1/edit'],
      [admin, '/nope'],
      [noperm, '/settings/roles'],
    ];
    for (const [s, url] of pages) {
      const res = await getAs(t.app, s, url);
      assertNoInlineCode(res.body, url);
    }
  });
});

describe('error pages', () => {
  it('404 for a logged-in employee renders inside the layout, with the side menu', async () => {
    const res = await getAs(t.app, admin, '/no/such/page');
    expect(res.statusCode).toBe(404);
    expect(res.body).toContain('<nav class="sidenav"');
    expect(res.body).toContain('data-status="404"');
    expect(textOf(res.body)).toContain('Page not found');
    expect(textOf(res.body)).toContain('Ada Admin');
  });

  it('403 renders inside the layout, with the side menu of the employee’s role', async () => {
    const res = await getAs(t.app, noperm, '/settings/employees');
    expect(res.statusCode).toBe(403);
    expect(res.body).toContain('<nav class="sidenav"');
    expect(res.body).toContain('data-status="403"');
    expect(textOf(res.body)).toContain('Access denied');
    // A role without permissions sees Settings only.
    expect(res.body).not.toContain('href="/clients"');
    expect(res.body).toContain('href="/settings"');
  });

  it('404 for an anonymous visitor uses the bare layout (no menu, no data)', async () => {
    const res = await getAs(t.app, null, '/no/such/page');
    expect(res.statusCode).toBe(404);
    expect(res.body).not.toContain('<nav class="sidenav"');
    expect(res.body).toContain('data-status="404"');
  });

  it('error pages are translated', async () => {
    const res = await getAs(t.app, admin, '/no/such/page', { 'accept-language': 'fr' });
    expect(textOf(res.body)).toContain('Page introuvable');
    expect(textOf(res.body)).toContain('Paramètres');
  });

  it('a malformed request is a 4xx, never a 500 with a stack trace', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/login', headers: { 'content-type': 'application/json' }, payload: '{"email": ' });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
    expect(res.body).not.toMatch(/at .*\.ts:\d+/);
  });
});
