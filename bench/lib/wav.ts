/**
 * A PCM WAV recording for the transcription bench (G2): 16 kHz mono 16-bit, not silent (a
 * voice-like tone: a 140 Hz fundamental with harmonics, its loudness pulsing at syllable rate,
 * a pause now and then), so it is what an engine would be sent for a real voice note of that
 * length: 300 s = 9,600,044 bytes.
 */
export function toneWav(seconds: number, rate = 16_000): Buffer {
  const samples = Math.round(seconds * rate);
  const data = samples * 2;
  const b = Buffer.alloc(44 + data);
  b.write('RIFF', 0, 'latin1');
  b.writeUInt32LE(36 + data, 4);
  b.write('WAVE', 8, 'latin1');
  b.write('fmt ', 12, 'latin1');
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20); // PCM
  b.writeUInt16LE(1, 22); // mono
  b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(rate * 2, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36, 'latin1');
  b.writeUInt32LE(data, 40);
  const w = (2 * Math.PI) / rate;
  let phase = 0;
  for (let i = 0; i < samples; i++) {
    const t = i / rate;
    // Pitch drifts like intonation; syllables at ~4 Hz; a short pause every ~3 s.
    phase += w * (140 + 25 * Math.sin(2 * Math.PI * 0.3 * t));
    const voice = Math.sin(phase) + 0.5 * Math.sin(2 * phase) + 0.25 * Math.sin(3 * phase);
    const syllable = 0.5 + 0.5 * Math.sin(2 * Math.PI * 4 * t);
    const pause = t % 3 > 2.6 ? 0.05 : 1;
    b.writeInt16LE(Math.round(voice * syllable * pause * 9000), 44 + i * 2);
  }
  return b;
}

/**
 * A copy of `wav` marked with `n` in its first four PCM bytes (two inaudible samples): each
 * message gets a file of its own, and whoever receives a copy (the engine double) can tell
 * which one it is without hashing 9.6 MB.
 */
export function markedCopy(wav: Buffer, n: number): Buffer {
  const c = Buffer.from(wav);
  c.writeUInt32LE(0x47320000 + n, 44);
  return c;
}

/** The mark of a copy made by `markedCopy`, or -1. */
export function markOf(file: Buffer): number {
  if (file.length < 48) return -1;
  const v = file.readUInt32LE(44);
  return v >>> 16 === 0x4732 ? v & 0xffff : -1;
}
