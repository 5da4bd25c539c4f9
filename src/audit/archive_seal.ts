/**
 * Sealing segments of the cold archive (issue 19: D1 bounded by the hot window plus a constant;
 * format and readers in archive_segments.ts, SQL in src/db/audit_archive_segments.ts). A segment
 * is the aligned range of segmentChunks() × CHUNK_LEAVES leaves (2^20 in production); once every
 * leaf of the next unsealed segment is cold, the cron (after the move) seals it, crash-safe at
 * every step:
 * 1. read its chunk rows, their count rows and its level-BLOCK_LEVEL nodes from D1 (one batch);
 * 2. write its index object to R2 (the same rows always give the same bytes under the same key),
 *    R2 checking the put against the SHA-256 computed here;
 * 3. read the index back (afresh) and check it: SHA-256, ranges, and its block nodes giving the
 *    segment's stored level-`level` node;
 * 4. ONE D1 transaction: the segment row (migration 0022's trigger fails it unless the chunk rows
 *    are still those of the index), its counts summed (at most SEGMENT_COUNT_ROWS rows: coarser
 *    when its events have more combinations, the index keeping each chunk's exact counts), the deletes of its chunk rows, count rows
 *    and nodes of levels BLOCK_LEVEL to level-1, and `audit_archive_segment_sealed` naming the
 *    object and its SHA-256.
 * A crash before 4 leaves D1 unchanged (the next run writes the index again: same key, same bytes
 * unless retention changed a chunk meanwhile); after 4 the segment is sealed. A second sealer
 * fails on the segment row's key, a retention run that deleted a chunk meanwhile on the trigger:
 * either way nothing is recorded twice and the next run starts over.
 *
 * Retention (archive_retention.ts) deletes a chunk's events object BEFORE its D1 transaction, so a
 * segment is not sealed while one of its live chunks is due for retention (or will be within
 * SEAL_RETENTION_MARGIN_MS): retention finishes those chunks first, and its transaction refuses
 * chunks that were sealed since it read them.
 */
import type { Env } from '../env';
import { coldBoundary } from '../db/audit_archive';
import { lastSealedLeaf, segmentContents, sealSegmentStatements, type ArchiveSegment, type ChunkCountOf } from '../db/audit_archive_segments';
import { isKeyConflict } from '../db/audit_log_tree';
import { ARCHIVE_FORMAT, BLOCK_LEVEL, CHUNK_LEAVES, segmentObjectKey, sha256Hex } from './archive_format';
import { segmentChunks } from './archive_config';
import { recordArchiveEvent } from './archive_move';
import { sealNextPage } from './archive_pages';
import { coarseness, encodeSegmentIndex, indexCountTuples, readSegmentIndex, SEGMENT_COUNT_ROWS } from './archive_segments';
import { retentionCutoff, retentionDays } from './retention';

/** Segments sealed per cron run at most. */
export const MAX_SEGMENTS = 2;
/** A segment is not sealed while one of its live chunks is past retention's cutoff this long from now. */
export const SEAL_RETENTION_MARGIN_MS = 3_600_000;

/** Whether a transaction failed because the segment's chunk rows changed since they were read (migration 0022). */
function isChangedWhileSealing(err: unknown): boolean {
  return err instanceof Error && /changed while sealing/.test(err.message);
}

/** The leaves of the next segment to seal: the first whole segment after the last sealed one. */
export async function nextSegment(env: Pick<Env, 'DB' | 'AUDIT_ARCHIVE_SEGMENT_CHUNKS'>): Promise<{ first: number; last: number; level: number }> {
  const chunks = segmentChunks(env);
  const level = BLOCK_LEVEL + Math.log2(chunks);
  const size = chunks * CHUNK_LEAVES;
  const first = Math.ceil(((await lastSealedLeaf(env.DB)) + 1) / size) * size;
  return { first, last: first + size - 1, level };
}

/**
 * Seal the next segment if every leaf of it is cold. Returns the segment sealed, or null when
 * there is none to seal yet (or another run sealed it, or retention changed it, first).
 */
export async function sealNextSegment(
  env: Env,
  ctx: Pick<ExecutionContext, 'waitUntil'> | null,
  now = new Date(),
  options: { maxCountRows?: number } = {},
): Promise<ArchiveSegment | null> {
  const { first, last, level } = await nextSegment(env);
  if ((await coldBoundary(env.DB)).lastLeaf < last) return null;
  const { chunks, counts, blockNodes } = await segmentContents(env.DB, first, last, BLOCK_LEVEL);
  const covered = chunks.length > 0 && chunks[0].firstLeaf === first && chunks[chunks.length - 1].lastLeaf === last && chunks.every((c, i) => i === 0 || c.firstLeaf === chunks[i - 1].lastLeaf + 1);
  if (!covered || blockNodes.length !== (last - first + 1) / CHUNK_LEAVES) {
    throw new Error(`archive: the chunk rows and level-${BLOCK_LEVEL} nodes of leaves ${first} to ${last} do not cover them`);
  }
  const days = retentionDays(env) ?? 0;
  if (days > 0) {
    const cutoff = retentionCutoff(days, new Date(now.getTime() + SEAL_RETENTION_MARGIN_MS));
    if (chunks.some((c) => c.deletedAt === null && c.lastAt !== null && c.lastAt < cutoff)) return null;
  }
  const live = chunks.filter((c) => c.deletedAt === null);
  const times = live.flatMap((c) => (c.firstAt === null ? [] : [c.firstAt, c.lastAt!])).sort();
  const objectKey = segmentObjectKey(chunks[0].firstId, chunks[chunks.length - 1].lastId);
  const bytes = await encodeSegmentIndex({
    format: ARCHIVE_FORMAT,
    first_leaf: first,
    last_leaf: last,
    level,
    first_id: chunks[0].firstId,
    last_id: chunks[chunks.length - 1].lastId,
    chunks,
    counts: indexCountTuples(counts),
    block_nodes: blockNodes.map((n) => n.hash),
  });
  const objectSha256 = await sha256Hex(bytes);
  await env.AUDIT_ARCHIVE.put(objectKey, bytes, { sha256: objectSha256, httpMetadata: { contentType: 'application/gzip' } });
  const segment: ArchiveSegment = {
    firstLeaf: first,
    lastLeaf: last,
    level,
    firstId: chunks[0].firstId,
    lastId: chunks[chunks.length - 1].lastId,
    firstAt: times[0] ?? null,
    lastAt: times[times.length - 1] ?? null,
    eventCount: live.reduce((n, c) => n + c.eventCount, 0),
    chunks: chunks.length,
    deletedChunks: chunks.length - live.length,
    coarse: coarseness(counts, options.maxCountRows ?? SEGMENT_COUNT_ROWS),
    objectKey,
    objectBytes: bytes.byteLength,
    objectSha256,
    sealedAt: now.toISOString(),
    deletedAt: null,
    children: 0,
    deletedChildren: 0,
  };
  // Verify what the bucket now holds before anything leaves D1 (the reader checks the digest, the ranges and the tree).
  await readSegmentIndex(env, segment, true);

  try {
    await recordArchiveEvent(
      env,
      ctx,
      'audit_archive_segment_sealed',
      {
        custom_message: `Sealed archive segment of leaves ${first} to ${last} (ids ${segment.firstId} to ${segment.lastId}, ${chunks.length} chunks) into one index object`,
        first_leaf: first,
        last_leaf: last,
        level,
        first_id: segment.firstId,
        last_id: segment.lastId,
        chunks: chunks.length,
        events: segment.eventCount,
        coarse_counts: segment.coarse,
        object_key: objectKey,
        object_sha256: objectSha256,
      },
      sealSegmentStatements(env.DB, segment, BLOCK_LEVEL),
    );
  } catch (err) {
    if (isKeyConflict(err) || isChangedWhileSealing(err)) return null;
    throw err;
  }
  return segment;
}

/**
 * Seal what is due, up to MAX_SEGMENTS segments, then up to as many pages (archive_pages.ts); the
 * units sealed, segments first. D1 and R2 errors propagate.
 */
export async function runArchiveSeal(env: Env, ctx: Pick<ExecutionContext, 'waitUntil'> | null, now = new Date(), maxSegments = MAX_SEGMENTS): Promise<ArchiveSegment[]> {
  const sealed: ArchiveSegment[] = [];
  while (sealed.length < maxSegments) {
    const s = await sealNextSegment(env, ctx, now);
    if (!s) break;
    sealed.push(s);
  }
  for (let pages = 0; pages < maxSegments; pages++) {
    const p = await sealNextPage(env, ctx, now);
    if (!p) break;
    sealed.push(p);
  }
  return sealed;
}
