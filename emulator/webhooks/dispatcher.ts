// Delivers webhook events to the callback URL(s) the way Meta does (meta-platform.md §1):
// - batched: events raised within `batchWindowMs` go out together, several `entry` objects per
//   POST and several `messaging` / `changes` items per entry (§1.4), at most `maxBatchSize`;
// - signed: `X-Hub-Signature-256: sha256=<hmac>` over the exact bytes sent, the body being
//   escaped-unicode JSON (§1.2, see signature.ts);
// - retried: any answer other than 200, a connection error or a timeout is retried after each
//   of `retryDelaysMs`, resending the same bytes, then dropped (§1.3, bounded);
// - chaos (optional): duplicates, re-ordering across POSTs and random delays (§1.4 says all
//   three happen in production).
import { createHmac } from 'node:crypto';
import type { ChaosConfig, EmulatorConfig, WebhookObject } from '../config.ts';
import { prng } from '../ids.ts';
import type { Log } from '../log.ts';
import { metaJsonStringify, signBody } from '../signature.ts';

export interface WhatsAppGroup {
  wabaId: string;
  phoneNumberId: string;
  displayPhoneNumber: string;
  list: 'messages' | 'statuses';
  contact?: { profile: { name: string }; wa_id: string };
}

export interface WebhookEvent {
  object: WebhookObject;
  /** Page id, Instagram account id or WABA id (`entry[].id`). */
  entryId: string;
  kind: 'messaging' | 'change';
  /** Webhook field (`messages`, `message_echoes`, `feed`, `comments`…). */
  field: string;
  /** A `messaging[]` item, a change `value`, or one WhatsApp message/status. */
  item: unknown;
  whatsapp?: WhatsAppGroup;
  /** Emulator time the event was raised (entry `time`). */
  raisedAt: number;
  seq: number;
}

export interface DeliveryAttempt {
  at: string;
  status?: number;
  error?: string;
  durationMs: number;
}

export interface WebhookDelivery {
  id: number;
  url: string;
  object: WebhookObject;
  body: string;
  signature: string;
  eventCount: number;
  createdAt: string;
  state: 'pending' | 'retrying' | 'delivered' | 'dropped';
  attempts: DeliveryAttempt[];
  /** Chaos: this POST repeats events already sent. */
  chaos?: { duplicates: number; reordered: boolean; delayMs: number };
}

export interface DispatcherDeps {
  config: () => EmulatorConfig;
  now: () => number;
  log: Log;
}

export class WebhookDispatcher {
  private pending: WebhookEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inflight = new Set<Promise<unknown>>();
  private sleepers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  private deliveryLog: WebhookDelivery[] = [];
  private nextId = 1;
  private seq = 0;
  private closed = false;
  private chaosRand: () => number;
  private warnedNoCallback = false;
  /** Events dropped because no callback URL is configured for their object. */
  undeliverable = 0;

  constructor(private readonly deps: DispatcherDeps) {
    this.chaosRand = prng(deps.config().chaos.seed);
  }

  get deliveries(): readonly WebhookDelivery[] {
    return this.deliveryLog;
  }

  nextSeq(): number {
    return ++this.seq;
  }

  callbackUrlFor(object: WebhookObject): string | undefined {
    const hooks = this.deps.config().webhooks;
    return hooks.callbackUrls?.[object] ?? hooks.callbackUrl;
  }

  resetChaosSeed(chaos: ChaosConfig): void {
    this.chaosRand = prng(chaos.seed);
  }

  enqueue(event: Omit<WebhookEvent, 'seq'>): void {
    if (this.closed) return;
    this.pending.push({ ...event, seq: this.nextSeq() });
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.dispatchPending();
      }, this.deps.config().webhooks.batchWindowMs);
    }
  }

  /** Forgets pending events and the delivery log (control API reset). In-flight POSTs finish. */
  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = [];
    this.deliveryLog = [];
    this.undeliverable = 0;
    this.resetChaosSeed(this.deps.config().chaos);
  }

  /**
   * Sends everything pending now and waits until every delivery (with its retries and chaos
   * delays) has settled. Loops because a delivery can make the receiver call the Graph API,
   * which raises new events (echoes, statuses).
   */
  async flush(): Promise<void> {
    for (let round = 0; round < 100; round++) {
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
      if (this.pending.length) this.dispatchPending();
      if (this.inflight.size === 0) {
        // Give the receiver's in-process handlers a tick to raise follow-up events.
        await new Promise((r) => setImmediate(r));
        if (this.pending.length === 0 && this.inflight.size === 0) return;
        continue;
      }
      await Promise.allSettled([...this.inflight]);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const s of this.sleepers) {
      clearTimeout(s.timer);
      s.resolve();
    }
    this.sleepers.clear();
    await Promise.allSettled([...this.inflight]);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p)).catch(() => undefined);
    return p;
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const sleeper = {
        resolve,
        timer: setTimeout(() => {
          this.sleepers.delete(sleeper);
          resolve();
        }, ms),
      };
      this.sleepers.add(sleeper);
    });
  }

  private dispatchPending(): void {
    const events = this.pending;
    this.pending = [];
    const byUrl = new Map<string, WebhookEvent[]>();
    for (const ev of events) {
      const url = this.callbackUrlFor(ev.object);
      if (!url) {
        this.undeliverable++;
        if (!this.warnedNoCallback) {
          this.warnedNoCallback = true;
          this.deps.log.warn('webhook events dropped: no callback URL configured (set EMULATOR_CALLBACK_URL or webhooks.callbackUrl)');
        }
        continue;
      }
      const key = `${url}\n${ev.object}`;
      const list = byUrl.get(key) ?? [];
      list.push(ev);
      byUrl.set(key, list);
    }
    const chaos = this.deps.config().chaos;
    for (const [key, list] of byUrl) {
      const [url = '', object] = key.split('\n') as [string, WebhookObject];
      if (chaos.enabled) this.track(this.deliverChaotically(url, object, list, chaos));
      else {
        const max = Math.max(1, this.deps.config().webhooks.maxBatchSize);
        for (let i = 0; i < list.length; i += max) void this.startDelivery(url, object, list.slice(i, i + max));
      }
    }
  }

  /** Duplicates, shuffles, splits into small POSTs and delays them, one after another. */
  private async deliverChaotically(url: string, object: WebhookObject, events: WebhookEvent[], chaos: ChaosConfig): Promise<void> {
    const rand = this.chaosRand;
    const list = [...events];
    let duplicates = 0;
    for (const ev of events) {
      if (rand() < chaos.duplicateRate) {
        const at = list.indexOf(ev) + 1 + Math.floor(rand() * (list.length - list.indexOf(ev)));
        list.splice(at, 0, ev);
        duplicates++;
      }
    }
    let reordered = false;
    if (chaos.reorder && list.length > 1) {
      for (let i = list.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [list[i], list[j]] = [list[j] as WebhookEvent, list[i] as WebhookEvent];
      }
      // Guarantee at least one inversion, so "reorder" is observable even for 2 events.
      const inOrder = list.every((ev, i) => i === 0 || (list[i - 1] as WebhookEvent).seq <= ev.seq);
      if (inOrder) {
        const first = list.findIndex((ev, i) => i + 1 < list.length && (list[i + 1] as WebhookEvent).seq !== ev.seq);
        if (first >= 0) [list[first], list[first + 1]] = [list[first + 1] as WebhookEvent, list[first] as WebhookEvent];
      }
      reordered = true;
    }
    // Split into POSTs: small random sizes when re-ordering; a repeated event always starts a
    // new POST (Meta re-sends in a later delivery, never twice in the same body).
    const nextSize = (): number => (chaos.reorder ? 1 + Math.floor(rand() * 3) : Number.POSITIVE_INFINITY);
    const batches: WebhookEvent[][] = [];
    let current: WebhookEvent[] = [];
    let target = nextSize();
    for (const ev of list) {
      if (current.length >= target || current.some((e) => e.seq === ev.seq)) {
        batches.push(current);
        current = [];
        target = nextSize();
      }
      current.push(ev);
    }
    if (current.length) batches.push(current);
    for (const batch of batches) {
      const delayMs = Math.floor(rand() * Math.max(0, chaos.maxDelayMs));
      await this.sleep(delayMs);
      if (this.closed) return;
      await this.startDelivery(url, object, batch, { duplicates, reordered, delayMs });
    }
  }

  /** Resolves after the first attempt; retries continue in the background (tracked for flush). */
  private startDelivery(url: string, object: WebhookObject, events: WebhookEvent[], chaos?: WebhookDelivery['chaos']): Promise<void> {
    const config = this.deps.config();
    const body = metaJsonStringify(buildPayload(object, events, this.deps.now()), { escapeSlashes: config.webhooks.escapeSlashes });
    const delivery: WebhookDelivery = {
      id: this.nextId++,
      url,
      object,
      body,
      signature: signBody(body, config.appSecret),
      eventCount: events.length,
      createdAt: new Date(this.deps.now()).toISOString(),
      state: 'pending',
      attempts: [],
      chaos,
    };
    this.deliveryLog.push(delivery);
    if (this.deliveryLog.length > 2_000) this.deliveryLog.splice(0, this.deliveryLog.length - 2_000);

    let firstDone!: () => void;
    const first = new Promise<void>((r) => (firstDone = r));
    const run = async (): Promise<void> => {
      const delays = config.webhooks.retryDelaysMs;
      for (let attempt = 0; ; attempt++) {
        if (attempt > 0) {
          const delay = delays[attempt - 1];
          if (delay === undefined) {
            delivery.state = 'dropped';
            this.deps.log.warn('webhook dropped after retries', { url, id: delivery.id, attempts: delivery.attempts.length });
            break;
          }
          await this.sleep(delay);
          if (this.closed) break;
        }
        const ok = await this.attempt(delivery, config);
        if (attempt === 0) firstDone();
        if (ok) {
          delivery.state = 'delivered';
          break;
        }
        delivery.state = 'retrying';
      }
      firstDone();
    };
    this.track(run());
    return first;
  }

  private async attempt(delivery: WebhookDelivery, config: EmulatorConfig): Promise<boolean> {
    const started = Date.now();
    const record: DeliveryAttempt = { at: new Date(this.deps.now()).toISOString(), durationMs: 0 };
    delivery.attempts.push(record);
    try {
      const res = await fetch(delivery.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-hub-signature-256': delivery.signature,
          // The legacy SHA-1 header still accompanies the SHA-256 one (§1.2).
          'x-hub-signature': `sha1=${createHmac('sha1', config.appSecret).update(delivery.body).digest('hex')}`,
          'user-agent': 'facebookexternalua',
        },
        body: delivery.body,
        signal: AbortSignal.timeout(config.webhooks.timeoutMs),
      });
      record.status = res.status;
      await res.arrayBuffer().catch(() => undefined);
      // Meta treats anything but 200 as a failure (§1.3: "200 (anything else = failure)").
      if (res.status !== 200) record.error = `HTTP ${res.status}`;
      return res.status === 200;
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      record.error = e.name === 'TimeoutError' ? `timeout after ${config.webhooks.timeoutMs} ms` : (e.cause?.code ?? e.message);
      return false;
    } finally {
      record.durationMs = Date.now() - started;
      this.deps.log.debug('webhook attempt', { id: delivery.id, url: delivery.url, status: record.status, error: record.error });
    }
  }
}

/** Builds the POST body for one object from events, preserving their order. */
export function buildPayload(object: WebhookObject, events: WebhookEvent[], now: number): unknown {
  if (object === 'whatsapp_business_account') return buildWhatsAppPayload(events);
  const entries: Array<{ id: string; time: number; messaging?: unknown[]; changes?: unknown[] }> = [];
  const index = new Map<string, (typeof entries)[number]>();
  for (const ev of events) {
    const key = `${ev.entryId}|${ev.kind}`;
    let entry = index.get(key);
    if (!entry) {
      // Messaging entries carry `time` in ms, change (feed/comments) entries in seconds (§2.8, §3.3 examples).
      entry = ev.kind === 'messaging' ? { id: ev.entryId, time: now, messaging: [] } : { id: ev.entryId, time: Math.floor(now / 1000), changes: [] };
      index.set(key, entry);
      entries.push(entry);
    }
    if (ev.kind === 'messaging') entry.messaging?.push(ev.item);
    else entry.changes?.push({ field: ev.field, value: ev.item });
  }
  return { object, entry: entries };
}

function buildWhatsAppPayload(events: WebhookEvent[]): unknown {
  const entries: Array<{ id: string; changes: Array<{ value: Record<string, unknown>; field: string }> }> = [];
  const byWaba = new Map<string, (typeof entries)[number]>();
  let last: { wabaId: string; phone: string; list: string; value: Record<string, unknown> } | undefined;
  for (const ev of events) {
    const g = ev.whatsapp;
    if (!g) continue;
    let entry = byWaba.get(g.wabaId);
    if (!entry) {
      entry = { id: g.wabaId, changes: [] };
      byWaba.set(g.wabaId, entry);
      entries.push(entry);
    }
    // A change `value` holds either messages[] (with contacts[]) or statuses[] (§4.1).
    if (!last || last.wabaId !== g.wabaId || last.phone !== g.phoneNumberId || last.list !== g.list) {
      const value: Record<string, unknown> = {
        messaging_product: 'whatsapp',
        metadata: { display_phone_number: g.displayPhoneNumber, phone_number_id: g.phoneNumberId },
      };
      if (g.list === 'messages') value.contacts = [];
      value[g.list] = [];
      entry.changes.push({ value, field: 'messages' });
      last = { wabaId: g.wabaId, phone: g.phoneNumberId, list: g.list, value };
    }
    (last.value[g.list] as unknown[]).push(ev.item);
    if (g.contact) {
      const contacts = last.value.contacts as Array<{ wa_id: string }>;
      if (!contacts.some((c) => c.wa_id === g.contact?.wa_id)) contacts.push(g.contact);
    }
  }
  return { object: 'whatsapp_business_account', entry: entries };
}
