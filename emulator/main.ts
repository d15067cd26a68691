// `npm run emulator`: loads the configuration (EMULATOR_CONFIG file + EMULATOR_* variables),
// starts the emulator, performs the webhook verification handshake like Meta does when a
// callback URL is saved (§1.1), and prints what a developer needs to connect Parley.
import pino from 'pino';
import { loadConfig } from './config.ts';
import { fromPino } from './log.ts';
import { startEmulator } from './index.ts';

async function main(): Promise<void> {
  const logger = pino({ level: process.env.EMULATOR_LOG_LEVEL ?? 'info', base: { svc: 'meta-emulator' } });
  const log = fromPino(logger);
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    logger.fatal((err as Error).message);
    process.exit(1);
  }
  const emu = await startEmulator({ ...config, log });

  const lines = [
    `Meta platform emulator listening on ${emu.url}`,
    `  Graph API:    ${emu.graphUrl}   (any /vNN.N/ works)`,
    `  Customer UI:  ${emu.url}/ui`,
    `  Control API:  ${emu.url}/_emulator`,
    `  App id ${config.appId}, app secret "${config.appSecret}", verify token "${config.webhooks.verifyToken ?? '(none)'}"`,
  ];
  for (const c of emu.channels()) {
    const label =
      c.platform === 'whatsapp' ? `WhatsApp ${c.displayPhoneNumber} (phone-number id ${c.id}, WABA ${c.wabaId})` : `${c.platform} ${c.name} (${c.id}${c.username ? ` @${c.username}` : ''})`;
    lines.push(`  ${label}: token ${c.token}`);
  }
  const callback = config.webhooks.callbackUrl;
  const perObject = Object.entries(config.webhooks.callbackUrls ?? {}).map(([o, u]) => `${o}=${u}`);
  lines.push(callback || perObject.length ? `  Webhooks → ${[callback, ...perObject].filter(Boolean).join(', ')}` : '  Webhooks: no callback URL (set EMULATOR_CALLBACK_URL) — events are dropped');
  // The banner is for a human at a terminal; events below are structured pino logs.
  process.stdout.write(`${lines.join('\n')}\n`);

  if ((callback || perObject.length) && config.webhooks.verifyToken && config.webhooks.handshakeOnStart) {
    for (const r of await emu.verifyWebhooks()) {
      if (r.ok) logger.info({ url: r.url }, 'webhook verification handshake succeeded');
      else logger.warn({ url: r.url, status: r.status, error: r.error }, 'webhook verification handshake failed (events are still sent; retry with POST /_emulator/webhooks/verify)');
    }
  }

  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => process.exit(0), 3000);
    timer.unref();
    void emu.close().then(() => process.exit(0));
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

void main();
