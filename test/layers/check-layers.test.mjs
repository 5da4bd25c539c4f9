/**
 * The architecture check (scripts/check-layers.mjs, with .dependency-cruiser.cjs) can fail: the
 * same rules pointed at two small trees written here, one laid out as ARCHITECTURE.md says and
 * one with an upward import, cycles, D1 outside src/db/, an oversized file and the like. Run by
 * `npm test` (node --test) before vitest.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BASELINE_FILE, checkLayers, formatReport, MAX_LINES } from '../../scripts/check-layers.mjs';

const SCRIPT = fileURLToPath(new URL('../../scripts/check-layers.mjs', import.meta.url));

/** A file of `n` lines. */
const lines = (n) => Array.from({ length: n }, (_, i) => `export const line${i} = ${i};\n`).join('');

/** A tree laid out by the rules: every exception the rules make is used once. */
const LAYERED = {
  // env.ts names a Durable Object class with `import type`; the class imports env.ts back.
  'src/env.ts': `import type { DownloadBuffer } from './downloads/buffer';
import type { TraceCounts } from './bench/trace';
export interface Env { DB: D1Database; DOWNLOAD_BUFFER: DurableObjectNamespace<DownloadBuffer>; counts?: TraceCounts }
`,
  // The binding tracer forwards the callers' D1 calls.
  'src/bench/trace.ts': `export interface TraceCounts { d1: number }
export function traced(db: D1Database, sql: string): D1PreparedStatement { return db.prepare(sql); }
`,
  'src/db/events.ts': `export async function insertEvent(db: D1Database, type: string): Promise<void> {
  await db.prepare('INSERT INTO audit_events (event_type) VALUES (?1)').bind(type).run();
}
`,
  'src/audit/record.ts': `import { insertEvent } from '../db/events';
export async function recordEvent(db: D1Database, type: string): Promise<void> { await insertEvent(db, type); }
`,
  // A Durable Object's own storage SQL, in its class's module.
  'src/downloads/buffer.ts': `import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../env';
import { recordEvent } from '../audit/record';
export class DownloadBuffer extends DurableObject<Env> {
  append(event: string): void { this.ctx.storage.sql.exec('INSERT INTO buffered (event) VALUES (?)', event); }
  async flush(): Promise<void> { await recordEvent(this.env.DB, 'download'); }
}
`,
  // RegExp.prototype.exec is no D1 call.
  'src/http/router.ts': `import type { Env } from '../env';
import { recordEvent } from '../audit/record';
export async function route(path: string, env: Env): Promise<void> {
  const m = /^\\/events\\/(\\w+)$/.exec(path);
  if (m) await recordEvent(env.DB, m[1]);
}
`,
  'src/index.ts': `import type { Env } from './env';
import { route } from './http/router';
export { DownloadBuffer } from './downloads/buffer';
export default { async fetch(request: Request, env: Env): Promise<Response> { await route(new URL(request.url).pathname, env); return new Response('ok'); } };
`,
  [`src/graphql/schema.ts`]: lines(MAX_LINES),
};

/** The same tree with one violation of each kind. */
const VIOLATING = {
  ...LAYERED,
  // Upward (type-only counts), and sideways within the domain services.
  'src/db/releases.ts': `import type { LinkType } from '../releases/links';
export interface ReleaseLink { linkType: LinkType }
`,
  'src/releases/links.ts': `import { bufferShard } from '../downloads/cache';
export type LinkType = 'other' | 'runbook';
export const shard = bufferShard;
`,
  // A cycle between units (audit imports delivery: upward too), and one inside a unit
  // (buffer → cache → shard → buffer) whose imports dependency-cruiser's own search follows
  // through env.ts's allowed type import of the buffer: only the run without env.ts reports
  // every import of it.
  'src/audit/record.ts': `import { insertEvent } from '../db/events';
import { fanOut } from '../delivery/fanout';
export async function recordEvent(db: D1Database, type: string): Promise<void> { await insertEvent(db, type); await fanOut(db); }
`,
  'src/delivery/fanout.ts': `import type { recordEvent } from '../audit/record';
export async function fanOut(db: D1Database, again?: typeof recordEvent): Promise<void> { void db; void again; }
`,
  'src/downloads/cache.ts': `import type { Env } from '../env';
import { shardName } from './shard';
export function bufferShard(env: Env): DurableObjectId { return env.DOWNLOAD_BUFFER.idFromName(shardName(env)); }
`,
  'src/downloads/shard.ts': `import type { Env } from '../env';
import type { DownloadBuffer } from './buffer';
export function shardName(env: Env, buffer?: DownloadBuffer): string { void env; void buffer; return '0'; }
`,
  'src/downloads/buffer.ts': `import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../env';
import { recordEvent } from '../audit/record';
import { bufferShard } from './cache';
export class DownloadBuffer extends DurableObject<Env> {
  append(event: string): void { this.ctx.storage.sql.exec('INSERT INTO buffered (event) VALUES (?)', event); }
  async flush(): Promise<void> { await recordEvent(this.env.DB, 'download'); void bufferShard; }
}
`,
  // Storage SQL of a Durable Object outside its class's module.
  'src/downloads/sweep.ts': `export function sweep(sql: SqlStorage): void { sql.exec('DELETE FROM buffered'); }
`,
  // A value import of a Durable Object class and an upward import, from env.ts (which closes a
  // cycle: links.ts → downloads/cache.ts → env.ts).
  'src/env.ts': `import { DownloadBuffer } from './downloads/buffer';
import type { LinkType } from './releases/links';
export interface Env { DB: D1Database; DOWNLOAD_BUFFER: DurableObjectNamespace<DownloadBuffer>; defaultLink?: LinkType }
`,
  // D1 in a surface (binding, session, statement), a cycle inside http/, an import from test/,
  // an import that resolves to nothing.
  'src/http/users.ts': `import type { Env } from '../env';
import { route } from './router';
import { fixtureUser } from '../../test/helper';
import { missing } from './missing';
export async function listUsers(env: Env): Promise<unknown> {
  const session = env.DB.withSession('first-unconstrained');
  const stmt = session.prepare('SELECT * FROM users');
  await env.DB.batch([stmt]);
  void route; void fixtureUser; void missing;
  return stmt.all();
}
`,
  'src/http/router.ts': `import type { Env } from '../env';
import { recordEvent } from '../audit/record';
import { listUsers } from './users';
export async function route(path: string, env: Env): Promise<void> {
  if (path === '/users') await listUsers(env);
  else await recordEvent(env.DB, path);
}
`,
  'test/helper.ts': `export const fixtureUser = 'alice';
`,
  // Files in no layer: one with imports, one without.
  'src/util/strings.ts': `import type { Env } from '../env';
export type Keys = keyof Env;
`,
  'src/lib/orphan.ts': `export const orphan = true;
`,
  'src/graphql/modules/destinations.ts': lines(MAX_LINES + 1),
};

/** The expected violations of VIOLATING, as the check names them. */
const EXPECTED = [
  'd1-sql-only-in-db: src/http/users.ts',
  'durable-object-sql-in-its-module: src/downloads/sweep.ts',
  'env-names-durable-objects-type-only: src/env.ts → src/downloads/buffer.ts',
  'layer-audit: src/audit/record.ts → src/delivery/fanout.ts',
  'layer-base: src/env.ts → src/releases/links.ts',
  'layer-db: src/db/releases.ts → src/releases/links.ts',
  'layer-domain-services: src/releases/links.ts → src/downloads/cache.ts',
  'max-400-lines: src/graphql/modules/destinations.ts',
  'no-circular-through-env: src/env.ts → src/releases/links.ts',
  'no-circular: src/audit/record.ts → src/delivery/fanout.ts',
  'no-circular: src/delivery/fanout.ts → src/audit/record.ts',
  'no-circular: src/downloads/buffer.ts → src/downloads/cache.ts',
  'no-circular: src/downloads/cache.ts → src/downloads/shard.ts',
  'no-circular: src/downloads/shard.ts → src/downloads/buffer.ts',
  'no-circular: src/http/router.ts → src/http/users.ts',
  'no-circular: src/http/users.ts → src/http/router.ts',
  'not-to-unresolvable: src/http/users.ts → ./missing',
  'src-file-outside-layers: src/util/strings.ts → src/env.ts',
  'src-imports-outside-src: src/http/users.ts → test/helper.ts',
  'src-orphan-outside-layers: src/lib/orphan.ts',
];

const keyOf = ({ rule, from, to }) => `${rule}: ${from}${to ? ` → ${to}` : ''}`;

/** Write `files` under a fresh temporary directory; returns it. */
function writeTree(files) {
  const root = mkdtempSync(join(tmpdir(), 'check-layers-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** Run the command line on `root`. */
function runCheck(root) {
  return spawnSync(process.execPath, [SCRIPT, '--root', root], { encoding: 'utf8' });
}

test('a tree laid out by the rules passes, with every allowed exception in use', (t) => {
  const root = writeTree(LAYERED);
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const run = runCheck(root);
  assert.equal(run.stderr, '');
  assert.equal(run.stdout.trim(), `check-layers: imports follow the layers, no cycles, D1 only in src/db/, no file over ${MAX_LINES} lines`);
  assert.equal(run.status, 0);
});

test('every kind of violation is reported, where it is', async (t) => {
  const root = writeTree(VIOLATING);
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const { fresh, known, stale } = await checkLayers({ root });
  assert.deepEqual(fresh.map(keyOf), EXPECTED);
  assert.deepEqual([known, stale], [[], []]);
  const details = (key) => fresh.find((v) => keyOf(v) === key).details;
  assert.deepEqual(details('d1-sql-only-in-db: src/http/users.ts'), [
    'line 6: env.DB.withSession',
    'line 7: session.prepare',
    'line 8: env.DB.batch',
    'line 10: stmt.all',
  ]);
  assert.deepEqual(details('durable-object-sql-in-its-module: src/downloads/sweep.ts'), ['line 1: sql.exec']);
  assert.deepEqual(details('max-400-lines: src/graphql/modules/destinations.ts'), [`${MAX_LINES + 1} lines`]);
});

test('the baseline excuses the violations it lists, and only those; the command fails on the others', (t) => {
  const listed = [
    { rule: 'layer-db', from: 'src/db/releases.ts', to: 'src/releases/links.ts' },
    { rule: 'max-400-lines', from: 'src/graphql/modules/destinations.ts' },
    { rule: 'd1-sql-only-in-db', from: 'src/http/groups.ts' },
  ];
  const root = writeTree({ ...VIOLATING, [BASELINE_FILE]: JSON.stringify({ violations: listed }) });
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const run = runCheck(root);
  assert.equal(run.status, 1);
  const out = run.stdout.split('\n');
  const errors = out.filter((l) => l.startsWith('error ')).map((l) => l.slice('error '.length));
  assert.deepEqual(errors, EXPECTED.filter((k) => !listed.slice(0, 2).map(keyOf).includes(k)));
  assert.ok(out.includes(`fixed (remove it from ${BASELINE_FILE}): d1-sql-only-in-db: src/http/groups.ts`), run.stdout);
  assert.equal(out.at(-2), `check-layers: ${EXPECTED.length - 2} violations of ARCHITECTURE.md's rules`);
});

test('with only known violations the report counts them per rule (also under Node 20, which has no Object.groupBy)', () => {
  const known = [
    { rule: 'layer-db', from: 'src/db/a.ts', to: 'src/releases/b.ts' },
    { rule: 'max-400-lines', from: 'src/graphql/c.ts' },
    { rule: 'layer-db', from: 'src/db/d.ts', to: 'src/releases/e.ts' },
  ];
  assert.equal(
    formatReport({ fresh: [], known, stale: [] }),
    `check-layers: no new violations; 3 known, listed in ${BASELINE_FILE} (layer-db 2, max-400-lines 1)`,
  );
});
