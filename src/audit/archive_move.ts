/**
 * Moving audit events from D1 to the cold archive in R2 (issue 19; format in archive_format.ts,
 * SQL in src/db/audit_archive.ts). Oldest first, one chunk at a time, each chunk a range of the
 * verifiable log's leaves that starts where the cold prefix ends and never crosses a block of
 * CHUNK_LEAVES leaves. Only events that already have their leaf move (the tree builder runs
 * before the move), and an event whose outbox row is still there stops the chunk before it.
 *
 * One chunk, crash-safe at every step:
 * 1. read its lines from D1;
 * 2. write its events object and its manifest to R2 (the same lines always give the same bytes,
 *    so a repeated move writes the same objects under the same keys), each put checked by R2
 *    against the SHA-256 computed here;
 * 3. read the events object back and check its SHA-256 and its lines;
 * 4. ONE D1 transaction: the chunk's row and counts, the deletes, and the
 *    `audit_events_archived` event naming the objects and their SHA-256 (so the archive's
 *    digests are themselves in the verifiable log).
 * A crash before 4 leaves D1 unchanged (the next run writes the same objects again); after 4 the
 * chunk is moved. A second mover racing this one fails on the chunk row's key in step 4.
 */
import type { Env } from '../env';
import type { AuditEventRow } from '../db/audit_events';
import { coldBoundary, leavesWithEvents, moveChunkStatements, type ArchiveChunk, type LeafWithEvent } from '../db/audit_archive';
import { isKeyConflict } from '../db/audit_log_tree';
import {
  buildManifest,
  CHUNK_LEAVES,
  countTuples,
  encodeChunk,
  encodeManifest,
  eventsObjectKey,
  manifestObjectKey,
  sha256Hex,
  type ArchiveLine,
} from './archive_format';
import { readChunkLines } from './archive_objects';
import { instanceEntity, recordAuditEvent } from './record';

/** The author of archive events: not a user (GitLab's convention for non-user authors is id -1). */
export const ARCHIVE_AUTHOR = { id: -1, name: 'Audit log archive' } as const;

/** Record one of the archive's own instance events (`details`) in ONE transaction with the change's statements. */
export async function recordArchiveEvent(
  env: Env,
  ctx: Pick<ExecutionContext, 'waitUntil'> | null,
  eventType: string,
  details: Record<string, unknown>,
  change: D1PreparedStatement[],
): Promise<void> {
  await recordAuditEvent(
    env,
    ctx,
    { eventType, author: { ...ARCHIVE_AUTHOR }, authorClass: 'System', entity: instanceEntity(), target: { id: null, type: null, details: null }, details },
    change,
  );
}

/** Whether a leaf's event may move: retention removed it, or it is old enough and fully dispatched. */
export type Eligible = (leaf: LeafWithEvent) => boolean;

/** Eligible when created before `cutoff` (ISO 8601) and without an outbox row. */
export function olderThan(cutoff: string): Eligible {
  return (leaf) => leaf.event === null || (!leaf.inOutbox && leaf.event.created_at < cutoff);
}

function toLine(leaf: LeafWithEvent): ArchiveLine {
  const fields = { leaf_index: leaf.leafIndex, leaf_version: leaf.leafVersion, leaf_hash: leaf.leafHash };
  if (leaf.event === null) return { id: leaf.eventId, removed: true, ...fields };
  return { ...(leaf.event as AuditEventRow), uuid: leaf.event.uuid ?? null, ...fields };
}

/** Put bytes under a key, R2 checking them against their SHA-256; returns that digest. */
async function putChecked(bucket: R2Bucket, key: string, bytes: Uint8Array, contentType: string): Promise<string> {
  const sha256 = await sha256Hex(bytes);
  await bucket.put(key, bytes, { sha256, httpMetadata: { contentType } });
  return sha256;
}

/**
 * Move the next chunk: the leaves after the cold prefix, up to the end of their block, as long as
 * `eligible` accepts them. Returns the chunk moved, or null when the next leaf may not move yet
 * (or another mover moved the same chunk first).
 */
export async function moveNextChunk(env: Env, ctx: Pick<ExecutionContext, 'waitUntil'> | null, eligible: Eligible, now = new Date()): Promise<ArchiveChunk | null> {
  const boundary = await coldBoundary(env.DB);
  const from = boundary.lastLeaf + 1;
  const blockEnd = (Math.floor(from / CHUNK_LEAVES) + 1) * CHUNK_LEAVES - 1;
  const leaves = await leavesWithEvents(env.DB, from, blockEnd);
  const take: LeafWithEvent[] = [];
  for (const leaf of leaves) {
    if (leaf.leafIndex !== from + take.length || !eligible(leaf)) break;
    take.push(leaf);
  }
  if (take.length === 0) return null;
  const lines = take.map(toLine);
  const bytes = await encodeChunk(lines);
  const first = lines[0];
  const last = lines[lines.length - 1];
  const objectKey = eventsObjectKey(first.id, last.id);
  const objectSha256 = await putChecked(env.AUDIT_ARCHIVE, objectKey, bytes, 'application/x-ndjson');
  const manifest = buildManifest(lines, { key: objectKey, bytes: bytes.byteLength, sha256: objectSha256 });
  const manifestKey = manifestObjectKey(first.id, last.id);
  const manifestSha256 = await putChecked(env.AUDIT_ARCHIVE, manifestKey, encodeManifest(manifest), 'application/json');

  const chunk: ArchiveChunk = {
    firstLeaf: first.leaf_index,
    lastLeaf: last.leaf_index,
    firstId: first.id,
    lastId: last.id,
    firstAt: manifest.first_at,
    lastAt: manifest.last_at,
    eventCount: manifest.events,
    objectKey,
    objectBytes: bytes.byteLength,
    objectSha256,
    manifestKey,
    manifestSha256,
    movedAt: now.toISOString(),
    deletedAt: null,
  };
  // Verify what the bucket now holds before anything leaves D1: read afresh (not from this
  // isolate's cache), checked against the SHA-256 the chunk row will record, and decoded.
  const reread = await readChunkLines(env.AUDIT_ARCHIVE, chunk, true);
  if (reread.length !== lines.length || reread[reread.length - 1].leaf_hash !== last.leaf_hash) {
    throw new Error(`archive: ${objectKey} does not decode to the lines written`);
  }

  try {
    await recordArchiveEvent(
      env,
      ctx,
      'audit_events_archived',
      {
        custom_message: `Moved ${manifest.events} audit events (ids ${chunk.firstId} to ${chunk.lastId}) to the archive`,
        first_id: chunk.firstId,
        last_id: chunk.lastId,
        first_leaf: chunk.firstLeaf,
        last_leaf: chunk.lastLeaf,
        events: manifest.events,
        object_key: objectKey,
        object_sha256: objectSha256,
        manifest_key: manifestKey,
        manifest_sha256: manifestSha256,
      },
      moveChunkStatements(env.DB, chunk, countTuples(lines), CHUNK_LEAVES),
    );
  } catch (err) {
    if (isKeyConflict(err)) return null;
    throw err;
  }
  return chunk;
}
