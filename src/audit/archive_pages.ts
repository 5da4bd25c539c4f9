/**
 * Pages of the cold archive (issue 19: D1's cold residue bounded by a constant whatever the
 * history; migration 0023, SQL in src/db/audit_archive_segments.ts, index format and readers in
 * archive_segments.ts). A sealed segment (archive_seal.ts) still leaves one row, its summed count
 * rows and its top node in D1 per 2^20 events. Once pageSegments() (1,024) consecutive aligned
 * units of one level are sealed, they are merged into ONE page, 10 levels up (level 30, then 40,
 * 50), crash-safe as a segment is:
 * 1. read the units' rows, their count rows and their top nodes from D1;
 * 2. write the page's index object (`pages/<first_id>-<last_id>-L<level>.json.gz`) to R2;
 * 3. read it back afresh and check it: SHA-256, ranges, and the units' top nodes giving the
 *    page's level-`level` node, which D1 keeps;
 * 4. ONE D1 transaction (sealPageStatements): a guard row whose trigger fails unless the unit
 *    rows are still those of the index, the units' rows and count rows replaced by the page's row
 *    and its summed count rows (at most SEGMENT_COUNT_ROWS, coarser when needed), the nodes of
 *    levels child level to level-1 deleted, and `audit_archive_page_sealed` recorded.
 * So D1 holds at most 1,023 units per level; with leaves below 2^53 (JavaScript's exact integers)
 * there are four levels (20, 30, 40, 50): at most 4,092 unit rows, each with at most 1,024 count
 * rows, whatever the history.
 *
 * Retention: while AUDIT_RETENTION_DAYS is set, a page forms only from units retention has all
 * deleted, so retention keeps deleting one segment at a time. A live page formed while retention
 * was off is unsealed (unsealPage, the inverse transaction, recording
 * `audit_archive_page_unsealed`) once its oldest event is past the cutoff; its units then expire
 * one by one (a page of pages unseals level by level).
 */
import type { Env } from '../env';
import { highestUnitLevel, pageCandidate, pageContents, sealPageStatements, unsealPageStatements, type ArchiveSegment, type ChunkCountOf } from '../db/audit_archive_segments';
import { isKeyConflict } from '../db/audit_log_tree';
import { toBase64 } from '../tlog/hash';
import { ARCHIVE_FORMAT, BLOCK_LEVEL, pageObjectKey, sha256Hex } from './archive_format';
import { pageSegments, segmentChunks } from './archive_config';
import { recordArchiveEvent } from './archive_move';
import { coarseness, encodeSegmentIndex, indexCountTuples, readSegmentIndex, SEGMENT_COUNT_ROWS } from './archive_segments';
import { retentionDays } from './retention';

/** Highest level a page may have (leaves stay below 2^53). */
const MAX_LEVEL = 53;

/** Whether a transaction failed because the page's units changed since they were read (migration 0023). */
function isChangedWhile(err: unknown, what: 'sealing' | 'unsealing'): boolean {
  return err instanceof Error && err.message.includes(`page changed while ${what}`);
}

/** A page's count rows summed from its units' (as coarse as the coarsest unit, and within `max` rows). */
export function pageCounts(units: readonly ArchiveSegment[], counts: readonly ChunkCountOf[], firstLeaf: number, max: number): { coarse: 0 | 1 | 2; rows: ChunkCountOf[] } {
  const coarse = Math.max(coarseness(counts, max), ...units.map((u) => u.coarse)) as 0 | 1 | 2;
  const sums = new Map<string, ChunkCountOf>();
  for (const c of counts) {
    const row: ChunkCountOf =
      coarse === 0
        ? { ...c, firstLeaf, n: 0 }
        : coarse === 1
          ? { firstLeaf, rootNamespaceId: c.rootNamespaceId, scopePath: c.scopePath, projectId: c.projectId, eventType: c.eventType, authorId: 0, entityType: '', entityId: 0, n: 0 }
          : { firstLeaf, rootNamespaceId: null, scopePath: null, projectId: null, eventType: '', authorId: 0, entityType: '', entityId: 0, n: 0 };
    const key = JSON.stringify([row.rootNamespaceId, row.scopePath, row.projectId, row.eventType, row.authorId, row.entityType, row.entityId]);
    const sum = sums.get(key) ?? row;
    sum.n += c.n;
    sums.set(key, sum);
  }
  return { coarse, rows: [...sums.values()] };
}

/**
 * Seal the next due page, at the lowest level that has one: the oldest aligned range that units of
 * that level tile wholly (while retention is on, units it has all deleted). Returns the page
 * sealed, or null when none is due (or another run sealed it first).
 */
export async function sealNextPage(env: Env, ctx: Pick<ExecutionContext, 'waitUntil'> | null, now = new Date()): Promise<ArchiveSegment | null> {
  const step = Math.log2(pageSegments(env));
  const retention = (retentionDays(env) ?? 0) > 0;
  const highest = Math.min(await highestUnitLevel(env.DB), MAX_LEVEL - step);
  for (let childLevel = BLOCK_LEVEL + Math.log2(segmentChunks(env)); childLevel <= highest; childLevel += step) {
    const candidate = await pageCandidate(env.DB, childLevel, childLevel + step, retention);
    if (!candidate) continue;
    const { first, last, units } = candidate;
    if (units.length !== 2 ** step || units.some((u) => u.level !== childLevel)) continue;
    const deleted = units.filter((u) => u.deletedAt !== null);
    return sealPage(env, ctx, now, { first, last, level: childLevel + step, childLevel, units, deleted: deleted.length });
  }
  return null;
}

async function sealPage(
  env: Env,
  ctx: Pick<ExecutionContext, 'waitUntil'> | null,
  now: Date,
  p: { first: number; last: number; level: number; childLevel: number; units: ArchiveSegment[]; deleted: number },
): Promise<ArchiveSegment | null> {
  const { first, last, level, childLevel, units } = p;
  const { counts, topNodes } = await pageContents(env.DB, first, last, childLevel);
  if (topNodes.length !== units.length || topNodes.some((n, i) => n.idx !== first / 2 ** childLevel + i)) {
    throw new Error(`archive: the level-${childLevel} nodes of leaves ${first} to ${last} do not cover the page`);
  }
  const live = units.filter((u) => u.deletedAt === null);
  const times = live.flatMap((u) => (u.firstAt === null ? [] : [u.firstAt, u.lastAt!])).sort();
  const summed = pageCounts(units, counts, first, SEGMENT_COUNT_ROWS);
  const firstId = units[0].firstId;
  const lastId = units[units.length - 1].lastId;
  const objectKey = pageObjectKey(firstId, lastId, level);
  const bytes = await encodeSegmentIndex({
    format: ARCHIVE_FORMAT,
    kind: 'page',
    first_leaf: first,
    last_leaf: last,
    level,
    child_level: childLevel,
    first_id: firstId,
    last_id: lastId,
    children: units,
    counts: indexCountTuples(counts),
    block_nodes: topNodes.map((n) => n.hash),
  });
  const objectSha256 = await sha256Hex(bytes);
  await env.AUDIT_ARCHIVE.put(objectKey, bytes, { sha256: objectSha256, httpMetadata: { contentType: 'application/gzip' } });
  const deletedAts = units.map((u) => u.deletedAt).filter((d): d is string => d !== null).sort();
  const page: ArchiveSegment = {
    firstLeaf: first,
    lastLeaf: last,
    level,
    firstId,
    lastId,
    firstAt: times[0] ?? null,
    lastAt: times[times.length - 1] ?? null,
    eventCount: live.reduce((n, u) => n + u.eventCount, 0),
    chunks: units.reduce((n, u) => n + u.chunks, 0),
    deletedChunks: units.reduce((n, u) => n + (u.deletedAt === null ? u.deletedChunks : u.chunks), 0),
    coarse: summed.coarse,
    objectKey,
    objectBytes: bytes.byteLength,
    objectSha256,
    sealedAt: now.toISOString(),
    deletedAt: p.deleted === units.length ? deletedAts[deletedAts.length - 1] : null,
    children: units.length,
    deletedChildren: p.deleted,
  };
  // Verify what the bucket now holds before anything leaves D1.
  await readSegmentIndex(env, page, true);
  try {
    await recordArchiveEvent(
      env,
      ctx,
      'audit_archive_page_sealed',
      {
        custom_message: `Sealed archive page of leaves ${first} to ${last} (ids ${firstId} to ${lastId}, ${units.length} level-${childLevel} units) into one index object`,
        first_leaf: first,
        last_leaf: last,
        level,
        child_level: childLevel,
        first_id: firstId,
        last_id: lastId,
        children: units.length,
        events: page.eventCount,
        coarse_counts: page.coarse,
        object_key: objectKey,
        object_sha256: objectSha256,
      },
      sealPageStatements(env.DB, page, childLevel, summed.rows),
    );
  } catch (err) {
    if (isKeyConflict(err) || isChangedWhile(err, 'sealing')) return null;
    throw err;
  }
  return page;
}

/**
 * Unseal a live page (see the module comment): its units' rows, count rows and tree nodes back in
 * D1 from its checked index, in ONE transaction with `audit_archive_page_unsealed`. False when
 * another run changed it first.
 */
export async function unsealPage(env: Env, ctx: Pick<ExecutionContext, 'waitUntil'> | null, page: ArchiveSegment): Promise<boolean> {
  const index = await readSegmentIndex(env, page, true);
  const childLevel = index.blockLevel;
  const childCounts = index.children.flatMap((c) => (index.counts.get(c.firstLeaf) ?? []).map((k) => ({ ...k, firstLeaf: c.firstLeaf })));
  const nodes = index.levels.slice(0, page.level - childLevel).flatMap((row, i) => {
    const level = childLevel + i;
    return row.map((hash, j) => ({ level, idx: page.firstLeaf / 2 ** level + j, hash: toBase64(hash) }));
  });
  try {
    await recordArchiveEvent(
      env,
      ctx,
      'audit_archive_page_unsealed',
      {
        custom_message: `Unsealed archive page of leaves ${page.firstLeaf} to ${page.lastLeaf} into its ${index.children.length} level-${childLevel} units for retention`,
        first_leaf: page.firstLeaf,
        last_leaf: page.lastLeaf,
        level: page.level,
        child_level: childLevel,
        children: index.children.length,
        object_key: page.objectKey,
        object_sha256: page.objectSha256,
      },
      unsealPageStatements(env.DB, page, childLevel, index.children, childCounts, nodes),
    );
  } catch (err) {
    if (isChangedWhile(err, 'unsealing')) return false;
    throw err;
  }
  return true;
}
