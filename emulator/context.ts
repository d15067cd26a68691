// Everything a request handler or a customer action needs, built once per emulator instance
// (no module-level singletons, so several emulators can run in one test process).
import type { Clock } from './clock.ts';
import type { EmulatorConfig } from './config.ts';
import type { Guards } from './graph/guards.ts';
import type { Ids } from './ids.ts';
import type { Log } from './log.ts';
import type { MediaStore } from './media.ts';
import type { Store } from './state.ts';
import type { WebhookDispatcher } from './webhooks/dispatcher.ts';

export interface Ctx {
  config: EmulatorConfig;
  clock: Clock;
  ids: Ids;
  store: Store;
  media: MediaStore;
  webhooks: WebhookDispatcher;
  guards: Guards;
  log: Log;
  /** Base URL of this emulator (http://127.0.0.1:PORT), known once listening. */
  baseUrl(): string;
  /** Base URL used for media links in webhooks and API answers. */
  mediaBaseUrl(): string;
}

/** A problem with a control/customer action (bad input, unknown person…): 400/404, not a Graph error. */
export class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
