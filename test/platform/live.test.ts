import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LiveEventInput } from '../../src/platform/live/live.repository.ts';
import { inTransaction } from '../../src/platform/tx.ts';
import { createTestApp, login, makeEmployee, usingRedis, type Session, type TestApp } from '../helpers.ts';
import { postAs, until } from './support.ts';
import { SseStream, type SseEvent } from './sse.ts';

/**
 * Live updates over the real HTTP stream (R7, S3 for events): an event recorded in a committed
 * transaction reaches exactly the employees in its audience; rolled-back events never arrive;
 * a reconnect with Last-Event-ID replays what was missed, in order; a client too far behind is
 * told to reload; a disabled employee's stream is closed.
 */
let t: TestApp;
let base: string;
let admin: Session;
let a: { id: number; s: Session };
let b: { id: number; s: Session };
const open: SseStream[] = [];

beforeAll(async () => {
  t = await createTestApp();
  base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  const ad = await makeEmployee(t.deps, { role: 'Admin', email: 'admin@shop.test' });
  const ea = await makeEmployee(t.deps, { email: 'a@shop.test' });
  const eb = await makeEmployee(t.deps, { email: 'b@shop.test' });
  admin = await login(t.app, ad.email);
  a = { id: ea.id, s: await login(t.app, ea.email) };
  b = { id: eb.id, s: await login(t.app, eb.email) };
});
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});
afterAll(async () => t?.close());

async function connect(s: Session, opts: { lastEventId?: number; after?: number } = {}): Promise<SseStream> {
  const url = `${base}/events${opts.after !== undefined ? `?after=${opts.after}` : ''}`;
  const stream = await SseStream.open(url, { cookie: s.cookie, lastEventId: opts.lastEventId });
  open.push(stream);
  expect(stream.status).toBe(200);
  return stream;
}

let seq = 0;
/**
 * Records one event in its own committed transaction; returns its id. The id is read after
 * the commit: the hub writes a transaction's events as its last statements.
 */
async function record(ev: Omit<LiveEventInput, 'name'> & { name?: string }): Promise<number> {
  await inTransaction(t.deps.db, t.deps.logger, async (tx) => {
    await t.deps.live.record(tx, { name: 'ping', ...ev });
  });
  const r = await t.deps.db
    .selectFrom('live_events')
    .select((eb) => eb.fn.max('id').as('max'))
    .executeTakeFirstOrThrow();
  return Number(r.max);
}
const marker = (label: string) => `${label}-${++seq}`;
const markers = (evs: SseEvent[]) => evs.filter((e) => e.event !== 'reload').map((e) => (JSON.parse(e.data) as { m?: string }).m ?? e.data);
/** Waits until this process's hub has dispatched everything up to `id`. */
const dispatched = (id: number) => until(() => t.deps.live.lastEventId >= id, `hub at event ${id}`);

describe(`live events over SSE (${usingRedis ? 'Redis pub/sub' : 'in-process bus'})`, () => {
  it('answers with an event stream for employees and 401 for anonymous visitors', async () => {
    const s = await connect(a.s);
    expect(s.headers!['content-type']).toMatch(/^text\/event-stream/);
    expect(s.headers!['cache-control']).toContain('no-cache');
    await s.until(() => s.comments.includes('retry: 2000'), 'the retry hint');

    const anon = await SseStream.open(`${base}/events`);
    expect(anon.status).toBe(401);
    const badCookie = await SseStream.open(`${base}/events`, { cookie: 'parley_session=forged' });
    expect(badCookie.status).toBe(401);
  });

  it('keeps none of the request’s headers for the life of a stream (P7), and still sends it its events', async () => {
    const s = await connect(a.s);
    await s.until(() => s.comments.includes('retry: 2000'), 'the retry hint');
    const conns = [...(t.deps.live as unknown as { conns: Set<{ res: ServerResponse & { _header?: string } }> }).conns];
    expect(conns.length).toBeGreaterThan(0);
    for (const c of conns) {
      expect(c.res.req.rawHeaders).toEqual([]);
      expect(c.res.req.headers).toEqual({});
      // Still the header that was sent.
      expect(c.res._header).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*content-type: text\/event-stream/i);
      expect(c.res.headersSent).toBe(true);
    }
    // A stream set up with those headers still hears its events in its own language.
    const id = await record({ audience: 'employee', employeeId: a.id, data: { m: marker('after-release') } });
    await dispatched(id);
    await s.until(() => s.events.some((e) => e.data.includes('after-release')), 'the event');
  });

  it('does not keep a stream whose browser left before it was set up', async () => {
    const before = t.deps.live.connectionCount;
    const gone = Object.assign(new EventEmitter(), { destroyed: true, writeHead() {}, write() {}, end() {} }) as unknown as ServerResponse;
    const viewer = { employeeId: a.id, isAdmin: false, canChats: true, channelIds: new Set<number>(), locale: 'en' };
    await t.deps.live.connect(gone, viewer, null, 'en');
    expect(t.deps.live.connectionCount).toBe(before);
  });

  it('delivers a committed event to the employees in its audience and to no one else', async () => {
    const [sAdmin, sA, sB] = await Promise.all([connect(admin), connect(a.s), connect(b.s)]);
    const forA = marker('for-a');
    const forAdmins = marker('for-admins');
    const forChannel = marker('for-channel');
    const forAll = marker('for-all');
    await record({ audience: 'employee', employeeId: a.id, data: { m: forA } });
    await record({ audience: 'admins', data: { m: forAdmins } });
    await record({ audience: 'channel', channelId: 1, data: { m: forChannel } });
    await record({ audience: 'all', data: { m: forAll } });
    // Events arrive in id order, so once the last one is there the others would have been too.
    await Promise.all([sAdmin, sA, sB].map((s) => s.waitFor('ping', forAll)));
    expect(markers(sA.events)).toEqual([forA, forAll]);
    expect(markers(sB.events)).toEqual([forAll]);
    expect(markers(sAdmin.events)).toEqual([forAdmins, forAll]);
    // Every event carries its durable id, increasing.
    const ids = sAdmin.events.map((e) => Number(e.id));
    expect(ids.every((id, i) => Number.isInteger(id) && (i === 0 || id > ids[i - 1]!))).toBe(true);
  });

  it('carries HTML fragments (ui events) intact, across lines', async () => {
    const s = await connect(a.s);
    const html = `<div id="m-${++seq}" hx-swap-oob="true">\n  <p>line one</p>\n  <p>line two</p>\n</div>`;
    await record({ audience: 'all', name: 'ui', html });
    const ev = await s.waitFor('ui');
    expect(ev.data).toBe(html);
  });

  it('never delivers an event whose transaction rolled back', async () => {
    const s = await connect(a.s);
    const rolled = marker('rolled-back');
    await expect(
      inTransaction(t.deps.db, t.deps.logger, async (tx) => {
        await t.deps.live.record(tx, { audience: 'all', name: 'ping', data: { m: rolled } });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const after = marker('after-rollback');
    await record({ audience: 'all', data: { m: after } });
    await s.waitFor('ping', after);
    expect(markers(s.events)).toEqual([after]);
    expect(await t.deps.db.selectFrom('live_events').select('id').where('data', 'is not', null).execute()).not.toHaveLength(0);
  });

  it('a new connection without Last-Event-ID starts from now (no history dump)', async () => {
    const old = marker('old');
    const oldId = await record({ audience: 'all', data: { m: old } });
    await dispatched(oldId);
    const s = await connect(a.s);
    const fresh = marker('fresh');
    await record({ audience: 'all', data: { m: fresh } });
    await s.waitFor('ping', fresh);
    expect(markers(s.events)).toEqual([fresh]);
  });

  it.each(['Last-Event-ID', '?after='] as const)('a reconnect with %s replays exactly what was missed, in order, then goes live', async (how) => {
    const first = await connect(a.s);
    const seen = marker('seen');
    const seenId = await record({ audience: 'all', data: { m: seen } });
    const got = await first.waitFor('ping', seen);
    expect(Number(got.id)).toBe(seenId);
    first.close();

    const m2 = marker('missed-all');
    const m3 = marker('missed-for-b');
    const m4 = marker('missed-for-admins');
    const m5 = marker('missed-for-a');
    await record({ audience: 'all', data: { m: m2 } });
    await record({ audience: 'employee', employeeId: b.id, data: { m: m3 } });
    await record({ audience: 'admins', data: { m: m4 } });
    const lastMissed = await record({ audience: 'employee', employeeId: a.id, data: { m: m5 } });
    await dispatched(lastMissed);

    const again = await connect(a.s, how === 'Last-Event-ID' ? { lastEventId: seenId } : { after: seenId });
    await again.waitFor('ping', m5);
    const live = marker('live-after-replay');
    await record({ audience: 'all', data: { m: live } });
    await again.waitFor('ping', live);
    expect(markers(again.events)).toEqual([m2, m5, live]);
    const ids = again.events.map((e) => Number(e.id));
    expect([...ids].sort((x, y) => x - y)).toEqual(ids);
  });

  it('replays events recorded while the connection was being set up, once each', async () => {
    const startId = await record({ audience: 'all', data: { m: marker('start') } });
    await dispatched(startId);
    const burst = Array.from({ length: 20 }, () => marker('burst'));
    // Record concurrently with the connect: each event must arrive exactly once.
    const [s] = await Promise.all([
      connect(a.s, { lastEventId: startId }),
      (async () => {
        for (const m of burst) await record({ audience: 'all', data: { m } });
      })(),
    ]);
    await s.waitFor('ping', burst.at(-1)!);
    expect(markers(s.events)).toEqual(burst);
  });

  it('tells a client that is too far behind to reload, and closes its stream', async () => {
    const x1 = await record({ audience: 'all', data: { m: marker('x1') } });
    const x2 = await record({ audience: 'all', data: { m: marker('x2') } });
    const x3m = marker('x3');
    const x3 = await record({ audience: 'all', data: { m: x3m } });
    await dispatched(x3);
    // Pruned by maintenance: only x3 is left to replay.
    await t.deps.db.deleteFrom('live_events').where('id', '<', x3).execute();

    const stale = await connect(a.s, { lastEventId: x1 });
    await stale.waitFor('reload');
    await stale.waitClosed();
    expect(stale.events.map((e) => e.event)).toEqual(['reload']);

    // Exactly at the edge of what is kept: replayed, no reload.
    const edge = await connect(a.s, { lastEventId: x2 });
    await edge.waitFor('ping', x3m);
    expect(edge.named('reload')).toEqual([]);
  });

  it('closes the stream of an employee who is disabled, and only theirs', async () => {
    const c = await makeEmployee(t.deps, { email: `c${++seq}@shop.test` });
    const cs = await login(t.app, c.email);
    const [sC1, sC2, sA] = await Promise.all([connect(cs), connect(cs), connect(a.s)]);
    const res = await postAs(t.app, admin, `/settings/employees/${c.id}/disable`);
    expect(res.statusCode).toBe(303);
    await Promise.all([sC1.waitClosed(), sC2.waitClosed()]);

    // The others keep streaming, and never see the internal access-changed signal.
    const still = marker('still-live');
    await record({ audience: 'all', data: { m: still } });
    await sA.waitFor('ping', still);
    expect(sA.isClosed).toBe(false);
    expect(sA.named('access-changed')).toEqual([]);

    // And the disabled employee cannot reconnect.
    const retry = await SseStream.open(`${base}/events`, { cookie: cs.cookie });
    expect(retry.status).toBe(401);
  });
});
