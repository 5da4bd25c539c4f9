/**
 * The SQL of moving audit events to the cold archive (migration 0016, src/audit/archive_move.ts):
 * where the cold prefix of the log ends, the lines of the next chunk, and the ONE transaction that
 * records a chunk and deletes what it moved from D1.
 */
import type { AuditEventRow } from './audit_events';

/** A chunk moved to the archive (an audit_archive_chunks row). */
export interface ArchiveChunk {
  firstLeaf: number;
  lastLeaf: number;
  firstId: number;
  lastId: number;
  firstAt: string | null;
  lastAt: string | null;
  eventCount: number;
  objectKey: string;
  objectBytes: number;
  objectSha256: string;
  manifestKey: string;
  manifestSha256: string;
  movedAt: string;
  deletedAt: string | null;
}

/** An audit_archive_chunks row as D1 returns it. */
export interface ArchiveChunkRow {
  first_leaf: number;
  last_leaf: number;
  first_id: number;
  last_id: number;
  first_at: string | null;
  last_at: string | null;
  event_count: number;
  object_key: string;
  object_bytes: number;
  object_sha256: string;
  manifest_key: string;
  manifest_sha256: string;
  moved_at: string;
  deleted_at: string | null;
}

export function toArchiveChunk(r: ArchiveChunkRow): ArchiveChunk {
  return {
    firstLeaf: r.first_leaf,
    lastLeaf: r.last_leaf,
    firstId: r.first_id,
    lastId: r.last_id,
    firstAt: r.first_at,
    lastAt: r.last_at,
    eventCount: r.event_count,
    objectKey: r.object_key,
    objectBytes: r.object_bytes,
    objectSha256: r.object_sha256,
    manifestKey: r.manifest_key,
    manifestSha256: r.manifest_sha256,
    movedAt: r.moved_at,
    deletedAt: r.deleted_at,
  };
}

/** Where the cold prefix ends: the last leaf and event id moved (-1 and 0 when nothing is). */
export interface ColdBoundary {
  lastLeaf: number;
  lastId: number;
}

export async function coldBoundary(db: D1Database): Promise<ColdBoundary> {
  // The newest chunk row, or the newest sealed segment (migration 0022) when its chunk rows are all sealed.
  const row = await db
    .prepare(
      `SELECT last_leaf, last_id FROM (
         SELECT * FROM (SELECT last_leaf, last_id FROM audit_archive_chunks ORDER BY first_leaf DESC LIMIT 1)
         UNION ALL
         SELECT * FROM (SELECT last_leaf, last_id FROM audit_archive_segments ORDER BY first_leaf DESC LIMIT 1))
       ORDER BY last_leaf DESC LIMIT 1`,
    )
    .first<{ last_leaf: number; last_id: number }>();
  return row ? { lastLeaf: row.last_leaf, lastId: row.last_id } : { lastLeaf: -1, lastId: 0 };
}

/**
 * One leaf from `from` to `to` (inclusive), in leaf order, with its event as stored (null when
 * retention removed it) and whether the event still has an outbox row (deliveries not yet routed
 * or enqueued: such an event is not moved yet).
 */
export interface LeafWithEvent {
  leafIndex: number;
  leafVersion: number;
  leafHash: string;
  eventId: number;
  event: AuditEventRow | null;
  inOutbox: boolean;
}

export async function leavesWithEvents(db: D1Database, from: number, to: number): Promise<LeafWithEvent[]> {
  const rows = await db
    .prepare(
      `SELECT l.leaf_index AS l_index, l.leaf_version AS l_version, l.leaf_hash AS l_hash, l.event_id AS l_event,
              EXISTS (SELECT 1 FROM audit_event_outbox o WHERE o.event_id = l.event_id) AS l_outbox, e.*
       FROM audit_log_leaves l LEFT JOIN audit_events e ON e.id = l.event_id
       WHERE l.leaf_index BETWEEN ?1 AND ?2 ORDER BY l.leaf_index`,
    )
    .bind(from, to)
    .all<Record<string, unknown>>();
  return rows.results.map((r) => {
    const { l_index, l_version, l_hash, l_event, l_outbox, ...event } = r;
    return {
      leafIndex: l_index as number,
      leafVersion: l_version as number,
      leafHash: l_hash as string,
      eventId: l_event as number,
      event: event.id === null || event.id === undefined ? null : (event as unknown as AuditEventRow),
      inOutbox: l_outbox === 1,
    };
  });
}

/** A count row of a chunk (see migration 0016). */
export interface ChunkCount {
  rootNamespaceId: number | null;
  scopePath: string | null;
  projectId: number | null;
  eventType: string;
  authorId: number;
  entityType: string;
  entityId: number;
  n: number;
}

/** Rows per statement of the counts insert (each statement carries its rows as one JSON parameter). */
const COUNT_ROWS_PER_STATEMENT = 500;

/**
 * The statements that record a moved chunk and delete what it moved from D1, for ONE transaction
 * (the caller appends its `audit_events_archived` event): the chunk row and its counts; under the
 * guard row (migration 0006/0016): the delivered deliveries of its events with their attempts
 * (pending and failed ones stay: the consumer and redelivery read cold events from the archive),
 * its events; when the chunk completes its block (its last leaf ends a multiple of `blockLeaves`),
 * the block's leaves and its nodes below level log2(blockLeaves) (their hashes are in the
 * manifests; the block's own node stays). A second mover of the same chunk fails on the chunk
 * row's key, and the whole transaction with it.
 */
export function moveChunkStatements(db: D1Database, chunk: ArchiveChunk, counts: readonly ChunkCount[], blockLeaves: number): D1PreparedStatement[] {
  const statements: D1PreparedStatement[] = [
    db
      .prepare(
        `INSERT INTO audit_archive_chunks (first_leaf, last_leaf, first_id, last_id, first_at, last_at, event_count, object_key,
           object_bytes, object_sha256, manifest_key, manifest_sha256, moved_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)`,
      )
      .bind(
        chunk.firstLeaf,
        chunk.lastLeaf,
        chunk.firstId,
        chunk.lastId,
        chunk.firstAt,
        chunk.lastAt,
        chunk.eventCount,
        chunk.objectKey,
        chunk.objectBytes,
        chunk.objectSha256,
        chunk.manifestKey,
        chunk.manifestSha256,
        chunk.movedAt,
      ),
  ];
  const col = (i: number) => `json_extract(value, '$[${i}]')`;
  for (let i = 0; i < counts.length; i += COUNT_ROWS_PER_STATEMENT) {
    const rows = counts
      .slice(i, i + COUNT_ROWS_PER_STATEMENT)
      .map((c) => [c.rootNamespaceId, c.scopePath, c.projectId, c.eventType, c.authorId, c.entityType, c.entityId, c.n]);
    statements.push(
      db
        .prepare(
          `INSERT INTO audit_archive_counts (first_leaf, root_namespace_id, scope_path, project_id, event_type, author_id, entity_type, entity_id, n)
           SELECT ?2, ${[0, 1, 2, 3, 4, 5, 6, 7].map(col).join(', ')} FROM json_each(?1)`,
        )
        .bind(JSON.stringify(rows), chunk.firstLeaf),
    );
  }
  const moved = 'SELECT event_id FROM audit_log_leaves WHERE leaf_index BETWEEN ?1 AND ?2';
  statements.push(
    db.prepare('INSERT OR REPLACE INTO audit_retention_guard (id) VALUES (1)'),
    db
      .prepare(
        `DELETE FROM delivery_attempts WHERE delivery_id IN
           (SELECT d.id FROM deliveries d WHERE d.event_id IN (${moved}) AND d.status = 'delivered')`,
      )
      .bind(chunk.firstLeaf, chunk.lastLeaf),
    db.prepare(`DELETE FROM deliveries WHERE event_id IN (${moved}) AND status = 'delivered'`).bind(chunk.firstLeaf, chunk.lastLeaf),
    db.prepare(`DELETE FROM audit_events WHERE id IN (${moved})`).bind(chunk.firstLeaf, chunk.lastLeaf),
  );
  if ((chunk.lastLeaf + 1) % blockLeaves === 0) {
    const block = Math.floor(chunk.lastLeaf / blockLeaves);
    statements.push(db.prepare('DELETE FROM audit_log_leaves WHERE leaf_index BETWEEN ?1 AND ?2').bind(block * blockLeaves, chunk.lastLeaf));
    for (let level = 1, span = blockLeaves / 2; span >= 2; level++, span /= 2) {
      statements.push(
        db.prepare('DELETE FROM audit_log_nodes WHERE level = ?1 AND idx BETWEEN ?2 AND ?3').bind(level, block * span, block * span + span - 1),
      );
    }
  }
  statements.push(db.prepare('DELETE FROM audit_retention_guard'));
  return statements;
}

/**
 * The chunk row whose id range holds this event id (moved or deleted by retention); null when it
 * is hot, was never moved, or lies in a sealed segment (readers use src/audit/archive_segments.ts,
 * which looks there too).
 */
export async function chunkContainingId(db: D1Database, id: number): Promise<ArchiveChunk | null> {
  const row = await db
    .prepare('SELECT * FROM audit_archive_chunks WHERE last_id >= ?1 ORDER BY last_id LIMIT 1')
    .bind(id)
    .first<ArchiveChunkRow>();
  return row && row.first_id <= id ? toArchiveChunk(row) : null;
}

/** The chunk rows holding any leaf from `from` to `to` (inclusive), in leaf order (sealed segments' chunks: src/audit/archive_segments.ts). */
export async function chunksForLeaves(db: D1Database, from: number, to: number): Promise<ArchiveChunk[]> {
  const rows = await db
    .prepare(
      `SELECT * FROM audit_archive_chunks
       WHERE first_leaf <= ?2 AND first_leaf >= (SELECT COALESCE(MAX(first_leaf), 0) FROM audit_archive_chunks WHERE first_leaf <= ?1)
       ORDER BY first_leaf`,
    )
    .bind(from, to)
    .all<ArchiveChunkRow>();
  return rows.results.map(toArchiveChunk).filter((c) => c.lastLeaf >= from);
}
