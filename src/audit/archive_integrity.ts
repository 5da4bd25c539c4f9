/**
 * The integrity check over moved leaves (issue 19; the check itself is integrity.ts). Rows the
 * move deleted from D1 are not failures; the archive is verified instead:
 * - every chunk's events object and manifest against the SHA-256 its D1 row recorded (the
 *   readers of archive_objects.ts), the manifest's ranges and events object digest against the
 *   row, and the chunks covering the moved leaves without gap or overlap;
 * - every line's leaf index and hash against the manifest, and each event's leaf hash
 *   recomputed from the event (with the line's leaf version) against the manifest's;
 * - each complete block's root, recomputed from the manifests' leaf hashes, against the block's
 *   level-BLOCK_LEVEL node D1 keeps (or, in a sealed segment, its index holds: archive_segments.ts
 *   checks the index against the segment's node D1 keeps); leaves of a partly moved block that D1 still holds against
 *   the manifest; no event left in D1 inside a moved chunk's id range;
 * - the placement of moved events against their entities, as for stored events.
 * The rebuilt leaf hashes then go through the same tree and checkpoint comparisons as stored ones.
 */
import type { ArchiveChunk } from '../db/audit_archive';
import { toAuditEvent } from '../db/audit_events';
import { eventIdsBetween, leafSlice, nodeKey } from '../db/audit_log_tree';
import { equalBytes, fromBase64, type Bytes } from '../tlog/hash';
import { rootHash } from '../tlog/tree';
import { BLOCK_LEVEL, CHUNK_LEAVES, isEventLine } from './archive_format';
import { ArchiveObjectError, readChunkLines, readChunkManifest } from './archive_objects';
import { blockRoots, hashBytes, type TreeStore } from './archive_tree';
import { chunksForLeaves } from './archive_segments';
import { eventLeafHash } from './log_builder';
import { misplacedEvent } from './placement';
import type { AuditEvent } from './record';

/** What re-hashing moved leaves gave: their hashes in leaf order (as far as they were checked), and the first problem. */
export interface ColdRehash {
  hashes: Bytes[];
  problem: string | null;
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Check one chunk and append the hashes of its leaves within [from, to) (and their events); the problem, or null. */
async function checkChunk(store: TreeStore, c: ArchiveChunk, from: number, to: number, hashes: Bytes[], events: AuditEvent[]): Promise<string | null> {
  const m = await readChunkManifest(store.AUDIT_ARCHIVE, c, true);
  const size = c.lastLeaf - c.firstLeaf + 1;
  if (m.first_leaf !== c.firstLeaf || m.last_leaf !== c.lastLeaf || m.first_id !== c.firstId || m.last_id !== c.lastId || m.leaf_hashes.length !== size || m.object.sha256 !== c.objectSha256) {
    return `archive manifest ${c.manifestKey} does not describe its chunk (leaves ${c.firstLeaf} to ${c.lastLeaf})`;
  }
  const expected = hashBytes(m.leaf_hashes, `archive manifest ${c.manifestKey}`);
  const lines = c.deletedAt === null ? await readChunkLines(store.AUDIT_ARCHIVE, c, true) : null;
  if (lines && lines.length !== size) return `archive object ${c.objectKey} holds ${lines.length} lines for ${size} leaves`;
  for (let leaf = Math.max(from, c.firstLeaf); leaf <= Math.min(to - 1, c.lastLeaf); leaf++) {
    const j = leaf - c.firstLeaf;
    const line = lines?.[j];
    if (line) {
      if (line.leaf_index !== leaf || line.leaf_hash !== m.leaf_hashes[j] || line.id < c.firstId || line.id > c.lastId) {
        return `archive object ${c.objectKey}'s line for leaf ${leaf} does not match its manifest`;
      }
      if (isEventLine(line)) {
        const event = toAuditEvent(line);
        let hash: Bytes;
        try {
          hash = await eventLeafHash(event, line.leaf_version);
        } catch (err) {
          return `archived event ${line.id} (leaf ${leaf}) cannot be hashed: ${message(err)}`;
        }
        if (!equalBytes(hash, expected[j])) return `archived event ${line.id} (leaf ${leaf}) no longer matches its leaf hash`;
        events.push(event);
      }
    }
    hashes.push(expected[j]);
  }
  return null;
}

/** The D1 rows around moved leaves [from, to): complete blocks' level-10 nodes, leaves still kept, no event left behind. */
async function checkAgainstD1(store: TreeStore, chunks: ArchiveChunk[], from: number, to: number, hashes: Bytes[]): Promise<string | null> {
  const blocks: number[] = [];
  for (let b = Math.ceil(from / CHUNK_LEAVES); (b + 1) * CHUNK_LEAVES <= to; b++) blocks.push(b);
  const [roots, kept, left] = await Promise.all([
    blockRoots(store, blocks, true),
    leafSlice(store.DB, from, to),
    eventIdsBetween(store.DB, chunks[0].firstId, chunks[chunks.length - 1].lastId, 1),
  ]);
  for (const b of blocks) {
    const root = await rootHash(hashes.slice(b * CHUNK_LEAVES - from, (b + 1) * CHUNK_LEAVES - from));
    if (!equalBytes(root, roots.get(nodeKey(BLOCK_LEVEL, b)) ?? new Uint8Array())) {
      return `the archived leaves of moved block ${b} do not give its stored level-${BLOCK_LEVEL} node`;
    }
  }
  for (const { leaf } of kept.leaves) {
    if (!equalBytes(fromBase64(leaf.leafHash) ?? new Uint8Array(), hashes[leaf.leafIndex - from])) {
      return `leaf ${leaf.leafIndex} in D1 does not match the archive's manifest`;
    }
  }
  if (left.length > 0) return `event ${left[0]} is in D1 inside the id range of moved chunks (a row inserted)`;
  return null;
}

/** Re-hash moved leaves [from, to) (all at or below the cold boundary) from the archive and check them (see the module comment). */
export async function rehashColdLeaves(store: TreeStore, from: number, to: number): Promise<ColdRehash> {
  const hashes: Bytes[] = [];
  let chunks: ArchiveChunk[];
  try {
    chunks = await chunksForLeaves(store, from, to - 1, true);
  } catch (err) {
    // A sealed segment's or page's index that is missing or fails its checks is a finding, like a chunk's object.
    if (err instanceof ArchiveObjectError) return { hashes, problem: err.message };
    throw err;
  }
  const events: AuditEvent[] = [];
  const gap = chunks.findIndex((c, i) => (i === 0 ? c.firstLeaf > from : c.firstLeaf !== chunks[i - 1].lastLeaf + 1 || c.firstId <= chunks[i - 1].lastId));
  if (chunks.length === 0 || gap >= 0 || chunks[chunks.length - 1].lastLeaf < to - 1) {
    return { hashes, problem: `the archive's chunks do not cover moved leaves ${from} to ${to - 1}` };
  }
  try {
    for (const c of chunks) {
      const problem = await checkChunk(store, c, from, to, hashes, events);
      if (problem) return { hashes, problem };
    }
  } catch (err) {
    return { hashes, problem: message(err) };
  }
  const problem = (await checkAgainstD1(store, chunks, from, to, hashes)) ?? (await misplacedEvent(store.DB, events));
  return { hashes, problem };
}
