/**
 * Pages of the cold archive (issue 19: D1's cold residue bounded by a constant whatever the
 * history). With AUDIT_ARCHIVE_SEGMENT_CHUNKS = 2 and AUDIT_ARCHIVE_PAGE_SEGMENTS = 2 a segment is
 * 2,048 leaves (level 11), a page of two segments 4,096 (level 12) and a page of two such pages
 * 8,192 (level 13): the 9,000 events here (dated 1960) with the setup's few before them make
 * leaves 0 to 8,191 one level-13 page of two level-12 pages of two segments each. Once sealed,
 * D1 holds for those leaves only the page row, its summed count rows and its level-13 node, and
 * every reader answers exactly as before: listings (offset and keyset pages, filters, X-Total;
 * one half of the page has coarse counts, so finer filters expand it), exports, one event by id,
 * inclusion and consistency proofs verifying against signed checkpoints (one signed inside the
 * page), the integrity check, release evidence, and requests served at once. A crash between a
 * page index's write and its D1 transaction is recovered by the next run without duplicating
 * anything; two sealers racing seal a page once; an index whose bytes are not those its row (or
 * its parent page's index) recorded is refused; unsealing restores exactly what sealing replaced,
 * and no page forms from live units while retention is on. Retention
 * (explicit `now`, 1961 then 2999) unseals live pages level by level, deletes the expired units,
 * and merges units it has all deleted into deleted pages that no reader lists. That last test
 * destroys the data: it stays last.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import type { Env } from '../../src/env';
import { ADMIN, api, call, createGroup, createProject, createUser } from '../support/api';
import { eventInput, groupEntityOf, insertEvents, projectEntityOf } from '../audit_log/support';
import { keysetWalk, offsetPages, releaseWithThreeEvents } from './listing_support';
import { moveNextChunk, type Eligible } from '../../src/audit/archive_move';
import { nextSegment, runArchiveSeal, sealNextSegment } from '../../src/audit/archive_seal';
import { sealNextPage, unsealPage } from '../../src/audit/archive_pages';
import { applyArchiveRetention } from '../../src/audit/archive_retention';
import { checkIntegrity } from '../../src/audit/integrity';
import { chunkContainingId, chunksForLeaves, readSegmentIndex } from '../../src/audit/archive_segments';
import { gunzip, gzip, sha256Hex } from '../../src/audit/archive_format';
import { toArchiveChunk, type ArchiveChunk, type ArchiveChunkRow } from '../../src/db/audit_archive';
import { toArchiveSegment, type ArchiveSegment, type ArchiveSegmentRow } from '../../src/db/audit_archive_segments';
import { fromBase64 } from '../../src/tlog/hash';
import { verifyConsistency, verifyInclusion } from '../../src/tlog/tree';
import { buildTree, bytesOf, expectVerifiedEvidence, checkpointNow, getOk, leafIndexes, type Verified } from './tlog_support';

const PAGES = { ...env, AUDIT_ARCHIVE_SEGMENT_CHUNKS: '2', AUDIT_ARCHIVE_PAGE_SEGMENTS: '2' } as unknown as Env;
const N = 9000;
const HOT = 200;
const base = Date.parse('1960-01-01T00:00:00.000Z');
/** The level-13 page: leaves 0 to 8,191; its two level-12 pages; their four segments. */
const TOP = { first: 0, last: 8191, level: 13 };
const HALVES = [
  { first: 0, last: 4095 },
  { first: 4096, last: 8191 },
];

const pad = (n: number): string => String(n).padStart(16, '0');
const count = async (sql: string, ...args: unknown[]): Promise<number> => (await env.DB.prepare(sql).bind(...args).first<{ n: number }>())!.n;
const bytesAt = async (key: string): Promise<Uint8Array> => new Uint8Array(await (await env.AUDIT_ARCHIVE.get(key))!.arrayBuffer());
const pageKeys = async (): Promise<string[]> => (await env.AUDIT_ARCHIVE.list({ prefix: 'pages/' })).objects.map((o) => o.key).sort();

async function unitRows(first = 0, last = Number.MAX_SAFE_INTEGER): Promise<ArchiveSegment[]> {
  const rows = await env.DB.prepare('SELECT * FROM audit_archive_segments WHERE first_leaf BETWEEN ?1 AND ?2 ORDER BY first_leaf, level').bind(first, last).all<ArchiveSegmentRow>();
  return rows.results.map(toArchiveSegment);
}

async function pageEvents(type: 'audit_archive_page_sealed' | 'audit_archive_page_unsealed', afterId = 0): Promise<Record<string, any>[]> {
  const rows = await env.DB.prepare('SELECT details FROM audit_events WHERE event_type = ?1 AND id > ?2 ORDER BY id').bind(type, afterId).all<{ details: string }>();
  return rows.results.map((r) => JSON.parse(r.details));
}

const maxEventId = async (): Promise<number> => count('SELECT COALESCE(MAX(id), 0) AS n FROM audit_events');

/** What D1 holds of the cold archive over leaves [first, last]: unit rows, their count rows, tree nodes of levels 10 and up. */
async function d1State(first: number, last: number) {
  const [rows, counts, nodes] = await env.DB.batch([
    env.DB.prepare('SELECT * FROM audit_archive_segments WHERE first_leaf BETWEEN ?1 AND ?2 ORDER BY first_leaf, level').bind(first, last),
    env.DB.prepare(
      `SELECT first_leaf, root_namespace_id, scope_path, project_id, event_type, author_id, entity_type, entity_id, n FROM audit_archive_segment_counts
       WHERE first_leaf BETWEEN ?1 AND ?2 ORDER BY first_leaf, root_namespace_id, scope_path, project_id, event_type, author_id, entity_type, entity_id, n`,
    ).bind(first, last),
    env.DB.prepare('SELECT level, idx, hash FROM audit_log_nodes WHERE level >= 10 AND (idx << level) BETWEEN ?1 AND ?2 ORDER BY level, idx').bind(first, last),
  ]);
  return { rows: rows.results, counts: counts.results, nodes: nodes.results };
}

const COMBINATION = 'root_namespace_id, scope_path, project_id, event_type, author_id, entity_type, entity_id';
/** The units' count rows of leaves [first, last], summed per combination. */
async function summedCounts(first: number, last: number): Promise<unknown[]> {
  const rows = await env.DB.prepare(`SELECT ${COMBINATION}, SUM(n) AS n FROM audit_archive_segment_counts WHERE first_leaf BETWEEN ?1 AND ?2 GROUP BY ${COMBINATION} ORDER BY ${COMBINATION}`)
    .bind(first, last)
    .all();
  return rows.results;
}

/** Each item's answer, one request at a time. */
async function inTurn<T, R>(items: readonly T[], f: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (const item of items) out.push(await f(item));
  return out;
}

/** Seal until nothing more seals; the units sealed. */
async function sealAll(e: Env, now = new Date()): Promise<ArchiveSegment[]> {
  const all: ArchiveSegment[] = [];
  for (let i = 0; i < 20; i++) {
    const sealed = await runArchiveSeal(e, null, now);
    if (sealed.length === 0) return all;
    all.push(...sealed);
  }
  throw new Error('sealing never settles');
}

/** Apply retention until a run does nothing; the sums of what the runs did. */
async function retainAll(e: Env, now: Date): Promise<{ unsealed: number; segments: number; chunks: number; events: number }> {
  const sum = { unsealed: 0, segments: 0, chunks: 0, events: 0 };
  for (let i = 0; i < 30; i++) {
    const r = await applyArchiveRetention(e, null, now);
    sum.unsealed += r.unsealed;
    sum.segments += r.segments;
    sum.chunks += r.chunks;
    sum.events += r.events;
    if (r.unsealed === 0 && r.segments === 0 && r.chunks === 0 && r.recorded === 0) return sum;
  }
  throw new Error('retention never settles');
}

interface Listing {
  headers: (string | null)[];
  body: { id: number }[];
}
type Reads = {
  offset: Listing[][];
  keyset: { events: { id: number }[]; sizes: number[] }[];
  one: { path: string; status: number; body: unknown }[];
  exports: string[];
  proofs: any[];
  consistency: { hashes: string[] }[];
  integrity: { checked: unknown; failure: string | null }[];
};

let ids: number[];
let index: Map<number, number>;
let leafOf: (id: number) => number;
let idAt: (leaf: number) => number;
let cut: number;
let checkpoint: Verified;
/** A checkpoint signed when the log ended inside the first segment. */
let mid: Verified;
let read: () => Promise<Reads>;
let before: Reads;
/** The chunk rows of the page's leaves and their counts summed per scope and event type, before anything was sealed. */
let chunksBefore: ArchiveChunk[];
let countsBefore: unknown[];
/** D1 over the page's leaves while it was two level-12 pages (test 1), for the unsealing test. */
let twoPages: Awaited<ReturnType<typeof d1State>>;
/** The level-13 page as first sealed. */
let top: ArchiveSegment;
let release: { projectId: number; token: string; eventIds: number[] };
/** The group's listing path and its owner's token. */
let G: string;
let ownerToken: string;

beforeAll(async () => {
  release = await releaseWithThreeEvents('v-paged');
  const owner = await createUser();
  const other = await createUser();
  const g = await createGroup({ token: owner.token });
  ownerToken = owner.token;
  const project = await createProject(g.id, { token: owner.token });
  const entities = [await groupEntityOf(g.id), await projectEntityOf(project.id)];
  const authors = [owner, other].map((u) => ({ id: u.id, name: u.name }));
  const types = ['audit_operation', 'release_created', 'release_updated'];
  const input = (i: number) =>
    eventInput(entities[i % 2], authors[(i >> 1) % 2], {
      eventType: types[(i >> 2) % 3],
      // Mostly in order, every 29th dated three days back: units whose times overlap.
      createdAt: new Date(base + i * 600_000 - (i % 29 === 0 ? 3 * 86_400_000 : 0)).toISOString(),
      details: { custom_message: `paged ${i}` },
    });
  // A checkpoint signed inside the first segment (its own event, dated now, lands there beside the setup's).
  const MID = 1500;
  ids = await insertEvents(Array.from({ length: MID }, (_, i) => input(i)));
  mid = await checkpointNow();
  ids.push(...(await insertEvents(Array.from({ length: N - MID }, (_, i) => input(MID + i)))));
  await buildTree();
  index = await leafIndexes(ids);
  leafOf = (id) => index.get(id)!;
  const byLeaf = new Map([...index].map(([id, leaf]) => [leaf, id]));
  idAt = (leaf) => byLeaf.get(leaf)!;
  // Move the log up to the last HOT events (those stay hot).
  cut = ids[N - HOT - 1];
  const eligible: Eligible = (leaf) => leaf.event === null || (!leaf.inOutbox && leaf.event.id <= cut);
  while (await moveNextChunk(env as unknown as Env, null, eligible));
  // The setup's events come first (a few leaves), then these: leaves 0 to 8,191 hold both, all cold; the page is made of these events but for the first few leaves.
  expect(leafOf(ids[0])).toBeLessThan(64);
  expect(leafOf(cut)).toBeGreaterThan(TOP.last + 256);
  expect(leafOf(cut)).toBeLessThan(TOP.last + 2048);
  chunksBefore = (await env.DB.prepare('SELECT * FROM audit_archive_chunks WHERE first_leaf BETWEEN ?1 AND ?2 ORDER BY first_leaf').bind(TOP.first, TOP.last).all<ArchiveChunkRow>()).results.map(
    toArchiveChunk,
  );
  expect(chunksBefore[chunksBefore.length - 1].lastLeaf).toBe(TOP.last);
  countsBefore = (
    await env.DB.prepare(
      `SELECT root_namespace_id, scope_path, project_id, event_type, 0 AS author_id, '' AS entity_type, 0 AS entity_id, SUM(n) AS n FROM audit_archive_counts
       WHERE first_leaf BETWEEN ?1 AND ?2 GROUP BY root_namespace_id, scope_path, project_id, event_type ORDER BY ${COMBINATION}`,
    )
      .bind(TOP.first, TOP.last)
      .all()
  ).results;
  checkpoint = await checkpointNow();

  G = `/api/v4/groups/${g.id}/audit_events`;
  const P = `/api/v4/projects/${project.id}/audit_events`;
  const window = `created_after=${new Date(base + 1500 * 600_000).toISOString()}&created_before=${new Date(base + 7100 * 600_000).toISOString()}`;
  // Events of each segment and level-12 page of the page, one just after it (a chunk row), the newest (hot).
  const one = [ids[0], idAt(2048 + 7), idAt(4095), idAt(4096), idAt(6143 - 100), idAt(8191), idAt(8192), ids[N - 1]];
  read = async () => ({
    offset: [
      await offsetPages(`${G}?per_page=100`, owner.token),
      await offsetPages(`${G}?per_page=100&${window}`, owner.token),
      await offsetPages(`${P}?per_page=100&author_id=${other.id}`, owner.token),
      await offsetPages(`${G}?per_page=100&event_type=release_updated`, owner.token),
      await offsetPages(`/api/v4/audit_events?per_page=100&created_after=1959-12-01T00:00:00.000Z&created_before=1960-06-01T00:00:00.000Z`, ADMIN),
    ] as Listing[][],
    keyset: [
      await keysetWalk(`${G}?per_page=100&sort=desc`, owner.token, 400),
      await keysetWalk(`${G}?per_page=100&sort=asc&${window}&event_type=release_created`, owner.token, 400),
      await keysetWalk(`${P}?per_page=50&sort=asc&author_id=${owner.id}`, owner.token, 400),
    ] as Reads['keyset'],
    one: await inTurn(
      one.flatMap((id) => [`${G}/${id}`, `/api/v4/audit_events/${id}`]),
      async (path) => {
        const r = await api('GET', path, { token: path.startsWith(G) ? owner.token : ADMIN });
        return { path, status: r.status, body: r.body };
      },
    ),
    exports: await inTurn(
      [`/api/v4/audit_events.csv?entity_type=Group&entity_id=${g.id}`, `/api/v4/audit_events.json?entity_type=Project&entity_id=${project.id}&sort=asc`],
      async (p) => (await call('GET', p, { token: ADMIN })).text(),
    ),
    proofs: await inTurn(one, (id) => getOk(`/api/v4/audit_events/${id}/inclusion_proof?tree_size=${checkpoint.size}`)),
    consistency: [
      await getOk(`/api/v4/audit_events/consistency_proof?first=${4096 + 5}&second=${checkpoint.size}`),
      await getOk(`/api/v4/audit_events/consistency_proof?first=${mid.size}&second=${checkpoint.size}`),
      await getOk(`/api/v4/audit_events/consistency_proof?first=100&second=${checkpoint.size}`),
    ],
    integrity: [
      await checkIntegrity(env as unknown as Env, null, { at: 0, sliceLeaves: 8192 }),
      await checkIntegrity(env as unknown as Env, null, { at: 4096, sliceLeaves: 2048 }),
      await checkIntegrity(env as unknown as Env, null, { at: 2048 + 1024, sliceLeaves: 1024 }),
      await checkIntegrity(env as unknown as Env, null, { at: 6144, sliceLeaves: 4096 }),
    ],
  });
  before = await read();
  // The forms see the events (the comparisons below are not between two empty answers).
  expect(Number(before.offset[0][0].headers[0])).toBeGreaterThanOrEqual(N);
  expect(before.offset[1].length).toBeGreaterThan(10);
  expect(before.keyset[0].events.length).toBeGreaterThanOrEqual(N);
  expect(before.keyset[1].events.length).toBeGreaterThan(500);
  expect(before.one.filter((o) => o.status === 200)).toHaveLength(16);
  expect(Number(before.offset[4][0].headers[0])).toBe(N);
  for (const r of before.integrity) expect(r.failure).toBeNull();
}, 300_000);

describe('pages of the cold archive', () => {
  it('recovers a crash between a page index write and its D1 transaction, and seals a page once when two sealers race', async () => {
    // The first two segments sealed: the level-12 page of leaves 0 to 4,095 is due.
    while ((await nextSegment(PAGES)).first <= HALVES[0].last) expect(await sealNextSegment(PAGES, null)).not.toBeNull();
    const segments = await unitRows(HALVES[0].first, HALVES[0].last);
    expect(segments.map((s) => [s.firstLeaf, s.level, s.children])).toEqual([
      [0, 11, 0],
      [2048, 11, 0],
    ]);
    const key = `pages/${pad(segments[0].firstId)}-${pad(segments[1].lastId)}-L12.json.gz`;
    const stateBefore = await d1State(HALVES[0].first, HALVES[0].last);
    expect(await pageKeys()).toEqual([]);

    // Its transaction fails (the event it records is refused): the index is written, D1 is unchanged.
    await env.DB.prepare(
      `CREATE TRIGGER refuse_page_seal BEFORE INSERT ON audit_events WHEN NEW.event_type = 'audit_archive_page_sealed'
       BEGIN SELECT RAISE(ABORT, 'page seal refused by the test'); END`,
    ).run();
    try {
      await expect(sealNextPage(PAGES, null)).rejects.toThrow(/refused by the test/);
      // Twice: the second run writes the same object again.
      await expect(sealNextPage(PAGES, null)).rejects.toThrow(/refused by the test/);
    } finally {
      await env.DB.prepare('DROP TRIGGER refuse_page_seal').run();
    }
    expect(await pageKeys()).toEqual([key]);
    const written = await sha256Hex(await bytesAt(key));
    expect(await d1State(HALVES[0].first, HALVES[0].last)).toEqual(stateBefore);
    expect(await count('SELECT COUNT(*) AS n FROM audit_archive_page_guard')).toBe(0);
    expect(await pageEvents('audit_archive_page_sealed')).toEqual([]);
    // Readers are unaffected by the object written alone.
    expect(await read()).toEqual(before);

    // The next run seals it, under the same key with the same bytes; nothing more is due.
    const sealed = await sealNextPage(PAGES, null);
    expect(sealed).toMatchObject({
      firstLeaf: 0,
      lastLeaf: 4095,
      level: 12,
      children: 2,
      deletedChildren: 0,
      chunks: 4,
      deletedChunks: 0,
      eventCount: 4096,
      firstId: segments[0].firstId,
      lastId: segments[1].lastId,
      objectKey: key,
      objectSha256: written,
      deletedAt: null,
    });
    expect(await sealNextPage(PAGES, null)).toBeNull();
    expect(await pageKeys()).toEqual([key]);
    const events = await pageEvents('audit_archive_page_sealed');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ first_leaf: 0, last_leaf: 4095, level: 12, object_key: key, object_sha256: written });

    // The next two segments (the first with its counts per scope and event type), then their page, as coarse as its coarsest
    // unit: D1 then holds the two level-12 pages (kept for the unsealing test).
    expect(await sealNextSegment(PAGES, null, new Date(), { maxCountRows: 8 })).toMatchObject({ firstLeaf: 4096, coarse: 1 });
    expect(await sealNextSegment(PAGES, null)).toMatchObject({ firstLeaf: 6144, coarse: 0 });
    expect(await sealNextPage(PAGES, null)).toMatchObject({ firstLeaf: 4096, lastLeaf: 8191, level: 12, children: 2, eventCount: 4096, coarse: 1 });
    twoPages = await d1State(TOP.first, TOP.last);
    expect((twoPages.rows as unknown as ArchiveSegmentRow[]).map((r) => [r.first_leaf, r.level, r.children])).toEqual([
      [0, 12, 2],
      [4096, 12, 2],
    ]);

    // Two sealers racing for the level-13 page: it is sealed once, the other finds nothing to do.
    const race = await Promise.allSettled([sealNextPage(PAGES, null), sealNextPage(PAGES, null)]);
    expect(race.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    const won = race.flatMap((r) => (r.status === 'fulfilled' && r.value ? [r.value] : []));
    expect(won.map((p) => [p.firstLeaf, p.lastLeaf, p.level, p.children])).toEqual([[0, 8191, 13, 2]]);
    top = won[0];
    expect(await sealAll(PAGES)).toEqual([]);
    const all = await pageEvents('audit_archive_page_sealed');
    expect(all.map((e) => [e.first_leaf, e.level])).toEqual([
      [0, 12],
      [4096, 12],
      [0, 13],
    ]);
    expect(new Set(all.map((e) => e.object_key)).size).toBe(3);
    expect(await pageKeys()).toEqual(all.map((e) => e.object_key).sort());
  });

  it('leaves in D1 only the level-13 page row, its summed counts and its level-13 node', async () => {
    const last = chunksBefore[chunksBefore.length - 1];
    expect(top).toMatchObject({
      firstLeaf: TOP.first,
      lastLeaf: TOP.last,
      level: TOP.level,
      children: 2,
      deletedChildren: 0,
      chunks: chunksBefore.length,
      deletedChunks: 0,
      eventCount: chunksBefore.reduce((n, c) => n + c.eventCount, 0),
      firstId: chunksBefore[0].firstId,
      lastId: last.lastId,
      firstAt: chunksBefore.map((c) => c.firstAt!).sort()[0],
      lastAt: chunksBefore.map((c) => c.lastAt!).sort()[chunksBefore.length - 1],
      objectKey: `pages/${pad(chunksBefore[0].firstId)}-${pad(last.lastId)}-L13.json.gz`,
      deletedAt: null,
    });
    expect(top.eventCount).toBe(8192);
    expect(await unitRows()).toEqual([top]);
    // No unit row, count row, chunk row, leaf or node below level 13 of the page is left in D1.
    expect(await count('SELECT COUNT(*) AS n FROM audit_archive_segments WHERE first_leaf BETWEEN ?1 AND ?2 AND level < ?3', TOP.first, TOP.last, TOP.level)).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM audit_archive_segment_counts WHERE first_leaf BETWEEN ?1 AND ?2', TOP.first + 1, TOP.last)).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM audit_archive_chunks WHERE first_leaf BETWEEN ?1 AND ?2', TOP.first, TOP.last)).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM audit_archive_counts WHERE first_leaf BETWEEN ?1 AND ?2', TOP.first, TOP.last)).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM audit_log_leaves WHERE leaf_index BETWEEN ?1 AND ?2', TOP.first, TOP.last)).toBe(0);
    const nodes = await env.DB.prepare('SELECT level, idx FROM audit_log_nodes WHERE (idx << level) BETWEEN ?1 AND ?2 AND level <= ?3 ORDER BY level, idx')
      .bind(TOP.first, TOP.last, TOP.level)
      .all<{ level: number; idx: number }>();
    expect(nodes.results).toEqual([{ level: 13, idx: 0 }]);
    // Its count rows are the chunks' summed per scope and event type (as coarse as its coarsest unit, the second level-12 page), each once.
    expect(top.coarse).toBe(1);
    expect(await summedCounts(TOP.first, TOP.last)).toEqual(countsBefore);
    expect(await count('SELECT COUNT(*) AS n FROM audit_archive_segment_counts WHERE first_leaf = ?1', TOP.first)).toBe(countsBefore.length);
    expect(countsBefore.length).toBeGreaterThan(6);
    // D1's cold residue: at most one unit (page segments - 1) per level.
    const perLevel = await env.DB.prepare('SELECT level, COUNT(*) AS n FROM audit_archive_segments GROUP BY level').all<{ level: number; n: number }>();
    for (const r of perLevel.results) expect(r.n, `level ${r.level}`).toBeLessThanOrEqual(1);

    // Its index holds the two level-12 pages' rows (as D1 had them), their count rows and their top nodes.
    const o = JSON.parse(new TextDecoder().decode(await gunzip(await bytesAt(top.objectKey))));
    expect(o).toMatchObject({ kind: 'page', first_leaf: 0, last_leaf: 8191, level: 13, child_level: 12, first_id: top.firstId, last_id: top.lastId });
    expect(o.children).toEqual((twoPages.rows as unknown as ArchiveSegmentRow[]).map((r) => toArchiveSegment(r)));
    expect(o.block_nodes).toEqual((twoPages.nodes as { level: number; hash: string }[]).filter((n) => n.level === 12).map((n) => n.hash));
    expect(o.counts.reduce((n: number, c: number[]) => n + c[8], 0)).toBe(8192);
    expect(o.counts).toHaveLength(twoPages.counts.length);
    // Its sha256 is the one recorded.
    expect(await sha256Hex(await bytesAt(top.objectKey))).toBe(top.objectSha256);
  });

  it('gives every reader the same answers through the page, and the proofs verify against the signed checkpoint', async () => {
    const after = await read();
    expect(after).toEqual(before);
    for (const r of after.integrity) expect(r.failure).toBeNull();
    for (const p of after.proofs) expect(await verifyInclusion(p.leaf_index, checkpoint.size, fromBase64(p.leaf_hash)!, bytesOf(p.hashes), checkpoint.root)).toBe(true);
    expect(after.proofs.filter((p) => p.leaf_index <= TOP.last)).toHaveLength(6);
    expect(mid.size).toBeLessThan(2048);
    expect(await verifyConsistency(mid.size, checkpoint.size, mid.root, checkpoint.root, bytesOf(after.consistency[1].hashes))).toBe(true);
    const first = checkpoint.size;
    const now = await checkpointNow();
    const cons = await getOk(`/api/v4/audit_events/consistency_proof?first=${first}&second=${now.size}`);
    expect(await verifyConsistency(first, now.size, checkpoint.root, now.root, bytesOf(cons.hashes))).toBe(true);
    // Inside the page, through both levels of indexes: an event's chunk, and the chunks of a range of leaves.
    expect((await chunkContainingId(env as unknown as Env, idAt(5000)))?.firstLeaf).toBe(4096);
    const chunks = await chunksForLeaves(env as unknown as Env, 0, 8191);
    expect(chunks.map((c) => [c.firstLeaf, c.lastLeaf])).toEqual(chunksBefore.map((c) => [c.firstLeaf, c.lastLeaf]));
  });

  it('answers requests at once through the page (its indexes cached in the isolate, shared by concurrent requests)', async () => {
    const single = (id: number) => api('GET', `/api/v4/audit_events/${id}`, { token: ADMIN });
    const proof = (id: number) => api('GET', `/api/v4/audit_events/${id}/inclusion_proof?tree_size=${checkpoint.size}`, { token: ADMIN });
    for (const round of [0, 1, 2]) {
      // Read each segment of the page in turn (more indexes than the isolate keeps), then sixteen requests at once, four per segment.
      for (const leaf of [100, 2100, 4200, 6300]) expect((await single(idAt(leaf + round))).status).toBe(200);
      const at = [50, 2050, 4150, 6250, 1900, 4000, 6000, 8000, 60, 2060, 4160, 6260, 1910, 4010, 6010, 8010].map((leaf) => idAt(leaf + round));
      const answers = await Promise.all(at.map((id, i) => (i % 2 === 0 ? single(id) : proof(id))));
      expect(answers.map((a) => a.status), `round ${round}`).toEqual(at.map(() => 200));
      for (const [i, a] of answers.entries()) {
        if (i % 2 === 0) expect(a.body.id).toBe(at[i]);
        else expect(await verifyInclusion(a.body.leaf_index, checkpoint.size, fromBase64(a.body.leaf_hash)!, bytesOf(a.body.hashes), checkpoint.root)).toBe(true);
      }
      // The same answers one at a time.
      const even = <T>(list: T[]) => list.filter((_, i) => i % 2 === 0);
      expect(await inTurn(even(at), async (id) => (await single(id)).body)).toEqual(even(answers).map((a) => a.body));
    }
  });

  it('collects release evidence from a page, every proof verifying against its signed checkpoint', async () => {
    expect(await count(`SELECT COUNT(*) AS n FROM audit_events WHERE id IN (${release.eventIds.join(',')})`)).toBe(0);
    for (const id of release.eventIds) expect(id).toBeLessThanOrEqual(top.lastId);
    await expectVerifiedEvidence(release, 'v-paged');
  });

  it('refuses a page index whose bytes are not those recorded (by its row, or by its parent page for a page inside it)', async () => {
    const bytes = await bytesAt(top.objectKey);
    const bad = { ...env, AUDIT_ARCHIVE: { get: async () => ({ arrayBuffer: async () => bytes.slice(0, bytes.length - 1).buffer }) } } as unknown as Env;
    await expect(readSegmentIndex(bad, top, true)).rejects.toThrow(/SHA-256/);
    // In the bucket: the level-13 index, then a level-12 one (whose row only the level-13 index holds), each re-encoded with one count changed.
    const inner = (await readSegmentIndex(env as unknown as Env, top, true)).children[1];
    expect(inner).toMatchObject({ firstLeaf: 4096, level: 12, children: 2 });
    for (const key of [top.objectKey, inner.objectKey]) {
      const real = await bytesAt(key);
      const o = JSON.parse(new TextDecoder().decode(await gunzip(real)));
      o.counts[0][8] += 1;
      await env.AUDIT_ARCHIVE.put(key, await gzip(new TextEncoder().encode(JSON.stringify(o))));
      try {
        // The integrity check reads the indexes afresh: it records the digest's mismatch as a failure.
        expect((await checkIntegrity(env as unknown as Env, null, { at: 4096, sliceLeaves: 2048 })).failure, key).toMatch(/SHA-256/);
        // Unsealing reads the page's index afresh too: it refuses it.
        if (key === top.objectKey) await expect(unsealPage(PAGES, null, top)).rejects.toThrow(/SHA-256/);
      } finally {
        await env.AUDIT_ARCHIVE.put(key, real);
      }
    }
    await api('POST', '/api/v4/audit_events/integrity/acknowledge', { token: ADMIN });
    expect((await checkIntegrity(env as unknown as Env, null, { at: 4096, sliceLeaves: 2048 })).failure).toBeNull();
    expect(await unitRows()).toEqual([top]);
  });

  it('unseals a page into exactly what it replaced; sealing it again gives the same index', async () => {
    const mark = await maxEventId();
    expect(await unsealPage(PAGES, null, top)).toBe(true);
    expect(await d1State(TOP.first, TOP.last)).toEqual(twoPages);
    expect(await pageEvents('audit_archive_page_unsealed', mark)).toEqual([expect.objectContaining({ first_leaf: 0, last_leaf: 8191, level: 13, object_key: top.objectKey })]);
    // A page no longer live is not unsealed twice.
    expect(await unsealPage(PAGES, null, top)).toBe(false);
    expect(await d1State(TOP.first, TOP.last)).toEqual(twoPages);
    expect(await read()).toEqual(before);
    // While retention is on, live units form no page.
    expect(await sealAll({ ...PAGES, AUDIT_RETENTION_DAYS: '30' } as Env, new Date('1961-03-01T00:00:00.000Z'))).toEqual([]);
    expect(await d1State(TOP.first, TOP.last)).toEqual(twoPages);
    // Off: the page forms again, the same index (key and bytes).
    const again = await sealAll(PAGES);
    expect(again.map((p) => [p.firstLeaf, p.level])).toEqual([[0, 13]]);
    expect(again[0]).toEqual({ ...top, sealedAt: again[0].sealedAt });
    expect(await pageKeys()).toHaveLength(3);
    expect(await sha256Hex(await bytesAt(top.objectKey))).toBe(top.objectSha256);
    top = again[0];
    expect(await unitRows()).toEqual([top]);
  });

  it('retention unseals live pages level by level, deletes the expired units, and merges units it deleted into deleted pages that no reader lists', async () => {
    const mark = await maxEventId();
    const RETAIN = { ...PAGES, AUDIT_RETENTION_DAYS: '30' } as Env;
    // 1961: every event here but the hot ones is past the cutoff; the first segment also holds the setup's (newer) events: it stays.
    const in1961 = new Date('1961-03-01T00:00:00.000Z');
    const done = await retainAll(RETAIN, in1961);
    expect(done.unsealed).toBe(3);
    expect((await pageEvents('audit_archive_page_unsealed', mark)).map((e) => [e.first_leaf, e.level])).toEqual([
      [0, 13],
      [0, 12],
      [4096, 12],
    ]);
    const segments = await unitRows(TOP.first, TOP.last);
    expect(segments.map((s) => [s.firstLeaf, s.level, s.children, s.deletedAt !== null])).toEqual([
      [0, 11, 0, false],
      [2048, 11, 0, true],
      [4096, 11, 0, true],
      [6144, 11, 0, true],
    ]);
    expect(done.segments).toBe(3);
    // The chunk after the page (leaves 8,192 to the hot boundary) too.
    expect(await count('SELECT COUNT(*) AS n FROM audit_archive_chunks WHERE deleted_at IS NULL')).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM audit_archive_segment_counts WHERE first_leaf > ?1', 0)).toBe(0);
    // A page never forms over the first two segments while retention is on (one of them is live).
    await sealAll(RETAIN, in1961);
    expect((await unitRows(HALVES[0].first, HALVES[0].last)).map((s) => [s.firstLeaf, s.level])).toEqual([
      [0, 11],
      [2048, 11],
    ]);
    // ... but the two deleted ones after them do: a live unit earlier in the log holds back no later page.
    expect((await unitRows(HALVES[1].first, HALVES[1].last)).map((s) => [s.firstLeaf, s.level, s.children, s.deletedAt !== null])).toEqual([[4096, 12, 2, true]]);
    // Another run finds nothing more to do.
    expect(await retainAll(RETAIN, in1961)).toEqual({ unsealed: 0, segments: 0, chunks: 0, events: 0 });

    // Listings: the deleted events are gone, everything else as before.
    const gone = new Set(ids.filter((id) => leafOf(id) >= 2048 && id <= cut));
    const kept = (events: { id: number }[]) => events.filter((e) => !gone.has(e.id));
    const listed = async (path: string, token: string) => (await offsetPages(path, token)) as Listing[];
    const after1 = {
      group: await listed(`${G}?per_page=100`, ownerToken),
      window: await listed(`/api/v4/audit_events?per_page=100&created_after=1959-12-01T00:00:00.000Z&created_before=1960-06-01T00:00:00.000Z`, ADMIN),
      keyset: await keysetWalk(`${G}?per_page=100&sort=desc`, ownerToken, 400),
    };
    expect(Number(after1.group[0].headers[0])).toBe(Number(before.offset[0][0].headers[0]) - gone.size);
    expect(after1.group.flatMap((p) => p.body)).toEqual(kept(before.offset[0].flatMap((p) => p.body)));
    expect(Number(after1.window[0].headers[0])).toBe(N - gone.size);
    expect(after1.window.flatMap((p) => p.body)).toEqual(kept(before.offset[4].flatMap((p) => p.body)));
    expect(after1.keyset.events).toEqual(kept(before.keyset[0].events));
    for (const o of before.one) {
      const id = Number(o.path.slice(o.path.lastIndexOf('/') + 1));
      const r = await api('GET', o.path, { token: o.path.startsWith(G) ? ownerToken : ADMIN });
      if (gone.has(id)) expect(r.status, o.path).toBe(404);
      else expect({ status: r.status, body: r.body }, o.path).toEqual({ status: o.status, body: o.body });
    }
    // The tree is whole: the integrity check passes over the deleted units (their manifests stay).
    expect((await checkIntegrity(env as unknown as Env, null, { at: 0, sliceLeaves: 8192 })).failure).toBeNull();

    // 2999: everything cold is past the cutoff. The units, all deleted, merge into deleted pages up to level 13.
    const in2999 = new Date('2999-01-01T00:00:00.000Z');
    const later = await retainAll(RETAIN, in2999);
    expect(later).toMatchObject({ unsealed: 0, segments: 1 });
    const merged = await sealAll(RETAIN, in2999);
    expect(merged.length).toBeGreaterThanOrEqual(2);
    expect(merged.every((p) => p.children > 0)).toBe(true);
    expect(merged[merged.length - 1]).toMatchObject({ firstLeaf: 0, lastLeaf: 8191, level: 13, children: 2, deletedChildren: 2, eventCount: 0 });
    for (const p of merged) expect(p).toMatchObject({ children: 2, deletedChildren: 2, eventCount: 0, deletedAt: expect.any(String) });
    const [deleted] = await unitRows(TOP.first, TOP.last);
    expect(await unitRows(TOP.first, TOP.last)).toHaveLength(1);
    expect(deleted).toMatchObject({ level: 13, children: 2, deletedChildren: 2, deletedAt: expect.any(String) });
    expect(await count('SELECT COUNT(*) AS n FROM audit_archive_segment_counts WHERE first_leaf BETWEEN ?1 AND ?2', TOP.first, TOP.last)).toBe(0);
    const nodes = await env.DB.prepare('SELECT level, idx FROM audit_log_nodes WHERE (idx << level) BETWEEN ?1 AND ?2 AND level <= ?3 ORDER BY level, idx')
      .bind(TOP.first, TOP.last, TOP.level)
      .all<{ level: number; idx: number }>();
    expect(nodes.results).toEqual([{ level: 13, idx: 0 }]);
    // A deleted page is never unsealed nor listed; only the hot events remain.
    expect(await retainAll(RETAIN, in2999)).toEqual({ unsealed: 0, segments: 0, chunks: 0, events: 0 });
    const hot = new Set(ids.slice(N - HOT));
    const group = await listed(`${G}?per_page=100`, ownerToken);
    expect(Number(group[0].headers[0])).toBe(HOT);
    expect(group.flatMap((p) => p.body)).toEqual(before.offset[0].flatMap((p) => p.body).filter((e) => hot.has(e.id)));
    expect((await keysetWalk(`${G}?per_page=100&sort=asc`, ownerToken, 400)).events).toEqual(before.keyset[0].events.filter((e) => hot.has(e.id)).reverse());
    expect(Number((await listed(`/api/v4/audit_events?per_page=100&created_after=1959-12-01T00:00:00.000Z&created_before=1960-06-01T00:00:00.000Z`, ADMIN))[0].headers[0])).toBe(HOT);
    for (const id of [chunksBefore[0].firstId, idAt(100), idAt(2048), idAt(5000), idAt(8191)]) {
      expect((await api('GET', `/api/v4/audit_events/${id}`, { token: ADMIN })).status, `event ${id}`).toBe(404);
    }
    // The log is whole: proofs (through the deleted pages' indexes where they reach inside them) and the integrity check hold.
    expect(await getOk(`/api/v4/audit_events/consistency_proof?first=${4096 + 5}&second=${checkpoint.size}`)).toEqual(before.consistency[0]);
    const now = await checkpointNow();
    const cons = await getOk(`/api/v4/audit_events/consistency_proof?first=${checkpoint.size}&second=${now.size}`);
    expect(await verifyConsistency(checkpoint.size, now.size, checkpoint.root, now.root, bytesOf(cons.hashes))).toBe(true);
    const fromMid = await getOk(`/api/v4/audit_events/consistency_proof?first=${mid.size}&second=${now.size}`);
    expect(await verifyConsistency(mid.size, now.size, mid.root, now.root, bytesOf(fromMid.hashes))).toBe(true);
    for (const id of [ids[N - 1], ids[N - HOT]]) {
      const p = await getOk(`/api/v4/audit_events/${id}/inclusion_proof?tree_size=${now.size}`);
      expect(await verifyInclusion(p.leaf_index, now.size, fromBase64(p.leaf_hash)!, bytesOf(p.hashes), now.root)).toBe(true);
    }
    expect((await checkIntegrity(env as unknown as Env, null, { at: 0, sliceLeaves: 8192 })).failure).toBeNull();
  });
});
