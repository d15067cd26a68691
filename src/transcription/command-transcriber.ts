import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AudioInput, Transcriber, Transcript } from './transcriber.ts';
import { TranscriptionError } from './transcriber.ts';

/** The placeholder an argument uses for the audio file's path (and the language). */
export const FILE_PLACEHOLDER = '{file}';
export const LANGUAGE_PLACEHOLDER = '{language}';
/** At most this much of the command's output is read (a transcript of 5 minutes is a few KB). */
const MAX_OUTPUT = 256 * 1024;

const EXT: Record<string, string> = { 'audio/ogg': '.ogg', 'audio/mpeg': '.mp3', 'audio/mp4': '.m4a', 'audio/aac': '.aac', 'audio/wav': '.wav', 'audio/x-wav': '.wav', 'audio/webm': '.webm' };

/**
 * A local speech-to-text command for shops without internet (e.g. whisper.cpp's CLI with the
 * shop's own model file): run without a shell, its arguments an array (`{file}` becomes the
 * audio file's path, `{language}` the language or `auto`), with the caller's time limit and a
 * cap on what it prints. Its standard output is the transcript.
 */
export class CommandTranscriber implements Transcriber {
  readonly label: string;

  constructor(private readonly argv: readonly string[]) {
    if (argv.length === 0) throw new Error('the transcription command is empty');
    this.label = argv[0]!.split('/').pop()!;
  }

  async transcribe(audio: AudioInput, opts: { language: string | null; signal: AbortSignal }): Promise<Transcript> {
    const dir = await mkdtemp(join(tmpdir(), 'parley-stt-'));
    const path = join(dir, `audio${EXT[audio.mime] ?? '.bin'}`);
    try {
      await writeFile(path, await audio.buffer(), { mode: 0o600 });
      const args = this.argv.slice(1).map((a) =>
        a
          .split(FILE_PLACEHOLDER)
          .join(path)
          .split(LANGUAGE_PLACEHOLDER)
          .join(opts.language ?? 'auto'),
      );
      const out = await run(this.argv[0]!, args, opts.signal);
      return { text: out.trim(), language: opts.language, durationSec: null };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

function run(cmd: string, args: string[], signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new TranscriptionError('the command did not finish in time', true, 'timeout', { key: 'transcribe.error.timeout' }));
    const child = spawn(cmd, args, { shell: false, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LANG: 'C.UTF-8' } });
    const out: Buffer[] = [];
    let outSize = 0;
    let err = '';
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => {
      child.kill('SIGKILL');
      finish(() => reject(new TranscriptionError('the command did not finish in time', true, 'timeout', { key: 'transcribe.error.timeout' })));
    };
    signal.addEventListener('abort', onAbort);
    child.stdout.on('data', (c: Buffer) => {
      outSize += c.length;
      if (outSize > MAX_OUTPUT) {
        child.kill('SIGKILL');
        finish(() =>
          reject(new TranscriptionError(`the command printed more than ${MAX_OUTPUT / 1024} KB`, false, 'engine', { key: 'transcribe.error.command_output', params: { kb: MAX_OUTPUT / 1024 } })),
        );
      } else out.push(c);
    });
    child.stderr.on('data', (c: Buffer) => {
      if (err.length < 4000) err += c.toString('utf8');
    });
    child.on('error', (e) => finish(() => reject(new TranscriptionError(`the command could not start: ${e.message}`, false, 'refused', { key: 'transcribe.error.command_start', detail: e.message }))));
    child.on('close', (code, sig) => {
      if (code === 0) return finish(() => resolve(Buffer.concat(out).toString('utf8')));
      const tail = err.trim().split('\n').slice(-3).join(' ').slice(0, 300);
      const said = { key: 'transcribe.error.command_failed', params: { status: sig ? String(sig) : String(code) }, ...(tail ? { detail: tail } : {}) };
      finish(() => reject(new TranscriptionError(`the command ended with ${sig ? `signal ${sig}` : `exit code ${code}`}${tail ? `: ${tail}` : ''}`, false, 'engine', said)));
    });
  });
}
