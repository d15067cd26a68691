import type { ServerResponse } from 'node:http';
import type { Db } from '../../db/database.ts';
import type { Bus } from '../bus.ts';
import type { Logger } from '../logger.ts';
import { inTransaction, type Tx } from '../tx.ts';
import { insertLiveEvents, latestLiveEventId, listLiveEventsAfter, oldestLiveEventId, type LiveEventInput, type LiveEventRow } from './live.repository.ts';

/** What an SSE connection may receive; rebuilt when access changes. */
export interface Viewer {
  employeeId: number;
  isAdmin: boolean;
  canChats: boolean;
  channelIds: ReadonlySet<number>;
  /** The language the employee's pages are in: events rendered for one language go to it. */
  locale: string;
}

/** Returns null when the employee is gone or disabled: their streams are closed. */
export type ViewerLoader = (employeeId: number, acceptLanguage?: string) => Promise<Viewer | null>;

/** Of these sessions (`sessions.id_hash`), the ones that still hold (live.repository.ts `liveSessionHashes`). */
export type SessionChecker = (sessionHashes: string[]) => Promise<Set<string>>;

export interface LiveHubOptions {
  /** How often every stream's session is re-checked (expiry, idle timeout); default 60 s. */
  sessionCheckMs?: number;
}

export function canSee(v: Viewer, e: Pick<LiveEventRow, 'audience' | 'employee_id' | 'channel_id' | 'locale'>): boolean {
  if (e.locale && e.locale !== v.locale) return false;
  switch (e.audience) {
    case 'all':
      return true;
    case 'admins':
      return v.isAdmin;
    case 'employee':
      return e.employee_id === v.employeeId;
    case 'channel':
      return v.canChats && e.channel_id !== null && v.channelIds.has(e.channel_id);
  }
}

interface Connection {
  viewer: Viewer;
  /** The session the stream was opened with (`sessions.id_hash`): the stream ends with it. */
  session: string | null;
  acceptLanguage: string | undefined;
  res: ServerResponse;
  /** Events that arrived while the replay query ran. */
  buffer: LiveEventRow[] | null;
  sentUpTo: number;
}

/**
 * Node keeps a response's header text (`_header`) for as long as the response is open (a stream:
 * hours), as the rope of ~20 strings it was concatenated from, ≈ 1 KB per stream (P7). A flat
 * copy of the same text holds the same answer for everything that reads it (`headersSent`).
 */
function flattenSentHeader(res: ServerResponse) {
  const r = res as ServerResponse & { _header?: unknown };
  if (typeof r._header === 'string') r._header = Buffer.from(r._header, 'latin1').toString('latin1');
}

/**
 * An EventSource ends a line at CRLF, at a lone LF and at a lone CR (HTML standard, "Interpreting
 * an event stream"). Any of them inside user text would end the `data:` line early and let the
 * rest of the text be read as a field of its own (`id:` moving the browser's last event id,
 * `event:`, `retry:`). So the body is cut at all three, each piece its own `data:` line: the
 * browser joins them with LF. A CR of the text thus arrives as LF, which changes nothing once
 * the HTML is parsed (the HTML parser turns CR and CRLF into LF itself); a JSON body has none.
 */
const LINE_BREAK = /\r\n|\r|\n/;
/** Event names are identifiers chosen by code (`ui`, `red-dot`…), never text from a user. */
const EVENT_NAME = /^[a-z][a-z0-9-]{0,39}$/;

/**
 * One event's bytes on the stream; empty (nothing is sent) for an id or a name that could not
 * be framed safely: `record` refuses such names, so only a row written by other means has one.
 */
export function sseFrame(id: number, name: string, body: string): string {
  if (!Number.isSafeInteger(id) || !EVENT_NAME.test(name)) return '';
  return `id: ${id}\nevent: ${name}\ndata: ${body.split(LINE_BREAK).join('\ndata: ')}\n\n`;
}

const TOPIC = 'live';
/** Internal signal: reload viewers (role, channel access or employee state changed). */
export const ACCESS_CHANGED = 'access-changed';
/**
 * Internal signal: some sessions of `data.employeeId` were ended (logout, password change, an
 * admin's reset): every hub re-checks that employee's streams against `sessions` and closes
 * those whose session is gone. Recorded by `LiveHub.sessionsEnded`.
 */
export const SESSIONS_ENDED = 'sessions-ended';
/** Signals between hubs; never sent to a browser (live or in a replay). */
const INTERNAL_EVENTS: ReadonlySet<string> = new Set([ACCESS_CHANGED, SESSIONS_ENDED]);
const SESSION_CHECK_MS = 60_000;
const HEARTBEAT_MS = 20_000;
const MAX_REPLAY = 500;
/** A client that cannot keep up is dropped; it reconnects and replays from its last id. */
const MAX_BUFFERED_BYTES = 1 << 20;

/**
 * Live updates for one web process. Events are rows in `live_events` (written in the same
 * transaction as the change they describe); after commit the row is published on the bus as a
 * wake-up carrying the row. Each process keeps a cursor and, when a notification skips ids,
 * reads the missing range from PostgreSQL, so its stream is complete and in id order.
 */
export class LiveHub {
  private readonly conns = new Set<Connection>();
  private cursor = 0;
  private chain: Promise<void> = Promise.resolve();
  private heartbeat: NodeJS.Timeout | undefined;
  private sessionCheck: NodeJS.Timeout | undefined;
  private started = false;

  constructor(
    private readonly db: Db,
    private readonly bus: Bus,
    private readonly logger: Logger,
    private readonly loadViewer: ViewerLoader,
    private readonly checkSessions?: SessionChecker,
    private readonly options: LiveHubOptions = {},
  ) {}

  /** What an employee's stream may carry, by the loader the root passed in (auth's viewer). */
  viewerOf(employeeId: number, acceptLanguage?: string): Promise<Viewer | null> {
    return this.loadViewer(employeeId, acceptLanguage);
  }

  get lastEventId(): number {
    return this.cursor;
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  /**
   * Record an event in `tx`: written with the transaction's other events as its last
   * statement, published on the bus when it commits.
   */
  async record(tx: Tx, event: LiveEventInput): Promise<void> {
    if (!EVENT_NAME.test(event.name)) throw new Error(`live event name must be lower-case letters, digits and dashes: ${JSON.stringify(event.name)}`);
    let pending = tx.scratch.get(TOPIC) as LiveEventInput[] | undefined;
    if (!pending) {
      const batch: LiveEventInput[] = [];
      pending = batch;
      tx.scratch.set(TOPIC, batch);
      tx.beforeCommit(async () => {
        const rows = await insertLiveEvents(tx, batch);
        // All at once, not each after the last one's answer (one connection keeps their order):
        // a French viewer's copy of an event no longer waits a round trip behind the English.
        tx.afterCommit(() => Promise.all(rows.map((row) => this.bus.publish(TOPIC, JSON.stringify(row)))));
      });
    }
    pending.push(event);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.cursor = await latestLiveEventId(this.db);
    // Not awaited: with Redis down the subscription is made when it comes back (ioredis
    // resubscribes), and the web process must serve, and accept webhooks, meanwhile (R6).
    void this.bus
      .subscribe(TOPIC, (msg) => {
        let row: LiveEventRow;
        try {
          row = JSON.parse(msg);
        } catch {
          return;
        }
        this.chain = this.chain.then(() => this.advance(row)).catch((err) => this.logger.warn({ err: err.message }, 'live catch-up failed'));
      })
      .catch((err: Error) => this.logger.warn({ err: err.message }, 'live subscription failed'));
    this.heartbeat = setInterval(() => {
      for (const c of this.conns) this.write(c, ': hb\n\n');
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
    // Expiry (absolute or idle) ends a session without anyone saying so: every stream's session
    // is re-checked now and then, in the dispatch order (a stream is closed within this period).
    if (this.checkSessions) {
      this.sessionCheck = setInterval(() => {
        this.chain = this.chain.then(() => this.recheckSessions()).catch((err) => this.logger.warn({ err: err.message }, 'live session check failed'));
      }, this.options.sessionCheckMs ?? SESSION_CHECK_MS);
      this.sessionCheck.unref();
    }
  }

  /**
   * Closes, on every web process, the streams of `employeeId`'s sessions that have ended: call
   * after deleting sessions (logout, password change, reset), inside that transaction when
   * there is one (`tx`), else right after (an event in a transaction of its own).
   */
  async sessionsEnded(employeeId: number, tx?: Tx): Promise<void> {
    const event: LiveEventInput = { audience: 'employee', employeeId, name: SESSIONS_ENDED, data: { employeeId } };
    if (tx) await this.record(tx, event);
    else await inTransaction(this.db, this.logger, (t) => this.record(t, event));
  }

  /** Drops the streams (of one employee, or all) whose session no longer holds. */
  private async recheckSessions(employeeId?: number) {
    if (!this.checkSessions) return;
    const conns = [...this.conns].filter((c) => c.session !== null && (employeeId === undefined || c.viewer.employeeId === employeeId));
    if (conns.length === 0) return;
    const valid = await this.checkSessions([...new Set(conns.map((c) => c.session!))]);
    for (const c of conns) if (!valid.has(c.session!)) this.drop(c);
  }

  private async advance(row: LiveEventRow) {
    if (row.id <= this.cursor) return;
    let rows: LiveEventRow[] = [row];
    if (row.id > this.cursor + 1) {
      // Ids were skipped: read the gap from the database (they may be rollbacks' burnt ids).
      rows = await listLiveEventsAfter(this.db, this.cursor, 10_000, row.id);
    }
    for (const r of rows) await this.dispatch(r);
    this.cursor = row.id;
  }

  private async dispatch(row: LiveEventRow) {
    if (row.name === ACCESS_CHANGED) {
      const target = (row.data as { employeeId?: number } | null)?.employeeId;
      await this.refreshViewers(target);
      return;
    }
    if (row.name === SESSIONS_ENDED) {
      const target = (row.data as { employeeId?: number } | null)?.employeeId;
      if (typeof target === 'number') await this.recheckSessions(target);
      return;
    }
    for (const c of this.conns) {
      if (c.buffer) c.buffer.push(row);
      else if (canSee(c.viewer, row)) this.send(c, row);
    }
  }

  private async refreshViewers(employeeId?: number) {
    const cache = new Map<number, Viewer | null>();
    for (const c of this.conns) {
      const id = c.viewer.employeeId;
      if (employeeId !== undefined && id !== employeeId) continue;
      if (!cache.has(id)) cache.set(id, await this.loadViewer(id, c.acceptLanguage));
      const v = cache.get(id);
      if (v) c.viewer = v;
      else this.drop(c);
    }
  }

  /**
   * Attach a response to the stream. Replays events after `lastEventId` that the viewer may
   * see, or tells the browser to reload when it is too far behind to replay.
   */
  async connect(res: ServerResponse, viewer: Viewer, lastEventId: number | null, acceptLanguage?: string, session: string | null = null): Promise<void> {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    flattenSentHeader(res);
    // The browser may have left while the route looked its employee up: then 'close' has
    // already fired, and a connection added now would never be removed.
    if (res.destroyed) return;
    const conn: Connection = { viewer, session, acceptLanguage, res, buffer: [], sentUpTo: lastEventId ?? this.cursor };
    this.conns.add(conn);
    res.on('close', () => this.conns.delete(conn));

    if (lastEventId !== null && lastEventId < this.cursor) {
      const oldest = await oldestLiveEventId(this.db);
      const missed = await listLiveEventsAfter(this.db, lastEventId, MAX_REPLAY + 1, this.cursor);
      if ((oldest !== null && lastEventId < oldest - 1) || missed.length > MAX_REPLAY) {
        this.write(conn, `event: reload\ndata: {}\n\n`);
        this.drop(conn);
        return;
      }
      for (const r of missed) if (canSee(conn.viewer, r)) this.send(conn, r);
    }
    const buffered = conn.buffer ?? [];
    conn.buffer = null;
    for (const r of buffered) if (canSee(conn.viewer, r)) this.send(conn, r);
  }

  private send(c: Connection, row: LiveEventRow & { frame?: string }) {
    if (row.id <= c.sentUpTo) return;
    c.sentUpTo = row.id;
    if (INTERNAL_EVENTS.has(row.name)) return;
    // Formatted once per event, not once per connection (a broadcast reaches many streams).
    row.frame ??= sseFrame(row.id, row.name, row.name === 'ui' ? row.html : JSON.stringify(row.data ?? {}));
    if (row.frame) this.write(c, row.frame);
  }

  private write(c: Connection, chunk: string) {
    if (c.res.writableLength > MAX_BUFFERED_BYTES) {
      this.drop(c);
      return;
    }
    c.res.write(chunk);
  }

  private drop(c: Connection) {
    this.conns.delete(c);
    c.res.end();
  }

  /** Wait until every published event has been dispatched (tests). */
  async settle(): Promise<void> {
    await this.chain;
  }

  /** End every stream; browsers reconnect (to another process) and replay. */
  async close(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.sessionCheck) clearInterval(this.sessionCheck);
    for (const c of this.conns) this.drop(c);
  }
}
