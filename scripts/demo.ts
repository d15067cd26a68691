// `npm run demo`: Parley in embedded mode in a throw-away DATA_DIR, the Meta platform emulator
// wired to it both ways, a demo owner account, the demo channels and CRM data, and a few
// conversations so the inbox is not empty. Everything disappears on Ctrl+C.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../src/config.ts';
import { start } from '../src/runtime.ts';
import { createEmployee } from '../src/auth/settings.service.ts';
import { findRoleByName } from '../src/auth/auth.repository.ts';
import { seedDemo } from '../src/crm/seed.ts';
import { insertChannel } from '../src/channels/channels.repository.ts';
import { encryptCredentials } from '../src/channels/channels.service.ts';
import { startEmulator } from '../emulator/index.ts';
import { connectWithToken } from '../src/channels/settings/connect.ts';

const port = Number(process.env.PORT ?? 3000);
const emulatorPort = Number(process.env.EMULATOR_PORT ?? 4100);
const dataDir = mkdtempSync(join(tmpdir(), 'parley-demo-'));
const verifyToken = 'parley-demo-verify-token';
const parleyUrl = `http://localhost:${port}`;

const emu = await startEmulator({
  port: emulatorPort,
  host: '127.0.0.1',
  webhooks: { callbackUrl: `${parleyUrl}/webhooks/meta`, verifyToken, handshakeOnStart: false },
});

const config = loadConfig({
  ...process.env,
  DATA_DIR: dataDir,
  PORT: String(port),
  PUBLIC_URL: parleyUrl,
  DATABASE_URL: '',
  REDIS_URL: '',
  META_GRAPH_URL: emu.url,
  META_APP_ID: emu.config.appId,
  META_APP_SECRET: emu.config.appSecret,
  META_VERIFY_TOKEN: verifyToken,
  // Voice notes are transcribed by the emulator's speech-to-text double (it knows its samples).
  TRANSCRIBE_URL: emu.url,
  TRANSCRIBE_MODEL: 'whisper-1',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
});
const running = await start(config);
const { deps } = running;

const email = 'owner@demo.parley';
const password = `demo-${randomBytes(4).toString('hex')}`;
const admin = await findRoleByName(deps.db, 'admin');
await createEmployee({ db: deps.db, logger: deps.logger, live: deps.live }, { name: 'Demo Owner', email, password, roleId: admin!.id });
// A colleague (Agent role, every channel), to assign chats to and @mention in notes (#16).
const colleagueEmail = 'anna@demo.parley';
const agent = await findRoleByName(deps.db, 'agent');
await createEmployee({ db: deps.db, logger: deps.logger, live: deps.live }, { name: 'Anna Martin', email: colleagueEmail, password, roleId: agent!.id });
const seeded = await seedDemo(deps.db, { force: false });

// One channel per kind the emulator offers and Parley speaks: Messenger and Instagram stored
// directly; WhatsApp connected the way an admin does it (verified, WABA subscribed, templates
// fetched), through the same code as Settings › Chats.
const channels: string[] = [];
for (const page of emu.config.pages) {
  const creds = encryptCredentials(config.secretKey, { accessToken: page.accessToken });
  await insertChannel(deps.db, { kind: 'messenger', name: page.name, externalId: page.id, credentialsEnc: creds, settings: { humanAgent: true, comments: true }, accessAll: true });
  channels.push(`Messenger: ${page.name}`);
  if (page.instagram) {
    await insertChannel(deps.db, {
      kind: 'instagram',
      name: `@${page.instagram.username}`,
      externalId: page.instagram.id,
      parentExternalId: page.id,
      credentialsEnc: creds,
      settings: { humanAgent: true, comments: true },
      accessAll: true,
    });
    channels.push(`Instagram: @${page.instagram.username}`);
  }
}

for (const n of emu.config.whatsapp) {
  await connectWithToken(deps, { kind: 'whatsapp', external_id: n.phoneNumberId, waba_id: n.wabaId, token: n.accessToken }, { all: true });
  channels.push(`WhatsApp: ${n.verifiedName} (+${n.displayPhoneNumber})`);
}

// A few conversations, so the inbox has something in it on first look.
emu.send('anna', 'messenger', 'Здравствуйте! Сколько стоит замена экрана на iPhone 12? 📱');
emu.send('marc', 'instagram', 'Bonjour, vous réparez les batteries de MacBook ?');
emu.send('hidden', 'messenger', 'Hi, is my laptop ready?');
// A comment under the Page's post (comments are on for the demo channels): it arrives in Marc's
// Messenger chat with its post; answer it publicly (the ↩ on the comment) or privately.
const demoPost = emu.config.pages[0]?.posts?.[0];
if (demoPost && emu.config.pages[0]) emu.comment('marc', `${emu.config.pages[0].id}_${demoPost.id}`, 'Combien pour changer l’écran d’un iPhone 12 ?');
if (emu.config.whatsapp.length) {
  // A demo CRM client who is on WhatsApp but never wrote: "Start a chat" on his card opens the
  // template picker, and the template reaches him in the emulator's UI.
  emu.createPerson({ id: 'hugo', name: 'Hugo Petit', phone: '33670112233' });
  emu.send('marc', 'whatsapp', 'Bonjour, mon écran est cassé. Vous pouvez le changer aujourd’hui ?');
  emu.send('marc', 'whatsapp', { attachment: { sample: 'voice.ogg' } });
}
await emu.flush();

process.stdout.write(
  [
    '',
    'Parley demo is running (embedded mode, nothing to install).',
    `  Parley:          ${parleyUrl}`,
    `    log in as      ${email}`,
    `    password       ${password}`,
    `    a colleague    ${colleagueEmail} (same password): assign chats to Anna, @Anna in a note`,
    `  Meta emulator:   ${emu.url}/ui   (write as a customer; replies and read receipts flow both ways)`,
    `  Channels:        ${channels.join(', ')}`,
    `  Comments:        ${emu.url}/ui/posts?person=marc   (comment under the Page's post as a customer; it arrives in Parley)`,
    `  Transcription:   the emulator's speech-to-text double (${emu.url}/v1/audio/transcriptions): click Transcribe under a voice note`,
    `  CRM data:        ${seeded}`,
    `  Data directory:  ${dataDir} (deleted on exit)`,
    '',
    'Press Ctrl+C to stop.',
    '',
  ].join('\n'),
);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  const force = setTimeout(() => process.exit(0), 8000);
  force.unref();
  await running.stop().catch(() => {});
  await emu.close().catch(() => {});
  rmSync(dataDir, { recursive: true, force: true });
  process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
