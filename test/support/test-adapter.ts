import { PlatformError, type ChannelAdapter, type ChannelEvent, type OutboundMessage, type SendPolicy } from '../../src/channels/adapter.ts';
import type { Deps } from '../../src/deps.ts';
import { encryptCredentials } from '../../src/channels/channels.service.ts';
import { insertChannel, setChannelAccess } from '../../src/channels/channels.repository.ts';
import { applyChannelEvents } from '../../src/chats/ingest/ingest.service.ts';

/**
 * A channel adapter that lives in the tests: it records what Parley sends and lets a test
 * script platform failures, so the chats core is driven without any real platform.
 */
export class TestAdapter implements ChannelAdapter {
  readonly kind = 'test';
  readonly labelKey = 'kind.test' as const;
  readonly capabilities = { markSeen: true, comments: false, templates: false, history: false, replies: false, maxTextLength: 2000 };
  readonly sent: OutboundMessage[] = [];
  readonly seen: string[] = [];
  /** Errors thrown by the next sends, in order. */
  failures: PlatformError[] = [];
  policy: SendPolicy = { action: 'send', messagingType: 'RESPONSE' };
  private seq = 0;

  sendPolicy(): SendPolicy {
    return this.policy;
  }

  async send(_channel: unknown, msg: OutboundMessage) {
    const f = this.failures.shift();
    if (f) throw f;
    this.sent.push(msg);
    return { externalId: `out-${++this.seq}-${msg.messageId}`, sentAt: new Date() };
  }

  async markSeen(_channel: unknown, contactExternalId: string) {
    this.seen.push(contactExternalId);
  }
}

export { PlatformError };

export async function makeTestChannel(deps: Deps, opts: { name?: string; externalId?: string; employees?: number[] } = {}) {
  const id = await insertChannel(deps.db, {
    kind: 'test',
    name: opts.name ?? 'Test Page',
    externalId: opts.externalId ?? `page-${Math.random().toString(36).slice(2)}`,
    credentialsEnc: encryptCredentials(deps.config.secretKey, { accessToken: 'tok' }),
    settings: {},
    accessAll: !opts.employees,
  });
  if (opts.employees) await setChannelAccess(deps.db, id, opts.employees);
  return id;
}

let mid = 0;
/** A lead writes: one inbound text message through the channel-agnostic ingest. */
export async function leadWrites(deps: Deps, channelId: number, contact: string, text: string, extra: Partial<Extract<ChannelEvent, { type: 'message' }>> = {}) {
  const event: ChannelEvent = {
    type: 'message',
    channelExternalId: 'x',
    contactExternalId: contact,
    direction: 'in',
    externalId: `in-${++mid}-${Date.now()}`,
    timestamp: new Date(),
    kind: 'text',
    text,
    contactName: contact,
    ...extra,
  } as ChannelEvent;
  const [outcome] = await applyChannelEvents(deps, { id: channelId, kind: 'test' }, [event]);
  return { ...outcome!, externalId: (event as { externalId: string }).externalId };
}
