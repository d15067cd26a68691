import type { Redis } from 'ioredis';

/**
 * Per-channel send pacing (P8): at most N sends per second per channel, across every worker
 * process when Redis is there (a fixed one-second window counter), in-process otherwise.
 * A caller over the limit waits for the next window instead of failing.
 */
export class RateLimiter {
  private readonly local = new Map<string, { window: number; count: number }>();

  constructor(private readonly redis?: Redis, private readonly prefix = 'parley') {}

  async take(bucket: number | string, perSecond: number | undefined): Promise<void> {
    if (!perSecond || perSecond <= 0) return;
    for (;;) {
      const window = Math.floor(Date.now() / 1000);
      const count = await this.increment(`${this.prefix}:rate:${bucket}:${window}`, window);
      if (count <= perSecond) return;
      await new Promise((r) => setTimeout(r, (window + 1) * 1000 - Date.now() + Math.random() * 20));
    }
  }

  close(): void {
    this.redis?.disconnect();
  }

  private async increment(key: string, window: number): Promise<number> {
    if (this.redis && this.redis.status === 'ready') {
      const [[, n]] = (await this.redis.multi().incr(key).expire(key, 5).exec()) as [[unknown, number]];
      return n;
    }
    const cur = this.local.get(key);
    if (!cur || cur.window !== window) {
      this.local.clear();
      this.local.set(key, { window, count: 1 });
      return 1;
    }
    cur.count++;
    return cur.count;
  }
}
