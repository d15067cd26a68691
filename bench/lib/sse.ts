import { get, type ClientRequest, type IncomingMessage } from 'node:http';

/**
 * A raw SSE connection for load: its own socket (no agent), chunks handed to `onChunk` as
 * latin1 text (markers are ASCII, so no UTF-8 decoding cost), no event parsing unless asked.
 */
export interface SseConn {
  status: number;
  req: ClientRequest;
  res: IncomingMessage;
  close(): void;
}

export function openSse(port: number, path: string, headers: Record<string, string>, onChunk: (text: string, at: number) => void): Promise<SseConn> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path, headers: { accept: 'text/event-stream', ...headers }, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`SSE ${path} answered ${res.statusCode}`));
        return;
      }
      res.on('data', (chunk: Buffer) => onChunk(chunk.toString('latin1'), performance.now()));
      res.on('error', () => {});
      resolve({ status: res.statusCode, req, res, close: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

/** Opens `n` streams, `batch` at a time. */
export async function openMany(n: number, batch: number, open: (i: number) => Promise<SseConn>): Promise<SseConn[]> {
  const out: SseConn[] = [];
  for (let i = 0; i < n; i += batch) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(batch, n - i) }, (_, j) => open(i + j)))));
  }
  return out;
}
