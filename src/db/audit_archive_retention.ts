/**
 * The SQL of retention over the cold archive (migration 0020, src/audit/archive_retention.ts):
 * the chunks whose newest event is past the cutoff and whose events object is not deleted yet,
 * and the statements that mark them deleted and remove their counts, for ONE transaction with
 * the retention event.
 */
import { toArchiveChunk, type ArchiveChunk, type ArchiveChunkRow } from './audit_archive';

/**
 * Up to `limit` chunks not deleted yet whose newest event was created before `cutoff`, oldest
 * newest-event first (a chunk whose events retention had all removed before the move has no
 * last_at and holds no event: it is never selected).
 */
export async function expiredArchiveChunks(db: D1Database, cutoff: string, limit: number): Promise<ArchiveChunk[]> {
  const rows = await db
    .prepare('SELECT * FROM audit_archive_chunks WHERE deleted_at IS NULL AND last_at < ?1 ORDER BY last_at, first_leaf LIMIT ?2')
    .bind(cutoff, limit)
    .all<ArchiveChunkRow>();
  return rows.results.map(toArchiveChunk);
}

/**
 * Mark chunks deleted at `deletedAt` and remove their counts rows (the listings then count none
 * of their events). Migration 0020 lets deleted_at be set once: when another run already marked
 * one of them, the whole transaction fails (see isAlreadyDeleted).
 */
export function archiveRetentionStatements(db: D1Database, firstLeaves: readonly number[], deletedAt: string): D1PreparedStatement[] {
  const leaves = JSON.stringify(firstLeaves);
  return [
    // Every chunk is still a chunk row: none sealed into a segment since it was read (migration 0022's assertion).
    db
      .prepare(
        `INSERT INTO audit_archive_assertions (ok)
         SELECT COUNT(*) = (SELECT COUNT(*) FROM json_each(?1)) FROM audit_archive_chunks WHERE first_leaf IN (SELECT value FROM json_each(?1))`,
      )
      .bind(leaves),
    db.prepare('UPDATE audit_archive_chunks SET deleted_at = ?1 WHERE first_leaf IN (SELECT value FROM json_each(?2))').bind(deletedAt, leaves),
    db.prepare('DELETE FROM audit_archive_counts WHERE first_leaf IN (SELECT value FROM json_each(?1))').bind(leaves),
  ];
}

/** Whether a transaction failed because another retention run had already deleted one of its chunks (migration 0020). */
export function isAlreadyDeleted(err: unknown): boolean {
  return err instanceof Error && /already deleted by retention/.test(err.message);
}
