/**
 * `--flag`, `--key=value` and, for the keys named in `valued`, `--key value`: the command-line
 * options of `npm run bench` and `npm run chaos`. A bare flag is 'true'.
 */
export function parseArgs(argv: string[], valued: string[]): Map<string, string> {
  const options = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) continue;
    const [k, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
    const next = argv[i + 1];
    if (inline !== undefined) options.set(k, inline);
    else if (next !== undefined && !next.startsWith('--') && valued.includes(k)) options.set(k, argv[++i]!);
    else options.set(k, 'true');
  }
  return options;
}
