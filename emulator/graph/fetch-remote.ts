// Meta downloads media that a sender passes by URL (`payload.url`, WhatsApp `link`). The
// emulator does the same, so a broken or unreachable media URL on Parley's side fails here
// exactly as it would in production, and the customer UI can show the real file.
import { basename } from 'node:path';
import type { Ctx } from '../context.ts';
import { mimeFromFilename } from '../media.ts';

export interface FetchedFile {
  bytes: Buffer;
  mimeType: string;
  filename: string;
}

export type FetchOutcome = { ok: true; file: FetchedFile } | { ok: false; reason: string; tooBig?: boolean };

export async function fetchRemote(ctx: Ctx, url: string, maxBytes: number): Promise<FetchOutcome> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, reason: 'invalid URL' };
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return { ok: false, reason: 'only http(s) URLs' };
  try {
    const res = await fetch(parsed, { signal: AbortSignal.timeout(ctx.config.media.fetchTimeoutMs), redirect: 'follow' });
    if (!res.ok) return { ok: false, reason: `HTTP ${res.status}` };
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > maxBytes) {
      await res.body?.cancel();
      return { ok: false, reason: `${declared} bytes`, tooBig: true };
    }
    const bytes = Buffer.from(await res.arrayBuffer());
    if (bytes.length > maxBytes) return { ok: false, reason: `${bytes.length} bytes`, tooBig: true };
    const fromDisposition = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(res.headers.get('content-disposition') ?? '')?.[1];
    const filename = decodeURIComponent(fromDisposition ?? (basename(parsed.pathname) || 'file'));
    const header = res.headers.get('content-type')?.trim();
    const mimeType = header && header !== 'application/octet-stream' ? header : mimeFromFilename(filename);
    return { ok: true, file: { bytes, mimeType, filename } };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return { ok: false, reason: e.cause?.code ?? e.message };
  }
}
