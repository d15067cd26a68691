// Media the emulated platform holds: the shipped samples, files customers send, files Parley
// uploads or makes Meta fetch. Served back the way each platform does (§4.2, §8):
// - Messenger/Instagram: a direct, signed and expiring CDN URL in the webhook (no token needed);
// - WhatsApp: a media id; GET /{media-id} gives a URL valid 5 minutes that must be downloaded
//   with `Authorization: Bearer <token>`.
import { createHash, createHmac } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Ids } from './ids.ts';

export interface MediaItem {
  id: string;
  bytes: Buffer;
  mimeType: string;
  filename: string;
  /** base64 SHA-256, as WhatsApp reports it (§4.2). */
  sha256: string;
  size: number;
  createdAt: number;
  origin: 'sample' | 'customer' | 'upload' | 'fetched' | 'avatar';
  /** WhatsApp media id lifetime (7 days inbound, 30 days uploaded, §4.2). */
  expiresAt?: number;
  /** WhatsApp channel (phone-number id) that owns the id; undefined = any. */
  channelId?: string;
  deleted?: boolean;
}

export const SAMPLES_DIR = join(dirname(fileURLToPath(import.meta.url)), 'samples');

const MIME_BY_EXT: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ogg': 'audio/ogg; codecs=opus',
  '.opus': 'audio/ogg; codecs=opus',
  '.mp3': 'audio/mpeg',
  '.m4a': 'audio/mp4',
  '.aac': 'audio/aac',
  '.wav': 'audio/wav',
  '.mp4': 'video/mp4',
  '.pdf': 'application/pdf',
  '.txt': 'text/plain',
};

export function mimeFromFilename(filename: string): string {
  return MIME_BY_EXT[extname(filename).toLowerCase()] ?? 'application/octet-stream';
}

/** Messenger attachment `type` for a MIME type. */
export function attachmentTypeForMime(mime: string): 'image' | 'audio' | 'video' | 'file' {
  if (mime.startsWith('image/')) return 'image';
  if (mime.startsWith('audio/')) return 'audio';
  if (mime.startsWith('video/')) return 'video';
  return 'file';
}

export interface SampleInfo {
  name: string;
  mimeType: string;
  size: number;
  kind: 'image' | 'audio' | 'video' | 'file' | 'sticker';
}

export class MediaStore {
  private items = new Map<string, MediaItem>();
  private samples = new Map<string, Buffer>();

  constructor(
    private readonly ids: Ids,
    private readonly secret: string,
  ) {
    for (const name of readdirSync(SAMPLES_DIR)) {
      if (name.startsWith('.') || name.endsWith('.md')) continue;
      this.samples.set(name, readFileSync(join(SAMPLES_DIR, name)));
    }
  }

  sampleList(): SampleInfo[] {
    return [...this.samples.entries()].map(([name, bytes]) => {
      const mimeType = mimeFromFilename(name);
      const kind = name.startsWith('sticker') ? 'sticker' : attachmentTypeForMime(mimeType);
      return { name, mimeType, size: bytes.length, kind };
    });
  }

  sample(name: string): Buffer | undefined {
    return this.samples.get(name);
  }

  clear(): void {
    this.items.clear();
    this.avatarItem = undefined;
  }

  private avatarItem: MediaItem | undefined;

  /** The neutral picture served as every `profile_pic` (profile pictures are not the point here). */
  avatar(now: number): MediaItem {
    this.avatarItem ??= this.addSample('avatar.png', now, { origin: 'avatar' });
    return this.avatarItem;
  }

  add(input: { bytes: Buffer; mimeType?: string; filename: string; origin: MediaItem['origin']; now: number; expiresAt?: number; channelId?: string }): MediaItem {
    const item: MediaItem = {
      id: this.ids.mediaId(),
      bytes: input.bytes,
      mimeType: input.mimeType ?? mimeFromFilename(input.filename),
      filename: input.filename,
      sha256: createHash('sha256').update(input.bytes).digest('base64'),
      size: input.bytes.length,
      createdAt: input.now,
      origin: input.origin,
      expiresAt: input.expiresAt,
      channelId: input.channelId,
    };
    this.items.set(item.id, item);
    return item;
  }

  addSample(name: string, now: number, extra: { expiresAt?: number; channelId?: string; origin?: MediaItem['origin'] } = {}): MediaItem {
    const bytes = this.samples.get(name);
    if (!bytes) throw new Error(`unknown sample "${name}" (known: ${[...this.samples.keys()].join(', ')})`);
    return this.add({ bytes, filename: name, origin: extra.origin ?? 'customer', now, expiresAt: extra.expiresAt, channelId: extra.channelId });
  }

  get(id: string): MediaItem | undefined {
    const item = this.items.get(id);
    return item && !item.deleted ? item : undefined;
  }

  private sign(parts: string): string {
    return createHmac('sha256', this.secret).update(parts).digest('hex').slice(0, 24);
  }

  /** Messenger/IG style CDN URL: signed, expiring (`oe` = expiry in hex seconds, like fbcdn). */
  cdnUrl(base: string, item: MediaItem, expiresAtMs: number): string {
    const oe = Math.floor(expiresAtMs / 1000)
      .toString(16)
      .toUpperCase();
    const sig = this.sign(`cdn:${item.id}:${oe}`);
    return `${base}/cdn/v/${item.id}/${encodeURIComponent(item.filename)}?oe=${oe}&_nc_sig=${sig}`;
  }

  checkCdn(id: string, oe: string | undefined, sig: string | undefined, now: number): { item?: MediaItem; error?: { status: number; message: string } } {
    const item = this.get(id);
    if (!item || !oe || !sig || sig !== this.sign(`cdn:${id}:${oe}`)) return { error: { status: 403, message: 'Bad URL hash' } };
    if (parseInt(oe, 16) * 1000 < now) return { error: { status: 403, message: 'URL signature expired' } };
    return { item };
  }

  /** WhatsApp lookaside-style URL; valid `ttlMs`, downloadable only with a bearer token (§4.2). */
  whatsappUrl(base: string, item: MediaItem, expiresAtMs: number): string {
    const ext = Math.floor(expiresAtMs / 1000);
    const hash = this.sign(`wa:${item.id}:${ext}`);
    return `${base}/whatsapp_business/attachments/?mid=${item.id}&ext=${ext}&hash=${hash}`;
  }

  checkWhatsappUrl(mid: string | undefined, ext: string | undefined, hash: string | undefined, now: number): { item?: MediaItem; error?: { status: number; message: string } } {
    if (!mid || !ext || !hash || hash !== this.sign(`wa:${mid}:${ext}`)) return { error: { status: 404, message: 'Not Found' } };
    const item = this.get(mid);
    // An expired URL answers 404: the documented cue to fetch a fresh URL (§4.2).
    if (!item || Number(ext) * 1000 < now) return { error: { status: 404, message: 'Not Found' } };
    return { item };
  }
}
