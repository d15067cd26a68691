import { randomBytes } from 'node:crypto';
import { constants, crc32, deflateRawSync } from 'node:zlib';

/**
 * Response bodies assembled from pieces: text rendered for this response, and parts kept
 * between responses (chats/kept-html.ts) that are encoded to UTF-8 once and compressed once.
 *
 * Compressed without compressing anything per response: a kept part is raw DEFLATE ended with
 * a sync flush (byte-aligned, not final, and referring to nothing before it, since a fresh
 * compressor saw nothing else), and the response's own text goes in stored (uncompressed)
 * blocks, so the pieces concatenate into one valid stream. A gzip header, the pieces, an empty
 * final block and the CRC-32 (combined from the pieces' own) and length of the whole text make
 * the body. Measured on the Chats page (54 KB of HTML, 6 KB gzipped): gzip of the whole page
 * cost 120 µs per response, UTF-8 encoding alone 60 µs; a kept thread costs neither, and
 * zlib's per-call set-up made even a 5 KB per-response piece cost 50 µs.
 *
 * It also keeps compression from leaking the session's secrets (BREACH): the response's own
 * text, which holds them (the CSRF token), is never compressed, and a kept part holds none (its
 * CSRF slot is filled with per-response text). A kept list does compress a lead's words beside
 * other leads' names and previews; guessing those from sizes would take an observer of the
 * traffic, many forced reloads, and a visible message per guess.
 */

/** Text kept between responses: its bytes, and its compressed form once a client asks for it. */
export class EncodedPart {
  readonly bytes: Buffer;
  private deflated: Buffer | undefined;
  private crc: number | undefined;

  constructor(text: string) {
    this.bytes = Buffer.from(text, 'utf8');
  }

  /** Compressed once, so at zlib's best level, which no per-response compressor could afford. */
  deflate(): Buffer {
    return (this.deflated ??= deflateRawSync(this.bytes, { level: 9, finishFlush: constants.Z_SYNC_FLUSH }));
  }

  crc32(): number {
    return (this.crc ??= crc32(this.bytes));
  }
}

export type BodyPiece = string | EncodedPart;

const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff]);
/** A final, empty block with fixed codes: ends the DEFLATE stream. */
const FINAL_BLOCK = Buffer.from([0x03, 0x00]);
const STORED_MAX = 0xffff;

/** `bytes` as stored DEFLATE blocks (not final; each at most 64 KB, after a 5-byte header). */
function storedBlocks(bytes: Buffer, out: Buffer[]): void {
  for (let at = 0; at < bytes.length; at += STORED_MAX) {
    const chunk = bytes.subarray(at, at + STORED_MAX);
    const head = Buffer.allocUnsafe(5);
    head[0] = 0; // BFINAL 0, BTYPE 00 (stored); the stream is byte-aligned here
    head.writeUInt16LE(chunk.length, 1);
    head.writeUInt16LE(~chunk.length & 0xffff, 3);
    out.push(head, chunk);
  }
}

/**
 * The body of `pieces` in order: gzip when the client takes it (`gzip`) and a kept part is
 * there to be sent compressed, plain otherwise (there would be nothing compressed to gain).
 */
export function assembleBody(pieces: readonly BodyPiece[], gzip: boolean): { body: Buffer; gzip: boolean } {
  const bytes = pieces.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p.bytes));
  let length = 0;
  for (const b of bytes) length += b.length;
  if (!gzip || !pieces.some((p) => p instanceof EncodedPart)) return { body: bytes.length === 1 ? bytes[0]! : Buffer.concat(bytes, length), gzip: false };
  const out: Buffer[] = [GZIP_HEADER];
  let crc = 0;
  for (let i = 0; i < pieces.length; i++) {
    const p = pieces[i]!;
    const b = bytes[i]!;
    if (b.length === 0) continue;
    if (typeof p === 'string') {
      storedBlocks(b, out);
      crc = crc32(b, crc);
    } else {
      out.push(p.deflate());
      crc = crc32Combine(crc, p.crc32(), b.length);
    }
  }
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(length >>> 0, 4);
  out.push(FINAL_BLOCK, trailer);
  return { body: Buffer.concat(out), gzip: true };
}

/*
 * CRC-32 of A followed by B from crc(A), crc(B) and B's length, without reading B: crc(A)
 * multiplied by x^(8·len) modulo the CRC polynomial (as zlib's crc32_combine, which Node does
 * not expose). Polynomials are reflected, as in the CRC itself.
 */
const POLY = 0xedb88320;

function multModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/** X2N[k] = x^(2^k) mod P. */
const X2N: number[] = [0x40000000];
for (let k = 1; k < 32; k++) X2N.push(multModP(X2N[k - 1]!, X2N[k - 1]!));

/** x^(n·2^k) mod P. */
function x2nModP(n: number, k: number): number {
  let p = 0x80000000;
  while (n) {
    if (n & 1) p = multModP(X2N[k & 31]!, p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}

export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  return (multModP(x2nModP(lengthB, 3), crcA) ^ crcB) >>> 0;
}

/**
 * Whether an `Accept-Encoding` header allows `coding` (`gzip`, `br`): listed (or `*`) without
 * `q=0`; an explicit entry wins over `*`.
 */
export function acceptsEncoding(header: string | string[] | undefined, coding: string): boolean {
  if (!header) return false;
  let star: boolean | undefined;
  for (const item of (Array.isArray(header) ? header.join(',') : header).split(',')) {
    const [rawName = '', ...params] = item.toLowerCase().split(';');
    const name = rawName.trim();
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const allowed = q === undefined || Number(q.slice(2)) > 0;
    if (name === coding || (coding === 'gzip' && name === 'x-gzip')) return allowed;
    if (name === '*') star = allowed;
  }
  return star === true;
}

/**
 * Where kept parts go in rendered text: a template outputs `marker(i)` (raw) and `splice`
 * puts part `i` there. Random per process, so no text a stranger wrote can stand for one.
 */
export class PartMarkers {
  private readonly token = `kept-part-${randomBytes(12).toString('hex')}-`;

  marker(index: number): string {
    return `${this.token}${index};`;
  }

  /** The pieces of `text` with every marker replaced by its part (each piece list in order). */
  splice(text: string, parts: readonly (readonly BodyPiece[])[]): BodyPiece[] {
    const chunks = text.split(this.token);
    const pieces: BodyPiece[] = [chunks[0]!];
    for (let i = 1; i < chunks.length; i++) {
      const chunk = chunks[i]!;
      const end = chunk.indexOf(';');
      const part = parts[Number(chunk.slice(0, end))];
      if (!part) throw new Error('a kept part marker with no part');
      pieces.push(...part, chunk.slice(end + 1));
    }
    return pieces;
  }
}

/** This process's markers (templates rendered by `reply.view`). */
export const partMarkers = new PartMarkers();
