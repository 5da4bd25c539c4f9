/**
 * The SQL of reading the audit log hot (audit_events) and cold (the archive's chunks) together
 * (issue 19; the merge is src/audit/listing.ts). Each read is ONE D1 batch, so the hot rows and
 * the cold chunks it sees come from one snapshot: a chunk moved meanwhile is either still hot or
 * already cold, never both or neither.
 *
 * Which chunks hold matching events comes from audit_archive_counts (the scope columns, event type,
 * author and entity of every event, summed per chunk), never from the objects. Counts have no
 * time: a chunk whose whole time range (first_at..last_at) lies inside the created_after /
 * created_before window counts exactly; one that only overlaps it (in an append-only log, at most
 * the two chunks at the window's ends) is marked inexact and its lines are counted by the caller.
 * Chunks deleted by retention (deleted_at set) hold no events and are never returned.
 *
 * Sealed segments (migration 0022) answer the same way from audit_archive_segments and their
 * summed audit_archive_segment_counts: a SegmentMatch, which the caller expands into its chunks
 * (src/audit/listing.ts, from the segment's index) only when it needs more than the total.
 */
import { toAuditEvent, type AuditEvent, type AuditEventRow } from './audit_events';
import { keysetPageSql, scopeRange, whereFor, type AuditFilters, type AuditScope, type Keyset } from './audit_log';
import { toArchiveChunk, type ArchiveChunk, type ArchiveChunkRow, type ChunkCount } from './audit_archive';
import { toArchiveSegment, type ArchiveSegment, type ArchiveSegmentRow } from './audit_archive_segments';

/** A chunk with events matching a listing, and how many (exact unless a time filter cuts it). */
export interface ChunkMatch {
  chunk: ArchiveChunk;
  /** Matching events by the counts (all of the chunk's matches when `exact`, an upper bound otherwise). */
  n: number;
  /** False when the chunk's time range only overlaps the time filter: its lines must be filtered to count. */
  exact: boolean;
}

/** A sealed segment with events matching a listing, and how many (exact unless a time filter cuts it). */
export interface SegmentMatch {
  segment: ArchiveSegment;
  n: number;
  exact: boolean;
}

/**
 * The tables matches are read from: chunks and their counts, sealed segments with counts per full
 * combination, or sealed segments with coarse counts (migration 0022: per scope and event type, or
 * one row), which match on what they have and are exact only when the filters need no more.
 */
const TABLES = {
  chunks: { parent: 'audit_archive_chunks', counts: 'audit_archive_counts', coarse: false },
  segments: { parent: 'audit_archive_segments', counts: 'audit_archive_segment_counts', coarse: false },
  coarseSegments: { parent: 'audit_archive_segments', counts: 'audit_archive_segment_counts', coarse: true },
} as const;

interface Sql {
  sql: string;
  binds: unknown[];
}

/** The chunks (with their matching counts) for a scope and filters, limited to an id range; newest first or oldest first. */
function chunkMatchesSql(
  scope: AuditScope,
  filters: AuditFilters,
  range: { belowId?: number; aboveId?: number; maxId?: number },
  order: 'asc' | 'desc',
  limit?: number,
  tables: (typeof TABLES)[keyof typeof TABLES] = TABLES.chunks,
): Sql {
  // The counts rows carry the same column names as audit_events: the listing's WHERE applies as is (without time and ids).
  const { createdAfter, createdBefore, ...rest } = filters;
  const w = whereFor(scope, tables.coarse ? (rest.eventType === undefined ? {} : { eventType: rest.eventType }) : rest);
  const binds = [...w.binds];
  const bind = (v: unknown) => {
    binds.push(v);
    return `?${binds.length}`;
  };
  const where = w.sql ? w.sql.slice('WHERE '.length) : '1';
  const clauses = [tables.coarse ? `(c.coarse = 2 OR (c.coarse = 1 AND ${where}))` : where, 'c.deleted_at IS NULL'];
  if (tables.parent === 'audit_archive_segments') clauses.push(tables.coarse ? 'c.coarse > 0' : 'c.coarse = 0');
  let exact = '1';
  if (tables.coarse) {
    // Coarse rows count exactly only when the filters need nothing they lack (author, entity; for one row: scope and type too).
    const finer = rest.authorId !== undefined || rest.onlyAuthorId !== undefined || rest.entityType !== undefined || rest.entityId !== undefined;
    const whole = scope.kind === 'instance' && rest.eventType === undefined;
    exact = finer ? '0' : whole ? '1' : 'c.coarse = 1';
  }
  if (createdAfter !== undefined) {
    const p = bind(createdAfter);
    clauses.push(`c.last_at >= ${p}`);
    exact += ` AND c.first_at >= ${p}`;
  }
  if (createdBefore !== undefined) {
    const p = bind(createdBefore);
    clauses.push(`c.first_at <= ${p}`);
    exact += ` AND c.last_at <= ${p}`;
  }
  // The id bounds also bound k.first_leaf (chunks are in id order), so the counts' indexes skip the chunks out of range.
  const firstChunkEndingAtOrAfter = (id: string) => `(SELECT x.first_leaf FROM ${tables.parent} x WHERE x.last_id >= ${id} ORDER BY x.last_id LIMIT 1)`;
  if (range.belowId !== undefined) {
    const p = bind(range.belowId);
    clauses.push(`c.first_id < ${p}`, `k.first_leaf <= COALESCE(${firstChunkEndingAtOrAfter(p)}, 9007199254740991)`);
  }
  if (range.aboveId !== undefined) {
    const p = bind(range.aboveId);
    clauses.push(`c.last_id > ${p}`, `k.first_leaf >= ${firstChunkEndingAtOrAfter(`${p} + 1`)}`);
  }
  if (range.maxId !== undefined) clauses.push(`c.first_id <= ${bind(range.maxId)}`);
  const dir = order === 'asc' ? 'ASC' : 'DESC';
  return {
    sql: `SELECT c.*, SUM(k.n) AS matches, (${exact}) AS exact
          FROM ${tables.counts} k JOIN ${tables.parent} c ON c.first_leaf = k.first_leaf
          WHERE ${clauses.join(' AND ')}
          GROUP BY k.first_leaf ORDER BY k.first_leaf ${dir}${limit === undefined ? '' : ` LIMIT ${Math.trunc(limit)}`}`,
    binds,
  };
}

function toChunkMatches(result: D1Result): ChunkMatch[] {
  return (result.results as (ArchiveChunkRow & { matches: number; exact: number })[]).map((r) => ({
    chunk: toArchiveChunk(r),
    n: r.matches,
    exact: r.exact === 1,
  }));
}

function toSegmentMatches(result: D1Result): SegmentMatch[] {
  return (result.results as (ArchiveSegmentRow & { matches: number; exact: number })[]).map((r) => ({
    segment: toArchiveSegment(r),
    n: r.matches,
    exact: r.exact === 1,
  }));
}

/** Two lists of segment matches as one, in leaf order (newest first unless asc). */
function mergeSegmentMatches(a: SegmentMatch[], b: SegmentMatch[], sort: 'asc' | 'desc'): SegmentMatch[] {
  return [...a, ...b].sort((x, y) => (sort === 'asc' ? x.segment.firstLeaf - y.segment.firstLeaf : y.segment.firstLeaf - x.segment.firstLeaf));
}

/** What one offset page reads from D1: the hot total and page, and every chunk and sealed segment with matches (newest first). */
export async function offsetSnapshot(
  db: D1Database,
  scope: AuditScope,
  filters: AuditFilters,
  page: { limit: number; offset: number },
): Promise<{ hotTotal: number; hot: AuditEvent[]; chunks: ChunkMatch[]; segments: SegmentMatch[] }> {
  const w = whereFor(scope, filters);
  const c = chunkMatchesSql(scope, filters, {}, 'desc');
  const s = chunkMatchesSql(scope, filters, {}, 'desc', undefined, TABLES.segments);
  const sc = chunkMatchesSql(scope, filters, {}, 'desc', undefined, TABLES.coarseSegments);
  const [count, rows, chunks, segments, coarse] = await db.batch([
    db.prepare(`SELECT COUNT(*) AS n FROM audit_events ${w.sql}`).bind(...w.binds),
    db
      .prepare(`SELECT * FROM audit_events ${w.sql} ORDER BY id DESC LIMIT ${Math.trunc(page.limit)} OFFSET ${Math.trunc(page.offset)}`)
      .bind(...w.binds),
    db.prepare(c.sql).bind(...c.binds),
    db.prepare(s.sql).bind(...s.binds),
    db.prepare(sc.sql).bind(...sc.binds),
  ]);
  return {
    hotTotal: (count.results[0] as { n: number }).n,
    hot: (rows.results as AuditEventRow[]).map(toAuditEvent),
    chunks: toChunkMatches(chunks),
    segments: mergeSegmentMatches(toSegmentMatches(segments), toSegmentMatches(coarse), 'desc'),
  };
}

/**
 * What one keyset page reads from D1: up to `limit` hot events after the cursor, and up to
 * `chunkLimit` chunks and as many sealed segments with matches after the cursor in the page's direction.
 */
export async function keysetSnapshot(
  db: D1Database,
  scope: AuditScope,
  filters: AuditFilters,
  keyset: Keyset,
  limit: number,
  chunkLimit: number,
): Promise<{ hot: AuditEvent[]; chunks: ChunkMatch[]; segments: SegmentMatch[] }> {
  const q = keysetPageSql(scope, filters, keyset, limit);
  const range =
    keyset.sort === 'asc'
      ? { aboveId: keyset.afterId, maxId: keyset.maxId }
      : { belowId: keyset.afterId, maxId: keyset.maxId };
  const c = chunkMatchesSql(scope, filters, range, keyset.sort, chunkLimit);
  const s = chunkMatchesSql(scope, filters, range, keyset.sort, chunkLimit, TABLES.segments);
  const sc = chunkMatchesSql(scope, filters, range, keyset.sort, chunkLimit, TABLES.coarseSegments);
  const [rows, chunks, segments, coarse] = await db.batch([
    db.prepare(q.sql).bind(...q.binds),
    db.prepare(c.sql).bind(...c.binds),
    db.prepare(s.sql).bind(...s.binds),
    db.prepare(sc.sql).bind(...sc.binds),
  ]);
  return {
    hot: (rows.results as AuditEventRow[]).map(toAuditEvent),
    chunks: toChunkMatches(chunks),
    // Both lists were cut at chunkLimit: the first chunkLimit of their merge are the first chunkLimit of all.
    segments: mergeSegmentMatches(toSegmentMatches(segments), toSegmentMatches(coarse), keyset.sort).slice(0, chunkLimit),
  };
}

/**
 * Whether an event row matches a scope, filters and keyset: the same test whereFor's SQL makes
 * (text compared by code units as SQLite's BINARY collation does; NULL matches no comparison).
 */
export function rowMatches(row: AuditEventRow, scope: AuditScope, filters: AuditFilters, keyset?: Keyset): boolean {
  if (scope.kind === 'group') {
    if (scope.group.parentId === null) {
      if (row.root_namespace_id !== scope.group.id) return false;
    } else {
      const [lo, hi] = scopeRange(scope.group.traversalPath);
      if (row.scope_path === null || !(row.scope_path >= lo && row.scope_path < hi)) return false;
    }
  } else if (scope.kind === 'project' && row.project_id !== scope.project.id) return false;
  const f = filters;
  if (f.createdAfter !== undefined && !(row.created_at >= f.createdAfter)) return false;
  if (f.createdBefore !== undefined && !(row.created_at <= f.createdBefore)) return false;
  if (f.entityType !== undefined && row.entity_type !== f.entityType) return false;
  if (f.entityId !== undefined && row.entity_id !== f.entityId) return false;
  if (f.eventType !== undefined && row.event_type !== f.eventType) return false;
  if (f.authorId !== undefined && row.author_id !== f.authorId) return false;
  if (f.onlyAuthorId !== undefined && row.author_id !== f.onlyAuthorId) return false;
  if (keyset?.afterId !== undefined && !(keyset.sort === 'asc' ? row.id > keyset.afterId : row.id < keyset.afterId)) return false;
  if (keyset?.maxId !== undefined && row.id > keyset.maxId) return false;
  return true;
}

/**
 * Whether a count row (of a chunk in a sealed segment's index) counts events matching a scope and
 * filters other than time: the test the counts' SQL makes (the same columns as rowMatches).
 */
export function countMatches(c: ChunkCount, scope: AuditScope, filters: AuditFilters): boolean {
  const { createdAfter, createdBefore, ...rest } = filters;
  const row = {
    root_namespace_id: c.rootNamespaceId,
    scope_path: c.scopePath,
    project_id: c.projectId,
    event_type: c.eventType,
    author_id: c.authorId,
    entity_type: c.entityType,
    entity_id: c.entityId,
  };
  return rowMatches(row as AuditEventRow, scope, rest);
}

/** The chunk rows holding these event ids (moved, not deleted by retention), each with the ids it holds. One query (sealed segments: src/audit/archive_segments.ts). */
export async function chunksForIds(db: D1Database, ids: readonly number[]): Promise<{ chunk: ArchiveChunk; ids: number[] }[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .prepare(
      `SELECT j.value AS event_id, c.* FROM json_each(?1) j
       JOIN audit_archive_chunks c ON c.first_leaf = (SELECT x.first_leaf FROM audit_archive_chunks x WHERE x.last_id >= j.value ORDER BY x.last_id LIMIT 1)
       WHERE c.first_id <= j.value AND c.deleted_at IS NULL`,
    )
    .bind(JSON.stringify([...new Set(ids)]))
    .all<ArchiveChunkRow & { event_id: number }>();
  const byChunk = new Map<number, { chunk: ArchiveChunk; ids: number[] }>();
  for (const r of rows.results) {
    let entry = byChunk.get(r.first_leaf);
    if (!entry) byChunk.set(r.first_leaf, (entry = { chunk: toArchiveChunk(r), ids: [] }));
    entry.ids.push(r.event_id);
  }
  return [...byChunk.values()];
}
