/**
 * What a signed delivery may hold that PostgreSQL refuses, made harmless at parse time (R9):
 * U+0000 (text and jsonb cannot hold it) is removed, a lone surrogate (UTF-8 cannot encode it)
 * becomes U+FFFD, a timestamp outside the platform's possible range falls back to the
 * delivery's receipt time, and an id that is not a string or number of a sane length refuses
 * its item.
 */

const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function cleanString(s: string): string {
  UNSTORABLE.lastIndex = 0;
  return UNSTORABLE.test(s) ? s.replace(UNSTORABLE, (c) => (c === '\u0000' ? '' : '\uFFFD')) : s;
}

/** Nothing Meta sends nests this deep; deeper values are dropped instead of walking them. */
const MAX_DEPTH = 64;

/** A parsed JSON value with every string (and key) cleaned; the input is not modified. */
export function cleanJson(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return cleanString(v);
  if (v === null || typeof v !== 'object') return v;
  if (depth >= MAX_DEPTH) return null;
  if (Array.isArray(v)) return v.map((x) => cleanJson(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[cleanString(k)] = cleanJson(x, depth + 1);
  return out;
}

/** A JSON object as the parsers read it: each property is checked before use. */
export type JsonObject = Record<string, unknown>;

/**
 * `v`'s properties when it is an object, else none: `props(x).id` reads like `x?.id` did on an
 * untyped value (absent, null or a primitive → undefined), without giving up the types.
 */
export const props = (v: unknown): JsonObject => (v !== null && typeof v === 'object' ? (v as JsonObject) : {});

/** Platform ids are short (mids ~100 characters); a longer one cannot be a real id. */
export const MAX_ID_LENGTH = 256;

/** A platform id: a non-empty string of a sane length, or a non-negative integer; else undefined. */
export function externalId(v: unknown): string | undefined {
  if (typeof v === 'string') return v.length > 0 && v.length <= MAX_ID_LENGTH ? v : undefined;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return String(v);
  return undefined;
}

/** Before Facebook existed nothing was sent; more than a day ahead is a wrong clock or a forgery. */
const EARLIEST_MS = Date.UTC(2004, 0, 1);
const FUTURE_SLACK_MS = 24 * 3600 * 1000;

/** `ms` when it is a plausible platform time relative to `receivedAt`, else undefined. */
export function plausibleTime(ms: number, receivedAt: Date): Date | undefined {
  if (!Number.isFinite(ms) || ms < EARLIEST_MS || ms > receivedAt.getTime() + FUTURE_SLACK_MS) return undefined;
  return new Date(ms);
}

/** A number or a numeric string (the platforms send both), else NaN. */
export function numeric(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  return NaN;
}
