import { randomBytes } from 'node:crypto';

/** A fresh key for one submit of a form: a double submit carries the same key (R4). */
export function newIdempotencyKey(): string {
  return randomBytes(12).toString('base64url');
}
