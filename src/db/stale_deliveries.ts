/**
 * The SQL of the stale-delivery sweep (src/delivery/stale.ts): pending deliveries that nothing
 * touched for a grace period after they were due, and marking them re-sent; and the cron's
 * bound on paused destinations' deliveries (src/delivery/pause.ts). Both run every minute, so
 * both go destination by destination (CROSS JOIN keeps streaming_destinations the outer loop) to
 * each one's pending range of deliveries_destination (destination_id, status, id): they read the
 * pending deliveries, not every delivery ever made (a scan of `deliveries` in id order read all
 * the delivered rows before the first pending one).
 */

import type { RoutedDelivery } from './audit_events';

/** A delivery the sweep re-sends. */
export interface OverdueDelivery extends RoutedDelivery {
  id: number;
}

/**
 * Pending deliveries (at most `limit`, oldest first) of active destinations whose breaker is not
 * open, untouched since `cutoff` and due by then (their retry time, or before a first attempt
 * their last update), and whose last re-send is at least half their age ago (re-sends back off).
 */
export async function overdueDeliveries(db: D1Database, cutoff: string, now: string, limit: number): Promise<OverdueDelivery[]> {
  const rows = await db
    .prepare(
      `SELECT d.id, d.event_id, d.destination_id FROM streaming_destinations s
       CROSS JOIN deliveries d ON d.destination_id = s.id AND d.status = 'pending'
       WHERE d.updated_at <= ?1
         AND COALESCE(d.next_retry_at, d.updated_at) <= ?1
         AND (julianday(?3) - julianday(d.updated_at)) * 2 >= julianday(?3) - julianday(d.created_at)
         AND s.active = 1
         AND (s.breaker_open_until IS NULL OR s.breaker_open_until <= ?1)
       ORDER BY d.id
       LIMIT ?2`,
    )
    .bind(cutoff, limit, now)
    .all<{ id: number; event_id: number; destination_id: number }>();
  return rows.results.map((r) => ({ id: r.id, eventId: r.event_id, destinationId: r.destination_id }));
}

/** Mark still-pending deliveries re-sent at `stamp` (next_retry_at and updated_at), 90 ids per statement. */
export async function markDeliveriesResent(db: D1Database, ids: number[], stamp: string): Promise<void> {
  for (let i = 0; i < ids.length; i += 90) {
    const chunk = ids.slice(i, i + 90);
    await db
      .prepare(
        `UPDATE deliveries SET next_retry_at = ?1, updated_at = ?1
         WHERE status = 'pending' AND id IN (${chunk.map((_, k) => `?${k + 2}`).join(', ')})`,
      )
      .bind(stamp, ...chunk)
      .run();
  }
}

/**
 * Mark failed (`reason`, at `now`) the pending deliveries (at most `limit`, oldest first) of
 * inactive (paused) destinations whose current run began before `cutoff`; returns how many.
 */
export async function failPausedDeliveries(db: D1Database, cutoff: string, reason: string, now: string, limit: number): Promise<number> {
  const res = await db
    .prepare(
      `UPDATE deliveries SET status = 'failed', last_error = ?2, next_retry_at = NULL, updated_at = ?3
       WHERE id IN (SELECT d.id FROM streaming_destinations s CROSS JOIN deliveries d ON d.destination_id = s.id AND d.status = 'pending'
                    WHERE s.active = 0 AND COALESCE(d.run_started_at, d.created_at) < ?1
                    ORDER BY d.id LIMIT ?4)`,
    )
    .bind(cutoff, reason, now, limit)
    .run();
  return res.meta.changes ?? 0;
}
