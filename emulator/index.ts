// Programmatic API: start an emulator in-process (tests, the demo script) and drive it with the
// same operations as the control API.
//
//   const emu = await startEmulator({ port: 0, webhooks: { callbackUrl, retryDelaysMs: [10, 20] } });
//   emu.send('anna', 'messenger', 'Hello!');
//   await emu.flush();            // every pending webhook delivered (or dropped after retries)
//   emu.calls({ pathIncludes: '/messages' });
//   await emu.close();
import { resolveConfig, type DeepPartial, type EmulatorConfig } from './config.ts';
import { EmulatorCore } from './emulator.ts';
import { silentLog, type Log } from './log.ts';
import { buildServer } from './server.ts';

export type { EmulatorConfig, DeepPartial, PageConfig, InstagramConfig, WhatsAppNumberConfig, PersonConfig, TemplateConfig, RateLimitRule, ChaosConfig, WebhookObject } from './config.ts';
export { defaultConfig, loadConfig, resolveConfig } from './config.ts';
export type { CustomerMessageInput, CustomerAttachmentInput, HistoryInput } from './customer.ts';
export type { ChannelView, PersonView, MessageView, ThreadView, AttachmentView, CallFilter } from './emulator.ts';
export type { RecordedCall, Comment, Post } from './state.ts';
export type { WebhookDelivery } from './webhooks/dispatcher.ts';
export type { HandshakeResult } from './webhooks/handshake.ts';
export type { Fault, FaultInput } from './graph/guards.ts';
export { metaJsonStringify, signBody, verifySignature } from './signature.ts';
export { parseDuration } from './clock.ts';
export { EmulatorCore } from './emulator.ts';
export { SttDouble, SAMPLE_TRANSCRIPTS, type SttBehaviour, type SttCall } from './stt.ts';
export type { Log } from './log.ts';

export interface EmulatorOptions extends DeepPartial<EmulatorConfig> {
  /** Logger (default: silent). */
  log?: Log;
}

/**
 * A running emulator: every EmulatorCore operation (send, read, react, comment, calls,
 * advanceClock, revokeToken, setChaos, flush…) plus where it listens and close().
 */
export interface Emulator extends EmulatorCore {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** url + "/v25.0" (any vNN.N works). */
  readonly graphUrl: string;
  readonly port: number;
  readonly config: EmulatorConfig;
  close(): Promise<void>;
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const { log, ...partial } = options;
  const config = resolveConfig({ port: 0, ...partial } as DeepPartial<EmulatorConfig>);
  const core = new EmulatorCore(config, log ?? silentLog);
  const app = buildServer(core);
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = config.publicUrl?.replace(/\/$/, '') ?? `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  core.setBaseUrl(url);
  const coreClose = core.close.bind(core);
  return Object.assign(core, {
    url,
    graphUrl: `${url}/${config.graphVersion}`,
    port,
    config,
    close: async () => {
      await coreClose();
      await app.close();
    },
  }) as Emulator;
}
