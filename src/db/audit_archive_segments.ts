/**
 * The SQL of sealed segments of the cold audit log (migration 0022, src/audit/archive_seal.ts and
 * archive_segments.ts): a segment is an aligned range of 2^level leaves whose chunk rows, count
 * rows and tree nodes of levels 10 to level-1 left D1 for ONE index object in R2; D1 keeps its
 * row, its count rows summed per combination, and its level-`level` node.
 */
import { toArchiveChunk, type ArchiveChunk, type ArchiveChunkRow, type ChunkCount } from './audit_archive';

/** A sealed segment (an audit_archive_segments row). */
export interface ArchiveSegment {
  firstLeaf: number;
  lastLeaf: number;
  level: number;
  firstId: number;
  lastId: number;
  firstAt: string | null;
  lastAt: string | null;
  eventCount: number;
  chunks: number;
  deletedChunks: number;
  /** How its count rows are summed (migration 0022): 0 per full combination, 1 per scope and event type, 2 one row. */
  coarse: 0 | 1 | 2;
  objectKey: string;
  objectBytes: number;
  objectSha256: string;
  sealedAt: string;
  deletedAt: string | null;
  /** Units merged into this page (migration 0023); 0 for a segment of chunks. */
  children: number;
  /** Of which retention had deleted (all of them, or none: see archive_pages.ts). */
  deletedChildren: number;
  /**
   * Base64 of its level-`level` node when it came from its page's checked index (D1 no longer
   * holds that node); absent for a row of D1, whose node D1 keeps.
   */
  top?: string;
}

/** An audit_archive_segments row as D1 returns it. */
export interface ArchiveSegmentRow {
  first_leaf: number;
  last_leaf: number;
  level: number;
  first_id: number;
  last_id: number;
  first_at: string | null;
  last_at: string | null;
  event_count: number;
  chunks: number;
  deleted_chunks: number;
  coarse: number;
  object_key: string;
  object_bytes: number;
  object_sha256: string;
  sealed_at: string;
  deleted_at: string | null;
  children: number;
  deleted_children: number;
}

export function toArchiveSegment(r: ArchiveSegmentRow): ArchiveSegment {
  return {
    firstLeaf: r.first_leaf,
    lastLeaf: r.last_leaf,
    level: r.level,
    firstId: r.first_id,
    lastId: r.last_id,
    firstAt: r.first_at,
    lastAt: r.last_at,
    eventCount: r.event_count,
    chunks: r.chunks,
    deletedChunks: r.deleted_chunks,
    coarse: r.coarse as 0 | 1 | 2,
    objectKey: r.object_key,
    objectBytes: r.object_bytes,
    objectSha256: r.object_sha256,
    sealedAt: r.sealed_at,
    deletedAt: r.deleted_at,
    children: r.children,
    deletedChildren: r.deleted_children,
  };
}

/** A chunk's count row, with its chunk (as the index object holds them). */
export type ChunkCountOf = ChunkCount & { firstLeaf: number };

/** The last leaf of the newest sealed segment (-1 when none is). */
export async function lastSealedLeaf(db: D1Database): Promise<number> {
  const row = await db.prepare('SELECT MAX(last_leaf) AS last FROM audit_archive_segments').first<{ last: number | null }>();
  return row?.last ?? -1;
}

/** The sealed segments holding any leaf from `from` to `to` (inclusive), in leaf order. */
export async function segmentsForLeaves(db: D1Database, from: number, to: number): Promise<ArchiveSegment[]> {
  const rows = await db
    .prepare('SELECT * FROM audit_archive_segments WHERE first_leaf <= ?2 AND last_leaf >= ?1 ORDER BY first_leaf')
    .bind(from, to)
    .all<ArchiveSegmentRow>();
  return rows.results.map(toArchiveSegment);
}

/** The sealed segments whose id ranges hold any of these ids, each with the ids it holds. One query. */
export async function segmentsForIds(db: D1Database, ids: readonly number[]): Promise<{ segment: ArchiveSegment; ids: number[] }[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .prepare(
      `SELECT j.value AS event_id, s.* FROM json_each(?1) j
       JOIN audit_archive_segments s ON s.first_leaf = (SELECT x.first_leaf FROM audit_archive_segments x WHERE x.last_id >= j.value ORDER BY x.last_id LIMIT 1)
       WHERE s.first_id <= j.value`,
    )
    .bind(JSON.stringify([...new Set(ids)]))
    .all<ArchiveSegmentRow & { event_id: number }>();
  const bySegment = new Map<number, { segment: ArchiveSegment; ids: number[] }>();
  for (const r of rows.results) {
    let entry = bySegment.get(r.first_leaf);
    if (!entry) bySegment.set(r.first_leaf, (entry = { segment: toArchiveSegment(r), ids: [] }));
    entry.ids.push(r.event_id);
  }
  return [...bySegment.values()];
}

/** What sealing leaves [first, last] reads from D1 (one batch): their chunk rows and count rows, and the level-10 nodes. */
export async function segmentContents(
  db: D1Database,
  first: number,
  last: number,
  blockLevel: number,
): Promise<{ chunks: ArchiveChunk[]; counts: ChunkCountOf[]; blockNodes: { idx: number; hash: string }[] }> {
  const [chunks, counts, nodes] = await db.batch([
    db.prepare('SELECT * FROM audit_archive_chunks WHERE first_leaf BETWEEN ?1 AND ?2 ORDER BY first_leaf').bind(first, last),
    db
      .prepare(
        `SELECT first_leaf, root_namespace_id, scope_path, project_id, event_type, author_id, entity_type, entity_id, n
         FROM audit_archive_counts WHERE first_leaf BETWEEN ?1 AND ?2
         ORDER BY first_leaf, root_namespace_id, scope_path, project_id, event_type, author_id, entity_type, entity_id`,
      )
      .bind(first, last),
    db
      .prepare('SELECT idx, hash FROM audit_log_nodes WHERE level = ?1 AND idx BETWEEN ?2 AND ?3 ORDER BY idx')
      .bind(blockLevel, Math.floor(first / 2 ** blockLevel), Math.floor(last / 2 ** blockLevel)),
  ]);
  return {
    chunks: (chunks.results as ArchiveChunkRow[]).map(toArchiveChunk),
    counts: (counts.results as Record<string, unknown>[]).map(toChunkCountOf),
    blockNodes: nodes.results as { idx: number; hash: string }[],
  };
}

const SEGMENT_COLUMNS =
  'first_leaf, last_leaf, level, first_id, last_id, first_at, last_at, event_count, chunks, deleted_chunks, coarse, object_key, object_bytes, object_sha256, sealed_at, deleted_at, children, deleted_children';

/** A unit's row (a segment of chunks or a page) as a JSON array in SEGMENT_COLUMNS' order. */
function segmentValues(s: ArchiveSegment): unknown[] {
  return [s.firstLeaf, s.lastLeaf, s.level, s.firstId, s.lastId, s.firstAt, s.lastAt, s.eventCount, s.chunks, s.deletedChunks, s.coarse, s.objectKey, s.objectBytes, s.objectSha256, s.sealedAt, s.deletedAt, s.children, s.deletedChildren];
}

/**
 * INSERTs (`insert`: "INSERT" or "INSERT OR IGNORE") of rows given as arrays in `columns`' order,
 * bound as JSON, at most 2,000 rows per statement so that no bound JSON grows past D1's limits.
 */
function insertJsonRows(db: D1Database, insert: string, table: string, columns: string, rows: readonly unknown[][]): D1PreparedStatement[] {
  const values = columns.split(', ').map((_, i) => `json_extract(value, '$[${i}]')`).join(', ');
  const out: D1PreparedStatement[] = [];
  for (let i = 0; i < rows.length; i += 2000) {
    out.push(db.prepare(`${insert} INTO ${table} (${columns}) SELECT ${values} FROM json_each(?1)`).bind(JSON.stringify(rows.slice(i, i + 2000))));
  }
  return out;
}

/** INSERTs of units' rows (segments of chunks or pages). */
function insertSegmentRows(db: D1Database, units: readonly ArchiveSegment[]): D1PreparedStatement[] {
  return insertJsonRows(db, 'INSERT', 'audit_archive_segments', SEGMENT_COLUMNS, units.map(segmentValues));
}

const COUNT_COLUMNS = 'first_leaf, root_namespace_id, scope_path, project_id, event_type, author_id, entity_type, entity_id, n';

/** INSERTs of count rows. */
function insertCountRows(db: D1Database, rows: readonly ChunkCountOf[]): D1PreparedStatement[] {
  const values = rows.map((c) => [c.firstLeaf, c.rootNamespaceId, c.scopePath, c.projectId, c.eventType, c.authorId, c.entityType, c.entityId, c.n]);
  return insertJsonRows(db, 'INSERT', 'audit_archive_segment_counts', COUNT_COLUMNS, values);
}

/** DELETEs of the tree nodes of levels `from` to `to` - 1 over leaves [first, last] (what a segment's or page's index now holds). */
function deleteNodes(db: D1Database, first: number, last: number, from: number, to: number): D1PreparedStatement[] {
  const out: D1PreparedStatement[] = [];
  for (let level = from; level < to; level++) {
    out.push(db.prepare('DELETE FROM audit_log_nodes WHERE level = ?1 AND idx BETWEEN ?2 AND ?3').bind(level, Math.floor(first / 2 ** level), Math.floor(last / 2 ** level)));
  }
  return out;
}

function toChunkCountOf(r: Record<string, unknown>): ChunkCountOf {
  return {
    firstLeaf: r.first_leaf as number,
    rootNamespaceId: r.root_namespace_id as number | null,
    scopePath: r.scope_path as string | null,
    projectId: r.project_id as number | null,
    eventType: r.event_type as string,
    authorId: r.author_id as number,
    entityType: r.entity_type as string,
    entityId: r.entity_id as number,
    n: r.n as number,
  };
}

/** The highest level of a sealed unit (-1 when none is sealed). */
export async function highestUnitLevel(db: D1Database): Promise<number> {
  const row = await db.prepare('SELECT MAX(level) AS level FROM audit_archive_segments').first<{ level: number | null }>();
  return row?.level ?? -1;
}

/**
 * The oldest page due at `childLevel`: the first aligned range of 2^`pageLevel` leaves that units of
 * that level tile wholly (`fanout` of them), all deleted by retention when `deletedOnly`; with
 * its units in leaf order. Null when none is due.
 */
export async function pageCandidate(
  db: D1Database,
  childLevel: number,
  pageLevel: number,
  deletedOnly: boolean,
): Promise<{ first: number; last: number; units: ArchiveSegment[] } | null> {
  const group = await db
    .prepare(
      `SELECT first_leaf >> ?2 AS page FROM audit_archive_segments WHERE level = ?1
       GROUP BY first_leaf >> ?2 HAVING COUNT(*) = ?3 AND (?4 = 0 OR SUM(deleted_at IS NULL) = 0)
       ORDER BY page LIMIT 1`,
    )
    .bind(childLevel, pageLevel, 2 ** (pageLevel - childLevel), deletedOnly ? 1 : 0)
    .first<{ page: number }>();
  if (!group) return null;
  const size = 2 ** pageLevel;
  const first = group.page * size;
  const last = first + size - 1;
  const rows = await db.prepare('SELECT * FROM audit_archive_segments WHERE first_leaf BETWEEN ?1 AND ?2 ORDER BY first_leaf').bind(first, last).all<ArchiveSegmentRow>();
  return { first, last, units: rows.results.map(toArchiveSegment) };
}

/** What sealing a page of leaves [first, last] reads besides its units' rows (one batch): their count rows and their top nodes (level `childLevel`). */
export async function pageContents(db: D1Database, first: number, last: number, childLevel: number): Promise<{ counts: ChunkCountOf[]; topNodes: { idx: number; hash: string }[] }> {
  const [counts, nodes] = await db.batch([
    db
      .prepare(
        `SELECT ${COUNT_COLUMNS} FROM audit_archive_segment_counts WHERE first_leaf BETWEEN ?1 AND ?2
         ORDER BY first_leaf, root_namespace_id, scope_path, project_id, event_type, author_id, entity_type, entity_id`,
      )
      .bind(first, last),
    db
      .prepare('SELECT idx, hash FROM audit_log_nodes WHERE level = ?1 AND idx BETWEEN ?2 AND ?3 ORDER BY idx')
      .bind(childLevel, Math.floor(first / 2 ** childLevel), Math.floor(last / 2 ** childLevel)),
  ]);
  return { counts: (counts.results as Record<string, unknown>[]).map(toChunkCountOf), topNodes: nodes.results as { idx: number; hash: string }[] };
}

function guardStatement(db: D1Database, page: ArchiveSegment, childLevel: number, mode: 'seal' | 'unseal'): D1PreparedStatement {
  return db
    .prepare('INSERT INTO audit_archive_page_guard (first_leaf, last_leaf, level, child_level, children, deleted_children, mode) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)')
    .bind(page.firstLeaf, page.lastLeaf, page.level, childLevel, page.children, page.deletedChildren, mode);
}

/**
 * The statements that seal a page (migration 0023), for ONE transaction (the caller appends its
 * `audit_archive_page_sealed` event): the guard (its trigger fails unless the child rows are still
 * those of the index), the deletes of the children's count rows and rows, the page's row and its
 * summed count rows, the deletes of the nodes of levels childLevel to level-1 inside it, the
 * guard's removal.
 */
export function sealPageStatements(db: D1Database, page: ArchiveSegment, childLevel: number, counts: readonly ChunkCountOf[]): D1PreparedStatement[] {
  return [
    guardStatement(db, page, childLevel, 'seal'),
    db.prepare('DELETE FROM audit_archive_segment_counts WHERE first_leaf BETWEEN ?1 AND ?2').bind(page.firstLeaf, page.lastLeaf),
    db.prepare('DELETE FROM audit_archive_segments WHERE first_leaf BETWEEN ?1 AND ?2 AND level = ?3').bind(page.firstLeaf, page.lastLeaf, childLevel),
    ...insertSegmentRows(db, [page]),
    ...insertCountRows(db, counts),
    ...deleteNodes(db, page.firstLeaf, page.lastLeaf, childLevel, page.level),
    db.prepare('DELETE FROM audit_archive_page_guard'),
  ];
}

/**
 * The statements that unseal a page (the inverse of sealPageStatements), for ONE transaction: the
 * guard (its trigger fails unless the page is still live), the deletes of the page's count rows
 * and row, its children's rows and count rows restored from its index, and its nodes of levels
 * childLevel to level-1 (INSERT OR IGNORE: nodes are append-only and never differ).
 */
export function unsealPageStatements(
  db: D1Database,
  page: ArchiveSegment,
  childLevel: number,
  children: readonly ArchiveSegment[],
  childCounts: readonly ChunkCountOf[],
  nodes: readonly { level: number; idx: number; hash: string }[],
): D1PreparedStatement[] {
  return [
    guardStatement(db, page, childLevel, 'unseal'),
    db.prepare('DELETE FROM audit_archive_segment_counts WHERE first_leaf = ?1').bind(page.firstLeaf),
    db.prepare('DELETE FROM audit_archive_segments WHERE first_leaf = ?1 AND level = ?2').bind(page.firstLeaf, page.level),
    ...insertSegmentRows(db, children),
    ...insertCountRows(db, childCounts),
    ...insertJsonRows(db, 'INSERT OR IGNORE', 'audit_log_nodes', 'level, idx, hash', nodes.map((n) => [n.level, n.idx, n.hash])),
    db.prepare('DELETE FROM audit_archive_page_guard'),
  ];
}

/** Live pages (children > 0) whose oldest event was created before `cutoff`, oldest first, up to `limit`. */
export async function expiringLivePages(db: D1Database, cutoff: string, limit: number): Promise<ArchiveSegment[]> {
  const rows = await db
    .prepare('SELECT * FROM audit_archive_segments WHERE deleted_at IS NULL AND children > 0 AND first_at < ?1 ORDER BY first_leaf LIMIT ?2')
    .bind(cutoff, limit)
    .all<ArchiveSegmentRow>();
  return rows.results.map(toArchiveSegment);
}

/**
 * The statements that seal a segment, for ONE transaction (the caller appends its
 * `audit_archive_segment_sealed` event): the segment row first (migration 0022's trigger fails
 * it unless the chunk rows are still those of its index; a second sealer fails on its key), its
 * count rows summed from its chunks' (in SQL, from the same rows; per full combination or coarser,
 * as `s.coarse` says), then the deletes of the
 * chunks' count rows, the chunk rows and the nodes of levels `blockLevel` to level-1 inside it.
 */
export function sealSegmentStatements(db: D1Database, s: ArchiveSegment, blockLevel: number): D1PreparedStatement[] {
  const cols = 'root_namespace_id, scope_path, project_id, event_type, author_id, entity_type, entity_id';
  const scopeCols = 'root_namespace_id, scope_path, project_id, event_type';
  const summed = [
    `SELECT ?1, ${cols}, SUM(n) FROM audit_archive_counts WHERE first_leaf BETWEEN ?1 AND ?2 GROUP BY ${cols}`,
    `SELECT ?1, ${scopeCols}, 0, '', 0, SUM(n) FROM audit_archive_counts WHERE first_leaf BETWEEN ?1 AND ?2 GROUP BY ${scopeCols}`,
    `SELECT ?1, NULL, NULL, NULL, '', 0, '', 0, SUM(n) FROM audit_archive_counts WHERE first_leaf BETWEEN ?1 AND ?2 HAVING COUNT(*) > 0`,
  ][s.coarse];
  return [
    ...insertSegmentRows(db, [s]),
    db.prepare(`INSERT INTO audit_archive_segment_counts (first_leaf, ${cols}, n) ${summed}`).bind(s.firstLeaf, s.lastLeaf),
    db.prepare('DELETE FROM audit_archive_counts WHERE first_leaf BETWEEN ?1 AND ?2').bind(s.firstLeaf, s.lastLeaf),
    db.prepare('DELETE FROM audit_archive_chunks WHERE first_leaf BETWEEN ?1 AND ?2').bind(s.firstLeaf, s.lastLeaf),
    ...deleteNodes(db, s.firstLeaf, s.lastLeaf, blockLevel, s.level),
  ];
}

/** Up to `limit` sealed segments of chunks not deleted yet whose newest event was created before `cutoff`, oldest first. */
export async function expiredArchiveSegments(db: D1Database, cutoff: string, limit: number): Promise<ArchiveSegment[]> {
  const rows = await db
    .prepare('SELECT * FROM audit_archive_segments WHERE deleted_at IS NULL AND children = 0 AND last_at < ?1 ORDER BY last_at, first_leaf LIMIT ?2')
    .bind(cutoff, limit)
    .all<ArchiveSegmentRow>();
  return rows.results.map(toArchiveSegment);
}

/** Mark sealed segments deleted and remove their count rows (migration 0022 lets deleted_at be set once). */
export function segmentRetentionStatements(db: D1Database, firstLeaves: readonly number[], deletedAt: string): D1PreparedStatement[] {
  const leaves = JSON.stringify(firstLeaves);
  return [
    db.prepare('UPDATE audit_archive_segments SET deleted_at = ?1 WHERE first_leaf IN (SELECT value FROM json_each(?2))').bind(deletedAt, leaves),
    db.prepare('DELETE FROM audit_archive_segment_counts WHERE first_leaf IN (SELECT value FROM json_each(?1))').bind(leaves),
  ];
}
