import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RateLimiter } from '../../../src/chats/outbox/rate-limiter.ts';
import { usingRedis } from '../../helpers.ts';

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

  it('reserves one slot per ticket: asked again it answers the same slot, later or claimed', async () => {
    const prefix = `parleytest:rl:${process.pid}:${Date.now()}:claim`;
    const l = new RateLimiter(redis, prefix);
    // 10/s: slots 105 ms apart. The first ticket goes now; the next ones are reserved further on.
    const first = await l.claim(3, 10, 'm1');
    expect(first.kind).toBe('go');
    const askedAt = Date.now();
    const second = await l.claim(3, 10, 'm2', 0);
    const third = await l.claim(3, 10, 'm3', 0);
    // Each wait is counted from its own claim: the time between them comes off the difference.
    const between = Date.now() - askedAt;
    expect(second.kind).toBe('later');
    expect(third.kind).toBe('later');
    const wait2 = (second as { waitMs: number }).waitMs;
    const wait3 = (third as { waitMs: number }).waitMs;
    expect(wait3 - wait2 + between).toBeGreaterThanOrEqual(100);
    // Asking again (a deferred job coming back, or a duplicate job) finds the same slot.
    const again = await l.claim(3, 10, 'm3', 0);
    expect(again.kind).toBe('later');
    expect(Math.abs((again as { waitMs: number }).waitMs - wait3)).toBeLessThan(50);
    // Within the hold window it is claimed, once: another run of the same ticket stays away.
    const claimed = await l.claim(3, 10, 'm3', 10_000);
    expect(claimed.kind).toBe('go');
    expect((await l.claim(3, 10, 'm3', 10_000)).kind).toBe('taken');
    // Released (the send failed), a retry reserves a new slot after the ones already given.
    await l.release(3, 'm3');
    const retry = await l.claim(3, 10, 'm3', 0);
    expect(retry.kind).toBe('later');
    expect((retry as { waitMs: number }).waitMs).toBeGreaterThan(wait3);
    if (redis) await redis.eval(`for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end`, 0, `${prefix}:*`);
  });

  it('does not pace a channel without a limit', async () => {
    const l = new RateLimiter(undefined, 'x');
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 100 }, () => l.take(1, undefined)));
    expect(Date.now() - t0).toBeLessThan(200);
  });
});
