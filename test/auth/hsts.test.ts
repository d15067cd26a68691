import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, makeEmployee, type TestApp } from '../helpers.ts';

/** Finding #21.9: no HSTS when PUBLIC_URL is https, so a first visit over http could be taken over. */
const HSTS = 'max-age=31536000; includeSubDomains';

describe('Strict-Transport-Security', () => {
  let https: TestApp;
  let http: TestApp;
  beforeAll(async () => {
    https = await createTestApp({ env: { PUBLIC_URL: 'https://crm.shop.test' } });
    http = await createTestApp();
    for (const t of [https, http]) await makeEmployee(t.deps, { role: 'Admin', email: 'owner@shop.test' });
  });
  afterAll(async () => {
    await https?.close();
    await http?.close();
  });

  it('is sent on every answer when PUBLIC_URL is https (pages, redirects, errors, static files)', async () => {
    for (const url of ['/login', '/settings', '/no-such-page', '/static/css/app.css', '/health']) {
      const res = await https.app.inject({ url });
      expect(res.headers['strict-transport-security'], url).toBe(HSTS);
    }
  });

  it('is not sent when PUBLIC_URL is http (it would lock browsers out of a plain-http install)', async () => {
    const res = await http.app.inject({ url: '/login' });
    expect(res.headers['strict-transport-security']).toBeUndefined();
  });
});
