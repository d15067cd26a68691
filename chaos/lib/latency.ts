import { createServer, request, type Server } from 'node:http';

/**
 * A slow network in front of the emulator's Graph API: every send (`POST …/messages`) is
 * passed on at once but answered `delayMs` later, as the real Graph API takes a few hundred
 * milliseconds. So a worker killed mid-stream dies with sends the platform already has and
 * Parley has not yet recorded: the case an outbox must not send twice.
 */
export async function slowGraph(target: string, delayMs: number): Promise<{ url: string; readonly inflight: number; close(): Promise<void> }> {
  const t = new URL(target);
  let inflight = 0;
  const server: Server = createServer((req, res) => {
    const slow = req.method === 'POST' && /\/messages(\?|$)/.test(req.url ?? '');
    if (slow) inflight++;
    res.once('close', () => slow && inflight--);
    const up = request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.on('end', () =>
        setTimeout(
          () => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            res.end(Buffer.concat(chunks));
          },
          slow ? delayMs : 0,
        ),
      );
    });
    up.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    get inflight() {
      return inflight;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
