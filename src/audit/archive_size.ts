/**
 * The size rule's measure of "audit data in D1" (AUDIT_HOT_MAX_MB, src/audit/archive_run.ts).
 * D1 exposes no per-table size (PRAGMA page_count and dbstat are refused) and its database size
 * (`meta.size_after`) does not fall when rows are deleted (freed pages are reused, not returned),
 * so the rule estimates the live bytes of the hot window instead:
 *
 *   hot events × (sampled text bytes per event + EVENT_ROW_OVERHEAD + LEAF_BYTES
 *                 + sampled deliveries per event × DELIVERY_ROW_BYTES
 *                 + sampled attempts per event × ATTEMPT_ROW_BYTES)
 *
 * where hot events is the id range above the cold prefix and the sample is the newest
 * HOT_SAMPLE events. The constants were measured locally with `meta.size_after` before and
 * after inserting 4,096 rows of each kind (README, "Cold audit log (R2)").
 */
import type { Env } from '../env';
import { hotFigures } from '../db/audit_hot_size';

/** Bytes an audit_events row takes besides its text columns: integers, record header, its 9 indexes (measured: 469 bytes per event for 273 bytes of text). */
export const EVENT_ROW_OVERHEAD = 200;
/** Bytes of a leaf row and its share of the tree's nodes (measured: 127 per event). */
export const LEAF_BYTES = 128;
/** Bytes of a deliveries row with its indexes (measured: 159 since migration 0024; 210 for the same rows before it). */
export const DELIVERY_ROW_BYTES = 160;
/** Bytes of a delivery_attempts row with its indexes (measured: 116 with a short response excerpt since migration 0024; 152 before it). */
export const ATTEMPT_ROW_BYTES = 120;
/** The newest hot events sampled for the per-event bytes. */
export const HOT_SAMPLE = 256;

/** The estimate and what it was made from. */
export interface HotSize {
  hotEvents: number;
  /** Estimated bytes per hot event (row, indexes, leaf, deliveries, attempts). */
  bytesPerEvent: number;
  /** hotEvents × bytesPerEvent. */
  bytes: number;
}

/**
 * Estimate the audit data D1 holds above the cold prefix (`lastColdId`). With `bytesPerEvent`
 * (from an earlier estimate of the same run) only the hot id range is read again.
 */
export async function estimateHotSize(env: Pick<Env, 'DB'>, lastColdId: number, bytesPerEvent?: number): Promise<HotSize> {
  const f = await hotFigures(env.DB, lastColdId, bytesPerEvent === undefined ? HOT_SAMPLE : 0);
  if (bytesPerEvent !== undefined) return { hotEvents: f.hotEvents, bytesPerEvent, bytes: f.hotEvents * bytesPerEvent };
  const per = (total: number): number => (f.sampled > 0 ? total / f.sampled : 0);
  bytesPerEvent = Math.ceil(
    per(f.sampledTextBytes) + EVENT_ROW_OVERHEAD + LEAF_BYTES + per(f.sampledDeliveries) * DELIVERY_ROW_BYTES + per(f.sampledAttempts) * ATTEMPT_ROW_BYTES,
  );
  return { hotEvents: f.hotEvents, bytesPerEvent, bytes: f.hotEvents * bytesPerEvent };
}
