/**
 * Per-destination delivery figures per UTC hour, for the Streams tab's 24-hour chart (ours):
 * attempts delivered and failed, and the attempts' duration percentiles. Read from the D1
 * delivery log (delivery_attempts: one row per attempt, written by the destination's lane up to
 * about a second after the attempt, see src/db/attempt_log.ts) through the index on
 * (destination_id, created_at): one range of the destination's own attempts since `since`.
 */

/** One hour of a destination's attempts. */
export interface DeliveryHour {
  /** The hour, as its first 13 characters of ISO 8601 (YYYY-MM-DDTHH, UTC). */
  hour: string;
  delivered: number;
  failed: number;
  /** Nearest-rank percentiles of the hour's attempt durations (ms). */
  p50LatencyMs: number;
  p95LatencyMs: number;
}

/** The hours with attempts of a destination since `since` (ISO 8601), oldest first. One query. */
export async function deliveryHours(db: D1Database, destinationId: number, since: string): Promise<DeliveryHour[]> {
  const { results } = await db
    .prepare(
      `WITH a AS MATERIALIZED (
         SELECT substr(created_at, 1, 13) AS hour, status, duration_ms FROM delivery_attempts INDEXED BY delivery_attempts_destination_created
         WHERE destination_id = ?1 AND created_at >= ?2),
       r AS (SELECT hour, status, duration_ms, row_number() OVER (PARTITION BY hour ORDER BY duration_ms) AS rn,
                    count(*) OVER (PARTITION BY hour) AS n FROM a)
       SELECT hour, SUM(status = 'delivered') AS delivered, SUM(status = 'failed') AS failed,
              MAX(CASE WHEN rn = (n * 50 + 99) / 100 THEN duration_ms END) AS p50,
              MAX(CASE WHEN rn = (n * 95 + 99) / 100 THEN duration_ms END) AS p95
       FROM r GROUP BY hour ORDER BY hour`,
    )
    .bind(destinationId, since)
    .all<{ hour: string; delivered: number; failed: number; p50: number; p95: number }>();
  return results.map((r) => ({ hour: r.hour, delivered: r.delivered, failed: r.failed, p50LatencyMs: r.p50, p95LatencyMs: r.p95 }));
}
