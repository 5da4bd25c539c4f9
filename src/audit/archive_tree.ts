/**
 * The verifiable log's tree over moved blocks (issue 19). When the move completes a block of
 * CHUNK_LEAVES leaves it deletes the block's leaves and its nodes below BLOCK_LEVEL from D1; the
 * block's leaf hashes stay in its chunks' manifests (kept even after retention deleted the events
 * objects) and its level-BLOCK_LEVEL node stays in D1. A hash a proof needs that D1 no longer
 * holds is recomputed here from its block's leaf hashes (RFC 9162 hashing), and the block's
 * recomputed root must equal its stored level-BLOCK_LEVEL node, so a manifest that does not give
 * back the tree is an error, never a wrong proof. The work is bounded by the blocks a request's
 * nodes lie in (each block: one D1 query for its chunks, its manifests through the per-isolate
 * cache of archive_objects.ts, 1,023 node hashes), each block computed once per request. Once
 * the block's segment is sealed, its chunks and its level-BLOCK_LEVEL node (and the nodes above,
 * below the segment's level) come from the segment's index (archive_segments.ts).
 */
import type { Env } from '../env';
import { nodeKey, storedHashes, type NodeKey } from '../db/audit_log_tree';
import { equalBytes, fromBase64, nodeHash, type Bytes } from '../tlog/hash';
import { BLOCK_LEVEL, CHUNK_LEAVES } from './archive_format';
import { ArchiveObjectError, readChunkManifest } from './archive_objects';
import { addSegmentNodes, chunksForLeaves } from './archive_segments';

/** Where the tree's hashes are: D1 (leaves and nodes) and the archive bucket (moved blocks' manifests). */
export type TreeStore = Pick<Env, 'DB' | 'AUDIT_ARCHIVE'>;

/** The block (of CHUNK_LEAVES leaves) holding node (level, idx), level below BLOCK_LEVEL. */
export function blockOf(level: number, idx: number): number {
  return Math.floor((idx * 2 ** level) / CHUNK_LEAVES);
}

/**
 * The leaf hashes (base64, in leaf order) of a wholly moved block from its chunks' manifests, each
 * manifest checked against its chunk row (SHA-256 by the reader; leaf range and count here). Null
 * when the block is not wholly moved (its leaves are then still in D1).
 */
export async function movedBlockLeafHashes(store: TreeStore, block: number): Promise<string[] | null> {
  const first = block * CHUNK_LEAVES;
  const last = first + CHUNK_LEAVES - 1;
  const chunks = await chunksForLeaves(store, first, last);
  if (chunks.length === 0 || chunks[0].firstLeaf !== first || chunks[chunks.length - 1].lastLeaf !== last) return null;
  const manifests = await Promise.all(chunks.map((c) => readChunkManifest(store.AUDIT_ARCHIVE, c)));
  const hashes: string[] = [];
  chunks.forEach((c, i) => {
    const m = manifests[i];
    if (c.firstLeaf !== first + hashes.length || m.first_leaf !== c.firstLeaf || m.last_leaf !== c.lastLeaf || m.leaf_hashes.length !== c.lastLeaf - c.firstLeaf + 1) {
      throw new ArchiveObjectError(`archive manifest ${c.manifestKey} does not cover leaves ${c.firstLeaf} to ${c.lastLeaf} of its chunk`);
    }
    hashes.push(...m.leaf_hashes);
  });
  return hashes;
}

/**
 * The level-BLOCK_LEVEL nodes of these blocks, by nodeKey: stored in D1 (one query), or for a
 * block of a sealed segment from the segment's checked index (read afresh when `fresh`). A node in neither is absent.
 */
export async function blockRoots(store: TreeStore, blocks: readonly number[], fresh = false): Promise<Map<string, Bytes>> {
  const keys = blocks.map((b) => [BLOCK_LEVEL, b] as const);
  const out = new Map<string, Bytes>();
  for (const [key, text] of await storedHashes(store.DB, keys)) {
    const bytes = fromBase64(text);
    if (bytes) out.set(key, bytes);
  }
  await addSegmentNodes(
    store,
    keys.filter(([level, idx]) => !out.has(nodeKey(level, idx))),
    out,
    fresh,
  );
  return out;
}

/** Every level of a block's subtree from its leaf hashes: levels[l][i] is node (l, block * 2^(BLOCK_LEVEL - l) + i); levels[BLOCK_LEVEL][0] is its root. */
export async function blockLevels(leafHashes: readonly Bytes[]): Promise<Bytes[][]> {
  const levels: Bytes[][] = [[...leafHashes]];
  for (let level = 1; level <= BLOCK_LEVEL; level++) {
    const below = levels[level - 1];
    const row: Bytes[] = [];
    for (let i = 0; i + 1 < below.length; i += 2) row.push(await nodeHash(below[i], below[i + 1]));
    levels.push(row);
  }
  return levels;
}

/** Base64 leaf hashes as bytes; throws on one that is not a SHA-256 hash. */
export function hashBytes(texts: readonly string[], where: string): Bytes[] {
  return texts.map((text, i) => {
    const bytes = fromBase64(text);
    if (!bytes || bytes.length !== 32) throw new ArchiveObjectError(`${where}: leaf hash ${i} is not a SHA-256 hash`);
    return bytes;
  });
}

/**
 * Add to `out` the hashes of the `missing` nodes (not stored in D1) that lie below BLOCK_LEVEL in
 * wholly moved blocks, recomputed from the blocks' manifests. Each block's recomputed root is
 * compared with its stored level-BLOCK_LEVEL node first (one D1 query for all of them): a
 * mismatch throws. Nodes in blocks that are not wholly moved stay absent.
 */
export async function addMovedNodes(store: TreeStore, missing: readonly NodeKey[], out: Map<string, Bytes>): Promise<void> {
  // Levels BLOCK_LEVEL and up inside a sealed segment: from its index (archive_segments.ts).
  await addSegmentNodes(store, missing, out);
  const blocks = [...new Set(missing.filter(([level]) => level < BLOCK_LEVEL).map(([level, idx]) => blockOf(level, idx)))];
  if (blocks.length === 0) return;
  const [roots, leafTexts] = await Promise.all([
    blockRoots(store, blocks),
    Promise.all(blocks.map((b) => movedBlockLeafHashes(store, b))),
  ]);
  for (let i = 0; i < blocks.length; i++) {
    const texts = leafTexts[i];
    if (!texts) continue;
    const block = blocks[i];
    const levels = await blockLevels(hashBytes(texts, `moved block ${block}`));
    const stored = roots.get(nodeKey(BLOCK_LEVEL, block));
    if (!stored || !equalBytes(stored, levels[BLOCK_LEVEL][0])) {
      throw new ArchiveObjectError(`the archived leaf hashes of moved block ${block} do not give its stored level-${BLOCK_LEVEL} node`);
    }
    for (const [level, idx] of missing) {
      if (level < BLOCK_LEVEL && blockOf(level, idx) === block) out.set(nodeKey(level, idx), levels[level][idx - block * 2 ** (BLOCK_LEVEL - level)]);
    }
  }
}
