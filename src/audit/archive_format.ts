/**
 * The cold audit log's format in R2 (issue 19; migration 0016 has the D1 side). Pure: no D1, no
 * binding. The mover (src/audit/archive_move.ts) writes it; the readers decode it.
 *
 * A chunk is a contiguous range of the verifiable log's leaves (so of events, in id order) that
 * never crosses a multiple of CHUNK_LEAVES. Its two objects in the bucket:
 * - `events/<first_id>-<last_id>.ndjson.gz` (ids zero-padded to 16 digits, so keys sort by id):
 *   gzip of one JSON line per leaf, ascending: the audit_events row exactly as D1 stored it
 *   (snake_case columns, `details` as the stored JSON text, `uuid` included) plus the leaf's
 *   `leaf_index`, `leaf_version`, `leaf_hash` (standard base64). A leaf whose event retention had
 *   already removed is a line with only `id`, the leaf fields and `removed: true`.
 * - `manifests/<first_id>-<last_id>.json`: the chunk's ranges, counts, the SHA-256 of the events
 *   object, and every leaf hash in order, so that proofs still hold after retention deletes the
 *   events object (the manifest is kept).
 */
import type { AuditEventRow } from '../db/audit_events';
import type { ChunkCount } from '../db/audit_archive';
import { sha256, toHex } from '../tlog/hash';

/** Format version of both objects. */
export const ARCHIVE_FORMAT = 1;

/** A chunk never crosses a multiple of this many leaves (the Merkle tree's level-10 subtrees). */
export const CHUNK_LEAVES = 1024;
/** log2(CHUNK_LEAVES): nodes of a fully moved block below this level are not kept in D1. */
export const BLOCK_LEVEL = 10;

/** The leaf fields every line carries. */
export interface LeafFields {
  leaf_index: number;
  leaf_version: number;
  /** Standard base64 of SHA-256(0x00 || leaf). */
  leaf_hash: string;
}

/** A line with its event. */
export type EventLine = AuditEventRow & LeafFields & { removed?: undefined };
/** A line whose event retention had removed before the move: its leaf only. */
export type RemovedLine = { id: number; removed: true } & LeafFields;
/** One NDJSON line of an events object. */
export type ArchiveLine = EventLine | RemovedLine;

export function isEventLine(line: ArchiveLine): line is EventLine {
  return line.removed !== true;
}

/** Counts by one dimension: key (a number as text, or "null") → events. */
export type CountMap = Record<string, number>;

/** The manifest object of a chunk. */
export interface ChunkManifest {
  format: typeof ARCHIVE_FORMAT;
  first_leaf: number;
  last_leaf: number;
  first_id: number;
  last_id: number;
  /** created_at of the oldest and newest line with an event; null when there is none. */
  first_at: string | null;
  last_at: string | null;
  /** Lines with an event. */
  events: number;
  /** Lines of leaves whose event retention had removed before the move. */
  removed: number;
  object: { key: string; bytes: number; sha256: string };
  /** Events per top-level group (root_namespace_id), per project (project_id), per event type. */
  counts: { groups: CountMap; projects: CountMap; event_types: CountMap };
  /** Every leaf hash of the chunk, in leaf order (first_leaf first). */
  leaf_hashes: string[];
}

const pad = (n: number): string => String(n).padStart(16, '0');

/** The events object's key of a chunk. */
export function eventsObjectKey(firstId: number, lastId: number): string {
  return `events/${pad(firstId)}-${pad(lastId)}.ndjson.gz`;
}

/** The manifest object's key of a chunk. */
export function manifestObjectKey(firstId: number, lastId: number): string {
  return `manifests/${pad(firstId)}-${pad(lastId)}.json`;
}

/** The index object's key of a sealed segment (src/audit/archive_segments.ts). */
export function segmentObjectKey(firstId: number, lastId: number): string {
  return `segments/${pad(firstId)}-${pad(lastId)}.json.gz`;
}

/** The index object's key of a page (src/audit/archive_pages.ts). */
export function pageObjectKey(firstId: number, lastId: number, level: number): string {
  return `pages/${pad(firstId)}-${pad(lastId)}-L${level}.json.gz`;
}

/** Lowercase hex SHA-256 of bytes. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return toHex(await sha256(bytes));
}

async function pipeAll(bytes: Uint8Array, transform: CompressionStream | DecompressionStream): Promise<Uint8Array> {
  const out = new Response(new Blob([bytes]).stream().pipeThrough(transform));
  return new Uint8Array(await out.arrayBuffer());
}

/** Gzip of bytes. */
export function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  return pipeAll(bytes, new CompressionStream('gzip'));
}

/** The bytes of a gzip stream. Throws on bytes that are not gzip. */
export function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  return pipeAll(bytes, new DecompressionStream('gzip'));
}

/** The gzip NDJSON bytes of lines (in the order given: ascending leaf index). */
export async function encodeChunk(lines: readonly ArchiveLine[]): Promise<Uint8Array> {
  const text = lines.map((line) => JSON.stringify(line)).join('\n') + '\n';
  return pipeAll(new TextEncoder().encode(text), new CompressionStream('gzip'));
}

/** The lines of an events object's bytes. Throws on bytes that are not gzip NDJSON. */
export async function decodeChunk(bytes: Uint8Array): Promise<ArchiveLine[]> {
  const text = new TextDecoder().decode(await pipeAll(bytes, new DecompressionStream('gzip')));
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as ArchiveLine);
}

function bump(map: CountMap, key: number | string | null): void {
  const k = key === null ? 'null' : String(key);
  map[k] = (map[k] ?? 0) + 1;
}

/** The manifest of a chunk's lines (non-empty, ascending) and its stored events object. */
export function buildManifest(lines: readonly ArchiveLine[], object: ChunkManifest['object']): ChunkManifest {
  const events = lines.filter(isEventLine);
  const counts: ChunkManifest['counts'] = { groups: {}, projects: {}, event_types: {} };
  for (const e of events) {
    bump(counts.groups, e.root_namespace_id);
    bump(counts.projects, e.project_id);
    bump(counts.event_types, e.event_type);
  }
  const times = events.map((e) => e.created_at).sort();
  return {
    format: ARCHIVE_FORMAT,
    first_leaf: lines[0].leaf_index,
    last_leaf: lines[lines.length - 1].leaf_index,
    first_id: lines[0].id,
    last_id: lines[lines.length - 1].id,
    first_at: times[0] ?? null,
    last_at: times[times.length - 1] ?? null,
    events: events.length,
    removed: lines.length - events.length,
    object,
    counts,
    leaf_hashes: lines.map((l) => l.leaf_hash),
  };
}

/** The manifest's bytes as stored (UTF-8 JSON). */
export function encodeManifest(manifest: ChunkManifest): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(manifest));
}

/** A manifest from its stored bytes. Throws on anything else. */
export function decodeManifest(bytes: Uint8Array): ChunkManifest {
  const m = JSON.parse(new TextDecoder().decode(bytes)) as ChunkManifest;
  if (m.format !== ARCHIVE_FORMAT || !Array.isArray(m.leaf_hashes)) throw new Error('not an audit archive manifest');
  return m;
}

/** The count tuples of a chunk's lines (lines without an event are not counted). */
export function countTuples(lines: readonly ArchiveLine[]): ChunkCount[] {
  const byKey = new Map<string, ChunkCount>();
  for (const e of lines.filter(isEventLine)) {
    const key = JSON.stringify([e.root_namespace_id, e.scope_path, e.project_id, e.event_type, e.author_id, e.entity_type, e.entity_id]);
    const t = byKey.get(key);
    if (t) t.n++;
    else
      byKey.set(key, {
        rootNamespaceId: e.root_namespace_id,
        scopePath: e.scope_path,
        projectId: e.project_id,
        eventType: e.event_type,
        authorId: e.author_id,
        entityType: e.entity_type,
        entityId: e.entity_id,
        n: 1,
      });
  }
  return [...byKey.values()];
}
