import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RateLimiter } from '../../src/chats/rate-limiter.ts';
import { usingRedis } from '../helpers.ts';

/** No one-second window, sliding or aligned, may hold more sends than the limit (P8). */
function maxInAnySecond(times: number[]): number {
  let best = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= 1000) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

const redis = usingRedis ? new Redis(process.env.REDIS_URL!) : undefined;
afterAll(() => redis?.disconnect());

describe('per-channel send pacing', () => {
  it('spaces concurrent takers so no second holds more than the limit, across two limiters sharing a store', { timeout: 20_000 }, async () => {
    const prefix = `parleytest:rl:${process.pid}:${Date.now()}`;
    const a = new RateLimiter(redis, prefix);
    // With Redis the two instances stand for two worker processes; without it one limiter is shared.
    const b = redis ? new RateLimiter(new Redis(process.env.REDIS_URL!), prefix) : a;
    const times: number[] = [];
    const started = Date.now();
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        (i % 2 ? a : b).take(7, 20).then(() => {
          times.push(Date.now());
        }),
      ),
    );
    times.sort((x, y) => x - y);
    expect(maxInAnySecond(times)).toBeLessThanOrEqual(20);
    // 30 sends at 20/s take about 1.5 s: paced, not serialised into whole seconds.
    expect(Date.now() - started).toBeLessThan(4000);
    if (b !== a) b.close();
  });

  it('does not pace a channel without a limit', async () => {
    const l = new RateLimiter(undefined, 'x');
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 100 }, () => l.take(1, undefined)));
    expect(Date.now() - t0).toBeLessThan(200);
  });
});
