// The dependency rules of .dependency-cruiser.cjs (run on the real tree by `npm run lint`) can fail:
// fixtures/layers/ is a tiny tree that breaks each rule exactly once, next to arrows that are allowed
// (the root importing a feature, db/ reading config.ts, channels/ importing nothing).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const FIXTURE = join(import.meta.dirname, 'fixtures', 'layers');

type Violation = { rule: { name: string }; from: string; to: string };

describe('dependency rules (.dependency-cruiser.cjs)', () => {
  it('each rule catches its forbidden arrow, type-only imports included, and nothing else', () => {
    const out = execFileSync(
      process.execPath,
      [join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs'), '--config', join(ROOT, '.dependency-cruiser.cjs'), '--output-type', 'json', 'src', 'emulator'],
      { cwd: FIXTURE, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
    );
    const violations = (JSON.parse(out) as { summary: { violations: Violation[] } }).summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
    expect(violations).toEqual([
      'config-is-bottom: src/config.ts → src/channels/c.ts',
      'emulator-not-to-src: emulator/e.ts → src/config.ts',
      'layer-auth: src/auth/x.ts → src/crm/k.ts',
      'layer-crm: src/crm/k.ts → src/chats/a.ts',
      'layer-db: src/db/db.ts → src/platform/p.ts',
      'layer-shop: src/shop/s.ts → src/channels/c.ts',
      // chats/a.ts imports only the Deps *type*: still a cycle, still the composition root.
      'no-circular: src/chats/a.ts → src/deps.ts',
      'no-composition-root-in-features: src/chats/a.ts → src/deps.ts',
      'src-not-to-outside: src/platform/p.ts → emulator/e.ts',
    ]);
  });
});
