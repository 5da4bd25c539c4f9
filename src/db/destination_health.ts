/**
 * A destination's delivery health, and the delivery row of a test event: bounded reads over the
 * `deliveries_destination (destination_id, status, id)` index (each reads at most a fixed number
 * of rows, whatever the destination's history), in one D1 round trip.
 */
import { ensureDelivery, type Delivery } from './deliveries';
import { nowIso } from './time';

/** Newest deliveries per status looked at for the last success and the last failure. */
export const HEALTH_WINDOW = 100;
/** pending and deadLettered count up to this many (a destination past it shows the cap). */
export const HEALTH_COUNT_CAP = 10_000;

/** What `health` shows. */
export interface DestinationHealth {
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  lastFailureReason: string | null;
  consecutiveFailures: number;
  breakerOpenUntil: string | null;
  pending: number;
  deadLettered: number;
}

/** The health of a destination (null: no such destination). */
export async function destinationHealth(db: D1Database, destinationId: number): Promise<DestinationHealth | null> {
  const newest = (status: string) =>
    `SELECT updated_at, delivered_at, last_error FROM deliveries WHERE destination_id = ?1 AND status = '${status}' ORDER BY id DESC LIMIT ?2`;
  const capped = (status: string) => `SELECT count(*) AS n FROM (SELECT 1 FROM deliveries WHERE destination_id = ?1 AND status = '${status}' LIMIT ?2)`;
  const [breaker, success, failure, pending, failed] = await db.batch([
    db.prepare('SELECT consecutive_failures, breaker_open_until FROM streaming_destinations WHERE id = ?1').bind(destinationId),
    db.prepare(`SELECT max(delivered_at) AS at FROM (${newest('delivered')})`).bind(destinationId, HEALTH_WINDOW),
    db
      .prepare(
        `SELECT updated_at, last_error FROM (SELECT * FROM (${newest('failed')}) UNION ALL SELECT * FROM (${newest('pending')}))
         WHERE last_error IS NOT NULL ORDER BY updated_at DESC LIMIT 1`,
      )
      .bind(destinationId, HEALTH_WINDOW),
    db.prepare(capped('pending')).bind(destinationId, HEALTH_COUNT_CAP),
    db.prepare(capped('failed')).bind(destinationId, HEALTH_COUNT_CAP),
  ]);
  const state = (breaker.results as { consecutive_failures: number; breaker_open_until: string | null }[])[0];
  if (!state) return null;
  const lastFailure = (failure.results as { updated_at: string; last_error: string }[])[0];
  const count = (r: D1Result) => (r.results as { n: number }[])[0]?.n ?? 0;
  return {
    lastSuccessAt: (success.results as { at: string | null }[])[0]?.at ?? null,
    lastFailureAt: lastFailure?.updated_at ?? null,
    lastFailureReason: lastFailure?.last_error ?? null,
    consecutiveFailures: state.consecutive_failures,
    breakerOpenUntil: state.breaker_open_until,
    pending: count(pending),
    deadLettered: count(failed),
  };
}

/**
 * A new delivery row for a test event to this destination, pending. Test events are not audit
 * events: their ids are negative (the next below every test event so far, allocated in the one
 * INSERT), so they never collide with a real event's id, and the delivery log tells them apart.
 */
export async function createTestDelivery(db: D1Database, destinationId: number): Promise<Delivery> {
  const now = nowIso();
  const row = await db
    .prepare(
      `INSERT INTO deliveries (event_id, destination_id, status, created_at, updated_at)
       SELECT coalesce(min(event_id), 0) - 1, ?1, 'pending', ?2, ?2 FROM deliveries WHERE event_id < 0
       RETURNING event_id`,
    )
    .bind(destinationId, now)
    .first<{ event_id: number }>();
  return ensureDelivery(db, row!.event_id, destinationId);
}
