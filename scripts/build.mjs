#!/usr/bin/env node
// Compiles Parley's entry points to plain JavaScript ahead of time, so that running processes
// do not carry tsx (its loader thread, esbuild and source maps cost ≈ 85 MB of RSS per process).
//
//   node scripts/build.mjs                  dist/server.js and dist/worker.js (npm prestart / preworker)
//   node scripts/build.mjs ENTRY.ts OUT.js  one entry point (the bench's server processes)
//
// Plain JavaScript on purpose: it runs before anything is compiled and takes well under a
// second. esbuild comes with tsx (a runtime dependency). Each entry becomes one ESM file with
// the application code bundled and every npm package left as an import (node_modules is
// resolved as usual). Files are written to a temporary name and renamed, so a process starting
// beside a build (web and worker launched together) never imports a half-written file.
import { renameSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * `import.meta.url` keeps meaning "this source file" after bundling (src/deps.ts derives the
 * repository root from it, to find views/ and public/): each occurrence becomes the source
 * file's URL, computed relative to the output file so the build still works if the checkout
 * moves.
 */
function sourceUrls(outFile) {
  return {
    name: 'source-import-meta-url',
    setup(b) {
      b.onLoad({ filter: /\.[cm]?ts$/ }, (args) => {
        if (args.path.includes(`${join('node_modules', '')}`)) return undefined;
        const text = readFileSync(args.path, 'utf8');
        if (!text.includes('import.meta.url')) return undefined;
        const rel = relative(dirname(outFile), args.path).split('\\').join('/');
        return {
          contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, import.meta.url).href`),
          loader: 'ts',
        };
      });
    },
  };
}

export async function compile(entry, outFile) {
  const out = resolve(ROOT, outFile);
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [resolve(ROOT, entry)],
    outfile: out,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Type-only uses of a value import (PGlite in pglite-dialect.ts) are dropped, as tsc would
    // without verbatimModuleSyntax: PGlite is then loaded only in embedded mode.
    tsconfigRaw: { compilerOptions: { target: 'ES2022', useDefineForClassFields: true, verbatimModuleSyntax: false } },
    plugins: [sourceUrls(out)],
    legalComments: 'none',
    logLevel: 'warning',
    write: false,
  });
  mkdirSync(dirname(out), { recursive: true });
  for (const file of result.outputFiles) {
    const tmp = `${file.path}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, file.contents);
      renameSync(tmp, file.path);
    } finally {
      rmSync(tmp, { force: true });
    }
  }
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [entry, outFile] = process.argv.slice(2);
  const jobs = entry
    ? [[entry, outFile ?? join('dist', entry.replace(/^.*\//, '').replace(/\.ts$/, '.js'))]]
    : [
        ['src/server.ts', 'dist/server.js'],
        ['src/worker.ts', 'dist/worker.js'],
      ];
  try {
    await Promise.all(jobs.map(([e, o]) => compile(e, o)));
  } catch (err) {
    // esbuild has already printed the errors with their locations.
    if (!err?.errors) console.error(err);
    process.exit(1);
  }
}
