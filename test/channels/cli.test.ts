// `parley channel:add` and `parley channel:list` (issue 5 item 8), run through runCli against
// the emulator and the test database (a cloned PostgreSQL database, or a PGlite directory).
import { rmSync } from 'node:fs';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { startEmulator, type Emulator } from '../../emulator/index.ts';
import { runCli } from '../../src/cli.ts';
import { loadConfig } from '../../src/config.ts';
import { createDeps } from '../../src/deps.ts';
import type { Db } from '../../src/db/database.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { decryptSecret } from '../../src/platform/crypto.ts';
import { createTestDeps, tempDir, usingPostgres, type TestContext } from '../helpers.ts';

const PAGE = '104455667788990';
const TOKEN = 'EAAEMUpage104455667788990';
const IG = '17841400011122233';
const SECRET_KEY = 'cli-test-secret-key-0123456789abcdef0123456789';

let emu: Emulator;
let ctx: TestContext | undefined;
let dataDir: string;
let env: Record<string, string>;
const savedEnv = { ...process.env };
let out: MockInstance;
let err: MockInstance;

beforeAll(async () => {
  emu = await startEmulator({ webhooks: { handshakeOnStart: false } });
  dataDir = tempDir('parley-cli-');
  env = { DATA_DIR: dataDir, SECRET_KEY, LOG_LEVEL: 'silent', META_GRAPH_URL: emu.url, META_APP_ID: emu.config.appId, META_APP_SECRET: emu.config.appSecret };
  if (usingPostgres) {
    // A private clone of the migrated template; the CLI connects to it like an operator would.
    ctx = await createTestDeps({ env: { SECRET_KEY } });
    env.DATABASE_URL = ctx.config.databaseUrl!;
  }
  for (const k of ['DATABASE_URL', 'REDIS_URL', 'PUBLIC_URL', 'META_GRAPH_VERSION', 'PROCESS_ROLES']) delete process.env[k];
  Object.assign(process.env, env);
});
afterAll(async () => {
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
  Object.assign(process.env, savedEnv);
  await ctx?.close();
  await emu?.close();
  rmSync(dataDir, { recursive: true, force: true });
});
beforeEach(() => {
  out = vi.spyOn(console, 'log').mockImplementation(() => {});
  err = vi.spyOn(console, 'error').mockImplementation(() => {});
});
afterEach(() => vi.restoreAllMocks());

const printed = (m: MockInstance) => m.mock.calls.map((c) => c.join(' ')).join('\n');

/** Reads the database the CLI wrote to (PGlite allows one process at a time: opened after the CLI closed it). */
async function withDb<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  if (ctx) return fn(ctx.deps.db);
  const deps = await createDeps(loadConfig(env), { logger: createLogger('silent'), migrate: false });
  try {
    return await fn(deps.db);
  } finally {
    await deps.close();
  }
}

describe('parley channel:add / channel:list', () => {
  it('sets up an employee through the CLI', async () => {
    expect(await runCli(['employee:create', '--email', 'ana@shop.test', '--name', 'Ana Agent', '--password', 'long enough pass', '--role', 'agent'])).toBe(0);
  });

  it('refuses an unknown email in --access (exit 1, named back) and creates nothing', async () => {
    const code = await runCli(['channel:add', '--kind', 'messenger', '--page-id', PAGE, '--token', TOKEN, '--name', 'CLI Page', '--access', 'ana@shop.test,nobody@shop.test']);
    expect(code).toBe(1);
    expect(printed(err)).toContain('--access: no active employee with the email nobody@shop.test');
    expect(await withDb((db) => db.selectFrom('channels').select('id').execute())).toEqual([]);
  });

  it('refuses a bad token (exit 1) and missing options, with the reason', async () => {
    expect(await runCli(['channel:add', '--kind', 'messenger', '--page-id', PAGE, '--token', 'EAAbogus', '--name', 'CLI Page'])).toBe(1);
    expect(printed(err)).toMatch(/--token: Meta refused this token \(invalid or expired, error 190\)/);
    expect(await runCli(['channel:add', '--page-id', 'abc'])).toBe(1);
    expect(printed(err)).toContain('--kind: Choose one of the options.');
    expect(printed(err)).toContain('--page-id: Enter the numeric id (digits only).');
    expect(printed(err)).toContain('--token: This field is required.');
    expect(printed(err)).not.toContain('EAAbogus');
    expect(await runCli(['channel:add', '--kind', 'messenger', '--page-id', PAGE, '--token', '-', '--name', 'CLI Page'], { stdin: Readable.from([]) })).toBe(1);
    expect(printed(err)).toContain('--token -: nothing was read from standard input.');
  });

  it('connects a Page with an access list and an Instagram account for everyone', async () => {
    const before = emu.calls({ method: 'POST', pathIncludes: '/subscribed_apps' }).length;
    expect(await runCli(['channel:add', '--kind', 'messenger', '--page-id', PAGE, '--token', TOKEN, '--name', 'CLI Page', '--access', 'ANA@shop.test'])).toBe(0);
    expect(printed(out)).toMatch(/Channel #\d+ connected: messenger 104455667788990/);
    // `--token -` reads the token from standard input (out of the shell history).
    expect(await runCli(['channel:add', '--kind', 'instagram', '--page-id', IG, '--token', '-', '--name', 'CLI Insta', '--access', 'all'], { stdin: Readable.from([`${TOKEN}\n`]) })).toBe(0);
    const calls = emu.calls({ method: 'POST', pathIncludes: '/subscribed_apps' }).slice(before);
    expect(calls.map((c) => [c.path, c.token, c.status])).toEqual([
      [`/${PAGE}/subscribed_apps`, TOKEN, 200],
      [`/${PAGE}/subscribed_apps`, TOKEN, 200],
    ]);

    const rows = await withDb((db) =>
      db.selectFrom('channels').leftJoin('channel_access', 'channel_access.channel_id', 'channels.id').selectAll('channels').select('channel_access.employee_id').orderBy('channels.id').execute(),
    );
    expect(rows.map((r) => [r.kind, r.name, r.external_id, r.parent_external_id, r.access_all, r.employee_id === null])).toEqual([
      ['messenger', 'CLI Page', PAGE, null, false, false],
      ['instagram', 'CLI Insta', IG, PAGE, true, true],
    ]);
    const key = loadConfig(env).secretKey;
    for (const r of rows) {
      expect(r.credentials_enc).not.toContain(TOKEN);
      expect(JSON.parse(decryptSecret(key, r.credentials_enc!))).toEqual({ accessToken: TOKEN });
    }
  });

  it('refuses a channel already connected', async () => {
    expect(await runCli(['channel:add', '--kind', 'messenger', '--page-id', PAGE, '--token', TOKEN, '--name', 'Again'])).toBe(1);
    expect(printed(err)).toContain('--page-id: This account is already connected.');
  });

  it('connects a WhatsApp number (phone number id + WABA + token from stdin); a wrong WABA is named back', async () => {
    const WA = '106540352242922';
    const WABA = '102290129340398';
    const WA_TOKEN = 'EAAEMUwhatsapp106540352242922';
    expect(await runCli(['channel:add', '--kind', 'whatsapp', '--phone-number-id', WA, '--waba-id', '999000999000999', '--token', WA_TOKEN])).toBe(1);
    expect(printed(err)).toContain('--waba-id: This token cannot see a WhatsApp Business Account with this ID.');
    expect(await runCli(['channel:add', '--kind', 'whatsapp', '--phone-number-id', WA, '--token', WA_TOKEN])).toBe(1);
    expect(printed(err)).toContain('--waba-id: This field is required.');
    const before = emu.calls({ method: 'POST', pathIncludes: '/subscribed_apps' }).length;
    expect(await runCli(['channel:add', '--kind', 'whatsapp', '--phone-number-id', WA, '--waba-id', WABA, '--token', '-'], { stdin: Readable.from([`${WA_TOKEN}\n`]) })).toBe(0);
    expect(printed(out)).toMatch(/Channel #\d+ connected: whatsapp 106540352242922/);
    expect(
      emu
        .calls({ method: 'POST', pathIncludes: '/subscribed_apps' })
        .slice(before)
        .map((c) => c.path),
    ).toEqual([`/${WABA}/subscribed_apps`]);
    const row = await withDb((db) => db.selectFrom('channels').selectAll().where('kind', '=', 'whatsapp').executeTakeFirstOrThrow());
    expect(row).toMatchObject({ name: 'Demo Repair Shop +15550001234', external_id: WA, parent_external_id: WABA, access_all: true });
    expect(JSON.parse(decryptSecret(loadConfig(env).secretKey, row.credentials_enc!))).toEqual({ accessToken: WA_TOKEN });
    expect(printed(err)).not.toContain(WA_TOKEN);
  });

  it('lists id, kind, name, external id, state and access — never the token', async () => {
    expect(await runCli(['channel:list'])).toBe(0);
    const text = printed(out);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^ID\s+KIND\s+NAME\s+EXTERNAL ID\s+STATE\s+ACCESS$/);
    expect(text).toMatch(/\d+\s+messenger\s+CLI Page\s+104455667788990\s+connected\s+ana@shop\.test/);
    expect(text).toMatch(/\d+\s+instagram\s+CLI Insta\s+17841400011122233\s+connected\s+all/);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain('v1.');
  });

  it('the usage lists both commands', async () => {
    expect(await runCli(['help'])).toBe(0);
    expect(printed(out)).toContain('parley channel:add --kind messenger|instagram --page-id ID --token TOKEN|- --name NAME [--access all|EMAIL,EMAIL]');
    expect(printed(out)).toContain('parley channel:add --kind whatsapp --phone-number-id ID --waba-id ID --token TOKEN|-');
    expect(printed(out)).toContain('parley channel:list');
  });
});
