#!/usr/bin/env node
// A stand-in for a local speech-to-text command (whisper.cpp's CLI prints the text on standard
// output): prints what it was given, so a test sees the file path and language arrive as
// separate arguments, without a shell. `--fail` exits 3 with a message; `--sleep N` waits N ms.
import { statSync } from 'node:fs';

const args = process.argv.slice(2);
if (args.includes('--fail')) {
  process.stderr.write('model file not found: /models/ggml-base.bin\n');
  process.exit(3);
}
const sleep = args.indexOf('--sleep');
if (sleep >= 0) await new Promise((r) => setTimeout(r, Number(args[sleep + 1])));
const [file, language] = args.filter((a) => !a.startsWith('--'));
if (args.includes('--flood')) process.stdout.write('x'.repeat(1024 * 1024));
else process.stdout.write(`Transcribed ${statSync(file).size} bytes in ${language}: my phone fell in water.\n`);
