/**
 * Sealed segments of the cold archive (issue 19; sealing is archive_seal.ts, SQL in
 * src/db/audit_archive_segments.ts). A sealed segment's chunk rows, their count rows and its
 * tree nodes of levels BLOCK_LEVEL to level-1 are no longer in D1 but in ONE index object:
 * `segments/<first_id>-<last_id>.json.gz`, gzip of JSON holding the chunk rows (camelCase, as
 * ArchiveChunk), every chunk's count rows, and the level-BLOCK_LEVEL node of each of its blocks
 * (the levels above are recomputed from them: 2^(level-10) - 1 hashes).
 *
 * Every reader of the archive goes through the functions here, which give the chunks of sealed
 * segments beside the chunk rows D1 still has, so a sealed segment reads as its chunks did:
 * chunksForLeaves, chunkContainingId, chunksForIds, and addSegmentNodes for the tree. An index is
 * checked when read: its bytes against the SHA-256 of its segment row, its ranges against the
 * row, and the root recomputed from its block nodes against the segment's level-`level` node,
 * which D1 keeps. Parsed indexes are kept in a small per-isolate LRU (objects are immutable).
 *
 * A page (archive_pages.ts, migration 0023: a row with `children` > 0) is read the same way, one
 * level up: its index holds its units' rows, their count rows and their top nodes, checked against
 * the page's node; each unit it gives carries its top node (`top`) from the checked index, against
 * which the unit's own index is checked in turn. The functions here descend through pages to the
 * segments of chunks.
 */
import type { Env } from '../env';
import { chunksForLeaves as chunkRowsForLeaves, chunkContainingId as chunkRowContainingId, type ArchiveChunk, type ChunkCount } from '../db/audit_archive';
import { chunksForIds as chunkRowsForIds } from '../db/audit_archive_read';
import { segmentsForIds, segmentsForLeaves, type ArchiveSegment, type ChunkCountOf } from '../db/audit_archive_segments';
import { nodeKey, storedHashes, type NodeKey } from '../db/audit_log_tree';
import { equalBytes, fromBase64, nodeHash, type Bytes } from '../tlog/hash';
import { ARCHIVE_FORMAT, BLOCK_LEVEL, gunzip, gzip, sha256Hex } from './archive_format';
import { ArchiveObjectError, cached, Lru } from './archive_objects';

type Store = Pick<Env, 'DB' | 'AUDIT_ARCHIVE'>;

/** A count row of the index: [chunk's first leaf, root_namespace_id, scope_path, project_id, event_type, author_id, entity_type, entity_id, n]. */
type CountTuple = [number, number | null, string | null, number | null, string, number, string, number, number];

/**
 * The index object of a page (migration 0023, archive_pages.ts), as stored: its units' rows
 * (camelCase, as ArchiveSegment), their count rows (the first leaf being the unit's, summed as the
 * unit's `coarse` says) and their top nodes (level child_level), from which the levels up to the
 * page's are recomputed.
 */
export interface PageIndexObject {
  format: typeof ARCHIVE_FORMAT;
  kind: 'page';
  first_leaf: number;
  last_leaf: number;
  level: number;
  child_level: number;
  first_id: number;
  last_id: number;
  children: ArchiveSegment[];
  counts: CountTuple[];
  block_nodes: string[];
}

/**
 * Most count rows a sealed segment keeps in D1 (migration 0022's `coarse`): summed per full
 * combination while they are at most this many, else per scope and event type, else one row.
 */
export const SEGMENT_COUNT_ROWS = 1024;

/** How coarse a segment's count rows must be to stay within `max` rows (see SEGMENT_COUNT_ROWS). */
export function coarseness(counts: readonly ChunkCount[], max: number): 0 | 1 | 2 {
  const distinct = (key: (c: ChunkCount) => unknown[]) => new Set(counts.map((c) => JSON.stringify(key(c)))).size;
  if (distinct((c) => [c.rootNamespaceId, c.scopePath, c.projectId, c.eventType, c.authorId, c.entityType, c.entityId]) <= max) return 0;
  if (distinct((c) => [c.rootNamespaceId, c.scopePath, c.projectId, c.eventType]) <= max) return 1;
  return 2;
}

/** The index object of a segment, as stored. */
export interface SegmentIndexObject {
  format: typeof ARCHIVE_FORMAT;
  first_leaf: number;
  last_leaf: number;
  level: number;
  first_id: number;
  last_id: number;
  chunks: ArchiveChunk[];
  counts: CountTuple[];
  /** Base64 of node (BLOCK_LEVEL, first_leaf / 2^BLOCK_LEVEL + i), for each block i. */
  block_nodes: string[];
}

/** A parsed and checked index (of a segment of chunks, or of a page of units). */
export interface SegmentIndex {
  segment: ArchiveSegment;
  /** A segment's chunks in leaf order (deleted when retention deleted them, or the whole segment); none for a page. */
  chunks: ArchiveChunk[];
  /** A page's units in leaf order, each with its top node (`top`); none for a segment. */
  children: ArchiveSegment[];
  /** Each chunk's (or unit's) count rows, by its first leaf. */
  counts: Map<number, ChunkCount[]>;
  /** The level of its blocks: BLOCK_LEVEL for a segment, its units' level for a page. */
  blockLevel: number;
  /** levels[l - blockLevel][i]: node (l, first_leaf / 2^l + i), for l from blockLevel to level. */
  levels: Bytes[][];
}

/** The stored bytes of an index (the same contents always give the same bytes). */
export async function encodeSegmentIndex(index: SegmentIndexObject | PageIndexObject): Promise<Uint8Array> {
  return gzip(new TextEncoder().encode(JSON.stringify(index)));
}

/** The count tuples of an index from count rows. */
export function indexCountTuples(counts: readonly ChunkCountOf[]): CountTuple[] {
  return counts.map((c) => [c.firstLeaf, c.rootNamespaceId, c.scopePath, c.projectId, c.eventType, c.authorId, c.entityType, c.entityId, c.n]);
}

/** Levels BLOCK_LEVEL..level of a segment from its block nodes (a power of two of them). */
async function segmentLevels(blockNodes: Bytes[]): Promise<Bytes[][]> {
  const levels = [blockNodes];
  while (levels[levels.length - 1].length > 1) {
    const below = levels[levels.length - 1];
    const row: Bytes[] = [];
    for (let i = 0; i + 1 < below.length; i += 2) row.push(await nodeHash(below[i], below[i + 1]));
    levels.push(row);
  }
  return levels;
}

/** Parse and check an index's bytes against its segment (see the module comment). */
async function parseIndex(store: Store, segment: ArchiveSegment, bytes: Uint8Array): Promise<SegmentIndex> {
  const where = `archive segment index ${segment.objectKey}`;
  if ((await sha256Hex(bytes)) !== segment.objectSha256) throw new ArchiveObjectError(`${where} does not match its recorded SHA-256`);
  const parsed = JSON.parse(new TextDecoder().decode(await gunzip(bytes))) as SegmentIndexObject | PageIndexObject;
  if (segment.children > 0) {
    if (!('kind' in parsed) || parsed.kind !== 'page') throw new ArchiveObjectError(`${where} is not the index of a page`);
    return parsePageIndex(store, segment, parsed, where);
  }
  if ('kind' in parsed) throw new ArchiveObjectError(`${where} is not the index of a segment of chunks`);
  const o = parsed;
  const blocks = 2 ** (segment.level - BLOCK_LEVEL);
  if (
    o.format !== ARCHIVE_FORMAT ||
    o.first_leaf !== segment.firstLeaf ||
    o.last_leaf !== segment.lastLeaf ||
    o.level !== segment.level ||
    o.first_id !== segment.firstId ||
    o.last_id !== segment.lastId ||
    !Array.isArray(o.block_nodes) ||
    o.block_nodes.length !== blocks ||
    o.chunks.length !== segment.chunks ||
    o.chunks.some((c, i) => c.firstLeaf !== (i === 0 ? segment.firstLeaf : o.chunks[i - 1].lastLeaf + 1)) ||
    o.chunks[o.chunks.length - 1].lastLeaf !== segment.lastLeaf
  ) {
    throw new ArchiveObjectError(`${where} does not describe its segment (leaves ${segment.firstLeaf} to ${segment.lastLeaf})`);
  }
  const levels = await checkedLevels(store, segment, o.block_nodes, where);
  const chunks = o.chunks.map((c) => ({ ...c, deletedAt: c.deletedAt ?? segment.deletedAt }));
  return { segment, chunks, children: [], counts: countsByFirstLeaf(o.chunks, o.counts), blockLevel: BLOCK_LEVEL, levels };
}

/** A page's index checked against its row: ranges, its units tiling it at one level, and its tree. */
async function parsePageIndex(store: Store, page: ArchiveSegment, o: PageIndexObject, where: string): Promise<SegmentIndex> {
  const childLevel = o.child_level;
  if (
    o.format !== ARCHIVE_FORMAT ||
    o.first_leaf !== page.firstLeaf ||
    o.last_leaf !== page.lastLeaf ||
    o.level !== page.level ||
    o.first_id !== page.firstId ||
    o.last_id !== page.lastId ||
    !Number.isInteger(childLevel) ||
    childLevel < BLOCK_LEVEL ||
    childLevel >= page.level ||
    !Array.isArray(o.children) ||
    o.children.length !== page.children ||
    o.children.length !== 2 ** (page.level - childLevel) ||
    !Array.isArray(o.block_nodes) ||
    o.block_nodes.length !== o.children.length ||
    o.children.some((c, i) => c.level !== childLevel || c.firstLeaf !== page.firstLeaf + i * 2 ** childLevel || c.lastLeaf !== c.firstLeaf + 2 ** childLevel - 1) ||
    o.children[0].firstId !== page.firstId ||
    o.children[o.children.length - 1].lastId !== page.lastId
  ) {
    throw new ArchiveObjectError(`${where} does not describe its page (leaves ${page.firstLeaf} to ${page.lastLeaf})`);
  }
  const levels = await checkedLevels(store, page, o.block_nodes, where);
  const children = o.children.map((c, i) => ({ ...c, deletedAt: c.deletedAt ?? page.deletedAt, top: o.block_nodes[i] }));
  return { segment: page, chunks: [], children, counts: countsByFirstLeaf(o.children, o.counts), blockLevel: childLevel, levels };
}

/** The levels from an index's block nodes, checked to give the unit's top node (its page's, or the one D1 keeps). */
async function checkedLevels(store: Store, unit: ArchiveSegment, blockNodes: string[], where: string): Promise<Bytes[][]> {
  const nodes = blockNodes.map((text, i) => {
    const b = fromBase64(text);
    if (!b || b.length !== 32) throw new ArchiveObjectError(`${where}: block node ${i} is not a SHA-256 hash`);
    return b;
  });
  const levels = await segmentLevels(nodes);
  const idx = unit.firstLeaf / 2 ** unit.level;
  const expected = fromBase64(unit.top ?? (await storedHashes(store.DB, [[unit.level, idx]])).get(nodeKey(unit.level, idx)) ?? '');
  if (!expected || !equalBytes(expected, levels[levels.length - 1][0])) {
    throw new ArchiveObjectError(`${where}: its block nodes do not give the ${unit.top ? "page's" : 'stored'} level-${unit.level} node`);
  }
  return levels;
}

function countsByFirstLeaf(parts: readonly { firstLeaf: number }[], tuples: readonly CountTuple[]): Map<number, ChunkCount[]> {
  const counts = new Map<number, ChunkCount[]>(parts.map((c) => [c.firstLeaf, []]));
  for (const [firstLeaf, rootNamespaceId, scopePath, projectId, eventType, authorId, entityType, entityId, n] of tuples) {
    counts.get(firstLeaf)?.push({ rootNamespaceId, scopePath, projectId, eventType, authorId, entityType, entityId, n });
  }
  return counts;
}

/** Parsed indexes kept per isolate: a lookup through pages reads one index per level (a page, its unit, a segment), so a few lookups' worth. */
export const CACHED_INDEXES = 8;
const indexes = new Lru<SegmentIndex>(CACHED_INDEXES);

/**
 * A segment's index, read, checked and parsed (see the module comment). `fresh`: read the bucket
 * even when cached (sealing and the integrity check verify what the bucket holds now). Cached as
 * archive_objects.ts caches chunks (finished reads only).
 */
export function readSegmentIndex(store: Store, segment: ArchiveSegment, fresh = false): Promise<SegmentIndex> {
  // The row's deleted_at is part of the key: chunks read as deleted once retention deleted the segment.
  const key = `${segment.objectKey}#${segment.objectSha256}#${segment.deletedAt ?? ''}#${segment.top ?? ''}`;
  return cached(
    indexes,
    key,
    async () => {
      const object = await store.AUDIT_ARCHIVE.get(segment.objectKey);
      if (!object) throw new ArchiveObjectError(`archive segment index ${segment.objectKey} is missing`);
      return parseIndex(store, segment, new Uint8Array(await object.arrayBuffer()));
    },
    fresh,
  );
}

/**
 * The chunks (chunk rows and chunks of sealed segments) holding any leaf from `from` to `to`
 * (inclusive), in leaf order. `fresh`: read the indexes afresh (the integrity check).
 */
export async function chunksForLeaves(store: Store, from: number, to: number, fresh = false): Promise<ArchiveChunk[]> {
  const [rows, units] = await Promise.all([chunkRowsForLeaves(store.DB, from, to), segmentsForLeaves(store.DB, from, to)]);
  const segments = await segmentsOfChunks(store, units, from, to, fresh);
  const sealed = (await Promise.all(segments.map((s) => readSegmentIndex(store, s, fresh)))).flatMap((i) => i.chunks);
  return [...rows, ...sealed.filter((c) => c.lastLeaf >= from && c.firstLeaf <= to)].sort((a, b) => a.firstLeaf - b.firstLeaf);
}

/**
 * The segments of chunks inside these units (segments, or pages read through their indexes, down
 * to their segments) that hold any leaf from `from` to `to`, in leaf order.
 */
async function segmentsOfChunks(store: Store, units: readonly ArchiveSegment[], from: number, to: number, fresh = false): Promise<ArchiveSegment[]> {
  const out: ArchiveSegment[] = [];
  for (const unit of units) {
    if (unit.lastLeaf < from || unit.firstLeaf > to) continue;
    if (unit.children === 0) out.push(unit);
    else out.push(...(await segmentsOfChunks(store, (await readSegmentIndex(store, unit, fresh)).children, from, to, fresh)));
  }
  return out;
}

/** The segment of chunks inside this unit whose id range holds `id` (through pages' indexes), or null. */
async function segmentContainingId(store: Store, unit: ArchiveSegment, id: number): Promise<ArchiveSegment | null> {
  let at: ArchiveSegment | undefined = unit;
  while (at && at.children > 0) {
    const children: ArchiveSegment[] = (await readSegmentIndex(store, at)).children;
    at = children.find((c) => c.firstId <= id && id <= c.lastId);
  }
  return at ?? null;
}

/** The chunk whose id range holds this event id (a chunk row or in a sealed segment); null when it is hot or was never moved. */
export async function chunkContainingId(store: Store, id: number): Promise<ArchiveChunk | null> {
  const row = await chunkRowContainingId(store.DB, id);
  if (row) return row;
  const [found] = await segmentsForIds(store.DB, [id]);
  const segment = found && (await segmentContainingId(store, found.segment, id));
  if (!segment) return null;
  return (await readSegmentIndex(store, segment)).chunks.find((c) => c.firstId <= id && id <= c.lastId) ?? null;
}

/** The chunks holding these event ids (not deleted by retention), each with the ids it holds: chunk rows in one query, sealed segments through their indexes. */
export async function chunksForIds(store: Store, ids: readonly number[]): Promise<{ chunk: ArchiveChunk; ids: number[] }[]> {
  const found = await chunkRowsForIds(store.DB, ids);
  const seen = new Set(found.flatMap((f) => f.ids));
  const rest = ids.filter((id) => !seen.has(id));
  for (const { segment: unit, ids: inUnit } of await segmentsForIds(store.DB, rest)) {
    const byChunk = new Map<ArchiveChunk, number[]>();
    for (const id of inUnit) {
      const segment = await segmentContainingId(store, unit, id);
      const chunk = segment && (await readSegmentIndex(store, segment)).chunks.find((c) => c.firstId <= id && id <= c.lastId);
      if (chunk && chunk.deletedAt === null) byChunk.set(chunk, [...(byChunk.get(chunk) ?? []), id]);
    }
    for (const [chunk, inChunk] of byChunk) found.push({ chunk, ids: inChunk });
  }
  return found;
}

/**
 * Add to `out` the hashes of these nodes (levels BLOCK_LEVEL and up) that lie below the level of
 * a sealed segment, from its checked index (read afresh when `fresh`). Nodes in no sealed segment stay absent.
 */
export async function addSegmentNodes(store: Store, keys: readonly NodeKey[], out: Map<string, Bytes>, fresh = false): Promise<void> {
  const wanted = keys.filter(([level]) => level >= BLOCK_LEVEL);
  if (wanted.length === 0) return;
  const leaves = wanted.map(([level, idx]) => idx * 2 ** level);
  for (const unit of await segmentsForLeaves(store.DB, Math.min(...leaves), Math.max(...leaves))) await addUnitNodes(store, unit, wanted, out, fresh);
}

/** addSegmentNodes within one unit: from its index down to its blocks' level, from its units' indexes below that. */
async function addUnitNodes(store: Store, unit: ArchiveSegment, keys: readonly NodeKey[], out: Map<string, Bytes>, fresh: boolean): Promise<void> {
  const inside = keys.filter(([level, idx]) => level < unit.level && idx * 2 ** level >= unit.firstLeaf && idx * 2 ** level <= unit.lastLeaf);
  if (inside.length === 0) return;
  const index = await readSegmentIndex(store, unit, fresh);
  const below: NodeKey[] = [];
  for (const [level, idx] of inside) {
    if (level >= index.blockLevel) out.set(nodeKey(level, idx), index.levels[level - index.blockLevel][idx - unit.firstLeaf / 2 ** level]);
    else below.push([level, idx]);
  }
  for (const child of index.children) await addUnitNodes(store, child, below, out, fresh);
}
