import { crc32, gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { EncodedPart, PartMarkers, acceptsEncoding, assembleBody, crc32Combine } from '../../src/platform/page-body.ts';

describe('page bodies', () => {
  const kept = new EncodedPart(`<ul>${'<li>Ça coûte 30 € 👍 «devis» — réparé</li>'.repeat(200)}</ul>`);

  it('concatenates per-response text and kept parts into one valid gzip stream', () => {
    // Per-response text of more than one stored block (64 KB each) too.
    const long = `<p>${'déjà vu '.repeat(9000)}</p>`;
    const pieces = ['<!doctype html><title>é</title>', kept, '<p>middle</p>', kept, '', long, '<footer>fin</footer>'];
    const plain = assembleBody(pieces, false);
    expect(plain.gzip).toBe(false);
    const zipped = assembleBody(pieces, true);
    expect(zipped.gzip).toBe(true);
    expect(zipped.body.length).toBeLessThan(plain.body.length - 2 * kept.bytes.length + 2 * kept.deflate().length + 100);
    expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
    // The kept part is compressed once and reused.
    expect(kept.deflate()).toBe(kept.deflate());
  });

  it("never compresses per-response text (secrets) together with kept text (a stranger's words)", () => {
    const secret = 'csrf-token-8f3a9c1e77d2';
    const zipped = assembleBody(['<body data-csrf="', secret, '">', kept, `<input value="${secret}">`], true);
    // Stored, not compressed: each occurrence is in the body as it is, so the body's size says
    // nothing about how the secret compares with the kept text.
    let at = -1;
    let found = 0;
    while ((at = zipped.body.indexOf(secret, at + 1)) !== -1) found++;
    expect(found).toBe(2);
  });

  it('sends a body with nothing kept as it is (nothing compressed to gain)', () => {
    expect(assembleBody(['<p>short</p>', '<p>é</p>'], true)).toEqual({ body: Buffer.from('<p>short</p><p>é</p>'), gzip: false });
  });

  it('combines CRC-32s as zlib would compute them over the whole', () => {
    const a = Buffer.from('Ça coûte 30 € 👍');
    for (const b of [Buffer.alloc(0), Buffer.from('x'), kept.bytes, Buffer.alloc(70_000, 7)]) {
      expect(crc32Combine(crc32(a), crc32(b), b.length)).toBe(crc32(Buffer.concat([a, b])));
      expect(crc32Combine(0, crc32(b), b.length)).toBe(crc32(b));
    }
  });

  it('reads Accept-Encoding', () => {
    expect(acceptsEncoding('gzip, deflate, br', 'gzip')).toBe(true);
    expect(acceptsEncoding('br;q=1.0, GZIP;q=0.5', 'gzip')).toBe(true);
    expect(acceptsEncoding('*', 'gzip')).toBe(true);
    expect(acceptsEncoding(undefined, 'gzip')).toBe(false);
    expect(acceptsEncoding('identity', 'gzip')).toBe(false);
    expect(acceptsEncoding('br', 'gzip')).toBe(false);
    expect(acceptsEncoding('gzip;q=0', 'gzip')).toBe(false);
    expect(acceptsEncoding('gzip;q=0, *', 'gzip')).toBe(false);
    expect(acceptsEncoding('*;q=0', 'gzip')).toBe(false);
    expect(acceptsEncoding('br, gzip ;q=1', 'gzip')).toBe(true);
    expect(acceptsEncoding('gzip, deflate, br, zstd', 'br')).toBe(true);
    expect(acceptsEncoding('gzip', 'br')).toBe(false);
  });

  it('splices parts in where their markers are, and nowhere else', () => {
    const m = new PartMarkers();
    const parts = [['<a>'], [kept]];
    const pieces = m.splice(`x${m.marker(1)}y${m.marker(0)}z kept-part- ;`, parts);
    expect(pieces).toEqual(['x', kept, 'y', '<a>', 'z kept-part- ;']);
    expect(() => m.splice(`${m.marker(2)}`, parts)).toThrow(/no part/);
    // Another process's (or a stranger's) marker text is only text.
    expect(m.splice(new PartMarkers().marker(0), parts)).toHaveLength(1);
  });
});
