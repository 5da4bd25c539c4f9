/**
 * Reading the cold archive's objects (format in archive_format.ts): a chunk's events object and
 * its manifest, each checked against the SHA-256 its chunk row recorded, and kept decoded in a
 * small per-isolate cache (objects are immutable: a key never holds other bytes once recorded).
 * Every reader of cold data (listings, exports, deliveries, proofs, the integrity check) goes
 * through here.
 */
import type { ArchiveChunk } from '../db/audit_archive';
import { decodeChunk, decodeManifest, sha256Hex, type ArchiveLine, type ChunkManifest } from './archive_format';

/** Decoded chunks kept per isolate (a chunk of 1,024 events is about 1 MB decoded). */
export const CACHED_CHUNKS = 16;

/** An object missing or not holding the bytes its chunk row recorded. */
export class ArchiveObjectError extends Error {}

/** A small least-recently-used map (per isolate). */
export class Lru<T> {
  private readonly map = new Map<string, T>();
  constructor(private readonly size: number) {}
  get(key: string): T | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  delete(key: string): void {
    this.map.delete(key);
  }
  set(key: string, v: T): void {
    this.map.delete(key);
    this.map.set(key, v);
    while (this.map.size > this.size) this.map.delete(this.map.keys().next().value as string);
  }
}

const lines = new Lru<ArchiveLine[]>(CACHED_CHUNKS);
const manifests = new Lru<ChunkManifest>(CACHED_CHUNKS * 4);

async function readChecked(bucket: R2Bucket, key: string, sha256: string): Promise<Uint8Array> {
  const object = await bucket.get(key);
  if (!object) throw new ArchiveObjectError(`archive object ${key} is missing`);
  const bytes = new Uint8Array(await object.arrayBuffer());
  if ((await sha256Hex(bytes)) !== sha256) throw new ArchiveObjectError(`archive object ${key} does not match its recorded SHA-256`);
  return bytes;
}

/**
 * A value from the cache, else loaded and kept. Only finished loads are kept, never a load still
 * running: its I/O belongs to the request that started it (workerd refuses I/O on behalf of
 * another request, and a request awaiting it can hang), so concurrent requests that miss each
 * load. A failure is not kept: the next read tries the bucket again.
 */
export async function cached<T>(cache: Lru<T>, key: string, load: () => Promise<T>, fresh: boolean): Promise<T> {
  const hit = fresh ? undefined : cache.get(key);
  if (hit !== undefined) return hit;
  const value = await load();
  cache.set(key, value);
  return value;
}

/**
 * The lines of a chunk's events object (ascending leaf index). Throws ArchiveObjectError when
 * retention deleted it or it does not match. `fresh`: read the bucket even when cached (the
 * integrity check verifies what the bucket holds now).
 */
export async function readChunkLines(bucket: R2Bucket, chunk: ArchiveChunk, fresh = false): Promise<ArchiveLine[]> {
  if (chunk.deletedAt !== null) throw new ArchiveObjectError(`archive object ${chunk.objectKey} was deleted by retention`);
  return cached(lines, `${chunk.objectKey}#${chunk.objectSha256}`, async () => decodeChunk(await readChecked(bucket, chunk.objectKey, chunk.objectSha256)), fresh);
}

/** A chunk's manifest (kept even after retention deleted the events object). `fresh` as for readChunkLines. */
export function readChunkManifest(bucket: R2Bucket, chunk: ArchiveChunk, fresh = false): Promise<ChunkManifest> {
  return cached(
    manifests,
    `${chunk.manifestKey}#${chunk.manifestSha256}`,
    async () => decodeManifest(await readChecked(bucket, chunk.manifestKey, chunk.manifestSha256)),
    fresh,
  );
}
