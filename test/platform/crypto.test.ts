import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { decryptSecret, encryptSecret, randomToken, safeEqual, sha256 } from '../../src/platform/crypto.ts';

/** S8: secrets at rest are AES-256-GCM; a tampered or foreign value fails loudly. */
const key = loadConfig({ DATA_DIR: '/nonexistent-unused', SECRET_KEY: 'x'.repeat(48) }).secretKey;
const otherKey = loadConfig({ DATA_DIR: '/nonexistent-unused', SECRET_KEY: 'y'.repeat(48) }).secretKey;

/** Flip one bit of one decoded part (iv, tag or ciphertext) and re-encode. */
function flip(stored: string, part: 1 | 2 | 3, byte = 0): string {
  const parts = stored.split('.');
  const buf = Buffer.from(parts[part]!, 'base64url');
  buf[byte % buf.length]! ^= 0x01;
  parts[part] = buf.toString('base64url');
  return parts.join('.');
}

describe('encryptSecret / decryptSecret', () => {
  it.each(['EAAG-page-token-0123456789', 'é ✓ 日本 🙂', '', 'x'.repeat(10_000)])('round-trips %#', (plain) => {
    const stored = encryptSecret(key, plain);
    expect(stored).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]*$/);
    expect(decryptSecret(key, stored)).toBe(plain);
  });

  it('uses a fresh nonce each time and never stores the plaintext', () => {
    const plain = 'EAAG-page-token-0123456789';
    const a = encryptSecret(key, plain);
    const b = encryptSecret(key, plain);
    expect(a).not.toBe(b);
    expect(a.split('.')[1]).not.toBe(b.split('.')[1]);
    expect(a).not.toContain(plain);
    expect(Buffer.from(a.split('.')[3]!, 'base64url').toString('latin1')).not.toContain('page-token');
  });

  it('detects tampering with the nonce, the tag or the ciphertext (every byte)', () => {
    const stored = encryptSecret(key, 'a page token of some length');
    const ctLen = Buffer.from(stored.split('.')[3]!, 'base64url').length;
    for (let i = 0; i < ctLen; i++) expect(() => decryptSecret(key, flip(stored, 3, i))).toThrow();
    for (let i = 0; i < 12; i++) expect(() => decryptSecret(key, flip(stored, 1, i))).toThrow();
    for (let i = 0; i < 16; i++) expect(() => decryptSecret(key, flip(stored, 2, i))).toThrow();
  });

  it('rejects a truncated tag, a foreign key and unknown formats', () => {
    const stored = encryptSecret(key, 'token');
    const [v, iv, tag, ct] = stored.split('.');
    const shortTag = Buffer.from(tag!, 'base64url').subarray(0, 4).toString('base64url');
    expect(() => decryptSecret(key, [v, iv, shortTag, ct].join('.'))).toThrow();
    expect(() => decryptSecret(otherKey, stored)).toThrow();
    expect(() => decryptSecret(key, 'token')).toThrow(/Unrecognised/);
    expect(() => decryptSecret(key, stored.replace(/^v1/, 'v2'))).toThrow(/Unrecognised/);
    expect(() => decryptSecret(key, `${v}.${iv}.${tag}`)).toThrow(/Unrecognised/);
  });

  it('derives a 256-bit key from SECRET_KEY that differs per secret', () => {
    expect(key).toHaveLength(32);
    expect(key.equals(otherKey)).toBe(false);
  });
});

describe('tokens', () => {
  it('randomToken gives url-safe, unique tokens of the requested entropy', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const tok = randomToken(32);
      expect(tok).toMatch(/^[A-Za-z0-9_-]{43}$/);
      seen.add(tok);
    }
    expect(seen.size).toBe(1000);
    expect(randomToken(16)).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('safeEqual compares exactly, whatever the lengths', () => {
    const a = randomBytes(24).toString('base64url');
    expect(safeEqual(a, a)).toBe(true);
    expect(safeEqual(a, a.slice(0, -1))).toBe(false);
    expect(safeEqual(a, a + 'x')).toBe(false);
    expect(safeEqual('', '')).toBe(true);
    expect(safeEqual('é', 'e')).toBe(false);
  });

  it('sha256 is the hex digest', () => {
    expect(sha256('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
