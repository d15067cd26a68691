import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, login, makeEmployee, TEST_PASSWORD, type Session, type TestApp } from '../helpers.ts';
import { postAs } from '../platform/support.ts';
import { LiveStreams } from '../platform/sse.ts';

/**
 * A password change ends the employee's other sessions, and an administrator's temporary
 * password all of them: their open live streams end with them (over real HTTP, at once, not at
 * the next periodic session check).
 */
let t: TestApp;
let base: string;
let admin: Session;
beforeAll(async () => {
  t = await createTestApp();
  base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  const a = await makeEmployee(t.deps, { role: 'Admin', email: 'owner@shop.test' });
  admin = await login(t.app, a.email);
});
afterEach(() => streams.closeAll());
afterAll(async () => t?.close());

const streams = new LiveStreams(() => base);
const connect = (s: Session) => streams.openReady(s);

describe('live streams and passwords', () => {
  it('changing one’s password closes the streams of the other sessions, not this one', async () => {
    const e = await makeEmployee(t.deps, { email: 'streams@shop.test' });
    const here = await login(t.app, e.email);
    const there = await login(t.app, e.email);
    const [keep, gone] = await Promise.all([connect(here), connect(there)]);
    const res = await postAs(t.app, here, '/settings/profile/password', { current: TEST_PASSWORD, password: 'a new password here', confirm: 'a new password here' });
    expect(res.statusCode).toBe(303);
    await gone.waitClosed(3000);
    expect(keep.isClosed).toBe(false);
  });

  it('a temporary password set by an administrator closes every stream of the employee', async () => {
    const e = await makeEmployee(t.deps, { email: 'reset-streams@shop.test' });
    const [a, b] = await Promise.all([connect(await login(t.app, e.email)), connect(await login(t.app, e.email))]);
    const res = await postAs(t.app, admin, `/settings/employees/${e.id}/password`, { password: '' });
    expect(res.statusCode).toBe(200);
    await Promise.all([a.waitClosed(3000), b.waitClosed(3000)]);
  });
});
