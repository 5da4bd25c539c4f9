/**
 * The cold audit log's settings (issue 19): how long events stay hot in D1 (AUDIT_HOT_DAYS) and
 * how much audit data D1 may hold before the oldest events move early (AUDIT_HOT_MAX_MB).
 * A malformed value is logged once per isolate and the move is skipped (as retention does with
 * AUDIT_RETENTION_DAYS): a typo never moves more than was asked.
 */
import type { SharedEnv } from '../env';

/** Days events stay in D1 when AUDIT_HOT_DAYS is unset. */
export const DEFAULT_HOT_DAYS = 7;
/** Largest accepted AUDIT_HOT_DAYS (100 years). */
export const MAX_HOT_DAYS = 36_500;
/** Megabytes of audit data D1 may hold when AUDIT_HOT_MAX_MB is unset. */
export const DEFAULT_HOT_MAX_MB = 4096;
/** Largest accepted AUDIT_HOT_MAX_MB (1 TiB: far above any D1 database). */
export const MAX_HOT_MAX_MB = 1_048_576;

const MB = 1024 * 1024;

/** The move's settings, read and checked. */
export interface ArchiveConfig {
  /** Events created more than this many days ago move (0: every event, at the next run). */
  hotDays: number;
  /** Above this many bytes of estimated audit data in D1, the oldest events move whatever their age. */
  hotMaxBytes: number;
}

function wholeNumber(raw: string | undefined, fallback: number, min: number, max: number): number | null {
  const text = (raw ?? '').trim();
  if (text === '') return fallback;
  if (!/^\d{1,9}$/.test(text)) return null;
  const n = Number(text);
  return n < min || n > max ? null : n;
}

/** The settings, or what is wrong with them (one message per malformed var). */
export function readArchiveConfig(env: Pick<SharedEnv, 'AUDIT_HOT_DAYS' | 'AUDIT_HOT_MAX_MB'>): { config: ArchiveConfig } | { errors: string[] } {
  const hotDays = wholeNumber(env.AUDIT_HOT_DAYS, DEFAULT_HOT_DAYS, 0, MAX_HOT_DAYS);
  const hotMaxMb = wholeNumber(env.AUDIT_HOT_MAX_MB, DEFAULT_HOT_MAX_MB, 1, MAX_HOT_MAX_MB);
  const errors: string[] = [];
  if (hotDays === null) {
    errors.push(`AUDIT_HOT_DAYS must be a whole number of days from 0 to ${MAX_HOT_DAYS} (got ${JSON.stringify(env.AUDIT_HOT_DAYS)})`);
  }
  if (hotMaxMb === null) {
    errors.push(`AUDIT_HOT_MAX_MB must be a whole number of megabytes from 1 to ${MAX_HOT_MAX_MB} (got ${JSON.stringify(env.AUDIT_HOT_MAX_MB)})`);
  }
  if (hotDays === null || hotMaxMb === null) return { errors };
  return { config: { hotDays, hotMaxBytes: hotMaxMb * MB } };
}

const logged = new Set<string>();

/** Log a configuration error once per isolate (the cron runs every minute). */
export function logConfigErrorOnce(message: string): void {
  if (logged.has(message)) return;
  logged.add(message);
  console.error(`${message}; the audit archive move is skipped`);
}

/** The instant before which events are old enough to move: `now` minus `days` whole days. */
export function hotCutoff(days: number, now: Date): string {
  return new Date(now.getTime() - days * 86_400_000).toISOString();
}

/** Chunks (of CHUNK_LEAVES leaves) per sealed segment: 1,024, so a segment is 2^20 leaves. */
export const SEGMENT_CHUNKS = 1024;

/**
 * Chunks per sealed segment (src/audit/archive_seal.ts): SEGMENT_CHUNKS unless
 * AUDIT_ARCHIVE_SEGMENT_CHUNKS (for tests, so that a segment seals with little data) names a
 * whole number from 1 to SEGMENT_CHUNKS, rounded down to a power of two. Anything else is logged
 * once and gives the default.
 */
export function segmentChunks(env: Pick<SharedEnv, 'AUDIT_ARCHIVE_SEGMENT_CHUNKS'>): number {
  return powerOfTwo('AUDIT_ARCHIVE_SEGMENT_CHUNKS', env.AUDIT_ARCHIVE_SEGMENT_CHUNKS, 1, SEGMENT_CHUNKS);
}

/** Units (segments, or pages) merged into one page: 1,024, so a page is 10 levels above its units. */
export const PAGE_SEGMENTS = 1024;

/**
 * Units per page (src/audit/archive_pages.ts): PAGE_SEGMENTS unless AUDIT_ARCHIVE_PAGE_SEGMENTS
 * (for tests, so that pages form with little data) names a whole number from 2 to PAGE_SEGMENTS,
 * rounded down to a power of two. Anything else is logged once and gives the default.
 */
export function pageSegments(env: Pick<SharedEnv, 'AUDIT_ARCHIVE_PAGE_SEGMENTS'>): number {
  return powerOfTwo('AUDIT_ARCHIVE_PAGE_SEGMENTS', env.AUDIT_ARCHIVE_PAGE_SEGMENTS, 2, PAGE_SEGMENTS);
}

/** A tests-only power-of-two setting: `max` when unset or malformed (logged once), else rounded down. */
function powerOfTwo(name: string, raw: string | undefined, min: number, max: number): number {
  const n = wholeNumber(raw, max, min, max);
  if (n === null) {
    const message = `${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(raw)}); using ${max}`;
    if (!logged.has(message)) {
      logged.add(message);
      console.error(message);
    }
    return max;
  }
  return 2 ** Math.floor(Math.log2(n));
}
