import { gzipSync, constants } from 'node:zlib';
import { buildApp } from '../../src/app.ts';
import { RUN_DB, dbUrl, redisPrefix } from '../lib/env.ts';
import { deleteRedisPrefix, freshDatabase } from '../lib/db.ts';
import { addChannel, addEmployee, benchDeps, seedInbox, sessionCookie } from '../lib/parley.ts';
import type { Scenario } from '../lib/report.ts';
import { kb } from '../lib/stats.ts';

const LIMIT = 40 * 1024;

/** Every script and stylesheet an HTML page references (src/href), in order. */
export function assetRefs(html: string): Array<{ kind: 'js' | 'css'; url: string }> {
  const out: Array<{ kind: 'js' | 'css'; url: string }> = [];
  for (const m of html.matchAll(/<script\b[^>]*>/gi)) {
    const src = /\ssrc\s*=\s*["']([^"']+)["']/i.exec(m[0]);
    if (src) out.push({ kind: 'js', url: src[1]! });
  }
  for (const m of html.matchAll(/<link\b[^>]*>/gi)) {
    const rel = /\srel\s*=\s*["']([^"']+)["']/i.exec(m[0])?.[1]?.toLowerCase() ?? '';
    const href = /\shref\s*=\s*["']([^"']+)["']/i.exec(m[0])?.[1];
    if (!href) continue;
    if (rel.includes('stylesheet')) out.push({ kind: 'css', url: href });
    else if (rel.includes('modulepreload') || (rel.includes('preload') && /\bas\s*=\s*["']script/i.test(m[0]))) out.push({ kind: 'js', url: href });
    else if (rel.includes('preload') && /\bas\s*=\s*["']style/i.test(m[0])) out.push({ kind: 'css', url: href });
  }
  return out;
}

/**
 * P9: the JS + CSS the Chats page makes a browser download, gzipped (level 9, as the
 * gzip-size tools do), summed. The page is the real /chats/:id of a logged-in employee.
 */
export const weightScenario: Scenario = {
  key: 'p9',
  covers: ['P9'],
  title: 'page weight of the Chats page (JS + CSS, gzipped)',
  async run(ctx) {
    const prefix = redisPrefix('p9');
    const database = await freshDatabase(RUN_DB, dbUrl(RUN_DB));
    await database.close();
    const deps = await benchDeps(prefix);
    try {
      const channelId = await addChannel(deps, {});
      const employee = await addEmployee(deps, { name: 'Agent Weight' });
      const cookie = await sessionCookie(deps, employee);
      const chats = await seedInbox(deps, { channelId, chats: 5, perChat: 6, tag: 'p9' });
      const app = await buildApp(deps);
      await app.ready();
      try {
        const page = await app.inject({ method: 'GET', url: `/chats/${chats[0]}`, headers: { cookie } });
        if (page.statusCode !== 200) throw new Error(`GET /chats/${chats[0]} answered ${page.statusCode}`);
        const listPage = await app.inject({ method: 'GET', url: '/chats', headers: { cookie } });
        const refs = new Map<string, 'js' | 'css'>();
        for (const r of [...assetRefs(page.body), ...assetRefs(listPage.body)]) refs.set(r.url, r.kind);
        const files: Array<{ url: string; kind: string; raw: number; gzip: number; servedEncoding: string | null }> = [];
        for (const [url, kind] of refs) {
          if (!url.startsWith('/')) throw new Error(`asset from another origin: ${url}`);
          const res = await app.inject({ method: 'GET', url, headers: { cookie, 'accept-encoding': 'gzip, br' } });
          if (res.statusCode !== 200) throw new Error(`GET ${url} answered ${res.statusCode}`);
          const enc = (res.headers['content-encoding'] as string | undefined) ?? null;
          const raw = enc ? null : res.rawPayload;
          const plain = raw ?? (await app.inject({ method: 'GET', url, headers: { cookie } })).rawPayload;
          files.push({ url, kind, raw: plain.length, gzip: gzipSync(plain, { level: constants.Z_BEST_COMPRESSION }).length, servedEncoding: enc });
        }
        const total = files.reduce((n, f) => n + f.gzip, 0);
        const totalRaw = files.reduce((n, f) => n + f.raw, 0);
        for (const f of files) ctx.log(`${f.kind.padEnd(3)} ${f.url.padEnd(48)} ${kb(f.raw).padStart(9)} raw → ${kb(f.gzip).padStart(8)} gzip -9; served ${f.servedEncoding ?? 'uncompressed'}`);
        ctx.log(`total ${kb(totalRaw)} raw, ${kb(total)} gzipped; HTML of /chats/${chats[0]} itself: ${kb(page.rawPayload.length)} raw, ${kb(gzipSync(page.rawPayload).length)} gzipped`);
        const notes: string[] = [];
        if (files.some((f) => !f.servedEncoding)) {
          notes.push(
            `Parley serves these files uncompressed even to a client that accepts gzip/br (no @fastify/compress, no precompressed files): without a compressing proxy in front, a browser downloads ${kb(totalRaw)}, not ${kb(total)}.`,
          );
        }
        return {
          checks: [{ id: 'P9', what: 'Chats page JS + CSS, gzipped', value: `${kb(total)} (${files.length} files)`, target: '≤ 40 KB', pass: total <= LIMIT }],
          figures: { files, totalGzipBytes: total, totalRawBytes: totalRaw, htmlBytes: page.rawPayload.length },
          notes,
        };
      } finally {
        await app.close();
      }
    } finally {
      await deps.close();
      await deleteRedisPrefix(prefix);
    }
  },
};
