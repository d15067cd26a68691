import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/platform/crypto.ts';
import { inTransaction } from '../../src/platform/tx.ts';
import { createTestApp, login, makeEmployee, usingRedis, type Session, type TestApp } from '../helpers.ts';
import { postAs } from './support.ts';
import { LiveStreams, SseStream } from './sse.ts';

/**
 * S11 "a stream ends with its session" (#21 finding 5): /events was bound to the employee, so an
 * open stream outlived logout and expiry. Each stream is now bound to the session it was opened
 * with, and ends when that session ends: logout (that session's streams only), absolute expiry,
 * idle timeout (an open stream is not activity), disabling, and any other deletion of sessions
 * announced with `LiveHub.sessionsEnded` (password change ends the other sessions).
 */
const CHECK_MS = 150;
/**
 * Two apps: one whose periodic session check is as slow as in production (60 s), so what closes
 * a stream there within seconds is the announced end (logout, `sessionsEnded`), and one that
 * checks every CHECK_MS, for expiry, which nobody announces.
 */
let t: TestApp;
let base: string;
let admin: Session;
let slow: { t: TestApp; base: string; admin: Session };
let fast: { t: TestApp; base: string; admin: Session };

async function startApp(liveSessionCheckMs?: number) {
  const app = await createTestApp({ liveSessionCheckMs });
  const url = await app.app.listen({ port: 0, host: '127.0.0.1' });
  const ad = await makeEmployee(app.deps, { role: 'Admin', email: 'sess-admin@shop.test' });
  return { t: app, base: url, admin: await login(app.app, ad.email) };
}
function use(x: typeof slow) {
  ({ t, base, admin } = x);
}

beforeAll(async () => {
  [slow, fast] = await Promise.all([startApp(), startApp(CHECK_MS)]);
});
afterEach(() => streams.closeAll());
afterAll(async () => Promise.all([slow?.t.close(), fast?.t.close()]));

let seq = 0;
async function employee() {
  const e = await makeEmployee(t.deps, { email: `sess${++seq}@shop.test` });
  return { ...e, s1: await login(t.app, e.email), s2: await login(t.app, e.email) };
}

const streams = new LiveStreams(() => base);
const connect = (s: Session) => streams.openReady(s);

const hashOf = (s: Session) => sha256(s.cookie.slice('parley_session='.length));

/** A marker event for everyone: proof that a stream is still delivering. */
async function stillLive(stream: SseStream) {
  const m = `alive-${++seq}`;
  await inTransaction(t.deps.db, t.deps.logger, async (tx) => {
    await t.deps.live.record(tx, { audience: 'all', name: 'ping', data: { m } });
  });
  await stream.waitFor('ping', m);
  expect(stream.isClosed).toBe(false);
}

/** Longer than several session checks: a stream that should stay open is still open after it. */
const severalChecks = () => new Promise((r) => setTimeout(r, CHECK_MS * 4));

describe(`live streams end with their session, at once when announced (${usingRedis ? 'Redis pub/sub' : 'in-process bus'})`, () => {
  beforeAll(() => use(slow));

  it("logout closes that session's streams and no other (the employee's other session stays)", async () => {
    const e = await employee();
    const [a1, a1bis, a2] = await Promise.all([connect(e.s1), connect(e.s1), connect(e.s2)]);
    const res = await postAs(t.app, e.s1, '/logout');
    expect(res.statusCode).toBe(303);
    await Promise.all([a1.waitClosed(3000), a1bis.waitClosed(3000)]);
    await stillLive(a2);
    // The ended session cannot open a new one.
    const again = await SseStream.open(`${base}/events`, { cookie: e.s1.cookie });
    expect(again.status).toBe(401);
  });

  it('disabling the employee closes every stream of theirs', async () => {
    const e = await employee();
    const [x1, x2] = await Promise.all([connect(e.s1), connect(e.s2)]);
    const res = await postAs(t.app, admin, `/settings/employees/${e.id}/disable`);
    expect(res.statusCode).toBe(303);
    await Promise.all([x1.waitClosed(3000), x2.waitClosed(3000)]);
  });

  it('sessionsEnded (password change, reset) closes the streams of the sessions deleted with it', async () => {
    const e = await employee();
    const [keep, gone] = await Promise.all([connect(e.s1), connect(e.s2)]);
    // As a password change does: every other session of the employee ends, in one transaction.
    await inTransaction(t.deps.db, t.deps.logger, async (tx) => {
      await tx.db.deleteFrom('sessions').where('employee_id', '=', e.id).where('id_hash', '!=', hashOf(e.s1)).execute();
      await t.deps.live.sessionsEnded(e.id, tx);
    });
    await gone.waitClosed(3000);
    await stillLive(keep);
    // The internal signals never reach a browser.
    expect(keep.named('sessions-ended')).toEqual([]);
    expect(keep.named('access-changed')).toEqual([]);
  });
});

describe('internal signals', () => {
  beforeAll(() => use(slow));

  it('are not replayed to a browser either', async () => {
    const e = await employee();
    const first = await connect(e.s1);
    const m = `before-${++seq}`;
    await inTransaction(t.deps.db, t.deps.logger, async (tx) => {
      await t.deps.live.record(tx, { audience: 'all', name: 'ping', data: { m } });
    });
    const seen = await first.waitFor('ping', m);
    first.close();
    // Missed while away: an access change for everyone (a colleague disabled) and a marker.
    const other = await employee();
    expect((await postAs(t.app, admin, `/settings/employees/${other.id}/disable`)).statusCode).toBe(303);
    const again = await streams.open(e.s1, { lastEventId: seen.id });
    await stillLive(again);
    expect(again.events.map((x) => x.event)).toEqual(['ping']);
  });
});

describe('live streams end when their session expires (checked every few moments)', () => {
  beforeAll(() => use(fast));

  it('the absolute expiry of a session closes its stream, though the stream is open', async () => {
    const e = await employee();
    const [x, other] = await Promise.all([connect(e.s1), connect(e.s2)]);
    await t.deps.db
      .updateTable('sessions')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('id_hash', '=', hashOf(e.s1))
      .execute();
    await x.waitClosed();
    await stillLive(other);
  });

  it('the idle timeout closes a stream: an open stream does not keep its session alive', async () => {
    const e = await employee();
    const x = await connect(e.s1);
    const idle = new Date(Date.now() - t.deps.sessionPolicy.idleMs - 60_000);
    await t.deps.db.updateTable('sessions').set({ last_seen_at: idle }).where('id_hash', '=', hashOf(e.s1)).execute();
    await x.waitClosed();
  });

  it('a stream whose session holds stays open across checks', async () => {
    const e = await employee();
    const x = await connect(e.s1);
    await severalChecks();
    await stillLive(x);
  });
});
