/**
 * Events and their leaves by id where D1 no longer has them (issue 19): an event moved to the
 * archive is read from its chunk's events object (chunkContainingId, a chunk row or one of a sealed
 * segment, then readChunkLines: the
 * line is the event as stored plus its leaf index, version and hash). An event whose line says
 * retention had removed it before the move, or whose events object retention deleted, is gone:
 * it is in neither map (its leaf hash stays in the manifest, so other proofs still hold).
 */
import { coldBoundary, type ArchiveChunk } from '../db/audit_archive';
import { toAuditEvent, type AuditEvent } from '../db/audit_events';
import type { LogLeaf } from '../db/audit_log_tree';
import { isEventLine, type EventLine } from './archive_format';
import { readChunkLines } from './archive_objects';
import { chunkContainingId } from './archive_segments';
import type { TreeStore } from './archive_tree';

/** The archived lines (with their event) of these ids, by id; ids that are hot, unknown or gone are absent. */
export async function coldEventLines(store: TreeStore, ids: readonly number[]): Promise<Map<number, EventLine>> {
  const out = new Map<number, EventLine>();
  if (ids.length === 0) return out;
  const boundary = await coldBoundary(store.DB);
  let chunk: ArchiveChunk | null = null;
  let lines = new Map<number, EventLine>();
  for (const id of [...new Set(ids)].sort((a, b) => a - b)) {
    if (id > boundary.lastId) break;
    if (!chunk || id > chunk.lastId) {
      chunk = await chunkContainingId(store, id);
      if (!chunk) continue;
      lines = chunk.deletedAt === null ? new Map((await readChunkLines(store.AUDIT_ARCHIVE, chunk)).filter(isEventLine).map((l) => [l.id, l])) : new Map();
    }
    const line = lines.get(id);
    if (line) out.set(id, line);
  }
  return out;
}

/** The leaf of an archived line. */
export function lineLeaf(line: EventLine): LogLeaf {
  return { leafIndex: line.leaf_index, eventId: line.id, leafVersion: line.leaf_version, leafHash: line.leaf_hash, contentRemoved: false };
}

/**
 * Complete `events` and `leaves` (what D1 gave for `ids`) with the archive's: for every id missing
 * from either, its archived line's event and leaf. The maps are updated in place.
 */
export async function addColdEvents(store: TreeStore, ids: readonly number[], events: Map<number, AuditEvent>, leaves: Map<number, LogLeaf>): Promise<void> {
  const missing = ids.filter((id) => !events.has(id) || !leaves.has(id));
  for (const [id, line] of await coldEventLines(store, missing)) {
    if (!events.has(id)) events.set(id, toAuditEvent(line));
    if (!leaves.has(id)) leaves.set(id, lineLeaf(line));
  }
}

/** Complete `leaves` (what D1 gave for `ids`) with the archive's: for every id missing, its archived line's leaf. In place. */
export async function addColdLeaves(store: TreeStore, ids: readonly number[], leaves: Map<number, LogLeaf>): Promise<void> {
  for (const [id, line] of await coldEventLines(store, ids.filter((id) => !leaves.has(id)))) leaves.set(id, lineLeaf(line));
}
