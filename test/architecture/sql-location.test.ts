// House rule 2 (docs/architecture.md), checked here because dependency-cruiser sees imports, not calls:
// SQL lives only in `*.repository.ts` files and in src/db/ (migrations/ is outside src/). Anywhere else in
// src/, a query builder call or a `sql` template is an offence: move it into a repository function.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const SRC = join(ROOT, 'src');

/** What counts as SQL outside a repository. */
const SQL_PATTERNS: Array<[string, RegExp]> = [
  ["imports `sql` from 'kysely'", /import\s*\{[^}]*\bsql\b[^}]*\}\s*from\s*'kysely'/],
  ['.selectFrom(', /\.selectFrom\s*\(/],
  ['.insertInto(', /\.insertInto\s*\(/],
  ['.updateTable(', /\.updateTable\s*\(/],
  ['.deleteFrom(', /\.deleteFrom\s*\(/],
  ['sql`…`', /\bsql(?:<[^>`]*>)?`/],
];

/**
 * Today's offenders (#22): each must move its SQL into a repository, then leave this list, which must end
 * empty. Keyed by the file's base name, so that the moves of #22 do not break the list.
 */
const ALLOWED: Record<string, string> = {
  'health.routes.ts': "the readiness probe's `select 1` (GET /health/ready) is inline: move it into a db/ or platform repository function",
};

/** Comments may name a query builder call; only code counts. */
function code(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .split('\n')
    .filter((line) => !/^\s*\/\//.test(line))
    .join('\n');
}

function sqlFound(text: string): string[] {
  const body = code(text);
  return SQL_PATTERNS.filter(([, re]) => re.test(body)).map(([what]) => what);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));
}

/** Files that may hold SQL: repositories and the database layer. */
function mayHoldSql(file: string): boolean {
  const rel = relative(ROOT, file).split('\\').join('/');
  return rel.endsWith('.repository.ts') || rel.startsWith('src/db/') || rel.startsWith('migrations/');
}

function offenders(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    if (mayHoldSql(file)) continue;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue; // moved away while we listed (the #22 moves)
    }
    const what = sqlFound(text);
    if (what.length) found.set(relative(ROOT, file).split('\\').join('/'), what);
  }
  return found;
}

describe('SQL only in *.repository.ts and src/db/', () => {
  it('the scanner sees each kind of SQL, and not comments', () => {
    expect(sqlFound("import { type Kysely, sql } from 'kysely';")).toEqual(["imports `sql` from 'kysely'"]);
    expect(sqlFound("await db\n  .selectFrom('chats')")).toEqual(['.selectFrom(']);
    expect(sqlFound("trx.insertInto('x')")).toEqual(['.insertInto(']);
    expect(sqlFound("trx.updateTable('x')")).toEqual(['.updateTable(']);
    expect(sqlFound("trx.deleteFrom('x')")).toEqual(['.deleteFrom(']);
    expect(sqlFound('const n = sql<number>`count(*)`;')).toEqual(['sql`…`']);
    expect(sqlFound('// db.selectFrom(\n/* sql`x` */ const a = 1;')).toEqual([]);
    expect(sqlFound("import type { Transaction } from 'kysely';")).toEqual([]);
  });

  it('no file outside a repository or src/db/ holds SQL, except the known offenders', () => {
    const unexpected = [...offenders()].filter(([file]) => !(basename(file) in ALLOWED)).map(([file, what]) => `${file}: ${what.join(', ')}`);
    expect(unexpected, 'SQL outside *.repository.ts and src/db/: move it into a repository function').toEqual([]);
  });

  it('every known offender still offends (a fixed one leaves the allow-list)', () => {
    const still = new Set([...offenders().keys()].map((file) => basename(file)));
    const fixed = Object.keys(ALLOWED).filter((name) => !still.has(name));
    expect(fixed, 'no SQL left in these files: take them out of ALLOWED in test/architecture/sql-location.test.ts').toEqual([]);
  });
});
