#!/usr/bin/env node
/**
 * The architecture check `npm test` runs first (ARCHITECTURE.md, "How npm test enforces it"):
 * - the import rules of .dependency-cruiser.cjs (layer order, no cycles, src/ never imports
 *   tests, benchmarks or scripts);
 * - D1 only in src/db/: no call on a D1 database, session or prepared statement elsewhere (a
 *   Durable Object's own `ctx.storage.sql` is used only in the module that defines its class);
 * - no file in src/ over 400 lines.
 * Violations listed in the baseline file (layers-known-violations.json, while it exists) are
 * reported as known and do not fail the check; any other violation does (exit code 1).
 *
 * Usage: node scripts/check-layers.mjs [--root DIR] [--baseline FILE]
 * (--root: the tree whose src/ is checked, by default this repository; test/layers/ points it at
 * fixtures.)
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { cruise } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import ts from 'typescript';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CONFIG = join(REPO, '.dependency-cruiser.cjs');
export const BASELINE_FILE = 'layers-known-violations.json';

/** Longest a file of src/ may be, in lines. */
export const MAX_LINES = 400;
/**
 * Files outside src/db/ allowed to call D1: the edge model's binding tracer, which forwards the
 * callers' own calls (counting them) and issues no statement of its own.
 */
const D1_FORWARDERS = new Set(['src/bench/trace.ts']);
/** The D1 types whose methods reach the database (workers-types). */
const D1_TYPES = new Set(['D1Database', 'D1DatabaseSession', 'D1PreparedStatement']);

/**
 * @typedef {{ rule: string, from: string, to?: string, details?: string[] }} Violation
 *   `to`: the imported file (import rules); `details`: where in `from` (file rules).
 */

/** Every file under `dir`, as paths relative to `root` with forward slashes. */
function filesUnder(root, dir) {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}

/** The import rules of .dependency-cruiser.cjs over `root`/src. */
async function importViolations(root) {
  const options = await extractDepcruiseOptions(CONFIG);
  const tsConfigFile = join(root, options.tsConfig?.fileName ?? 'tsconfig.json');
  const transpile = { tsConfig: existsSync(tsConfigFile) ? extractTSConfig(tsConfigFile) : {} };
  // Per import rather than the summary's list, which shows each cycle once, by whichever import
  // of it comes first: a baseline entry then stays valid while other imports of the cycle change.
  const run = async (opts) => {
    const { modules } = (await cruise(['src'], { ...opts, baseDir: root }, {}, transpile)).output;
    return modules.flatMap((m) => [
      ...(m.rules ?? []).map((r) => ({ rule: r.name, from: m.source })),
      ...m.dependencies.flatMap((d) => (d.rules ?? []).map((r) => ({ rule: r.name, from: m.source, to: d.resolved }))),
    ]);
  };

  // For each import, dependency-cruiser looks for one path back (the first its depth-first
  // search meets); that path may pass through env.ts's allowed type imports of Durable Object
  // classes (which the config's no-circular rule then skips) while another closes a real cycle. A second run
  // on the graph without env.ts finds every cycle that does not go through env.ts (those that do
  // are no-circular-through-env's, which the first run checks on the whole graph).
  const envPath = options.ruleSet.forbidden.find((r) => r.name === 'no-circular-through-env').from.path;
  const withoutEnv = {
    ...options,
    exclude: { path: envPath },
    ruleSet: { ...options.ruleSet, forbidden: options.ruleSet.forbidden.filter((r) => r.name === 'no-circular') },
  };
  const found = new Map();
  for (const v of [...(await run(options)), ...(await run(withoutEnv))]) found.set(keyOf(v), v);
  return [...found.values()];
}

/** The name of every type a union `type` is made of (its own name when it is no union). */
function typeNames(type) {
  const parts = type.isUnion() ? type.types : [type];
  return parts.map((t) => (t.aliasSymbol ?? t.getSymbol())?.getName()).filter(Boolean);
}

/** True when the module defines a class that extends DurableObject (storage SQL is that object's own). */
function definesDurableObjectClass(source) {
  return source.statements.some(
    (s) => ts.isClassDeclaration(s) && (s.heritageClauses ?? []).some((h) => h.types.some((t) => /\bDurableObject\b/.test(t.expression.getText()))),
  );
}

/** D1 calls outside src/db/ and Durable Object storage SQL outside its class's module, by the type checker. */
function sqlViolations(root, files) {
  const require = createRequire(import.meta.url);
  const workersTypes = require.resolve('@cloudflare/workers-types/index.d.ts');
  const program = ts.createProgram({
    rootNames: [...files.map((f) => join(root, f)), workersTypes],
    options: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ES2022,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      lib: ['lib.es2023.d.ts'],
      types: [],
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      resolveJsonModule: true,
    },
  });
  const checker = program.getTypeChecker();
  /** @type {Map<string, Violation>} */
  const found = new Map();
  const report = (rule, file, node, call) => {
    const v = found.get(`${rule}\0${file}`) ?? { rule, from: file, details: [] };
    const { line } = node.getSourceFile().getLineAndCharacterOfPosition(node.getStart());
    v.details.push(`line ${line + 1}: ${call}`);
    found.set(`${rule}\0${file}`, v);
  };
  for (const file of files) {
    if (file.startsWith('src/db/')) continue;
    const source = program.getSourceFile(join(root, file));
    const visit = (node) => {
      if (ts.isCallExpression(node) && (ts.isPropertyAccessExpression(node.expression) || ts.isElementAccessExpression(node.expression))) {
        const names = typeNames(checker.getApparentType(checker.getTypeAtLocation(node.expression.expression)));
        const call = node.expression.getText().replace(/\s+/g, ' ');
        if (names.some((n) => D1_TYPES.has(n)) && !D1_FORWARDERS.has(file)) report('d1-sql-only-in-db', file, node, call);
        if (names.includes('SqlStorage') && !definesDurableObjectClass(source)) report('durable-object-sql-in-its-module', file, node, call);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return [...found.values()];
}

/** Files of src/ over MAX_LINES lines. */
function sizeViolations(root, files) {
  return files.flatMap((file) => {
    const text = readFileSync(join(root, file), 'utf8');
    const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    return lines > MAX_LINES ? [{ rule: `max-${MAX_LINES}-lines`, from: file, details: [`${lines} lines`] }] : [];
  });
}

/** What identifies a violation in the baseline. */
function keyOf({ rule, from, to }) {
  return `${rule}: ${from}${to ? ` → ${to}` : ''}`;
}

/**
 * Every violation of the architecture rules in `root`/src, split by the baseline file (absent:
 * nothing is known): `fresh` fail the check, `known` do not, `stale` are baseline entries no
 * longer found.
 * @param {{ root?: string, baseline?: string }} [where]
 */
export async function checkLayers({ root = REPO, baseline = join(root, BASELINE_FILE) } = {}) {
  const files = filesUnder(root, 'src');
  const violations = [
    ...(await importViolations(root)),
    ...sqlViolations(root, files.filter((f) => /\.(ts|mts|tsx)$/.test(f))),
    ...sizeViolations(root, files),
  ].sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
  const listed = existsSync(baseline) ? JSON.parse(readFileSync(baseline, 'utf8')).violations : [];
  const knownKeys = new Set(listed.map(keyOf));
  const foundKeys = new Set(violations.map(keyOf));
  return {
    fresh: violations.filter((v) => !knownKeys.has(keyOf(v))),
    known: violations.filter((v) => knownKeys.has(keyOf(v))),
    stale: listed.filter((v) => !foundKeys.has(keyOf(v))),
  };
}

/** The report printed by the command line. */
export function formatReport({ fresh, known, stale }) {
  const lines = [];
  for (const v of fresh) {
    lines.push(`error ${keyOf(v)}`);
    for (const d of v.details ?? []) lines.push(`    ${d}`);
  }
  for (const v of stale) lines.push(`fixed (remove it from ${BASELINE_FILE}): ${keyOf(v)}`);
  // Counted by hand, not Object.groupBy: the script also runs under the machine's Node 20.
  const counts = new Map();
  for (const v of known) counts.set(v.rule, (counts.get(v.rule) ?? 0) + 1);
  const perRule = [...counts].map(([rule, n]) => `${rule} ${n}`);
  if (fresh.length > 0) lines.push(`check-layers: ${fresh.length} violations of ARCHITECTURE.md's rules`);
  else if (known.length > 0) lines.push(`check-layers: no new violations; ${known.length} known, listed in ${BASELINE_FILE} (${perRule.join(', ')})`);
  else lines.push(`check-layers: imports follow the layers, no cycles, D1 only in src/db/, no file over ${MAX_LINES} lines`);
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const { values } = parseArgs({ options: { root: { type: 'string' }, baseline: { type: 'string' } } });
  const root = resolve(values.root ?? REPO);
  const result = await checkLayers({ root, baseline: values.baseline ? resolve(values.baseline) : join(root, BASELINE_FILE) });
  console.log(formatReport(result));
  process.exitCode = result.fresh.length > 0 ? 1 : 0;
}
