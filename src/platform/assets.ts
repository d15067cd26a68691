import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * Maps `css/app.css` to `/static/css/app.css?v=<hash>`: files are served with a long cache and
 * a changed file gets a new URL.
 */
export function assetUrls(publicDir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else {
        const rel = relative(publicDir, full).split('\\').join('/');
        const v = createHash('sha256').update(readFileSync(full)).digest('hex').slice(0, 10);
        out[rel] = `/static/${rel}?v=${v}`;
      }
    }
  };
  walk(publicDir);
  return out;
}
