/**
 * The SQL of the verifiable audit log's tree (migration 0013): leaves (one per event, in id
 * order), the stored complete-subtree nodes, and what the builder (src/audit/log_builder.ts),
 * the proofs (src/audit/proofs.ts) and the integrity check (src/audit/integrity.ts) read.
 * Hashes are standard base64 text here; the audit layer turns them into bytes.
 */
import { toAuditEvent, type AuditEvent, type AuditEventRow } from './audit_events';

/** A stored node: (level, idx) covers leaves [idx * 2^level, (idx + 1) * 2^level); level 0 is a leaf. */
export type NodeKey = readonly [level: number, idx: number];

/** A leaf row as D1 returns it. */
interface LeafRow {
  leaf_index: number;
  event_id: number;
  leaf_version: number;
  leaf_hash: string;
  content_removed: number;
}

/** A leaf of the log. */
export interface LogLeaf {
  leafIndex: number;
  eventId: number;
  leafVersion: number;
  /** base64 of SHA-256(0x00 || leaf). */
  leafHash: string;
  /** Retention removed the event's content; the leaf stays. */
  contentRemoved: boolean;
}

function toLogLeaf(r: LeafRow): LogLeaf {
  return { leafIndex: r.leaf_index, eventId: r.event_id, leafVersion: r.leaf_version, leafHash: r.leaf_hash, contentRemoved: r.content_removed === 1 };
}

/** Whether a write failed on a unique key: another builder or issuer wrote the same leaf or checkpoint first. */
export function isKeyConflict(err: unknown): boolean {
  return err instanceof Error && /UNIQUE|PRIMARY KEY/i.test(err.message);
}

/** The map key of a node. */
export function nodeKey(level: number, idx: number): string {
  return `${level}:${idx}`;
}

/**
 * The tree as built so far: how many leaves, and the id of the last event that has one (0: none).
 * A block of leaves moved to the archive leaves D1 (migration 0016): its chunk rows remember the
 * last leaf and event moved, in case every leaf built so far was moved (and a sealed segment's
 * row, migration 0022, once its chunk rows are sealed).
 */
export async function treeHead(db: D1Database): Promise<{ size: number; lastEventId: number }> {
  const row = await db
    .prepare(
      `SELECT leaf_index, event_id FROM (
         SELECT * FROM (SELECT leaf_index, event_id FROM audit_log_leaves ORDER BY leaf_index DESC LIMIT 1)
         UNION ALL
         SELECT * FROM (SELECT last_leaf, last_id FROM audit_archive_chunks ORDER BY first_leaf DESC LIMIT 1)
         UNION ALL
         SELECT * FROM (SELECT last_leaf, last_id FROM audit_archive_segments ORDER BY first_leaf DESC LIMIT 1))
       ORDER BY leaf_index DESC LIMIT 1`,
    )
    .first<{ leaf_index: number; event_id: number }>();
  return row ? { size: row.leaf_index + 1, lastEventId: row.event_id } : { size: 0, lastEventId: 0 };
}

/**
 * The stored hashes of these nodes (level 0 from the leaves), by nodeKey, in ONE query. A node
 * that is not stored is absent from the map.
 */
export async function storedHashes(db: D1Database, keys: readonly NodeKey[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (keys.length === 0) return out;
  const rows = await db
    .prepare(
      `WITH k AS (SELECT json_extract(value, '$[0]') AS level, json_extract(value, '$[1]') AS idx FROM json_each(?1))
       SELECT k.level AS level, k.idx AS idx, n.hash AS hash FROM k JOIN audit_log_nodes n ON n.level = k.level AND n.idx = k.idx WHERE k.level > 0
       UNION ALL
       SELECT 0, k.idx, l.leaf_hash FROM k JOIN audit_log_leaves l ON l.leaf_index = k.idx WHERE k.level = 0`,
    )
    .bind(JSON.stringify(keys))
    .all<{ level: number; idx: number; hash: string }>();
  for (const r of rows.results) out.set(nodeKey(r.level, r.idx), r.hash);
  return out;
}

/** Up to `limit` events after `afterId`, in id order (the builder's next leaves). */
export async function eventsAfter(db: D1Database, afterId: number, limit: number): Promise<AuditEvent[]> {
  const rows = await db.prepare('SELECT * FROM audit_events WHERE id > ?1 ORDER BY id LIMIT ?2').bind(afterId, limit).all<AuditEventRow>();
  return rows.results.map(toAuditEvent);
}

/** Rows per statement of an append (each statement carries its rows as one JSON parameter). */
const ROWS_PER_STATEMENT = 500;

function chunks<T>(rows: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) out.push(rows.slice(i, i + ROWS_PER_STATEMENT));
  return out;
}

/**
 * Write one append in ONE transaction: leaves as [leaf_index, event_id, leaf_version, leaf_hash,
 * content_removed] rows and nodes as [level, idx, hash] rows. A leaf index or event that already has a leaf (a
 * second builder racing this one) fails the whole transaction.
 */
export async function appendLeaves(db: D1Database, leaves: [number, number, number, string, 0 | 1][], nodes: [number, number, string][]): Promise<void> {
  const col = (i: number) => `json_extract(value, '$[${i}]')`;
  await db.batch([
    ...chunks(leaves).map((rows) =>
      db
        .prepare(`INSERT INTO audit_log_leaves (leaf_index, event_id, leaf_version, leaf_hash, content_removed) SELECT ${col(0)}, ${col(1)}, ${col(2)}, ${col(3)}, ${col(4)} FROM json_each(?1)`)
        .bind(JSON.stringify(rows)),
    ),
    ...chunks(nodes).map((rows) =>
      db.prepare(`INSERT INTO audit_log_nodes (level, idx, hash) SELECT ${col(0)}, ${col(1)}, ${col(2)} FROM json_each(?1)`).bind(JSON.stringify(rows)),
    ),
  ]);
}

/** The leaves of these events (those that have one), by event id. */
export async function leavesOfEvents(db: D1Database, eventIds: readonly number[]): Promise<Map<number, LogLeaf>> {
  if (eventIds.length === 0) return new Map();
  const rows = await db
    .prepare('SELECT l.* FROM json_each(?1) j JOIN audit_log_leaves l ON l.event_id = j.value')
    .bind(JSON.stringify(eventIds))
    .all<LeafRow>();
  return new Map(rows.results.map((r) => [r.event_id, toLogLeaf(r)]));
}

/** Events by id (those that exist), for deciding who may read them. */
export async function eventsByIds(db: D1Database, ids: readonly number[]): Promise<Map<number, AuditEvent>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .prepare('SELECT e.* FROM json_each(?1) j JOIN audit_events e ON e.id = j.value')
    .bind(JSON.stringify(ids))
    .all<AuditEventRow>();
  return new Map(rows.results.map((r) => [r.id, toAuditEvent(r)]));
}

/** What the integrity check reads of leaves [from, to): each leaf with its event as stored now. */
export interface LeafSlice {
  leaves: { leaf: LogLeaf; event: AuditEvent | null }[];
  /** Events whose id lies in the slice's span (after the previous leaf's event, up to its last) that have no leaf in it. */
  strayEventIds: number[];
}

/**
 * Leaves [from, to) with their events (LEFT JOIN: an event removed by retention, or deleted, is
 * null), and the events in the slice's id span that none of its leaves names (a row inserted
 * into the middle of the log). Two queries in one batch.
 */
export async function leafSlice(db: D1Database, from: number, to: number): Promise<LeafSlice> {
  const span = `(SELECT COALESCE((SELECT event_id FROM audit_log_leaves WHERE leaf_index = ?1 - 1), -9007199254740991)) AS lo,
                (SELECT event_id FROM audit_log_leaves WHERE leaf_index = ?2 - 1) AS hi`;
  const [joined, stray] = await db.batch([
    db
      .prepare(
        `SELECT l.leaf_index, l.event_id, l.leaf_version, l.leaf_hash, l.content_removed, e.id AS e_id, e.author_id, e.author_name, e.entity_id,
                e.entity_type, e.entity_path, e.event_type, e.target_id, e.target_type, e.target_details, e.ip_address, e.details,
                e.created_at, e.root_namespace_id, e.scope_path, e.project_id
         FROM audit_log_leaves l LEFT JOIN audit_events e ON e.id = l.event_id
         WHERE l.leaf_index >= ?1 AND l.leaf_index < ?2 ORDER BY l.leaf_index`,
      )
      .bind(from, to),
    db
      .prepare(
        `WITH s AS (SELECT ${span})
         SELECT e.id FROM s JOIN audit_events e ON e.id > s.lo AND e.id <= s.hi
         WHERE NOT EXISTS (SELECT 1 FROM audit_log_leaves l WHERE l.event_id = e.id AND l.leaf_index >= ?1 AND l.leaf_index < ?2)
         ORDER BY e.id LIMIT 100`,
      )
      .bind(from, to),
  ]);
  const leaves = (joined.results as (LeafRow & AuditEventRow & { e_id: number | null })[]).map((r) => ({
    leaf: toLogLeaf(r),
    event: r.e_id === null ? null : toAuditEvent({ ...r, id: r.e_id }),
  }));
  return { leaves, strayEventIds: (stray.results as { id: number }[]).map((r) => r.id) };
}

/**
 * Whether a leaf at or after `fromIndex` belongs to an event of another type than `eventType`
 * (or to an event whose content is gone): the checkpoint's test that the log grew by more than
 * its own checkpoint events.
 */
export async function hasLeafOtherThan(db: D1Database, fromIndex: number, eventType: string): Promise<boolean> {
  const row = await db
    .prepare(
      `SELECT 1 AS x FROM audit_log_leaves l LEFT JOIN audit_events e ON e.id = l.event_id
       WHERE l.leaf_index >= ?1 AND (e.event_type IS NULL OR e.event_type <> ?2) LIMIT 1`,
    )
    .bind(fromIndex, eventType)
    .first();
  return row !== null;
}

/**
 * For retention's transaction, BEFORE its delete (same condition as
 * expiredEventsRemovalStatements): the leaves of the events it removes keep their place and hash,
 * marked as having lost their content.
 */
export function markLeavesRemovedStatement(db: D1Database, cutoff: string, maxId: number): D1PreparedStatement {
  return db
    .prepare('UPDATE audit_log_leaves SET content_removed = 1 WHERE event_id IN (SELECT id FROM audit_events WHERE created_at < ?1 AND id <= ?2)')
    .bind(cutoff, maxId);
}

/** Up to `limit` ids of the events D1 holds with an id from `lo` to `hi` (inclusive), in id order: none should be in a moved chunk's range. */
export async function eventIdsBetween(db: D1Database, lo: number, hi: number, limit: number): Promise<number[]> {
  const rows = await db.prepare('SELECT id FROM audit_events WHERE id BETWEEN ?1 AND ?2 ORDER BY id LIMIT ?3').bind(lo, hi, limit).all<{ id: number }>();
  return rows.results.map((r) => r.id);
}
