import type { Redis } from 'ioredis';
import { redisReady } from '../../platform/redis.ts';

/**
 * Reserves the next send slot and answers how long to wait for it. Slots are spaced evenly,
 * so no one-second window, aligned or sliding, ever holds more than the limit (a counter per
 * calendar second allows twice the rate across a boundary). The clock is Redis's, shared by
 * every worker process. The key lives a minute past the last slot handed out, so slots
 * reserved far ahead are never handed out twice.
 */
const RESERVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nextFree = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now, nextFree)
local spacing = tonumber(ARGV[1])
redis.call('SET', KEYS[1], tostring(slot + spacing), 'PX', math.ceil(slot + spacing - now + 60000))
return slot - now`;

/**
 * The slot of one ticket (one message), reserved once however often its job asks: a job that
 * comes back for its slot (it was deferred, or its job was enqueued twice) finds the same one.
 * KEYS: the channel's next free slot, the ticket. ARGV: spacing, hold, late, claim ttl (ms).
 * The ticket holds its slot, prefixed with 'c' once a run has claimed it to send.
 * Answers {wait, claimed}: claimed = 1 when this call claimed the slot (wait <= hold: send
 * after wait), 0 when the slot is further away than hold (come back later), -1 when another
 * run claimed it (wait: until that claim lapses). A slot passed by more than `late` is given
 * up for a new one: sending that late could crowd the sends of the slots after it into one
 * second.
 */
const CLAIM = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local spacing, hold, late, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local ticket = redis.call('GET', KEYS[2])
local slot = nil
if ticket then
  if string.sub(ticket, 1, 1) == 'c' then return {redis.call('PTTL', KEYS[2]), -1} end
  local s = tonumber(ticket)
  if s >= now - late then slot = s end
end
if not slot then
  local nextFree = tonumber(redis.call('GET', KEYS[1]) or '0')
  slot = math.max(now, nextFree)
  redis.call('SET', KEYS[1], tostring(slot + spacing), 'PX', math.ceil(slot + spacing - now + 60000))
end
local wait = slot - now
if wait <= hold then
  redis.call('SET', KEYS[2], 'c' .. tostring(slot), 'PX', math.ceil(math.max(wait, 0) + ttl))
  return {wait, 1}
end
redis.call('SET', KEYS[2], tostring(slot), 'PX', math.ceil(wait + 60000))
return {wait, 0}`;

/** A little slack so that network jitter between sends never packs N+1 into one second. */
const SPACING_MARGIN = 1.05;
/** A slot this close is waited for in the job; a later one is waited for by deferring the job. */
export const HOLD_MS = 100;
/**
 * How late a reserved slot may still be used. The spacing margin leaves 5 % of a second
 * (50 ms) of slack per second: this and the send's own latency must fit in it.
 */
const LATE_MS = 20;
/**
 * How long a claimed slot keeps other runs of the same ticket away: longer than a send can be
 * in flight (the Graph client gives up after 15 s). A run that finds the slot claimed comes
 * back when the claim lapses: if the claimer died mid-send, it sends then.
 */
const CLAIM_TTL_MS = 20_000;

/** What a send job may do now about its channel's pace. */
export type SlotClaim =
  /** Send after `waitMs` (0 without a limit). */
  | { kind: 'go'; waitMs: number }
  /** The slot is reserved for this ticket but `waitMs` away: come back for it then. */
  | { kind: 'later'; waitMs: number }
  /** Another run of the same ticket is sending it; its claim lapses in `retryInMs`. */
  | { kind: 'taken'; retryInMs: number };

/**
 * Per-channel send pacing (P8): at most N sends per second per channel, across every worker
 * process when Redis is there, in-process otherwise. A caller over the limit waits for its
 * slot instead of failing: briefly in place (`take`, or `claim` within HOLD_MS), or, for a
 * send job, by deferring itself (`claim` answers `later`) so that waiting never holds a worker
 * that jobs of other channels need.
 */
export class RateLimiter {
  private readonly local = new Map<string, number>();
  private readonly tickets = new Map<string, { slot: number; claimed: boolean; expires: number }>();

  constructor(
    private readonly redis?: Redis,
    private readonly prefix = 'parley',
  ) {}

  async take(bucket: number | string, perSecond: number | undefined): Promise<void> {
    if (!perSecond || perSecond <= 0) return;
    const spacing = spacingOf(perSecond);
    const key = `${this.prefix}:rate:${bucket}`;
    const waitMs = await this.reserve(key, spacing);
    if (waitMs > 0) await sleep(waitMs);
  }

  /**
   * The send slot of `ticket` (a message) on `bucket` (its channel), reserved on the first call
   * and found again on the next ones. Does not wait: the caller sleeps `waitMs` on `go`.
   */
  async claim(bucket: number | string, perSecond: number | undefined, ticket: string, holdMs = HOLD_MS): Promise<SlotClaim> {
    if (!perSecond || perSecond <= 0) return { kind: 'go', waitMs: 0 };
    const spacing = spacingOf(perSecond);
    const key = `${this.prefix}:rate:${bucket}`;
    const ticketKey = `${key}:t:${ticket}`;
    if (this.redis && (await redisReady(this.redis))) {
      const [wait, claimed] = (await this.redis.eval(CLAIM, 2, key, ticketKey, spacing, holdMs, LATE_MS, CLAIM_TTL_MS)) as [number, number];
      if (claimed < 0) return { kind: 'taken', retryInMs: Math.max(1, wait) };
      return claimed ? { kind: 'go', waitMs: Math.max(0, wait) } : { kind: 'later', waitMs: wait };
    }
    const now = Date.now();
    const held = this.tickets.get(ticketKey);
    let slot: number | undefined;
    if (held && held.expires > now) {
      if (held.claimed) return { kind: 'taken', retryInMs: Math.max(1, held.expires - now) };
      if (held.slot >= now - LATE_MS) slot = held.slot;
    }
    if (slot === undefined) slot = await this.reserveLocal(key, spacing, now);
    const wait = slot - now;
    if (wait <= holdMs) {
      this.tickets.set(ticketKey, { slot, claimed: true, expires: now + Math.max(wait, 0) + CLAIM_TTL_MS });
      return { kind: 'go', waitMs: Math.max(0, wait) };
    }
    this.tickets.set(ticketKey, { slot, claimed: false, expires: now + wait + 60_000 });
    if (this.tickets.size > 10_000) for (const [k, v] of this.tickets) if (v.expires <= now) this.tickets.delete(k);
    return { kind: 'later', waitMs: wait };
  }

  /**
   * `claim`, then waits for a near slot. A slot reached more than LATE_MS late (this process
   * was starved of CPU, its timer fired late) is not used: sent now, it could crowd into one
   * second with the sends of the slots after it. It is given up and a new one claimed.
   */
  async waitForSlot(bucket: number | string, perSecond: number | undefined, ticket: string): Promise<SlotClaim> {
    for (let i = 0; i < 5; i++) {
      const c = await this.claim(bucket, perSecond, ticket);
      if (c.kind !== 'go') return c;
      const due = Date.now() + c.waitMs;
      if (c.waitMs > 0) await sleep(c.waitMs);
      if (Date.now() - due <= LATE_MS) return { kind: 'go', waitMs: 0 };
      await this.release(bucket, ticket);
    }
    return { kind: 'later', waitMs: spacingOf(perSecond ?? 1) };
  }

  /** Gives a ticket's claimed slot back (its send failed): a retry reserves a new one. */
  async release(bucket: number | string, ticket: string): Promise<void> {
    const ticketKey = `${this.prefix}:rate:${bucket}:t:${ticket}`;
    this.tickets.delete(ticketKey);
    if (this.redis && this.redis.status === 'ready') await this.redis.del(ticketKey).catch(() => {});
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
    return (await this.reserveLocal(key, spacing, now)) - now;
  }

  private async reserveLocal(key: string, spacing: number, now: number): Promise<number> {
    const slot = Math.max(now, this.local.get(key) ?? 0);
    this.local.set(key, slot + spacing);
    return slot;
  }
}

/**
 * Milliseconds between two slots, fractional: rounded up to whole milliseconds, a 600/s
 * channel was spaced 2 ms apart and capped at 500/s. (Redis keeps the slots as decimal strings;
 * only its key lifetimes, `PX`, are rounded.)
 */
function spacingOf(perSecond: number): number {
  return (1000 / perSecond) * SPACING_MARGIN;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
