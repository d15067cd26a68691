import { get as httpGet, type Agent, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';

/**
 * A minimal Server-Sent Events client over fetch, for tests that need the real HTTP stream
 * (headers, framing, ids, the server closing it). It records every event and comment and lets a
 * test await the next matching one with a timeout instead of sleeping.
 */
export interface SseEvent {
  id: string | undefined;
  event: string;
  data: string;
}

export class SseStream {
  readonly events: SseEvent[] = [];
  /** Raw comment lines (`: hb`) and `retry:` values, for completeness. */
  readonly comments: string[] = [];
  status = 0;
  headers: IncomingHttpHeaders | undefined;
  private ended = false;
  private endedResolve!: () => void;
  /** Resolves when the server ends the stream (or the client aborts it). */
  readonly closed: Promise<void> = new Promise((r) => (this.endedResolve = r));
  private waiters: Array<() => void> = [];
  private req: ClientRequest | undefined;

  /**
   * Opens the stream with node:http on its own connection (no keep-alive pool), so closing it
   * really closes the socket, as a browser tab going away does. (fetch's pooled sockets
   * linger after an abort and would hold the server's shutdown open.) Pass a keep-alive
   * `agent` to behave like a browser that keeps the connection for its reconnect.
   */
  static open(url: string, opts: { cookie?: string; lastEventId?: string | number; agent?: Agent } = {}): Promise<SseStream> {
    const s = new SseStream();
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (opts.cookie) headers.cookie = opts.cookie;
    if (opts.lastEventId !== undefined) headers['last-event-id'] = String(opts.lastEventId);
    return new Promise((resolve, reject) => {
      const req = httpGet(url, { headers, agent: opts.agent ?? false }, (res) => {
        s.status = res.statusCode ?? 0;
        s.headers = res.headers;
        s.pump(res);
        resolve(s);
      });
      s.req = req;
      req.on('error', (err) => {
        s.finish();
        reject(err);
      });
    });
  }

  get isClosed(): boolean {
    return this.ended;
  }

  /** Events other than the stream's own bookkeeping. */
  named(name: string): SseEvent[] {
    return this.events.filter((e) => e.event === name);
  }

  private pump(res: IncomingMessage) {
    res.setEncoding('utf8');
    let buf = '';
    res.on('data', (chunk: string) => {
      buf += chunk;
      let idx: number;
      while ((idx = buf.indexOf('\n\n')) >= 0) {
        this.parse(buf.slice(0, idx));
        buf = buf.slice(idx + 2);
      }
    });
    // Ended by the server, reset, or closed by us: either way the stream is over.
    res.on('close', () => this.finish());
    res.on('error', () => this.finish());
  }

  private parse(block: string) {
    let id: string | undefined;
    let event = 'message';
    const data: string[] = [];
    let sawField = false;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        this.comments.push(line);
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'retry') this.comments.push(`retry: ${value}`);
      else if (field === 'id') (id = value), (sawField = true);
      else if (field === 'event') (event = value), (sawField = true);
      else if (field === 'data') data.push(value), (sawField = true);
    }
    if (sawField) this.events.push({ id, event, data: data.join('\n') });
    this.wake();
  }

  private finish() {
    if (this.ended) return;
    this.ended = true;
    this.endedResolve();
    this.wake();
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits until `check(events)` holds; fails after `timeoutMs` (or if the stream ends first). */
  async until(check: (events: SseEvent[]) => boolean, what = 'an event', timeoutMs = 10_000): Promise<SseEvent[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (check(this.events)) return this.events;
      if (this.ended) throw new Error(`SSE stream ended while waiting for ${what}; got ${JSON.stringify(this.events)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Timed out waiting for ${what}; got ${JSON.stringify(this.events)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for an event with this name whose data contains `marker` (if given). */
  waitFor(name: string, marker?: string, timeoutMs?: number): Promise<SseEvent> {
    const match = (e: SseEvent) => e.event === name && (marker === undefined || e.data.includes(marker));
    return this.until((evs) => evs.some(match), `event ${name}${marker ? ` ${marker}` : ''}`, timeoutMs).then((evs) => evs.find(match)!);
  }

  /** Waits for the server to end the stream. */
  async waitClosed(timeoutMs = 10_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.closed, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('SSE stream still open')), timeoutMs)))]).finally(() => clearTimeout(timer));
  }

  close() {
    this.req?.destroy();
  }
}

/** Live streams of several employees on one app, all closed together at the end of a file. */
export class LiveStreams {
  private readonly open_: SseStream[] = [];
  constructor(private readonly baseUrl: () => string) {}

  async open(s: { cookie: string }, o: { lastEventId?: string | number } = {}): Promise<SseStream> {
    const stream = await SseStream.open(`${this.baseUrl()}/events`, { cookie: s.cookie, ...o });
    this.open_.push(stream);
    return stream;
  }

  /** Opens a stream and waits until the hub has it (its first bytes, the retry hint, arrived). */
  async openReady(s: { cookie: string }): Promise<SseStream> {
    const stream = await this.open(s);
    if (stream.status !== 200) throw new Error(`/events answered ${stream.status}`);
    await stream.until(() => stream.comments.includes('retry: 2000'), 'the stream to open');
    return stream;
  }

  closeAll(): void {
    for (const s of this.open_.splice(0)) s.close();
  }
}
