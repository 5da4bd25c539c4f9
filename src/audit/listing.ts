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
 */
import type { SharedEnv } from '../env';
import { findAuditEventInScope, type AuditFilters, type AuditScope, type Keyset } from '../db/audit_log';
import { toAuditEvent, type AuditEvent } from '../db/audit_events';
import { chunksForIds, keysetSnapshot, offsetSnapshot, rowMatches, type ChunkMatch } from '../db/audit_archive_read';
import { isEventLine, type EventLine } from './archive_format';
import { readChunkLines } from './archive_objects';
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

/** One offset page, newest first (as GitLab), and the total. */
export async function listAuditEventsPage(
  env: ArchiveEnv,
  scope: AuditScope,
  filters: AuditFilters,
  page: { limit: number; offset: number },
): Promise<{ total: number; events: AuditEvent[] }> {
  const snap = await offsetSnapshot(env.DB, scope, filters, page);
  const chunks = snap.chunks;
  // A chunk the time filter only partly covers: count its matches from its lines.
  for (const m of chunks) if (!m.exact) m.n = (await matchingLines(env, m, scope, filters)).length;
  const total = snap.hotTotal + chunks.reduce((sum, m) => sum + m.n, 0);
  const events = snap.hot;
  let skip = Math.max(0, page.offset - snap.hotTotal);
  for (const m of chunks) {
    if (events.length >= page.limit) break;
    if (skip >= m.n) {
      skip -= m.n;
      continue;
    }
    const lines = await matchingLines(env, m, scope, filters);
    for (const line of lines.slice(skip, skip + page.limit - events.length)) events.push(toAuditEvent(line));
    skip = 0;
  }
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
  const chunks = snap.chunks.slice(0, KEYSET_CHUNKS);
  for (const m of chunks) {
    for (const line of await matchingLines(env, m, scope, filters, keyset)) {
      events.push(toAuditEvent(line));
      if (events.length > limit) return full();
    }
  }
  const last = events.length > 0 ? events[events.length - 1].id : undefined;
  if (snap.chunks.length > KEYSET_CHUNKS) {
    // Cut short at the chunk cap: more may follow, after the last chunk read.
    const edge = chunks[chunks.length - 1].chunk;
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
  for (const { chunk } of await chunksForIds(env.DB, [id])) {
    const line = (await readChunkLines(env.AUDIT_ARCHIVE, chunk)).find((l) => l.id === id);
    if (line && isEventLine(line) && rowMatches(line, scope, {})) return toAuditEvent(line);
  }
  return null;
}

/** Cold events by id (those in the archive's chunks; ids hot, unknown or removed by retention are absent). One D1 query, one read per chunk. */
export async function loadColdEvents(env: ArchiveEnv, ids: readonly number[]): Promise<Map<number, AuditEvent>> {
  const found = new Map<number, AuditEvent>();
  for (const { chunk, ids: inChunk } of await chunksForIds(env.DB, ids)) {
    const wanted = new Set(inChunk);
    for (const line of await readChunkLines(env.AUDIT_ARCHIVE, chunk)) if (wanted.has(line.id) && isEventLine(line)) found.set(line.id, toAuditEvent(line));
  }
  return found;
}
