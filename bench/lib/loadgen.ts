import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Samples, type LatencySummary } from './stats.ts';

/**
 * A small HTTP/1.1 load generator on raw sockets (no npm dependency, far cheaper per request
 * than node:http's client, so it does not become the bottleneck before the server does).
 * Requests are pre-serialized bytes; responses are parsed just enough to find their end
 * (Content-Length or chunked) and their status. Keep-alive, no pipelining: one request in
 * flight per connection, like a browser or Meta's webhook sender.
 *
 * Two modes:
 * - closed loop (`rate` unset): every connection sends its next request as soon as the previous
 *   answer arrived, for `durationMs` → the server's saturated throughput and latency.
 * - open loop (`rate` set): requests are issued on a fixed schedule whether or not earlier ones
 *   finished; latency counts from the *intended* send time, so a stalled server is not hidden
 *   by the generator slowing down with it (no coordinated omission).
 */
export interface LoadSpec {
  host?: string;
  port: number;
  /** Several servers (web processes behind a load balancer): connection i goes to ports[i % n]. */
  ports?: number[];
  connections: number;
  durationMs: number;
  /** Requests per second (open loop). */
  rate?: number;
  /** Stop issuing after this many requests. */
  maxRequests?: number;
  /** The bytes of request number k (k counts from 0 over the run). */
  request: (k: number) => Buffer;
  /** Called when request k is written (open loop: with its intended time too). */
  onSent?: (k: number, sentAt: number) => void;
  onResponse?: (k: number, status: number, doneAt: number) => void;
  /** A request unanswered this long counts as a timeout and its connection is replaced. */
  timeoutMs?: number;
}

export interface LoadResult {
  requests: number;
  durationS: number;
  rps: number;
  latency: LatencySummary;
  status: Record<string, number>;
  non2xx: number;
  errors: number;
  timeouts: number;
  connections: number;
  rate?: number;
  /** Open loop: the most requests ever waiting for a free connection. */
  maxBacklog?: number;
  /** Open loop: latency from the moment the request was actually written (no queueing). */
  serviceLatency?: LatencySummary;
}

enum S {
  Head,
  Body,
  ChunkSize,
  ChunkData,
  Trailer,
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');

class Conn {
  socket!: Socket;
  busy = false;
  k = -1;
  intendedAt = 0;
  sentAt = 0;
  private buf: Buffer | null = null;
  private state = S.Head;
  private remaining = 0;
  private status = 0;
  connected!: Promise<void>;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly done: (c: Conn, status: number) => void,
    private readonly failed: (c: Conn, err: string) => void,
  ) {
    this.open();
  }

  open() {
    this.buf = null;
    this.state = S.Head;
    const socket = connect({ host: this.host, port: this.port });
    socket.setNoDelay(true);
    this.socket = socket;
    this.connected = new Promise((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    this.connected.catch(() => {});
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.socket !== socket) return;
      if (this.busy) this.failed(this, 'closed');
    });
  }

  send(bytes: Buffer, k: number, intendedAt: number) {
    this.busy = true;
    this.k = k;
    this.intendedAt = intendedAt;
    this.sentAt = performance.now();
    this.socket.write(bytes);
  }

  reset() {
    const old = this.socket;
    this.busy = false;
    this.open();
    old.destroy();
  }

  private onData(chunk: Buffer) {
    let buf = this.buf?.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      switch (this.state) {
        case S.Head: {
          const idx = buf.indexOf(CRLFCRLF);
          if (idx < 0) {
            this.buf = buf;
            return;
          }
          const head = buf.toString('latin1', 0, idx);
          this.status = Number(head.slice(9, 12));
          buf = buf.subarray(idx + 4);
          const cl = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
          if (cl) {
            this.remaining = Number(cl[1]);
            this.state = S.Body;
          } else if (/\r\ntransfer-encoding:[ \t]*chunked/i.test(head)) {
            this.state = S.ChunkSize;
          } else {
            this.remaining = 0;
            this.state = S.Body;
          }
          break;
        }
        case S.Body: {
          if (buf.length < this.remaining) {
            this.remaining -= buf.length;
            this.buf = null;
            return;
          }
          buf = buf.subarray(this.remaining);
          this.remaining = 0;
          this.state = S.Head;
          this.finish();
          if (buf.length === 0) {
            this.buf = null;
            return;
          }
          break;
        }
        case S.ChunkSize: {
          const idx = buf.indexOf(CRLF);
          if (idx < 0) {
            this.buf = buf;
            return;
          }
          const size = parseInt(buf.toString('latin1', 0, idx), 16);
          buf = buf.subarray(idx + 2);
          if (size === 0) this.state = S.Trailer;
          else {
            this.remaining = size + 2;
            this.state = S.ChunkData;
          }
          break;
        }
        case S.ChunkData: {
          if (buf.length < this.remaining) {
            this.remaining -= buf.length;
            this.buf = null;
            return;
          }
          buf = buf.subarray(this.remaining);
          this.state = S.ChunkSize;
          break;
        }
        case S.Trailer: {
          const idx = buf.indexOf(CRLF);
          if (idx < 0) {
            this.buf = buf;
            return;
          }
          buf = buf.subarray(idx + 2);
          this.state = S.Head;
          this.finish();
          if (buf.length === 0) {
            this.buf = null;
            return;
          }
          break;
        }
      }
    }
  }

  private finish() {
    this.busy = false;
    this.done(this, this.status);
  }
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const host = spec.host ?? '127.0.0.1';
  if (host !== '127.0.0.1' && host !== 'localhost') throw new Error('the load generator only targets this machine');
  const timeoutMs = spec.timeoutMs ?? 10_000;
  const latencies = new Samples();
  const service = new Samples();
  const status: Record<string, number> = {};
  let errors = 0;
  let timeouts = 0;
  let issued = 0;
  let completed = 0;
  let stopIssuing = false;
  const backlog: Array<{ k: number; intendedAt: number }> = [];
  let maxBacklog = 0;
  const idle: Conn[] = [];
  let finishResolve!: () => void;
  const finished = new Promise<void>((r) => (finishResolve = r));

  const canIssue = () => !stopIssuing && (spec.maxRequests === undefined || issued < spec.maxRequests);

  const dispatch = (c: Conn, k: number, intendedAt: number) => {
    c.send(spec.request(k), k, intendedAt);
    spec.onSent?.(k, c.sentAt);
  };

  const next = (c: Conn) => {
    if (spec.rate) {
      const job = backlog.shift();
      if (job) dispatch(c, job.k, job.intendedAt);
      else idle.push(c);
    } else if (canIssue()) {
      const k = issued++;
      dispatch(c, k, performance.now());
    } else idle.push(c);
    maybeFinish();
  };

  const outstanding = () => issued - completed;
  const maybeFinish = () => {
    if ((stopIssuing || !canIssue()) && backlog.length === 0 && outstanding() === 0) finishResolve();
  };

  const onDone = (c: Conn, st: number) => {
    const now = performance.now();
    completed++;
    latencies.add(now - (spec.rate ? c.intendedAt : c.sentAt));
    if (spec.rate) service.add(now - c.sentAt);
    status[st] = (status[st] ?? 0) + 1;
    spec.onResponse?.(c.k, st, now);
    next(c);
  };
  const onFail = (c: Conn, _err: string) => {
    if (!c.busy) return;
    completed++;
    errors++;
    c.reset();
    c.connected.then(
      () => next(c),
      () => maybeFinish(),
    );
  };

  const conns: Conn[] = [];
  const ports = spec.ports?.length ? spec.ports : [spec.port];
  for (let i = 0; i < spec.connections; i++) conns.push(new Conn(host, ports[i % ports.length]!, onDone, onFail));
  await Promise.all(conns.map((c) => c.connected));

  const start = performance.now();
  const sweep = setInterval(() => {
    const now = performance.now();
    for (const c of conns) {
      if (c.busy && now - c.sentAt > timeoutMs) {
        timeouts++;
        completed++;
        c.reset();
        c.connected.then(
          () => next(c),
          () => maybeFinish(),
        );
      }
    }
  }, 100);

  let ticker: NodeJS.Timeout | undefined;
  if (spec.rate) {
    const interval = 1000 / spec.rate;
    idle.push(...conns);
    const tick = () => {
      const now = performance.now();
      const due = Math.min(Math.floor((now - start) / interval) + 1, spec.maxRequests ?? Infinity);
      while (issued < due && canIssue()) {
        const k = issued++;
        const intendedAt = start + k * interval;
        const c = idle.pop();
        if (c) dispatch(c, k, intendedAt);
        else backlog.push({ k, intendedAt });
      }
      if (backlog.length > maxBacklog) maxBacklog = backlog.length;
      if (!canIssue()) {
        clearInterval(ticker);
        maybeFinish();
      }
    };
    ticker = setInterval(tick, 1);
    tick();
  } else {
    for (const c of conns) next(c);
  }

  const stopTimer = setTimeout(() => {
    stopIssuing = true;
    if (ticker) clearInterval(ticker);
    backlog.length = 0;
    maybeFinish();
  }, spec.durationMs);
  // Whatever is still in flight gets `timeoutMs` to finish.
  const hardStop = new Promise<void>((r) => setTimeout(r, spec.durationMs + timeoutMs + 500).unref());
  await Promise.race([finished, hardStop]);
  const end = performance.now();
  clearTimeout(stopTimer);
  clearInterval(sweep);
  if (ticker) clearInterval(ticker);
  for (const c of conns) c.socket.destroy();

  const durationS = (end - start) / 1000;
  const ok = latencies.count;
  const non2xx = Object.entries(status).reduce((n, [s, c]) => (Number(s) >= 200 && Number(s) < 300 ? n : n + c), 0);
  return {
    requests: ok,
    durationS,
    rps: ok / durationS,
    latency: latencies.summary(),
    status,
    non2xx,
    errors,
    timeouts,
    connections: spec.connections,
    ...(spec.rate ? { rate: spec.rate, maxBacklog, serviceLatency: service.summary() } : {}),
  };
}

/** Serializes an HTTP/1.1 request once; the generator writes these bytes as they are. */
export function httpRequest(method: string, path: string, headers: Record<string, string>, body?: Buffer | string): Buffer {
  const b = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  let head = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  if (b) head += `Content-Length: ${b.length}\r\n`;
  head += '\r\n';
  return b ? Buffer.concat([Buffer.from(head, 'latin1'), b]) : Buffer.from(head, 'latin1');
}
