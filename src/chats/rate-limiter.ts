import type { Redis } from 'ioredis';
import { redisReady } from '../platform/redis.ts';

/**
 * Reserves the next send slot and answers how long to wait for it. Slots are spaced evenly,
 * so no one-second window, aligned or sliding, ever holds more than the limit (a counter per
 * calendar second allows twice the rate across a boundary). The clock is Redis's, shared by
 * every worker process.
 */
const RESERVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nextFree = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now, nextFree)
redis.call('SET', KEYS[1], tostring(slot + tonumber(ARGV[1])), 'PX', 60000)
return slot - now`;

/** A little slack so that network jitter between sends never packs N+1 into one second. */
const SPACING_MARGIN = 1.05;

/**
 * Per-channel send pacing (P8): at most N sends per second per channel, across every worker
 * process when Redis is there, in-process otherwise. A caller over the limit waits for its
 * slot instead of failing.
 */
export class RateLimiter {
  private readonly local = new Map<string, number>();

  constructor(private readonly redis?: Redis, private readonly prefix = 'parley') {}

  async take(bucket: number | string, perSecond: number | undefined): Promise<void> {
    if (!perSecond || perSecond <= 0) return;
    const spacing = Math.ceil((1000 / perSecond) * SPACING_MARGIN);
    const key = `${this.prefix}:rate:${bucket}`;
    const waitMs = await this.reserve(key, spacing);
    if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
  }

  close(): void {
    this.redis?.disconnect();
  }

  private async reserve(key: string, spacing: number): Promise<number> {
    // A connection still opening (a fresh worker) is waited for: falling back to the local
    // clock then would let each process pace on its own. Redis down: pace locally.
    if (this.redis && (await redisReady(this.redis))) {
      return Number(await this.redis.eval(RESERVE, 1, key, String(spacing)));
    }
    const now = Date.now();
    const slot = Math.max(now, this.local.get(key) ?? 0);
    this.local.set(key, slot + spacing);
    return slot - now;
  }
}
