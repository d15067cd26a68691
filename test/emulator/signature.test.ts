// Property tests of the Meta-style serialization (§1.2): for any payload, the body is pure ASCII,
// parses back to the same value, and its signature verifies over the raw bytes.
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { metaJsonStringify, signBody, verifySignature } from '../../emulator/index.ts';

describe('metaJsonStringify / signBody', () => {
  it('ASCII only, round-trips, and signs the exact bytes', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: 'grapheme' }), fc.oneof(fc.string({ unit: 'grapheme' }), fc.integer(), fc.boolean())), fc.string({ minLength: 1 }), (value, secret) => {
        const body = metaJsonStringify({ object: 'page', entry: [value] });
        expect(/^[\x00-\x7f]*$/.test(body)).toBe(true);
        expect(JSON.parse(body)).toEqual({ object: 'page', entry: [value] });
        const header = signBody(body, secret);
        expect(header).toBe(`sha256=${createHmac('sha256', secret).update(Buffer.from(body, 'ascii')).digest('hex')}`);
        expect(verifySignature(body, header, secret)).toBe(true);
        expect(verifySignature(`${body} `, header, secret)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});
