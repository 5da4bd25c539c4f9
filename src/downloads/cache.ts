/**
 * The download redirect's per-isolate memory: what a click needs to know (the link, its
 * project's visibility, a token's user, that user's access) without a D1 round trip, for at
 * most DOWNLOAD_CACHE_SECONDS (default 15; 0 turns the cache off). That is also the staleness
 * bound: a project made private, a link removed or changed, a token revoked or a membership
 * removed keeps working for at most that long in an isolate that had it cached.
 *
 * Only answers that grant a redirect are kept; "not found" and "not allowed" are never cached,
 * so a link, token or membership created a moment ago works at once (see src/http/downloads.ts
 * for the primary fallback). Every write this Worker makes through its APIs clears the whole
 * cache of the isolate that made it, and for READ_YOUR_WRITES_MS afterwards that isolate reads
 * from the D1 primary instead of a replica that may not have the write yet.
 */
import type { Env } from '../env';

/** Entries a cache keeps at most; the oldest is dropped first. */
const MAX_ENTRIES = 10_000;
/** Default lifetime of an entry, in seconds. */
export const DEFAULT_CACHE_SECONDS = 15;
/** After a write in this isolate, misses read the primary for this long. */
const READ_YOUR_WRITES_MS = 10_000;

/** A map whose entries live for a bounded time, and of bounded size (insertion order evicts). */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();

  get(key: string, now = Date.now()): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expires <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  /**
   * Keep a value read when the isolate's write generation was `readAt` (see writeGeneration):
   * a value read before a write that this isolate has made since is not kept.
   */
  set(key: string, value: V, ttlMs: number, readAt: number, now = Date.now()): void {
    if (ttlMs <= 0 || readAt !== generation) return;
    this.entries.delete(key);
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { value, expires: now + ttlMs });
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}

/** The cache lifetime from DOWNLOAD_CACHE_SECONDS (ms); invalid values fall back to the default. */
export function cacheTtlMs(env: Pick<Env, 'DOWNLOAD_CACHE_SECONDS'>): number {
  const raw = env.DOWNLOAD_CACHE_SECONDS;
  const n = raw === undefined || raw.trim() === '' ? DEFAULT_CACHE_SECONDS : Number(raw);
  return Number.isFinite(n) && n >= 0 && n <= 300 ? n * 1000 : DEFAULT_CACHE_SECONDS * 1000;
}

/** Every cache of the download path in this isolate. */
const caches = new Set<TtlCache<unknown>>();
let lastWriteAt = Number.NEGATIVE_INFINITY;
/** Counts the writes this isolate has seen; a lookup notes it before reading (TtlCache.set). */
let generation = 0;

/** The isolate's write generation now: take it before a lookup whose answer may be cached. */
export function writeGeneration(): number {
  return generation;
}

/** A cache of the download path (cleared by downloadWriteSeen). */
export function downloadCache<V>(): TtlCache<V> {
  const c = new TtlCache<V>();
  caches.add(c as TtlCache<unknown>);
  return c;
}

/**
 * This isolate has made (or is about to answer) a write that may change what a download sees:
 * forget everything cached, and read from the primary for a while.
 */
export function downloadWriteSeen(now = Date.now()): void {
  for (const c of caches) c.clear();
  generation++;
  lastWriteAt = now;
}

/** Whether this isolate wrote recently enough that a replica might not have its write yet. */
export function recentlyWritten(now = Date.now()): boolean {
  return now - lastWriteAt < READ_YOUR_WRITES_MS;
}
