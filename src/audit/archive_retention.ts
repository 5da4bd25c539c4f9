/**
 * Retention over the cold archive (issue 19): AUDIT_RETENTION_DAYS applied to the chunks the
 * mover wrote to R2 (src/audit/archive_move.ts), beside retention of the hot events in D1
 * (src/audit/retention.ts: same setting, same cutoff, same event type). Off (keep forever) when
 * the setting is unset or 0.
 *
 * The unit is a chunk: its events object is deleted once its NEWEST event (last_at) was created
 * before the cutoff, so a chunk straddling the cutoff keeps its older events (at most
 * CHUNK_LEAVES) until its newest one passes it. Its manifest stays, with every leaf hash, so the
 * verifiable log's proofs and consistency still hold; its D1 row stays too, with deleted_at set.
 *
 * Per transaction (up to CHUNKS_PER_TRANSACTION chunks, the oldest first):
 * 1. delete the chunks' events objects from R2 (deleting a key already gone is no error);
 * 2. ONE D1 transaction: set the chunks' deleted_at (migration 0020 lets it be set once), delete
 *    their audit_archive_counts rows, and record `audit_events_retention_applied` (instance
 *    entity) naming the chunks, their ids and counts, and the cutoff.
 * A crash between 1 and 2 leaves chunk rows still live whose objects are gone (readers of those
 * chunks fail until then): the next run selects them again and finishes them. A run racing
 * another fails its transaction on the trigger and stops, recording nothing twice.
 * Work is bounded per run (MAX_TRANSACTIONS transactions); a backlog is finished by later runs.
 * The transaction also asserts that its chunks are still chunk rows: one sealed into a segment
 * since it was read (archive_seal.ts, which leaves alone segments with chunks due) fails it.
 *
 * A sealed segment (archive_segments.ts) is one unit: once its newest event (last_at) was created
 * before the cutoff, the events objects of its live chunks are deleted (their keys from its
 * index), then ONE D1 transaction sets the segment's deleted_at, removes its summed counts and
 * records `audit_events_retention_applied` naming the segment. Its index object stays (the tree's
 * nodes and its chunks' manifest keys), as manifests do. So for sealed data retention's
 * granularity is a segment (up to 2^20 events) rather than a chunk.
 *
 * A live page (archive_pages.ts: formed while retention was off) whose oldest event is past the
 * cutoff is first unsealed into its units, which then expire one by one; while retention is on,
 * pages form only from units it has all deleted.
 */
import type { Env } from '../env';
import type { ArchiveChunk } from '../db/audit_archive';
import { archiveRetentionStatements, expiredArchiveChunks, isAlreadyDeleted } from '../db/audit_archive_retention';
import { expiredArchiveSegments, expiringLivePages, segmentRetentionStatements, type ArchiveSegment } from '../db/audit_archive_segments';
import { unsealPage } from './archive_pages';
import { readSegmentIndex } from './archive_segments';
import { recordRetention, retentionCutoff, retentionDays } from './retention';

/** Chunks deleted per transaction (and named by one retention event). */
export const CHUNKS_PER_TRANSACTION = 16;
/** Transactions per run. */
export const MAX_TRANSACTIONS = 4;

/** What one run did. */
export interface ArchiveRetentionResult {
  /** Retention in days (0: off, or a malformed setting, which applyAuditRetention logs). */
  days: number;
  /** Chunks whose newest event was created before this instant were deleted; null when off. */
  cutoff: string | null;
  /** Chunks whose events object was deleted. */
  chunks: number;
  /** Events those chunks held. */
  events: number;
  /** Events `audit_events_retention_applied` recorded (one per transaction). */
  recorded: number;
  /** Sealed segments whose chunks' events objects were deleted (their chunks are counted in `chunks`). */
  segments: number;
  /** Live pages unsealed into their units (archive_pages.ts) because their oldest event is past the cutoff. */
  unsealed: number;
}

function retentionDetails(chunks: readonly ArchiveChunk[], days: number, cutoff: string) {
  const events = chunks.reduce((n, c) => n + c.eventCount, 0);
  const firstAt = chunks.map((c) => c.firstAt ?? c.lastAt!).sort()[0];
  const lastAt = chunks.map((c) => c.lastAt!).sort()[chunks.length - 1];
  return {
    custom_message: `Removed ${events} archived audit events created before ${cutoff} (retention ${days} days): ${chunks.length} archive objects deleted, their manifests kept`,
    retention_days: days,
    deleted_before: cutoff,
    deleted_count: events,
    first_day: firstAt.slice(0, 10),
    last_day: lastAt.slice(0, 10),
    archive_chunks: chunks.map((c) => ({
      object_key: c.objectKey,
      manifest_key: c.manifestKey,
      first_id: c.firstId,
      last_id: c.lastId,
      first_leaf: c.firstLeaf,
      last_leaf: c.lastLeaf,
      events: c.eventCount,
    })),
  };
}

/**
 * Apply retention to the archive once. `now` gives the cutoff (as for the hot events); the
 * chunks' deleted_at is the actual time. Errors of R2 or D1 propagate to the scheduled handler.
 */
export async function applyArchiveRetention(
  env: Env,
  ctx: Pick<ExecutionContext, 'waitUntil'> | null,
  now: Date = new Date(),
  limits: { chunksPerTransaction?: number; maxTransactions?: number } = {},
): Promise<ArchiveRetentionResult> {
  const perTransaction = limits.chunksPerTransaction ?? CHUNKS_PER_TRANSACTION;
  const maxTransactions = limits.maxTransactions ?? MAX_TRANSACTIONS;
  const days = retentionDays(env) ?? 0;
  const result: ArchiveRetentionResult = { days, cutoff: null, chunks: 0, events: 0, recorded: 0, segments: 0, unsealed: 0 };
  if (days === 0) return result;
  const cutoff = retentionCutoff(days, now);
  result.cutoff = cutoff;
  for (let t = 0; t < maxTransactions; t++) {
    const chunks = await expiredArchiveChunks(env.DB, cutoff, perTransaction);
    if (chunks.length === 0) break;
    await env.AUDIT_ARCHIVE.delete(chunks.map((c) => c.objectKey));
    const details = retentionDetails(chunks, days, cutoff);
    try {
      const removal = archiveRetentionStatements(
        env.DB,
        chunks.map((c) => c.firstLeaf),
        new Date().toISOString(),
      );
      await recordRetention(env, ctx, details, removal);
    } catch (err) {
      // Another run deleted (some of) these chunks first and recorded it: nothing left to do here.
      if (isAlreadyDeleted(err)) break;
      throw err;
    }
    result.chunks += chunks.length;
    result.events += details.deleted_count;
    result.recorded++;
    if (chunks.length < perTransaction) break;
  }
  // A live page (formed while retention was off) holding expired events: back to its units first.
  for (let t = 0; t < maxTransactions; t++) {
    const [page] = await expiringLivePages(env.DB, cutoff, 1);
    if (!page || !(await unsealPage(env, ctx, page))) break;
    result.unsealed++;
  }
  for (let t = 0; t < maxTransactions; t++) {
    const [segment] = await expiredArchiveSegments(env.DB, cutoff, 1);
    if (!segment || !(await deleteSegment(env, ctx, segment, days, cutoff, result))) break;
  }
  return result;
}

/** Apply retention to one sealed segment (see the module comment); false when another run did first. */
async function deleteSegment(
  env: Env,
  ctx: Pick<ExecutionContext, 'waitUntil'> | null,
  segment: ArchiveSegment,
  days: number,
  cutoff: string,
  result: ArchiveRetentionResult,
): Promise<boolean> {
  const live = (await readSegmentIndex(env, segment)).chunks.filter((c) => c.deletedAt === null);
  for (let i = 0; i < live.length; i += 1000) await env.AUDIT_ARCHIVE.delete(live.slice(i, i + 1000).map((c) => c.objectKey));
  // The segment is named, not each of its (up to 1,024) chunks: its index lists them.
  const { archive_chunks: _each, ...details } = {
    ...retentionDetails(
      live.filter((c) => c.lastAt !== null),
      days,
      cutoff,
    ),
    archive_segment: { object_key: segment.objectKey, first_leaf: segment.firstLeaf, last_leaf: segment.lastLeaf, first_id: segment.firstId, last_id: segment.lastId, chunks: live.length },
  };
  try {
    await recordRetention(env, ctx, details, segmentRetentionStatements(env.DB, [segment.firstLeaf], new Date().toISOString()));
  } catch (err) {
    if (isAlreadyDeleted(err)) return false;
    throw err;
  }
  result.segments++;
  result.chunks += live.length;
  result.events += details.deleted_count;
  result.recorded++;
  return true;
}
