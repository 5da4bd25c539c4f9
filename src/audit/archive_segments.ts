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
 */
import type { Env } from '../env';
import { chunksForLeaves as chunkRowsForLeaves, chunkContainingId as chunkRowContainingId, type ArchiveChunk, type ChunkCount } from '../db/audit_archive';
import { chunksForIds as chunkRowsForIds } from '../db/audit_archive_read';
import { segmentsForIds, segmentsForLeaves, type ArchiveSegment, type ChunkCountOf } from '../db/audit_archive_segments';
import { nodeKey, storedHashes, type NodeKey } from '../db/audit_log_tree';
import { equalBytes, fromBase64, nodeHash, type Bytes } from '../tlog/hash';
import { ARCHIVE_FORMAT, BLOCK_LEVEL, gunzip, gzip, sha256Hex } from './archive_format';
import { ArchiveObjectError } from './archive_objects';

type Store = Pick<Env, 'DB' | 'AUDIT_ARCHIVE'>;

/** A count row of the index: [chunk's first leaf, root_namespace_id, scope_path, project_id, event_type, author_id, entity_type, entity_id, n]. */
type CountTuple = [number, number | null, string | null, number | null, string, number, string, number, number];

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

/** A parsed and checked index. */
export interface SegmentIndex {
  segment: ArchiveSegment;
  /** Its chunks in leaf order (deleted when retention deleted them, or the whole segment). */
  chunks: ArchiveChunk[];
  /** Each chunk's count rows, by its first leaf. */
  counts: Map<number, ChunkCount[]>;
  /** levels[l - BLOCK_LEVEL][i]: node (l, first_leaf / 2^l + i), for l from BLOCK_LEVEL to level. */
  levels: Bytes[][];
}

const pad = (n: number): string => String(n).padStart(16, '0');

/** The index object's key of a segment. */
export function segmentObjectKey(firstId: number, lastId: number): string {
  return `segments/${pad(firstId)}-${pad(lastId)}.json.gz`;
}

/** The stored bytes of an index (the same contents always give the same bytes). */
export async function encodeSegmentIndex(index: SegmentIndexObject): Promise<Uint8Array> {
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
  const o = JSON.parse(new TextDecoder().decode(await gunzip(bytes))) as SegmentIndexObject;
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
  const nodes = o.block_nodes.map((text, i) => {
    const b = fromBase64(text);
    if (!b || b.length !== 32) throw new ArchiveObjectError(`${where}: block node ${i} is not a SHA-256 hash`);
    return b;
  });
  const levels = await segmentLevels(nodes);
  const top = nodeKey(segment.level, segment.firstLeaf / 2 ** segment.level);
  const stored = fromBase64((await storedHashes(store.DB, [[segment.level, segment.firstLeaf / 2 ** segment.level]])).get(top) ?? '');
  if (!stored || !equalBytes(stored, levels[levels.length - 1][0])) {
    throw new ArchiveObjectError(`${where}: its block nodes do not give the segment's stored level-${segment.level} node`);
  }
  const counts = new Map<number, ChunkCount[]>(o.chunks.map((c) => [c.firstLeaf, []]));
  for (const [firstLeaf, rootNamespaceId, scopePath, projectId, eventType, authorId, entityType, entityId, n] of o.counts) {
    counts.get(firstLeaf)?.push({ rootNamespaceId, scopePath, projectId, eventType, authorId, entityType, entityId, n });
  }
  const chunks = o.chunks.map((c) => ({ ...c, deletedAt: c.deletedAt ?? segment.deletedAt }));
  return { segment, chunks, counts, levels };
}

/** Parsed indexes kept per isolate (an index of a full segment: about 1,024 chunk rows and their counts). */
export const CACHED_INDEXES = 4;
const indexes = new Map<string, Promise<SegmentIndex>>();

/**
 * A segment's index, read, checked and parsed (see the module comment). `fresh`: read the bucket
 * even when cached (sealing and the integrity check verify what the bucket holds now).
 */
export function readSegmentIndex(store: Store, segment: ArchiveSegment, fresh = false): Promise<SegmentIndex> {
  // The row's deleted_at is part of the key: chunks read as deleted once retention deleted the segment.
  const key = `${segment.objectKey}#${segment.objectSha256}#${segment.deletedAt ?? ''}`;
  const hit = fresh ? undefined : indexes.get(key);
  if (hit) {
    indexes.delete(key);
    indexes.set(key, hit);
    return hit;
  }
  const p = (async () => {
    const object = await store.AUDIT_ARCHIVE.get(segment.objectKey);
    if (!object) throw new ArchiveObjectError(`archive segment index ${segment.objectKey} is missing`);
    return parseIndex(store, segment, new Uint8Array(await object.arrayBuffer()));
  })();
  indexes.delete(key);
  indexes.set(key, p);
  while (indexes.size > CACHED_INDEXES) indexes.delete(indexes.keys().next().value as string);
  // A failure is not kept: the next read tries the bucket again.
  p.catch(() => indexes.delete(key));
  return p;
}

/**
 * The chunks (chunk rows and chunks of sealed segments) holding any leaf from `from` to `to`
 * (inclusive), in leaf order. `fresh`: read the indexes afresh (the integrity check).
 */
export async function chunksForLeaves(store: Store, from: number, to: number, fresh = false): Promise<ArchiveChunk[]> {
  const [rows, segments] = await Promise.all([chunkRowsForLeaves(store.DB, from, to), segmentsForLeaves(store.DB, from, to)]);
  const sealed = (await Promise.all(segments.map((s) => readSegmentIndex(store, s, fresh)))).flatMap((i) => i.chunks);
  return [...rows, ...sealed.filter((c) => c.lastLeaf >= from && c.firstLeaf <= to)].sort((a, b) => a.firstLeaf - b.firstLeaf);
}

/** The chunk whose id range holds this event id (a chunk row or in a sealed segment); null when it is hot or was never moved. */
export async function chunkContainingId(store: Store, id: number): Promise<ArchiveChunk | null> {
  const row = await chunkRowContainingId(store.DB, id);
  if (row) return row;
  const [found] = await segmentsForIds(store.DB, [id]);
  if (!found) return null;
  return (await readSegmentIndex(store, found.segment)).chunks.find((c) => c.firstId <= id && id <= c.lastId) ?? null;
}

/** The chunks holding these event ids (not deleted by retention), each with the ids it holds: chunk rows in one query, sealed segments through their indexes. */
export async function chunksForIds(store: Store, ids: readonly number[]): Promise<{ chunk: ArchiveChunk; ids: number[] }[]> {
  const found = await chunkRowsForIds(store.DB, ids);
  const seen = new Set(found.flatMap((f) => f.ids));
  const rest = ids.filter((id) => !seen.has(id));
  for (const { segment, ids: inSegment } of await segmentsForIds(store.DB, rest)) {
    const index = await readSegmentIndex(store, segment);
    const byChunk = new Map<ArchiveChunk, number[]>();
    for (const id of inSegment) {
      const chunk = index.chunks.find((c) => c.firstId <= id && id <= c.lastId);
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
  const segments = await segmentsForLeaves(store.DB, Math.min(...leaves), Math.max(...leaves));
  for (const segment of segments) {
    const inside = wanted.filter(([level, idx]) => level < segment.level && idx * 2 ** level >= segment.firstLeaf && idx * 2 ** level <= segment.lastLeaf);
    if (inside.length === 0) continue;
    const index = await readSegmentIndex(store, segment, fresh);
    for (const [level, idx] of inside) out.set(nodeKey(level, idx), index.levels[level - BLOCK_LEVEL][idx - segment.firstLeaf / 2 ** level]);
  }
}
