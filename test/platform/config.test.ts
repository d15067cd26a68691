import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { tempDir } from '../helpers.ts';

/** Configuration is validated once, at boot, with one clear message per bad variable. */
const dirs: string[] = [];
const dataDir = () => {
  const d = tempDir('parley-config-');
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const SECRET = 'k'.repeat(40);

function problemsFor(env: Record<string, string>): string[] {
  try {
    loadConfig({ DATA_DIR: dataDir(), ...env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('has working defaults with an empty environment (embedded mode)', () => {
    const dir = dataDir();
    const c = loadConfig({ DATA_DIR: dir });
    expect(c).toMatchObject({
      port: 3000,
      host: '0.0.0.0',
      publicUrl: 'http://localhost:3000',
      dataDir: dir,
      databaseUrl: undefined,
      redisUrl: undefined,
      processRoles: ['web', 'worker'],
      logLevel: 'info',
      secureCookies: false,
      embedded: true,
      meta: { graphUrl: 'https://graph.facebook.com', graphVersion: 'v23.0' },
    });
    expect(c.secretKey).toHaveLength(32);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.meta)).toBe(true);
  });

  it('reads every variable', () => {
    const c = loadConfig({
      PORT: '8080',
      HOST: '127.0.0.1',
      PUBLIC_URL: 'https://crm.shop.test/',
      DATA_DIR: dataDir(),
      DATABASE_URL: 'postgres://u:p@db:5432/parley',
      REDIS_URL: 'redis://redis:6379',
      SECRET_KEY: SECRET,
      PROCESS_ROLES: 'worker',
      META_GRAPH_URL: 'http://127.0.0.1:4000/',
      META_GRAPH_VERSION: 'v21.0',
      META_APP_ID: '123',
      META_APP_SECRET: 's3cret',
      META_VERIFY_TOKEN: 'verify-me',
      LOG_LEVEL: 'warn',
    });
    expect(c).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      publicUrl: 'https://crm.shop.test',
      databaseUrl: 'postgres://u:p@db:5432/parley',
      redisUrl: 'redis://redis:6379',
      processRoles: ['worker'],
      logLevel: 'warn',
      secureCookies: true,
      embedded: false,
      meta: { graphUrl: 'http://127.0.0.1:4000', graphVersion: 'v21.0', appId: '123', appSecret: 's3cret', verifyToken: 'verify-me' },
    });
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT', /PORT must be a whole number from 0 to 65535 \(got "abc"\)/],
    [{ PORT: '70000' }, 'PORT', /PORT must be a whole number/],
    [{ PORT: '-1' }, 'PORT', /PORT must be a whole number/],
    [{ PUBLIC_URL: 'crm.shop.test' }, 'PUBLIC_URL', /PUBLIC_URL is not a valid URL/],
    [{ PUBLIC_URL: 'ftp://crm.shop.test' }, 'PUBLIC_URL', /PUBLIC_URL must start with http:\/\/ or https:\/\//],
    [{ DATABASE_URL: 'mysql://db/parley', SECRET_KEY: SECRET }, 'DATABASE_URL', /DATABASE_URL must start with postgres:\/\/ or postgresql:\/\//],
    [{ DATABASE_URL: 'not a url', SECRET_KEY: SECRET }, 'DATABASE_URL', /DATABASE_URL is not a valid URL/],
    [{ REDIS_URL: 'http://redis:6379' }, 'REDIS_URL', /REDIS_URL must start with redis:\/\/ or rediss:\/\//],
    [{ SECRET_KEY: 'too-short' }, 'SECRET_KEY', /SECRET_KEY must be at least 32 characters/],
    [{ DATABASE_URL: 'postgres://db/parley' }, 'SECRET_KEY', /SECRET_KEY is required when DATABASE_URL is set/],
    [{ PROCESS_ROLES: 'web,cron' }, 'PROCESS_ROLES', /PROCESS_ROLES: unknown role "cron"/],
    [{ PROCESS_ROLES: ' , ' }, 'PROCESS_ROLES', /PROCESS_ROLES must name at least one role/],
    [{ PROCESS_ROLES: 'worker' }, 'PROCESS_ROLES', /PROCESS_ROLES=worker alone needs REDIS_URL/],
    [{ META_GRAPH_URL: 'graph.facebook.com' }, 'META_GRAPH_URL', /META_GRAPH_URL is not a valid URL/],
    [{ META_GRAPH_VERSION: '23' }, 'META_GRAPH_VERSION', /META_GRAPH_VERSION must look like v23.0 \(got "23"\)/],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', /LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent \(got "loud"\)/],
  ])('%j → a message naming %s', (env, variable, message) => {
    const problems = problemsFor(env as Record<string, string>);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(variable);
    expect(problems[0]).toMatch(message);
  });

  it('reports every bad value at once, and the error message lists them all', () => {
    try {
      loadConfig({ DATA_DIR: dataDir(), PORT: 'x', LOG_LEVEL: 'loud', REDIS_URL: 'nope', DATABASE_URL: 'postgres://db/p' });
      expect.unreachable();
    } catch (err) {
      const e = err as ConfigError;
      expect(e.problems.map((p) => p.split(/[ :=]/)[0])).toEqual(expect.arrayContaining(['PORT', 'LOG_LEVEL', 'REDIS_URL', 'SECRET_KEY']));
      expect(e.message).toMatch(/^Invalid configuration:\n {2}- /);
      for (const p of e.problems) expect(e.message).toContain(p);
    }
  });

  it('never echoes a password from a connection string', () => {
    const [problem] = problemsFor({ DATABASE_URL: 'mysql://parley:hunter2@db/parley', SECRET_KEY: SECRET });
    expect(problem).toContain('DATABASE_URL');
    expect(problem).not.toContain('hunter2');
    expect(problem).toContain('parley:***@');
  });

  it('treats blank values as unset', () => {
    const c = loadConfig({ DATA_DIR: dataDir(), PORT: '  ', DATABASE_URL: '', REDIS_URL: ' ', SECRET_KEY: '' });
    expect(c.port).toBe(3000);
    expect(c.embedded).toBe(true);
    expect(c.redisUrl).toBeUndefined();
  });
});

describe('SECRET_KEY', () => {
  it('embedded: generated once into DATA_DIR/secret.key with mode 0600, then reused', () => {
    const dir = join(dataDir(), 'nested', 'data'); // created on demand
    const first = loadConfig({ DATA_DIR: dir });
    const file = join(dir, 'secret.key');
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const content = readFileSync(file, 'utf8');
    expect(content.trim()).toMatch(/^[0-9a-f]{64}$/);

    const second = loadConfig({ DATA_DIR: dir });
    expect(second.secretKey.equals(first.secretKey)).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(content);

    // A different data directory gets a different key.
    expect(loadConfig({ DATA_DIR: dataDir() }).secretKey.equals(first.secretKey)).toBe(false);
  });

  it('an existing secret.key (e.g. restored from backup) is used as is', () => {
    const dir = dataDir();
    writeFileSync(join(dir, 'secret.key'), 'a'.repeat(64) + '\n', { mode: 0o600 });
    const fromFile = loadConfig({ DATA_DIR: dir });
    const fromEnv = loadConfig({ DATA_DIR: dataDir(), SECRET_KEY: 'a'.repeat(64) });
    expect(fromFile.secretKey.equals(fromEnv.secretKey)).toBe(true);
  });

  it('when given, is used and no file is written (also with DATABASE_URL)', () => {
    const dir = dataDir();
    const a = loadConfig({ DATA_DIR: dir, SECRET_KEY: SECRET });
    const b = loadConfig({ DATA_DIR: dir, SECRET_KEY: SECRET, DATABASE_URL: 'postgres://db/parley' });
    expect(a.secretKey.equals(b.secretKey)).toBe(true);
    expect(existsSync(join(dir, 'secret.key'))).toBe(false);
    expect(a.secretKey.toString('utf8')).not.toContain(SECRET.slice(0, 8));
  });
});

describe('TRUST_PROXY', () => {
  it.each([
    [undefined, false],
    ['0', false],
    ['1', 1],
    ['2', 2],
    ['127.0.0.1', ['127.0.0.1']],
    ['127.0.0.1, 10.0.0.0/8,::1,fd00::/8', ['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8']],
  ])('%s → %j', (raw, expected) => {
    const c = loadConfig({ DATA_DIR: dataDir(), ...(raw === undefined ? {} : { TRUST_PROXY: raw }) });
    expect(c.trustProxy).toEqual(expected);
  });

  it.each(['true', 'yes', '11', '10.0.0.0/33', 'proxy.local', '1.2.3'])('refuses %s with a clear message', (raw) => {
    const [problem, ...rest] = problemsFor({ TRUST_PROXY: raw });
    expect(rest).toEqual([]);
    expect(problem).toContain('TRUST_PROXY');
    expect(problem).toContain(raw);
  });
});
