import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import type { Logger } from './logger.ts';
import { redisReady } from './redis.ts';

/** Fan-out between processes: Redis pub/sub in production, an EventEmitter when embedded. */
export interface Bus {
  publish(topic: string, message: string): Promise<void>;
  subscribe(topic: string, handler: (message: string) => void): Promise<void>;
  close(): Promise<void>;
}

export class LocalBus implements Bus {
  private readonly emitter = new EventEmitter().setMaxListeners(0);
  async publish(topic: string, message: string) {
    this.emitter.emit(topic, message);
  }
  async subscribe(topic: string, handler: (message: string) => void) {
    this.emitter.on(topic, handler);
  }
  async close() {
    this.emitter.removeAllListeners();
  }
}

export class RedisBus implements Bus {
  private readonly pub: Redis;
  private sub: Redis | undefined;
  private readonly handlers = new Map<string, Array<(m: string) => void>>();

  constructor(
    private readonly url: string,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {
    // Publishing must not queue up while Redis is away: events are durable in PostgreSQL and
    // a web process catches up from there when the next notification arrives.
    this.pub = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    this.pub.on('error', (e) => logger.debug({ err: e.message }, 'redis (bus pub) error'));
  }

  async publish(topic: string, message: string) {
    if (!(await redisReady(this.pub))) throw new Error('Redis is unavailable; live event not published');
    await this.pub.publish(this.prefix + topic, message);
  }

  async subscribe(topic: string, handler: (message: string) => void) {
    if (!this.sub) {
      this.sub = new Redis(this.url, { maxRetriesPerRequest: null });
      this.sub.on('error', (e) => this.logger.debug({ err: e.message }, 'redis (bus sub) error'));
      this.sub.on('message', (channel: string, message: string) => {
        for (const h of this.handlers.get(channel) ?? []) h(message);
      });
    }
    const channel = this.prefix + topic;
    const list = this.handlers.get(channel) ?? [];
    list.push(handler);
    this.handlers.set(channel, list);
    await this.sub.subscribe(channel);
  }

  async close() {
    this.sub?.disconnect();
    this.pub.disconnect();
  }
}
