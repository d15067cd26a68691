import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

const file = (rel: string) => readFileSync(join(t.deps.root, 'public', rel));
const get = (url: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url, headers });

describe('static files', () => {
  it('are sent compressed as the browser allows (brotli, else gzip, else as they are), cached for a year', async () => {
    const raw = file('vendor/htmx-2.0.11.min.js');
    const br = await get('/static/vendor/htmx-2.0.11.min.js?v=x', { 'accept-encoding': 'gzip, deflate, br, zstd' });
    expect(br.statusCode).toBe(200);
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(br.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(br.headers.vary).toBe('Accept-Encoding');
    expect(br.rawPayload.length).toBeLessThan(raw.length / 2);
    expect(brotliDecompressSync(br.rawPayload).equals(raw)).toBe(true);

    const gz = await get('/static/vendor/htmx-2.0.11.min.js', { 'accept-encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.rawPayload).equals(raw)).toBe(true);

    const plain = await get('/static/css/app.css');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(plain.rawPayload.equals(file('css/app.css'))).toBe(true);

    const head = await t.app.inject({ method: 'HEAD', url: '/static/css/app.css' });
    expect(head.statusCode).toBe(200);
    expect(Number(head.headers['content-length'])).toBe(file('css/app.css').length);
  });

  it('answer 404 for anything that is not one of them', async () => {
    for (const url of ['/static/js/nope.js', '/static/../package.json', '/static/%2e%2e/package.json', '/static/', '/static/js']) {
      const res = await get(url, { 'accept-encoding': 'br' });
      expect(res.statusCode, url).toBe(404);
      expect(res.body, url).not.toContain('"name": "parley"');
    }
  });
});

describe('loadAssets', () => {
  it('skips dotfiles, leaves images uncompressed, and refuses a file it has no type for', async () => {
    const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { loadAssets } = await import('../../src/platform/assets.ts');
    const dir = mkdtempSync(join(tmpdir(), 'parley-assets-'));
    try {
      mkdirSync(join(dir, 'img'));
      writeFileSync(join(dir, '.secret'), 'KEY=1');
      writeFileSync(join(dir, 'img', 'logo.png'), Buffer.alloc(2000, 1));
      writeFileSync(join(dir, 'a.css'), 'body{color:red}'.repeat(100));
      const assets = loadAssets(dir);
      expect([...assets.files.keys()].sort()).toEqual(['a.css', 'img/logo.png']);
      expect(assets.files.get('img/logo.png')).toMatchObject({ type: 'image/png', gzip: null, br: null });
      expect(assets.files.get('a.css')!.br!.length).toBeLessThan(100);
      expect(assets.urls['a.css']).toMatch(/^\/static\/a\.css\?v=[0-9a-f]{10}$/);
      writeFileSync(join(dir, 'notes.exe'), 'x');
      expect(() => loadAssets(dir)).toThrow(/notes\.exe: no content type/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
