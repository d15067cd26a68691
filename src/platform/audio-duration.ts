import { parseBuffer, parseFile } from 'music-metadata';

/** G1: audio longer than this is not offered for transcription (the thread shows why; the engine is never asked). */
export const MAX_DURATION_MS = 5 * 60_000;

/**
 * G1: an audio file's length, read from the file itself (Opus/OGG, M4A/AAC, MP3, WAV, WebM),
 * never from what the platform says. Null when the file does not say (a broken or unknown
 * format): the caller decides what an unknown length allows.
 */
export async function audioDurationMs(data: Buffer, mime: string | null): Promise<number | null> {
  try {
    const meta = await parseBuffer(new Uint8Array(data), mime ? { mimeType: mime, size: data.length } : { size: data.length }, { duration: true, skipCovers: true });
    const d = meta.format.duration;
    return typeof d === 'number' && Number.isFinite(d) && d > 0 ? Math.round(d * 1000) : null;
  } catch {
    return null;
  }
}

/** The same, read from a stored file (the parser seeks: a long recording is not loaded whole). */
export async function audioFileDurationMs(path: string, mime: string | null): Promise<number | null> {
  try {
    const meta = await parseFile(path, { duration: true, skipCovers: true });
    const d = meta.format.duration;
    return typeof d === 'number' && Number.isFinite(d) && d > 0 ? Math.round(d * 1000) : null;
  } catch {
    void mime;
    return null;
  }
}
