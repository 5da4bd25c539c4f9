/**
 * The layer order of src/ (ARCHITECTURE.md), as dependency-cruiser rules. `npm test` runs them
 * through scripts/check-layers.mjs (with the D1 SQL and file size rules, and the baseline of
 * known violations); `npx depcruise src` runs them alone.
 *
 * Decisions:
 * - `import type` counts like any import, for the layers and for cycles: a type is part of the
 *   contract between two files. The one exception: src/env.ts names the Durable Object classes
 *   of its bindings (`DurableObjectNamespace<DownloadBuffer>`) with `import type` only; those
 *   edges are neither upward imports nor part of a cycle.
 * - Within a layer, folders (and entry files) do not import each other; only the two Worker
 *   entries (src/index.ts, src/consumer.ts) sit above the surfaces they assemble.
 * - Outside src/ (test/, bench/, scripts/) nothing is constrained, except that src/ never
 *   imports from there.
 */

/** One regular expression per unit (a folder or a file); a unit may import its own files. */
const unit = (path) => (path.endsWith('/') ? `^src/${path}` : `^src/${path.replace(/\./g, '\\.')}$`);

/** Top to bottom. A unit imports its own files and the units of the layers below its own. */
const LAYERS = [
  { name: 'worker-entries', units: [unit('index.ts'), unit('consumer.ts')] },
  { name: 'surfaces', units: [unit('scheduled.ts'), unit('http/'), unit('graphql/'), unit('pages/')] },
  { name: 'domain-services', units: [unit('releases/'), unit('destinations/'), unit('downloads/')] },
  { name: 'delivery', units: [unit('delivery/')] },
  { name: 'audit', units: [unit('audit/')] },
  { name: 'auth', units: [unit('auth/')] },
  { name: 'web', units: [unit('web/')] },
  { name: 'db', units: [unit('db/')] },
  // One unit: env.ts and the edge-model instrumentation use each other's types; tlog/ (the
  // transparency log's pure library, also run by scripts/verify-audit-log.mjs in Node) imports nothing of src/.
  { name: 'base', units: ['^src/(env\\.ts$|bench/|tlog/)'] },
];

/** Files holding Durable Object classes that src/env.ts may name with `import type`. */
const DURABLE_OBJECT_CLASSES = [unit('downloads/buffer.ts'), unit('delivery/lane.ts')];
const ENV = unit('env.ts');

const allUnits = LAYERS.flatMap((l) => l.units);

const BASE = allUnits[allUnits.length - 1];

const layerRules = LAYERS.flatMap((layer, i) => {
  const below = LAYERS.slice(i + 1).flatMap((l) => l.units);
  return layer.units.map((own) => ({
    name: `layer-${layer.name}`,
    comment: `${own} may import its own files and the layers below "${layer.name}" only (ARCHITECTURE.md)`,
    severity: 'error',
    // env.ts has its own rules below (its one exception).
    from: own === BASE ? { path: own, pathNot: ENV } : { path: own },
    to: { path: '^src/', pathNot: [own, ...below] },
  }));
});

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'layer-base',
      comment: 'src/env.ts imports the base layer, and the Durable Object classes its bindings name',
      severity: 'error',
      from: { path: ENV },
      to: { path: '^src/', pathNot: [BASE, ...DURABLE_OBJECT_CLASSES] },
    },
    {
      name: 'env-names-durable-objects-type-only',
      comment: 'src/env.ts names Durable Object classes with `import type` only',
      severity: 'error',
      from: { path: ENV },
      to: { path: DURABLE_OBJECT_CLASSES, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'tlog-imports-nothing-of-src',
      comment: 'src/tlog/ is a pure library (run in Node by scripts/verify-audit-log.mjs too): it imports only its own files',
      severity: 'error',
      from: { path: unit('tlog/') },
      to: { path: '^src/', pathNot: unit('tlog/') },
    },
    {
      name: 'src-file-outside-layers',
      comment: 'every file of src/ belongs to a layer of ARCHITECTURE.md',
      severity: 'error',
      from: { path: '^src/', pathNot: allUnits },
      to: {},
    },
    {
      name: 'src-orphan-outside-layers',
      comment: 'every file of src/ belongs to a layer of ARCHITECTURE.md',
      severity: 'error',
      from: { orphan: true, path: '^src/', pathNot: allUnits },
      to: {},
    },
    {
      name: 'src-imports-outside-src',
      comment: 'src/ never imports tests, benchmarks or scripts',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: false, pathNot: ['^src/', '^node_modules/', '^cloudflare:'] },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'an import the check cannot resolve would escape every rule',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true, pathNot: '^cloudflare:' },
    },
    {
      name: 'no-circular',
      comment:
        'no cycles between files (type-only imports included). Cycles closed through env.ts are left to ' +
        'no-circular-through-env here; scripts/check-layers.mjs also runs this rule on the graph without env.ts, ' +
        'where every cycle is found',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true, viaOnly: { pathNot: ENV } },
    },
    {
      name: 'no-circular-through-env',
      comment: 'env.ts imports nothing that imports it back, apart from the Durable Object classes it names',
      severity: 'error',
      from: { path: ENV },
      to: { circular: true, pathNot: DURABLE_OBJECT_CLASSES },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Keep `import type` edges (they count, see above).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
