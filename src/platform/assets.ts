import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { acceptsEncoding } from './page-body.ts';

interface Asset {
  type: string;
  raw: Buffer;
  gzip: Buffer | null;
  br: Buffer | null;
}

export interface Assets {
  /** `css/app.css` → `/static/css/app.css?v=<hash>`: a changed file gets a new URL. */
  urls: Record<string, string>;
  files: ReadonlyMap<string, Asset>;
}

/** Content types, and whether compressing helps (images and fonts are compressed already). */
const TYPES: Record<string, { type: string; text: boolean }> = {
  '.css': { type: 'text/css; charset=utf-8', text: true },
  '.js': { type: 'text/javascript; charset=utf-8', text: true },
  '.map': { type: 'application/json; charset=utf-8', text: true },
  '.json': { type: 'application/json; charset=utf-8', text: true },
  '.txt': { type: 'text/plain; charset=utf-8', text: true },
  '.svg': { type: 'image/svg+xml', text: true },
  '.png': { type: 'image/png', text: false },
  '.jpg': { type: 'image/jpeg', text: false },
  '.webp': { type: 'image/webp', text: false },
  '.gif': { type: 'image/gif', text: false },
  '.ico': { type: 'image/x-icon', text: false },
  '.woff2': { type: 'font/woff2', text: false },
};

/**
 * Reads `public/` once: each file's versioned URL, and its bytes as they are and, for text,
 * gzipped and brotli-compressed at the best levels (a few files, once at start, ≈ 0.1 s). A
 * file of a type it does not know stops the start (it would be served with the wrong type);
 * dotfiles are not served.
 */
export function loadAssets(publicDir: string): Assets {
  const urls: Record<string, string> = {};
  const files = new Map<string, Asset>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (name.startsWith('.')) continue;
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else {
        const rel = relative(publicDir, full).split('\\').join('/');
        const kind = TYPES[extname(rel).toLowerCase()];
        if (!kind) throw new Error(`public/${rel}: no content type for ${extname(rel) || 'a file without extension'} (src/platform/assets.ts TYPES)`);
        const raw = readFileSync(full);
        urls[rel] = `/static/${rel}?v=${createHash('sha256').update(raw).digest('hex').slice(0, 10)}`;
        files.set(rel, {
          type: kind.type,
          raw,
          gzip: kind.text ? gzipSync(raw, { level: constants.Z_BEST_COMPRESSION }) : null,
          br: kind.text ? brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY } }) : null,
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
      const [encoding, body] =
        file.br && file.br.length < file.raw.length && acceptsEncoding(accept, 'br')
          ? ['br', file.br]
          : file.gzip && file.gzip.length < file.raw.length && acceptsEncoding(accept, 'gzip')
            ? ['gzip', file.gzip]
            : [null, file.raw];
      if (encoding) reply.header('Content-Encoding', encoding);
      return reply.header('Cache-Control', 'public, max-age=31536000, immutable').header('Vary', 'Accept-Encoding').type(file.type).send(body);
    });
  };
}
