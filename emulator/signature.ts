// Meta-style webhook serialization and signing (meta-platform.md §1.2).
// Meta signs an *escaped-unicode* body: every non-ASCII character is written as a lowercase
// \uXXXX escape (UTF-16 code units, so an emoji becomes a surrogate pair of escapes) and `/` is
// written as `\/`. A receiver must therefore verify the HMAC over the raw bytes it got; signing a
// re-serialized object would not match. The emulator reproduces exactly that.
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface SerializeOptions {
  escapeSlashes?: boolean;
}

export function metaJsonStringify(value: unknown, options: SerializeOptions = {}): string {
  // JSON.stringify only emits non-ASCII and '/' inside string literals, so replacing them in the
  // output text is equivalent to escaping them inside each string.
  let json = JSON.stringify(value).replace(/[\u0080-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (options.escapeSlashes !== false) json = json.replace(/\//g, '\\/');
  return json;
}

/** `sha256=<hex>` for the X-Hub-Signature-256 header. */
export function signBody(body: string | Buffer, appSecret: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;
}

/** Constant-time check, for tests and the UI's diagnostics. */
export function verifySignature(body: string | Buffer, header: string | undefined, appSecret: string): boolean {
  if (!header) return false;
  const expected = Buffer.from(signBody(body, appSecret));
  const got = Buffer.from(header);
  return expected.length === got.length && timingSafeEqual(expected, got);
}
