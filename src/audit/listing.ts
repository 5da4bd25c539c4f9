/**
 * One audit log to the reader (issue 19): every listing reads the hot events in D1 and the cold
 * ones in the archive's chunks (src/audit/archive_objects.ts) as one log, newest first, with the
 * same ids, fields, filters and permissions. Cold events are a prefix of the log (every id at or
 * below the cold boundary is in a chunk or was removed by retention), so a listing is the hot
 * events followed (desc) or preceded (asc) by the cold ones. The SQL is src/db/audit_archive_read.ts:
 * each page reads the hot rows and the chunks with matches in ONE D1 batch (one snapshot).
 *
 * - Offset pages: X-Total is the hot COUNT plus the chunks' matching counts (audit_archive_counts),
 *   never a scan of objects, except that a chunk a time filter only partly covers (at most the two
 *   at the window's ends, in an append-only log) is decoded to count it exactly. A page landing in
 *   cold data skips whole chunks by their counts and decodes only the chunks it shows.
 * - Keyset pages read at most KEYSET_CHUNKS chunks with matches (by the counts); a page cut short
 *   there still says more may follow, with a cursor past the chunks it read.
 * - Exports read page by page, one chunk decoded at a time.
 * - A sealed segment (archive_segments.ts) counts by its summed counts; a page that reads into it,
 *   or a time filter that cuts it, expands it into its chunks with their counts from its index. A
 *   page of units (archive_pages.ts) expands the same way into its units, level by level.
 */
import type { SharedEnv } from '../env';
import { findAuditEventInScope, type AuditFilters, type AuditScope, type Keyset } from '../db/audit_log';
import { toAuditEvent, type AuditEvent } from '../db/audit_events';
import type { ChunkCount } from '../db/audit_archive';
import { countMatches, keysetSnapshot, offsetSnapshot, rowMatches, type ChunkMatch, type SegmentMatch } from '../db/audit_archive_read';
import { isEventLine, type EventLine } from './archive_format';
import { readChunkLines } from './archive_objects';
import { chunksForIds, readSegmentIndex } from './archive_segments';
import type { PageReader } from './csv';

/** Most chunks (with matching events) one keyset page reads. */
export const KEYSET_CHUNKS = 8;

type ArchiveEnv = Pick<SharedEnv, 'DB' | 'AUDIT_ARCHIVE'>;

/** A keyset page: its events, whether more may follow, and the cursor of the next page. */
export interface KeysetPage {
  events: AuditEvent[];
  hasMore: boolean;
  /** The next page's afterId (the last event's id, or past the chunks read when the page is cut short). */
  nextAfterId: number | undefined;
}

/** A chunk's events matching the listing, in the listing's order (newest first unless asc). */
async function matchingLines(env: ArchiveEnv, m: ChunkMatch, scope: AuditScope, filters: AuditFilters, keyset?: Keyset): Promise<EventLine[]> {
  const lines = (await readChunkLines(env.AUDIT_ARCHIVE, m.chunk)).filter(isEventLine).filter((l) => rowMatches(l, scope, filters, keyset));
  return keyset?.sort === 'asc' ? lines : lines.reverse();
}

/** An id range a keyset page reads (as the snapshot's SQL bounds chunks). */
type IdRange = { belowId?: number; aboveId?: number; maxId?: number };

/** A chunk or a sealed unit (segment or page) with matches. */
type Match = ChunkMatch | SegmentMatch;

/**
 * What a unit's count rows count for a listing, by the rule of the counts' SQL for its coarseness
 * (chunkMatchesSql): matching events (an upper bound unless `exact`).
 */
function unitCount(counts: readonly ChunkCount[], coarse: 0 | 1 | 2, scope: AuditScope, filters: AuditFilters): { n: number; exact: boolean } {
  const { createdAfter: _after, createdBefore: _before, ...rest } = filters;
  const finer = rest.authorId !== undefined || rest.onlyAuthorId !== undefined || rest.entityType !== undefined || rest.entityId !== undefined;
  const sum = (match: (c: ChunkCount) => boolean) => counts.reduce((n, c) => (match(c) ? n + c.n : n), 0);
  if (coarse === 0) return { n: sum((c) => countMatches(c, scope, rest)), exact: true };
  if (coarse === 1) return { n: sum((c) => countMatches(c, scope, rest.eventType === undefined ? {} : { eventType: rest.eventType })), exact: !finer };
  return { n: sum(() => true), exact: !finer && scope.kind === 'instance' && rest.eventType === undefined };
}

/**
 * A sealed unit's parts with matches, from its index, in leaf order: a segment's chunks (each
 * chunk's count rows matched as the counts' SQL matches them), or a page's units (their count rows
 * by their coarseness); time ranges and id ranges as chunkMatchesSql's.
 */
async function expandSegment(env: ArchiveEnv, m: SegmentMatch, scope: AuditScope, filters: AuditFilters, range: IdRange = {}): Promise<Match[]> {
  const index = await readSegmentIndex(env, m.segment);
  const { createdAfter: after, createdBefore: before } = filters;
  const out: Match[] = [];
  for (const unit of index.children) {
    if (unit.deletedAt !== null || unit.firstAt === null || unit.lastAt === null) continue;
    if ((after !== undefined && !(unit.lastAt >= after)) || (before !== undefined && !(unit.firstAt <= before))) continue;
    if ((range.belowId !== undefined && !(unit.firstId < range.belowId)) || (range.aboveId !== undefined && !(unit.lastId > range.aboveId))) continue;
    if (range.maxId !== undefined && !(unit.firstId <= range.maxId)) continue;
    const { n, exact } = unitCount(index.counts.get(unit.firstLeaf) ?? [], unit.coarse, scope, filters);
    if (n === 0) continue;
    out.push({ segment: unit, n, exact: exact && (after === undefined || unit.firstAt >= after) && (before === undefined || unit.lastAt <= before) });
  }
  for (const chunk of index.chunks) {
    if (chunk.deletedAt !== null || chunk.firstAt === null || chunk.lastAt === null) continue;
    if ((after !== undefined && !(chunk.lastAt >= after)) || (before !== undefined && !(chunk.firstAt <= before))) continue;
    if ((range.belowId !== undefined && !(chunk.firstId < range.belowId)) || (range.aboveId !== undefined && !(chunk.lastId > range.aboveId))) continue;
    if (range.maxId !== undefined && !(chunk.firstId <= range.maxId)) continue;
    const n = (index.counts.get(chunk.firstLeaf) ?? []).reduce((sum, c) => (countMatches(c, scope, filters) ? sum + c.n : sum), 0);
    if (n === 0) continue;
    out.push({ chunk, n, exact: (after === undefined || chunk.firstAt >= after) && (before === undefined || chunk.lastAt <= before) });
  }
  return out;
}

/** Chunk matches and segment matches as one list in leaf order (newest first unless asc). */
function merged(chunks: ChunkMatch[], segments: SegmentMatch[], sort: 'asc' | 'desc'): (ChunkMatch | SegmentMatch)[] {
  const leaf = (m: ChunkMatch | SegmentMatch) => ('chunk' in m ? m.chunk.firstLeaf : m.segment.firstLeaf);
  return [...chunks, ...segments].sort((a, b) => (sort === 'asc' ? leaf(a) - leaf(b) : leaf(b) - leaf(a)));
}

/** One offset page, newest first (as GitLab), and the total. */
export async function listAuditEventsPage(
  env: ArchiveEnv,
  scope: AuditScope,
  filters: AuditFilters,
  page: { limit: number; offset: number },
): Promise<{ total: number; events: AuditEvent[] }> {
  const snap = await offsetSnapshot(env.DB, scope, filters, page);
  // What the counts give only as an upper bound (a time filter cutting a chunk or unit, coarse
  // counts finer filters need) is counted exactly: a chunk from its lines, a unit from its parts.
  const expanded = new Map<SegmentMatch, Match[]>();
  const settle = async (m: Match): Promise<void> => {
    if (m.exact) return;
    if ('chunk' in m) {
      m.n = (await matchingLines(env, m, scope, filters)).length;
    } else {
      const parts = await expandSegment(env, m, scope, filters);
      for (const part of parts) await settle(part);
      m.n = parts.reduce((sum, part) => sum + part.n, 0);
      expanded.set(m, parts);
    }
    m.exact = true;
  };
  for (const m of [...snap.chunks, ...snap.segments]) await settle(m);
  const items = merged(snap.chunks, snap.segments, 'desc');
  const total = snap.hotTotal + items.reduce((sum, m) => sum + m.n, 0);
  const events = snap.hot;
  let skip = Math.max(0, page.offset - snap.hotTotal);
  // Newest first: whole chunks and units are skipped by their counts, a unit the page reads into is expanded.
  const walk = async (list: Match[]): Promise<void> => {
    for (const item of list) {
      if (events.length >= page.limit) return;
      await settle(item);
      if (skip >= item.n) {
        skip -= item.n;
        continue;
      }
      if ('chunk' in item) {
        const lines = await matchingLines(env, item, scope, filters);
        for (const line of lines.slice(skip, skip + page.limit - events.length)) events.push(toAuditEvent(line));
        skip = 0;
      } else {
        await walk((expanded.get(item) ?? (await expandSegment(env, item, scope, filters))).slice().reverse());
      }
    }
  };
  await walk(items);
  return { total, events };
}

/**
 * One keyset page: up to `limit` events after the cursor. Stable under concurrent inserts and
 * moves: ids only grow and a moved event keeps its id.
 */
export async function listAuditEventsKeyset(env: ArchiveEnv, scope: AuditScope, filters: AuditFilters, keyset: Keyset, limit: number): Promise<KeysetPage> {
  const snap = await keysetSnapshot(env.DB, scope, filters, keyset, limit + 1, KEYSET_CHUNKS + 1);
  const events: AuditEvent[] = keyset.sort === 'desc' ? snap.hot : [];
  const full = (): KeysetPage => ({ events: events.slice(0, limit), hasMore: true, nextAfterId: events[limit - 1].id });
  if (events.length > limit) return full();
  const { chunks: all, segmentEdge } = await keysetChunks(env, snap.chunks, snap.segments, scope, filters, keyset);
  const chunks = all.slice(0, KEYSET_CHUNKS);
  for (const m of chunks) {
    for (const line of await matchingLines(env, m, scope, filters, keyset)) {
      events.push(toAuditEvent(line));
      if (events.length > limit) return full();
    }
  }
  const last = events.length > 0 ? events[events.length - 1].id : undefined;
  if (all.length > KEYSET_CHUNKS || segmentEdge !== undefined) {
    // Cut short at the chunk cap (or at the last sealed segment read): more may follow, after what was read.
    const edge = all.length > KEYSET_CHUNKS ? chunks[chunks.length - 1].chunk : segmentEdge!;
    return { events, hasMore: true, nextAfterId: keyset.sort === 'asc' ? edge.lastId : edge.firstId };
  }
  if (keyset.sort === 'asc') {
    // Every cold match is in `events`: the hot ones of the same snapshot follow.
    events.push(...snap.hot);
    if (events.length > limit) return full();
  }
  return { events, hasMore: false, nextAfterId: events.length > 0 ? events[events.length - 1].id : last };
}

/**
 * The chunks a keyset page reads, in its order: the snapshot's chunks and the chunks of its sealed
 * segments (expanded within the cursor's range), up to KEYSET_CHUNKS + 1. When the snapshot's
 * segments were cut at its limit and all of them were read before that many chunks, `segmentEdge`
 * is the last one: the page must stop there (a further segment may come before the next chunk).
 */
async function keysetChunks(
  env: ArchiveEnv,
  chunkMatches: ChunkMatch[],
  segmentMatches: SegmentMatch[],
  scope: AuditScope,
  filters: AuditFilters,
  keyset: Keyset,
): Promise<{ chunks: ChunkMatch[]; segmentEdge?: { firstId: number; lastId: number } }> {
  if (segmentMatches.length === 0) return { chunks: chunkMatches };
  const range: IdRange = keyset.sort === 'asc' ? { aboveId: keyset.afterId, maxId: keyset.maxId } : { belowId: keyset.afterId, maxId: keyset.maxId };
  // The snapshot read at most KEYSET_CHUNKS + 1 segments: past the last of them, another may come first.
  const truncated = segmentMatches.length > KEYSET_CHUNKS;
  const edge = { segmentEdge: segmentMatches[segmentMatches.length - 1].segment };
  const chunks: ChunkMatch[] = [];
  // A unit's chunks in the page's order, through its pages' indexes, until more than KEYSET_CHUNKS are read.
  const collect = async (list: Match[]): Promise<void> => {
    for (const item of list) {
      if (chunks.length > KEYSET_CHUNKS) return;
      if ('chunk' in item) chunks.push(item);
      else {
        const inner = await expandSegment(env, item, scope, filters, range);
        await collect(keyset.sort === 'asc' ? inner : inner.reverse());
      }
    }
  };
  let segmentsRead = 0;
  for (const item of merged(chunkMatches, segmentMatches, keyset.sort)) {
    if (chunks.length > KEYSET_CHUNKS) return { chunks };
    if ('chunk' in item) {
      if (truncated && segmentsRead === segmentMatches.length) return { chunks, ...edge };
      chunks.push(item);
      continue;
    }
    await collect([item]);
    segmentsRead++;
  }
  return chunks.length <= KEYSET_CHUNKS && truncated ? { chunks, ...edge } : { chunks };
}

/**
 * The page reader of an export (src/audit/csv.ts, export_json.ts): keyset pages of `pageSize`,
 * never empty while more follow (pages the chunk cap cut short and left empty are read through).
 */
export function exportPageReader(env: ArchiveEnv, scope: AuditScope, filters: AuditFilters, sort: 'asc' | 'desc', maxId: number, pageSize: number): PageReader {
  return async (afterId) => {
    for (;;) {
      const page = await listAuditEventsKeyset(env, scope, filters, { sort, afterId, maxId }, pageSize);
      if (page.events.length > 0 || !page.hasMore) return page;
      afterId = page.nextAfterId;
    }
  };
}

/** One event by id, hot or cold, if it lies within the scope; null otherwise. */
export async function findAuditEvent(env: ArchiveEnv, scope: AuditScope, id: number): Promise<AuditEvent | null> {
  const hot = await findAuditEventInScope(env.DB, scope, id);
  if (hot) return hot;
  for (const { chunk } of await chunksForIds(env, [id])) {
    const line = (await readChunkLines(env.AUDIT_ARCHIVE, chunk)).find((l) => l.id === id);
    if (line && isEventLine(line) && rowMatches(line, scope, {})) return toAuditEvent(line);
  }
  return null;
}

/** Cold events by id (those in the archive's chunks; ids hot, unknown or removed by retention are absent). One D1 query, one read per chunk. */
export async function loadColdEvents(env: ArchiveEnv, ids: readonly number[]): Promise<Map<number, AuditEvent>> {
  const found = new Map<number, AuditEvent>();
  for (const { chunk, ids: inChunk } of await chunksForIds(env, ids)) {
    const wanted = new Set(inChunk);
    for (const line of await readChunkLines(env.AUDIT_ARCHIVE, chunk)) if (wanted.has(line.id) && isEventLine(line)) found.set(line.id, toAuditEvent(line));
  }
  return found;
}
