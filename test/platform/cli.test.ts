import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli.ts';
import { verifyPassword } from '../../src/auth/passwords.ts';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { createTestDeps, usingPostgres, type TestContext } from '../helpers.ts';
import { submitLogin, until } from './support.ts';
import { buildApp } from '../../src/app.ts';
import { ROOT } from '../../src/deps.ts';

/**
 * `parley` commands, run in-process through runCli (which reads its configuration from the
 * environment, like the real binary). Under PostgreSQL they run against this file's cloned
 * database; embedded, against a file-backed PGlite in a temporary DATA_DIR.
 */
let ctx: TestContext;
const saved: Record<string, string | undefined> = {};
const ENV_KEYS = ['DATA_DIR', 'DATABASE_URL', 'REDIS_URL', 'SECRET_KEY', 'LOG_LEVEL'] as const;

beforeAll(async () => {
  ctx = await createTestDeps();
  for (const k of ENV_KEYS) saved[k] = process.env[k];
  process.env.DATA_DIR = ctx.dataDir;
  process.env.SECRET_KEY = 'test-secret-key-0123456789abcdef0123456789';
  process.env.LOG_LEVEL = 'silent';
  // The CLI touches the database only; keep it off the shared Redis.
  delete process.env.REDIS_URL;
  if (ctx.config.databaseUrl) process.env.DATABASE_URL = ctx.config.databaseUrl;
  else delete process.env.DATABASE_URL;
});
afterAll(async () => {
  for (const k of ENV_KEYS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  await ctx?.close();
});
afterEach(() => {
  vi.restoreAllMocks();
});

function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  return cliWithInput(undefined, ...argv);
}

/** Runs a command with `input` as its standard input (secrets given as `-`, new passwords). */
async function cliWithInput(input: string | undefined, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  try {
    const code = await runCli(argv, input === undefined ? undefined : { stdin: Readable.from([input]) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    vi.restoreAllMocks();
  }
}

/** The database the CLI wrote to, opened after the command has closed it. */
async function withDb<T>(fn: (db: Database['db']) => Promise<T>): Promise<T> {
  if (usingPostgres) return fn(ctx.deps.db);
  const database = await openDatabase({ pgliteDir: join(ctx.dataDir, 'pglite') });
  try {
    return await fn(database.db);
  } finally {
    await database.close();
  }
}

describe('parley CLI', { timeout: 120_000 }, () => {
  it('migrate: brings the database up to date, then has nothing to do', async () => {
    const first = await cli('migrate');
    expect(first.code).toBe(0);
    // Embedded starts empty (everything applied); the PostgreSQL clone is already migrated.
    expect(first.out).toMatch(usingPostgres ? /Database is up to date\./ : /^Applied: \d{4}_/);
    const second = await cli('migrate');
    expect(second).toMatchObject({ code: 0, out: 'Database is up to date.' });
  });

  it('employee:create makes an employee who can log in with that password', async () => {
    const res = await cli('employee:create', '--email', 'boss@shop.test', '--name', 'Big Boss', '--password', 'boss long password', '--role', 'admin');
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/^Employee #\d+ created: boss@shop\.test \(Admin\)\.$/);
    const row = await withDb((db) =>
      db
        .selectFrom('employees')
        .innerJoin('roles', 'roles.id', 'employees.role_id')
        .select(['employees.name', 'employees.password_hash', 'roles.is_admin'])
        .where('email', '=', 'boss@shop.test')
        .executeTakeFirstOrThrow(),
    );
    expect(row).toMatchObject({ name: 'Big Boss', is_admin: true });
    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    if (usingPostgres) {
      // The same database through the web app: the password works.
      const app = await buildApp(ctx.deps);
      try {
        expect((await submitLogin(app, { email: 'boss@shop.test', password: 'boss long password' })).statusCode).toBe(303);
      } finally {
        await app.close();
      }
    }
  });

  it('role:create makes a role with permissions, usable by employee:create', async () => {
    const res = await cli('role:create', '--name', 'Cashier', '--permissions', 'clients,invoices');
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/^Role #\d+ created: Cashier\.$/);
    const admin = await cli('role:create', '--name', 'Deputy', '--admin');
    expect(admin.code).toBe(0);
    const roles = await withDb((db) => db.selectFrom('roles').select(['name', 'is_admin', 'permissions']).where('name', 'in', ['Cashier', 'Deputy']).orderBy('name').execute());
    expect(roles.map((r) => ({ ...r, permissions: [...r.permissions].sort() }))).toEqual([
      { name: 'Cashier', is_admin: false, permissions: ['clients', 'invoices'] },
      { name: 'Deputy', is_admin: true, permissions: [] },
    ]);
    const e = await cli('employee:create', '--email', 'cash@shop.test', '--name', 'Cash', '--password', 'cash long password', '--role', 'cashier');
    expect(e.code).toBe(0);
    expect(e.out).toContain('(Cashier)');
  });

  it('refuses bad input with exit code 1, a message naming the option, and no change', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['employee:create', '--email', 'x@shop.test', '--name', 'X', '--password', 'long enough pw', '--role', 'wizard'], /--role: no role named "wizard"/],
      [['employee:create', '--email', 'y@shop.test', '--name', 'Y', '--password', 'short', '--role', 'agent'], /--password: Use at least 10 characters\./],
      [['employee:create', '--email', 'boss@shop.test', '--name', 'Dup', '--password', 'long enough pw', '--role', 'agent'], /--email: An employee with this email already exists\./],
      [['role:create', '--name', 'Bad', '--permissions', 'clients,teleport'], /--permissions: unknown teleport/],
      [['role:create', '--name', 'agent'], /--name: This name is already used\./],
    ];
    const count = () =>
      withDb(async (db) => ({
        employees: (await db.selectFrom('employees').select('id').execute()).length,
        roles: (await db.selectFrom('roles').select('id').execute()).length,
      }));
    const before = await count();
    for (const [argv, message] of cases) {
      const res = await cli(...argv);
      expect(res.code, argv.join(' ')).toBe(1);
      expect(res.err, argv.join(' ')).toMatch(message);
    }
    expect(await count()).toEqual(before);
  });

  it('prints usage: exit 0 for help, 2 for an unknown command', async () => {
    const help = await cli('help');
    expect(help.code).toBe(0);
    for (const c of ['migrate', 'employee:create', 'role:create', 'seed --demo']) expect(help.out).toContain(`parley ${c}`);
    const unknown = await cli('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.out).toContain('Usage:');
  });
});

describe('secrets and passwords on the command line (#21)', { timeout: 120_000 }, () => {
  const WARNING = /Warning: (--password|--token) given on the command line can be read by other users of this machine \(ps, \/proc\) and stays in your shell history\. Use (--password|--token) - /;

  it('--password VALUE and --token VALUE warn on stderr; `-` (standard input) does not', async () => {
    const inArgv = await cli('employee:create', '--email', 'argv@shop.test', '--name', 'Argv', '--password', 'visible in ps aux', '--role', 'agent');
    expect(inArgv.code).toBe(0);
    expect(inArgv.err).toMatch(WARNING);
    expect(inArgv.err).toContain('--password -');
    const fromStdin = await cliWithInput('hidden from ps aux\n', 'employee:create', '--email', 'stdin@shop.test', '--name', 'Stdin', '--password', '-', '--role', 'agent');
    expect(fromStdin.code).toBe(0);
    expect(fromStdin.err).toBe('');
    const token = await cli('channel:add', '--kind', 'whatsapp', '--phone-number-id', '1', '--waba-id', '2', '--token', 'EAAG-visible-token', '--access', 'nobody@shop.test');
    expect(token.err).toMatch(WARNING);
    expect(token.err).toContain('--token -');
    expect(token.err).not.toContain('EAAG-visible-token');
  });

  it('employee:password EMAIL reads the new password from standard input and ends the employee’s sessions', async () => {
    expect((await cliWithInput('first long password\n', 'employee:create', '--email', 'reset@shop.test', '--name', 'Reset', '--password', '-', '--role', 'agent')).code).toBe(0);
    const id = await withDb(async (db) => {
      const e = await db.selectFrom('employees').select('id').where('email', '=', 'reset@shop.test').executeTakeFirstOrThrow();
      await db
        .insertInto('sessions')
        .values({ id_hash: 'h'.repeat(64), employee_id: e.id, csrf_token: 'c'.repeat(43), expires_at: new Date(Date.now() + 3600_000) })
        .execute();
      return e.id;
    });
    const res = await cliWithInput('the second password\n', 'employee:password', 'RESET@shop.test');
    expect(res).toMatchObject({ code: 0, err: '' });
    expect(res.out).toBe('Password of reset@shop.test changed; their sessions have ended.');
    const after = await withDb(async (db) => ({
      employee: await db.selectFrom('employees').select(['password_hash', 'must_change_password']).where('id', '=', id).executeTakeFirstOrThrow(),
      sessions: (await db.selectFrom('sessions').select('id_hash').where('employee_id', '=', id).execute()).length,
    }));
    expect(after.sessions).toBe(0);
    expect(after.employee.must_change_password).toBe(false);
    expect(await verifyPassword(after.employee.password_hash, 'the second password')).toBe(true);

    const temporary = await cliWithInput('a temporary password\n', 'employee:password', 'reset@shop.test', '--temporary');
    expect(temporary.code).toBe(0);
    expect(temporary.out).toContain('temporary');
    expect(await withDb((db) => db.selectFrom('employees').select('must_change_password').where('id', '=', id).executeTakeFirstOrThrow())).toEqual({ must_change_password: true });
  });

  it('employee:two-factor-off EMAIL turns off a locked-out employee’s two-factor sign-in and ends their sessions', async () => {
    const id = await withDb(async (db) => {
      const e = await db.selectFrom('employees').select('id').where('email', '=', 'reset@shop.test').executeTakeFirstOrThrow();
      await db.insertInto('employee_two_factor').values({ employee_id: e.id, secret_encrypted: 'v1.x.y.z', enabled_at: new Date() }).execute();
      await db
        .insertInto('two_factor_recovery_codes')
        .values({ employee_id: e.id, code_hash: 'r'.repeat(64) })
        .execute();
      await db
        .insertInto('sessions')
        .values({ id_hash: 't'.repeat(64), employee_id: e.id, csrf_token: 'c'.repeat(43), expires_at: new Date(Date.now() + 3600_000) })
        .execute();
      return e.id;
    });
    const res = await cli('employee:two-factor-off', 'Reset@shop.test');
    expect(res).toMatchObject({ code: 0, err: '', out: 'Two-factor sign-in of reset@shop.test turned off; their sessions have ended.' });
    const left = await withDb(async (db) => [
      (await db.selectFrom('employee_two_factor').select('employee_id').where('employee_id', '=', id).execute()).length,
      (await db.selectFrom('two_factor_recovery_codes').select('employee_id').where('employee_id', '=', id).execute()).length,
      (await db.selectFrom('sessions').select('id_hash').where('employee_id', '=', id).execute()).length,
    ]);
    expect(left).toEqual([0, 0, 0]);
    expect((await cli('employee:two-factor-off', 'reset@shop.test')).out).toBe('Two-factor sign-in of reset@shop.test was already off; their sessions have ended.');
    expect(await cli('employee:two-factor-off', 'ghost@shop.test')).toMatchObject({ code: 1, err: 'No employee with the email ghost@shop.test.' });
  });

  it('employee:password refuses an unknown email, a short password, no input, no email', async () => {
    const before = await withDb((db) => db.selectFrom('employees').select(['email', 'password_hash']).orderBy('id').execute());
    const cases: Array<[string | undefined, string[], RegExp]> = [
      ['a long enough password\n', ['employee:password', 'ghost@shop.test'], /No employee with the email ghost@shop\.test\./],
      ['short\n', ['employee:password', 'reset@shop.test'], /--password: Use at least 10 characters\./],
      ['', ['employee:password', 'reset@shop.test'], /the new password: nothing was read from standard input\./],
      ['a long enough password\n', ['employee:password'], /employee:password takes one email/],
    ];
    for (const [input, argv, message] of cases) {
      const res = await cliWithInput(input, ...argv);
      expect(res.code, argv.join(' ')).toBe(1);
      expect(res.err, argv.join(' ')).toMatch(message);
    }
    expect(await withDb((db) => db.selectFrom('employees').select(['email', 'password_hash']).orderBy('id').execute())).toEqual(before);
  });

  it('employee:password typed at a terminal: asked on stderr twice without echo (raw mode), Backspace works, a mismatch or Ctrl-C changes nothing', async () => {
    const hashOf = () => withDb((db) => db.selectFrom('employees').select('password_hash').where('email', '=', 'reset@shop.test').executeTakeFirstOrThrow());
    const typed = async (keys: string[]) => {
      const tty = new FakeTty();
      let shown = '';
      // Raw mode must already be on when a prompt shows: keys typed after it are not echoed.
      const prompts = new Writable({
        write(c: Buffer, _enc, done) {
          if (c.toString().endsWith(': ') && !tty.isRaw) shown += '(echo still on)';
          shown += c.toString();
          done();
        },
      });
      const out: string[] = [];
      const err: string[] = [];
      vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
      vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
      try {
        const run = runCli(['employee:password', 'reset@shop.test'], { stdin: tty, prompts });
        // Each chunk once its prompt is up, as a person types (the last chunk may hold both lines: a paste).
        let prompt = 0;
        for (const k of keys) {
          await until(() => (shown.match(/password: /g) ?? []).length > prompt, 'a prompt');
          prompt++;
          tty.write(k);
        }
        const code = await run;
        return { code, shown, out: out.join('\n'), err: err.join('\n'), rawModes: tty.rawModes };
      } finally {
        vi.restoreAllMocks();
      }
    };
    const before = await hashOf();
    const mismatch = await typed(['a typed password\r', 'a typed passwore\r']);
    expect(mismatch).toMatchObject({ code: 1, err: 'The two passwords differ; nothing was changed.' });
    const cancelled = await typed(['a typed pa\x03']);
    expect(cancelled).toMatchObject({ code: 1, err: 'Cancelled; nothing was changed.' });
    expect(await hashOf()).toEqual(before);

    // "a typed passwordX", Backspace, Enter; then again (with a Ctrl-U'd false start).
    const ok = await typed(['a typed passwordX\x7f\r', 'oops\x15a typed password\r']);
    expect(ok).toMatchObject({ code: 0, err: '', out: 'Password of reset@shop.test changed; their sessions have ended.' });
    expect(ok.shown).toBe('New password: \nRepeat the new password: \n'); // nothing typed is written back
    expect(ok.rawModes).toEqual([true, false, true, false]);
    expect(await verifyPassword((await hashOf()).password_hash, 'a typed password')).toBe(true);
    // Typed ahead in one chunk: each line goes to its own prompt.
    const pasted = await typed(['a pasted password\r\na pasted password\r']);
    expect(pasted.code).toBe(0);
    expect(await verifyPassword((await hashOf()).password_hash, 'a pasted password')).toBe(true);
  });
});

describe('employee:password in a real pseudo-terminal (script(1))', { timeout: 60_000 }, () => {
  const hasScript = spawnSync('script', ['--version']).status === 0;
  it.skipIf(!hasScript)('nothing typed is echoed, and the password is changed', async () => {
    // `script` runs the real binary on a pseudo-terminal and copies this pipe to it, as keys.
    const p = spawn('script', ['-qec', `${process.execPath} bin/parley.js employee:password reset@shop.test`, '/dev/null'], { cwd: ROOT, env: process.env });
    let screen = '';
    p.stdout.on('data', (c: Buffer) => (screen += c.toString()));
    const exited = new Promise<number | null>((r) => p.on('exit', r));
    try {
      await until(() => screen.includes('New password: '), 'the first prompt', 30_000);
      p.stdin.write('seen by nobody!X\x7f\r');
      await until(() => screen.includes('Repeat the new password: '), 'the second prompt');
      p.stdin.write('seen by nobody!\r');
      expect(await exited).toBe(0);
    } finally {
      p.kill();
    }
    expect(screen).toContain('Password of reset@shop.test changed');
    expect(screen).not.toContain('seen by');
    const row = await withDb((db) => db.selectFrom('employees').select('password_hash').where('email', '=', 'reset@shop.test').executeTakeFirstOrThrow());
    expect(await verifyPassword(row.password_hash, 'seen by nobody!')).toBe(true);
  });
});

/** What runCli sees of a terminal: isTTY, setRawMode (recorded), keys arriving as written. */
class FakeTty extends PassThrough {
  readonly isTTY = true;
  isRaw = false;
  readonly rawModes: boolean[] = [];
  setRawMode(mode: boolean) {
    this.isRaw = mode;
    this.rawModes.push(mode);
    return this;
  }
}
