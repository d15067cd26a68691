// Dependency rules of Parley (issue #22, "Ports in, arrows down"), checked by `npm run lint`.
//
//   npm run lint:deps          the rules (no known violation is accepted: the tree has none)
//   npm run lint:deps:report   the same, each violation with its rule's explanation
//
// Type-only imports count (tsPreCompilationDeps): `import type { Deps } from '../deps.ts'` is an arrow
// like any other, so it can close a cycle or run up a layer.

/** The layer order, bottom first: a folder may import its own layer and the ones below, never above. */
const LAYERS = [
  ['db'], // with src/config.ts: every layer reads the Config type
  ['platform'],
  ['shop', 'channels'], // siblings: neither imports the other
  ['auth'],
  ['crm'],
  ['chats'],
  ['transcription'],
];

/** src/*.ts: the root layer. config.ts is read by everyone and counts as the bottom layer. */
const COMPOSITION_ROOT = '^src/(deps|jobs|app|runtime)[.]ts$';
const OTHER_ROOT_FILES = '^src/(?!config[.]ts$|deps[.]ts$|jobs[.]ts$|app[.]ts$|runtime[.]ts$)[^/]+$';
const FEATURE_FOLDERS = ['auth', 'channels', 'chats', 'crm', 'shop', 'transcription', 'platform', 'db'];

const layerRules = LAYERS.flatMap((layer, rank) => {
  const higher = LAYERS.slice(rank + 1).flat();
  return layer.map((folder) => {
    const siblings = layer.filter((other) => other !== folder);
    const forbidden = [...siblings, ...higher];
    return {
      name: `layer-${folder}`,
      comment:
        `src/${folder}/ sits below ${forbidden.join(', ')} and the root files (db < platform < shop, channels < auth < crm ` +
        '< chats < transcription < root): an arrow may only point down. Where a lower feature must trigger a higher one, ' +
        "the root passes a callback in through the lower feature's ports.",
      severity: 'error',
      from: { path: `^src/${folder}/` },
      to: { path: [`^src/(${forbidden.join('|')})/`, OTHER_ROOT_FILES] },
    };
  });
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycle, type-only imports included: a cycle means two modules cannot be read, tested or moved apart.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...layerRules,
    {
      name: 'no-composition-root-in-features',
      comment:
        'A feature folder never imports the composition root (deps.ts, jobs.ts, app.ts, runtime.ts): it declares the ' +
        'narrow ports it needs (its ports.ts) and deps.ts satisfies them structurally.',
      severity: 'error',
      from: { path: `^src/(${FEATURE_FOLDERS.join('|')})/` },
      to: { path: COMPOSITION_ROOT },
    },
    {
      name: 'config-is-bottom',
      comment: 'src/config.ts (env → Config) is read by every layer, so it imports nothing from src/.',
      severity: 'error',
      from: { path: '^src/config[.]ts$' },
      to: { path: '^src/' },
    },
    {
      name: 'src-not-to-outside',
      comment: 'The product never imports the emulator, the bench, the chaos run or the tests: none of them ships.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(emulator|bench|chaos|test|scripts)/' },
    },
    {
      name: 'emulator-not-to-src',
      comment: 'The Meta emulator is a double of the platform: it imports nothing from Parley.',
      severity: 'error',
      from: { path: '^emulator/' },
      to: { path: '^(src|migrations)/' },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that resolves to nothing (a moved file whose importers were not updated).',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: require('node:path').join(__dirname, 'tsconfig.json') },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    },
    skipAnalysisNotInRules: true,
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
