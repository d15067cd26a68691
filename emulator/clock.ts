// The emulator's notion of "now". Platform rules (24 h window, 7-day HUMAN_AGENT window, media
// URL expiry) are evaluated against this clock, so tests can put a conversation at 23h59 or
// 24h01 without waiting: `advance('24h1m')`. Webhook retries use real timers on purpose.

export class Clock {
  private offsetMs = 0;

  constructor(private readonly realNow: () => number = Date.now) {}

  now(): number {
    return this.realNow() + this.offsetMs;
  }

  /** Moves the emulator's time forward (or back with a negative duration); returns the new now. */
  advance(duration: number | string): number {
    this.offsetMs += parseDuration(duration);
    return this.now();
  }

  /** Jumps to an absolute time (epoch ms or ISO string). */
  set(at: number | string): number {
    const target = typeof at === 'number' ? at : Date.parse(at);
    if (!Number.isFinite(target)) throw new Error(`invalid time: ${String(at)}`);
    this.offsetMs = target - this.realNow();
    return this.now();
  }

  reset(): void {
    this.offsetMs = 0;
  }

  get offset(): number {
    return this.offsetMs;
  }
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "24h1m", "7d1m", "-1h", "1500ms", "90s" or a number of milliseconds. */
export function parseDuration(input: number | string): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) throw new Error('duration must be finite');
    return input;
  }
  const text = input.trim();
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  const match = /^(-)?((?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+)$/.exec(text);
  if (!match || match[2] === undefined) throw new Error(`invalid duration "${input}" (use e.g. 24h1m, 7d, 90s, 1500ms)`);
  let total = 0;
  for (const part of match[2].matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g)) {
    total += Number(part[1]) * (UNIT_MS[part[2] ?? 'ms'] ?? 1);
  }
  return match[1] ? -total : total;
}

/** Graph-style time: 2026-01-05T10:00:00+0000. */
export function graphTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+0000');
}

export function epochSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}
