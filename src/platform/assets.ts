import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { acceptsEncoding } from './page-body.ts';

interface Asset {
  type: string;
  raw: Buffer;
  gzip: Buffer;
  br: Buffer;
}

export interface Assets {
  /** `css/app.css` → `/static/css/app.css?v=<hash>`: a changed file gets a new URL. */
  urls: Record<string, string>;
  files: ReadonlyMap<string, Asset>;
}

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

/**
 * Reads `public/` once: each file's versioned URL, and its bytes as they are, gzipped and
 * brotli-compressed at the best levels (a few files, compressed once at start, ≈ 0.1 s).
 */
export function loadAssets(publicDir: string): Assets {
  const urls: Record<string, string> = {};
  const files = new Map<string, Asset>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else {
        const rel = relative(publicDir, full).split('\\').join('/');
        const raw = readFileSync(full);
        urls[rel] = `/static/${rel}?v=${createHash('sha256').update(raw).digest('hex').slice(0, 10)}`;
        files.set(rel, {
          type: TYPES[extname(rel)] ?? 'application/octet-stream',
          raw,
          gzip: gzipSync(raw, { level: constants.Z_BEST_COMPRESSION }),
          br: brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY } }),
        });
      }
    }
  };
  walk(publicDir);
  return { urls, files };
}

/**
 * GET /static/<file>: from memory, compressed as the browser allows, cached for a year (the URL
 * changes with the content).
 */
export function staticRoutes(assets: Assets) {
  return async (app: FastifyInstance) => {
    app.get('/static/*', { config: { access: 'public' } }, async (req, reply) => {
      const file = assets.files.get((req.params as { '*': string })['*']);
      if (!file) return reply.code(404).type('text/plain; charset=utf-8').send('Not found');
      const accept = req.headers['accept-encoding'];
      const [encoding, body] = acceptsEncoding(accept, 'br') && file.br.length < file.raw.length
        ? ['br', file.br]
        : acceptsEncoding(accept, 'gzip') && file.gzip.length < file.raw.length
          ? ['gzip', file.gzip]
          : [null, file.raw];
      if (encoding) reply.header('Content-Encoding', encoding);
      return reply
        .header('Cache-Control', 'public, max-age=31536000, immutable')
        .header('Vary', 'Accept-Encoding')
        .type(file.type)
        .send(body);
    });
  };
}
