// A webhook receiver for the emulator's contract tests: records the raw bytes and headers of
// every POST, answers with a programmable status (default 200) and handles the GET handshake.
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  raw: Buffer;
  headers: IncomingHttpHeaders;
  json: any;
  status: number;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Statuses to answer, in order; afterwards `defaultStatus`. */
  script: number[];
  defaultStatus: number;
  verifyToken: string;
  /** Every messaging item / change / WA message|status, flattened in arrival order. */
  items(): any[];
  close(): Promise<void>;
}

export async function startReceiver(verifyToken = 'emulator-verify-token'): Promise<Receiver> {
  const state = { script: [] as number[], defaultStatus: 200 };
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET') {
      const ok = url.searchParams.get('hub.mode') === 'subscribe' && url.searchParams.get('hub.verify_token') === receiver.verifyToken;
      res.writeHead(ok ? 200 : 403, { 'content-type': 'text/plain' });
      res.end(ok ? url.searchParams.get('hub.challenge') : 'forbidden');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const status = state.script.length ? (state.script.shift() as number) : state.defaultStatus;
      let json: any;
      try {
        json = JSON.parse(raw.toString('utf8'));
      } catch {
        json = undefined;
      }
      received.push({ raw, headers: req.headers, json, status });
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status === 200 ? 'EVENT_RECEIVED' : 'nope');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const receiver: Receiver = {
    url: `http://127.0.0.1:${port}/webhooks/meta`,
    received,
    get script() {
      return state.script;
    },
    set script(v: number[]) {
      state.script = v;
    },
    get defaultStatus() {
      return state.defaultStatus;
    },
    set defaultStatus(v: number) {
      state.defaultStatus = v;
    },
    verifyToken,
    items() {
      const out: any[] = [];
      for (const r of received.filter((x) => x.status === 200)) {
        for (const entry of r.json?.entry ?? []) {
          for (const m of entry.messaging ?? []) out.push(m);
          for (const c of entry.changes ?? []) {
            if (r.json.object === 'whatsapp_business_account') {
              for (const m of c.value.messages ?? []) out.push({ wa: 'message', ...m });
              for (const s of c.value.statuses ?? []) out.push({ wa: 'status', ...s });
            } else out.push({ field: c.field, ...c.value });
          }
        }
      }
      return out;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return receiver;
}

/** Independent check of X-Hub-Signature-256 over the raw bytes (§1.2). */
export function validSignature(r: Received, secret: string): boolean {
  const expected = `sha256=${createHmac('sha256', secret).update(r.raw).digest('hex')}`;
  return r.headers['x-hub-signature-256'] === expected;
}

export async function graph(
  base: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; bearer?: boolean; form?: FormData } = {},
): Promise<{ status: number; json: any; headers: Headers }> {
  const url = new URL(`${base}${path}`);
  const headers: Record<string, string> = {};
  if (options.token && options.bearer) headers.authorization = `Bearer ${options.token}`;
  else if (options.token) url.searchParams.set('access_token', options.token);
  let body: string | FormData | undefined;
  if (options.form) body = options.form;
  else if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const res = await fetch(url, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers };
}
