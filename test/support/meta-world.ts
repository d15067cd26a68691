import { startEmulator, type Emulator } from '../../emulator/index.ts';
import { encryptCredentials } from '../../src/channels/channels.service.ts';
import { insertChannel } from '../../src/channels/channels.repository.ts';
import type { ChannelSettings } from '../../src/channels/adapter.ts';
import { createTestApp, type TestApp } from '../helpers.ts';

export const PAGE_ID = '104455667788990';
export const PAGE_TOKEN = 'EAAEMUpage104455667788990';
export const IG_ID = '17841400011122233';
export const APP_SECRET = 'emulator-app-secret';
export const VERIFY_TOKEN = 'parley-test-verify';
export const WA_PHONE_ID = '106540352242922';
export const WA_WABA_ID = '102290129340398';
export const WA_TOKEN = 'EAAEMUwhatsapp106540352242922';

export interface MetaWorld {
  t: TestApp;
  emu: Emulator;
  parleyUrl: string;
  messengerId: number;
  instagramId: number;
  /** The emulator's WhatsApp number, when asked for (`whatsapp: true`). */
  whatsappId: number;
  /** Flush the emulator's webhooks, then wait for Parley's jobs. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Parley (listening on a real port) wired to the Meta emulator: the emulator's webhooks go to
 * Parley's /webhooks/meta and Parley's Graph calls go to the emulator, exactly as in
 * production with Meta.
 */
export async function startMetaWorld(
  opts: { settings?: ChannelSettings; emulator?: Parameters<typeof startEmulator>[0]; whatsapp?: boolean; env?: (emulatorUrl: string) => Record<string, string> } = {},
): Promise<MetaWorld> {
  const emu = await startEmulator({ webhooks: { retryDelaysMs: [20, 50, 100], batchWindowMs: 5, handshakeOnStart: false }, ...opts.emulator });
  const t = await createTestApp({
    env: { META_GRAPH_URL: emu.url, META_APP_SECRET: APP_SECRET, META_APP_ID: emu.config.appId, META_VERIFY_TOKEN: VERIFY_TOKEN, ...opts.env?.(emu.url) },
  });
  const parleyUrl = await t.app.listen({ port: 0, host: '127.0.0.1' });
  emu.setCallbackUrl(`${parleyUrl}/webhooks/meta`);
  const creds = encryptCredentials(t.deps.config.secretKey, { accessToken: PAGE_TOKEN });
  const settings = opts.settings ?? { humanAgent: true };
  const messengerId = await insertChannel(t.deps.db, { kind: 'messenger', name: 'Demo Repair Shop', externalId: PAGE_ID, credentialsEnc: creds, settings: { ...settings }, accessAll: true });
  const instagramId = await insertChannel(t.deps.db, {
    kind: 'instagram',
    name: 'demo.repair.shop',
    externalId: IG_ID,
    parentExternalId: PAGE_ID,
    credentialsEnc: creds,
    settings: { ...settings },
    accessAll: true,
  });
  const whatsappId = opts.whatsapp
    ? await insertChannel(t.deps.db, {
        kind: 'whatsapp',
        name: 'Demo Repair Shop WhatsApp',
        externalId: WA_PHONE_ID,
        parentExternalId: WA_WABA_ID,
        credentialsEnc: encryptCredentials(t.deps.config.secretKey, { accessToken: WA_TOKEN }),
        settings: { displayPhoneNumber: '+15550001234' },
        accessAll: true,
      })
    : 0;
  const settle = async () => {
    for (let i = 0; i < 4; i++) {
      await emu.flush();
      await t.deps.queue.idle();
      await t.deps.live.settle();
    }
  };
  return {
    t,
    emu,
    parleyUrl,
    messengerId,
    instagramId,
    whatsappId,
    settle,
    async close() {
      await emu.close();
      await t.close();
    },
  };
}
