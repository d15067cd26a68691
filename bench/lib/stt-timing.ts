import { performance } from 'node:perf_hooks';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SttDouble, startEmulator, type Emulator, type EmulatorOptions } from '../../emulator/index.ts';

/** Epoch milliseconds with sub-millisecond resolution (comparable with Date.now() of other processes). */
export const epochNow = (): number => performance.timeOrigin + performance.now();

/**
 * One request to the speech-to-text double, timed on the double's side (epoch ms):
 * - `start`: its request line and headers arrived (Parley has read the file and started sending);
 * - `bodyEnd`: the last byte of the multipart body arrived (the upload is over);
 * - `handler`: the body is parsed (the double's multipart parser) and its handler starts;
 * - `end`: its answer is written out.
 * `handler → end` and `bodyEnd → handler` are the engine's own time; `start → bodyEnd` is the
 * transfer of the file from Parley.
 */
export interface SttTiming {
  start: number;
  bodyEnd: number;
  handler: number;
  end: number;
  bytes: number;
  status: number;
  /** What `fileOf` made of the uploaded file (e.g. the copy's mark), or null. */
  tag: number | null;
}

const PATH = '/v1/audio/transcriptions';

/**
 * The Meta emulator (in this process) with its speech-to-text endpoint timed by Fastify hooks:
 * SttDouble.prototype.register is wrapped while `startEmulator` builds the server, so the
 * hooks sit in front of the double's own route; the product's emulator code is unchanged.
 */
export async function startTimedEmulator(options: EmulatorOptions, fileOf: (file: Buffer) => number | null): Promise<{ emu: Emulator; timings: SttTiming[] }> {
  const timings: SttTiming[] = [];
  const original = SttDouble.prototype.register;
  type Timed = FastifyRequest & { benchStt?: Partial<SttTiming> };
  SttDouble.prototype.register = function (this: SttDouble, app: FastifyInstance) {
    app.addHook('onRequest', async (req: Timed) => {
      if (req.url.split('?')[0] === PATH && req.method === 'POST') req.benchStt = { start: epochNow() };
    });
    app.addHook('preParsing', async (req: Timed, _reply, payload) => {
      const t = req.benchStt;
      if (t) payload.once('end', () => (t.bodyEnd = epochNow()));
      return payload;
    });
    app.addHook('preHandler', async (req: Timed) => {
      const t = req.benchStt;
      if (!t) return;
      t.handler = epochNow();
      t.bodyEnd ??= t.handler;
      const file = (req.body as { files?: Record<string, { data: Buffer }> } | undefined)?.files?.file?.data;
      t.bytes = file?.length ?? 0;
      t.tag = file ? fileOf(file) : null;
    });
    app.addHook('onResponse', async (req: Timed, reply) => {
      const t = req.benchStt;
      if (!t || t.handler === undefined) return;
      timings.push({ start: t.start!, bodyEnd: t.bodyEnd!, handler: t.handler, end: epochNow(), bytes: t.bytes ?? 0, status: reply.statusCode, tag: t.tag ?? null });
    });
    original.call(this, app);
  };
  try {
    return { emu: await startEmulator(options), timings };
  } finally {
    SttDouble.prototype.register = original;
  }
}
