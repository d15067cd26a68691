import { readFileSync } from 'node:fs';

/**
 * `npx tsx bench/lib/profile-summary.ts FILE.cpuprofile [N]`: self time by function and by
 * package/file, to see where a server's CPU went (BENCH_PROFILE=1 npm run bench -- --only …).
 */
interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
const file = process.argv[2];
if (!file) throw new Error('usage: profile-summary FILE.cpuprofile [N]');
const top = Number(process.argv[3] ?? 25);
const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
prof.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);
const fn = new Map<string, number>();
const pkg = new Map<string, number>();
for (const [id, t] of self) {
  const n = byId.get(id)!;
  const url = n.callFrame.url.replace(/^file:\/\//, '');
  const key = `${n.callFrame.functionName || '(anon)'} ${url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`;
  fn.set(key, (fn.get(key) ?? 0) + t);
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  const group = m
    ? m[1]!
    : url.includes('/src/')
      ? 'parley src/' + url.split('/src/')[1]!.split('/')[0]
      : url.startsWith('node:')
        ? url
        : n.callFrame.functionName.startsWith('(')
          ? n.callFrame.functionName
          : url || '(native)';
  pkg.set(group, (pkg.get(group) ?? 0) + t);
}
const show = (m: Map<string, number>, n: number) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .forEach(([k, t]) => console.log(`${((t / total) * 100).toFixed(1).padStart(5)}%  ${k}`));
console.log(`total sampled ${(total / 1e6).toFixed(1)} s\n-- by package/file group`);
show(pkg, top);
console.log('-- by function (self)');
show(fn, top);
