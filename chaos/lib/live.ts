import { openSse, type SseConn } from '../../bench/lib/sse.ts';
import { sleep } from '../../bench/lib/stats.ts';
import type { Ports } from './load.ts';

/**
 * A browser's live stream (scenario f): one employee's `GET /events`, resumed the way
 * EventSource does it (the server's `retry: 2000`, then `Last-Event-ID: <last id seen>`).
 * `drop()` cuts it from the client side (the browser's network going away during a fault);
 * a server that dies cuts it too. Every event id received is kept, to compare with the
 * `live_events` rows this employee may see.
 */
export class LiveWatcher {
  readonly received = new Set<number>();
  lastId: number;
  reloads = 0;
  reconnects = 0;
  private conn: SseConn | undefined;
  private stopped = false;
  private connecting: Promise<void> | undefined;
  private buf = '';

  constructor(private readonly o: { ports: Ports; cookie: string; after: number }) {
    this.lastId = o.after;
  }

  async start() {
    await this.connect(true);
  }

  drop() {
    const c = this.conn;
    this.conn = undefined;
    c?.close();
    this.reconnectSoon();
  }

  stop() {
    this.stopped = true;
    this.conn?.close();
  }

  get connected(): boolean {
    return Boolean(this.conn);
  }

  private reconnectSoon() {
    if (this.stopped || this.connecting) return;
    this.connecting = (async () => {
      await sleep(2000);
      await this.connect(false);
    })().finally(() => (this.connecting = undefined));
  }

  private async connect(first: boolean) {
    for (let attempt = 0; !this.stopped; attempt++) {
      const ports = this.o.ports();
      const port = ports[attempt % ports.length]!;
      const headers: Record<string, string> = { cookie: this.o.cookie, 'accept-language': 'en' };
      if (!first) headers['last-event-id'] = String(this.lastId);
      try {
        this.buf = '';
        const conn = await openSse(port, first ? `/events?after=${this.lastId}` : '/events', headers, (text) => this.onText(text));
        if (!first) this.reconnects++;
        this.conn = conn;
        const onEnd = () => {
          if (this.conn !== conn) return;
          this.conn = undefined;
          this.reconnectSoon();
        };
        conn.res.once('close', onEnd);
        conn.res.once('end', onEnd);
        conn.req.once('error', onEnd);
        return;
      } catch {
        await sleep(2000);
      }
    }
  }

  private onText(text: string) {
    this.buf += text;
    let i: number;
    while ((i = this.buf.indexOf('\n\n')) >= 0) {
      const frame = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      let id: number | undefined;
      let event = 'message';
      for (const line of frame.split('\n')) {
        if (line.startsWith('id: ')) id = Number(line.slice(4));
        else if (line.startsWith('event: ')) event = line.slice(7);
      }
      if (event === 'reload') this.reloads++;
      if (id !== undefined && Number.isFinite(id)) {
        this.received.add(id);
        if (id > this.lastId) this.lastId = id;
      }
    }
  }
}
