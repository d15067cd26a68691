import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * X-Hub-Signature-256 over the raw bytes as received (§1.2). Only the exact lowercase
 * `sha256=<64 hex>` form is accepted: a SHA-1 header, other casing, a wrong length or a
 * signature of a re-serialised body all fail. The comparison is constant-time.
 */
export function verifyMetaSignature(raw: Buffer, header: string | string[] | undefined, appSecret: string): boolean {
  if (typeof header !== 'string' || !/^sha256=[0-9a-f]{64}$/.test(header)) return false;
  const expected = Buffer.from('sha256=' + createHmac('sha256', appSecret).update(raw).digest('hex'));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
