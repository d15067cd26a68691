import { parseArgs } from 'node:util';
import { loadConfigOrExit } from './runtime.ts';
import { createDeps, type Deps } from './deps.ts';
import { migrateToLatest } from './db/migrator.ts';
import { createEmployee } from './auth/settings.service.ts';
import { createRole } from './auth/settings.service.ts';
import { findEmployeeByEmail, findRoleByName } from './auth/auth.repository.ts';
import { setPassword } from './auth/password.service.ts';
import { PERMISSIONS } from './auth/permissions.ts';
import { adminTurnOff } from './auth/two-factor.service.ts';
import { ValidationError } from './platform/errors.ts';
import { translator } from './platform/i18n/index.ts';
import { seedDemo, SeedRefusedError } from './crm/seed.ts';
import { accessFromEmails, describeError, formatChannelList } from './channels/settings/cli.ts';
import { connectWithToken } from './channels/settings/connect.ts';

type Command = { usage: string; run(deps: Deps, args: string[], io: CliIo): Promise<void> };

export interface CliIo {
  /** Where `--token -`, `--password -` and new passwords are read (process.stdin by default). */
  stdin: NodeJS.ReadableStream;
  /** Where a terminal's prompts go (process.stderr by default): standard output stays the command's answer. */
  prompts?: NodeJS.WritableStream;
}

/**
 * A secret given as `-` is read from standard input (`pass show shop/page | parley channel:add
 * … --token -`), so it stays out of the shell history and the process list. Its first line,
 * without the line break, is the secret.
 */
async function secretArg(value: string | undefined, flag: string, io: CliIo): Promise<string | undefined> {
  if (value === undefined) return value;
  if (value !== '-') {
    console.error(
      `Warning: ${flag} given on the command line can be read by other users of this machine (ps, /proc) and stays in your shell history. Use ${flag} - and write it on standard input instead.`,
    );
    return value;
  }
  return readStdinLine(`${flag} -`, io);
}

/** The first line of standard input, without its line break (a secret, a new password). */
async function readStdinLine(what: string, io: CliIo): Promise<string> {
  let text = '';
  for await (const chunk of io.stdin) text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
  const line = text.split(/\r?\n/, 1)[0] ?? '';
  if (!line) fail(`${what}: nothing was read from standard input.`);
  return line;
}

/**
 * `parley employee:password EMAIL`'s new password. Piped in (`… < file`, a password manager),
 * the first line, as `readStdinLine`. Typed at a terminal: asked on stderr without echo, twice,
 * and refused when the two differ.
 */
async function readNewPassword(io: CliIo): Promise<string> {
  const input = io.stdin as Partial<NodeJS.ReadStream> & NodeJS.ReadableStream;
  if (!input.isTTY || typeof input.setRawMode !== 'function') return readStdinLine('the new password', io);
  const out = io.prompts ?? process.stderr;
  const first = await readHidden('New password: ', input as NodeJS.ReadStream, out);
  if (!first) fail('the new password: nothing was typed.');
  const again = await readHidden('Repeat the new password: ', input as NodeJS.ReadStream, out);
  if (again !== first) fail('The two passwords differ; nothing was changed.');
  return first;
}

/**
 * One line typed at a terminal, not echoed: raw mode, so each key arrives as typed. Enter ends
 * it, Backspace takes back a character, Ctrl-U the whole line, Ctrl-C (or Ctrl-D on an empty
 * line) cancels; other control keys and escape sequences (arrows) are ignored.
 */
function readHidden(prompt: string, input: NodeJS.ReadStream, out: NodeJS.WritableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let typed: string[] = [];
    const wasRaw = input.isRaw;
    const finish = (err?: Error) => {
      input.off('data', onData);
      input.setRawMode(wasRaw);
      input.pause();
      out.write('\n');
      if (err) reject(err);
      else resolve(typed.join(''));
    };
    const onData = (chunk: Buffer | string) => {
      const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      if (text.startsWith('\x1b')) return; // an arrow or function key
      const chars = [...text];
      for (const [i, ch] of chars.entries()) {
        if (ch === '\r' || ch === '\n') {
          // Typed ahead (or pasted): what follows the line is the next prompt's.
          const rest = chars.slice(ch === '\r' && chars[i + 1] === '\n' ? i + 2 : i + 1).join('');
          finish();
          if (rest) input.unshift(Buffer.from(rest));
          return;
        }
        if (ch === '\x03' || (ch === '\x04' && typed.length === 0)) return finish(new CliError('Cancelled; nothing was changed.'));
        if (ch === '\x7f' || ch === '\b') typed.pop();
        else if (ch === '\x15') typed = [];
        else if (ch >= ' ') typed.push(ch);
      }
    };
    input.setRawMode(true); // before the prompt: nothing typed after it may be echoed
    out.write(prompt);
    input.on('data', onData);
    input.resume();
  });
}

const t = translator('en');

function fail(message: string): never {
  throw new CliError(message);
}
class CliError extends Error {}

function explain(err: ValidationError): string {
  return Object.entries(err.fields)
    .map(([field, key]) => `--${field.replace('Id', '').replace('_id', '')}: ${t(key as never, { max: '' })}`)
    .join('\n');
}

const commands: Record<string, Command> = {
  migrate: {
    usage: 'parley migrate',
    async run(deps) {
      const applied = await migrateToLatest(deps.db);
      console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'Database is up to date.');
    },
  },
  'employee:create': {
    usage: 'parley employee:create --email EMAIL --name NAME --password PASSWORD|- --role admin|agent|ROLE',
    async run(deps, argv, io) {
      const { values } = parseArgs({ args: argv, options: { email: { type: 'string' }, name: { type: 'string' }, password: { type: 'string' }, role: { type: 'string' } } });
      values.password = await secretArg(values.password, '--password', io);
      const role = await findRoleByName(deps.db, values.role ?? '');
      if (!role) fail(`--role: no role named "${values.role ?? ''}" (the defaults are admin and agent; see role:create).`);
      const id = await createEmployee({ db: deps.db, logger: deps.logger, live: deps.live }, { ...values, roleId: role.id });
      console.log(`Employee #${id} created: ${values.email} (${role.name}).`);
    },
  },
  'employee:password': {
    usage: 'parley employee:password EMAIL [--temporary]   (the new password on standard input, or typed twice, unseen, at a terminal; --temporary: to be changed at the next login)',
    async run(deps, argv, io) {
      const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { temporary: { type: 'boolean' } } });
      if (positionals.length !== 1) fail('employee:password takes one email: parley employee:password EMAIL [--temporary], the new password on standard input.');
      const employee = await findEmployeeByEmail(deps.db, positionals[0]!);
      if (!employee) fail(`No employee with the email ${positionals[0]}.`);
      const password = await readNewPassword(io);
      const temporary = Boolean(values.temporary);
      await setPassword({ db: deps.db, logger: deps.logger, live: deps.live }, employee.id, password, { temporary });
      console.log(`Password of ${employee.email} changed${temporary ? ' (temporary: they choose their own at their next login)' : ''}; their sessions have ended.`);
    },
  },
  'employee:two-factor-off': {
    usage: 'parley employee:two-factor-off EMAIL   (lost phone and recovery codes: their two-factor sign-in is turned off, their sessions end)',
    async run(deps, argv) {
      const { positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} });
      if (positionals.length !== 1) fail('employee:two-factor-off takes one email: parley employee:two-factor-off EMAIL.');
      const employee = await findEmployeeByEmail(deps.db, positionals[0]!);
      if (!employee) fail(`No employee with the email ${positionals[0]}.`);
      const wasOn = await adminTurnOff({ db: deps.db, logger: deps.logger, live: deps.live, secretKey: deps.config.secretKey }, null, employee.id);
      console.log(`Two-factor sign-in of ${employee.email} ${wasOn ? 'turned off' : 'was already off'}; their sessions have ended.`);
    },
  },
  'role:create': {
    usage: `parley role:create --name NAME [--admin] [--permissions ${PERMISSIONS.join(',')}]`,
    async run(deps, argv) {
      const { values } = parseArgs({ args: argv, options: { name: { type: 'string' }, admin: { type: 'boolean' }, permissions: { type: 'string' } } });
      const perms = (values.permissions ?? '')
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean);
      const unknown = perms.filter((p) => !(PERMISSIONS as readonly string[]).includes(p));
      if (unknown.length) fail(`--permissions: unknown ${unknown.join(', ')} (choose from ${PERMISSIONS.join(', ')}).`);
      const id = await createRole({ db: deps.db, logger: deps.logger, live: deps.live }, { name: values.name, is_admin: values.admin ? 'on' : undefined, permissions: perms });
      console.log(`Role #${id} created: ${values.name}.`);
    },
  },
  'channel:add': {
    usage:
      'parley channel:add --kind messenger|instagram --page-id ID --token TOKEN|- --name NAME [--access all|EMAIL,EMAIL]\n' +
      '  parley channel:add --kind whatsapp --phone-number-id ID --waba-id ID --token TOKEN|- [--name NAME] [--access all|EMAIL,EMAIL]',
    async run(deps, argv, io) {
      const { values } = parseArgs({
        args: argv,
        options: {
          kind: { type: 'string' },
          'page-id': { type: 'string' },
          'phone-number-id': { type: 'string' },
          'waba-id': { type: 'string' },
          token: { type: 'string' },
          name: { type: 'string' },
          access: { type: 'string' },
        },
      });
      values.token = await secretArg(values.token, '--token', io);
      const resolved = await accessFromEmails(deps.db, values.access);
      if ('unknown' in resolved) fail(`--access: no active employee with the email ${resolved.unknown.join(', ')} (use "all" or employees' emails, comma-separated).`);
      try {
        const whatsapp = values.kind === 'whatsapp';
        const externalId = whatsapp ? values['phone-number-id'] : values['page-id'];
        const { id } = await connectWithToken(deps, { kind: values.kind, external_id: externalId, waba_id: values['waba-id'], token: values.token, name: values.name }, resolved.access);
        console.log(`Channel #${id} connected: ${values.kind} ${externalId} (subscribed to webhooks).`);
      } catch (err) {
        if (err instanceof ValidationError) fail(describeError(err, t, values.kind));
        throw err;
      }
    },
  },
  'channel:list': {
    usage: 'parley channel:list',
    async run(deps) {
      console.log(await formatChannelList(deps.db));
    },
  },
  seed: {
    usage: 'parley seed --demo [--force]',
    async run(deps, argv) {
      const { values } = parseArgs({ args: argv, options: { demo: { type: 'boolean' }, force: { type: 'boolean' } } });
      if (!values.demo) fail('seed: only --demo is available (demo clients, documents and calls).');
      const summary = await seedDemo(deps.db, { force: Boolean(values.force) });
      console.log(summary);
    },
  },
};

export async function runCli(argv: string[], io: CliIo = { stdin: process.stdin }): Promise<number> {
  const [name, ...rest] = argv;
  const command = name ? commands[name] : undefined;
  if (!command) {
    console.log(
      `Usage:\n${Object.values(commands)
        .map((c) => '  ' + c.usage)
        .join('\n')}`,
    );
    return name && name !== 'help' && name !== '--help' ? 2 : 0;
  }
  const deps = await createDeps(loadConfigOrExit(), { migrate: name !== 'migrate' });
  try {
    await command.run(deps, rest, io);
    return 0;
  } catch (err) {
    if (err instanceof ValidationError) console.error(explain(err));
    else if (err instanceof CliError || err instanceof SeedRefusedError || (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') console.error((err as Error).message);
    else throw err;
    return 1;
  } finally {
    await deps.close();
  }
}

if (process.argv[1] && /cli\.(ts|js)$|parley(\.js)?$/.test(process.argv[1])) {
  process.exitCode = await runCli(process.argv.slice(2));
}
