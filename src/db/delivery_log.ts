/**
 * Reads of the delivery log a page of deliveries needs, each one set query for the whole page
 * (ids passed as one JSON array, so a page of 100 stays within D1's 100 bound parameters), and
 * the one write a failed redelivery makes.
 */
import { toDeliveryAttempt, type DeliveryAttempt, type DeliveryAttemptRow } from './deliveries';
import { nowIso } from './time';

/** Most attempts listed per delivery (the newest are kept). */
export const MAX_ATTEMPTS_LISTED = 100;

/** The attempts of these deliveries, oldest first per delivery (at most MAX_ATTEMPTS_LISTED each, newest kept). */
export async function listAttemptsOfDeliveries(db: D1Database, deliveryIds: number[]): Promise<Map<number, DeliveryAttempt[]>> {
  const byDelivery = new Map<number, DeliveryAttempt[]>(deliveryIds.map((id) => [id, []]));
  if (deliveryIds.length === 0) return byDelivery;
  const rows = await db
    .prepare(
      `SELECT id, delivery_id, attempt, status, http_status, duration_ms, error_class, response_excerpt, created_at FROM (
         SELECT *, ROW_NUMBER() OVER (PARTITION BY delivery_id ORDER BY id DESC) AS newest
         FROM delivery_attempts WHERE delivery_id IN (SELECT value FROM json_each(?1))
       ) WHERE newest <= ?2 ORDER BY delivery_id, id`,
    )
    .bind(JSON.stringify(deliveryIds), MAX_ATTEMPTS_LISTED)
    .all<DeliveryAttemptRow>();
  for (const row of rows.results) byDelivery.get(row.delivery_id)?.push(toDeliveryAttempt(row));
  return byDelivery;
}

/** Event types of events by id (one query). */
export async function eventTypesOf(db: D1Database, eventIds: number[]): Promise<Map<number, string>> {
  if (eventIds.length === 0) return new Map();
  const rows = await db
    .prepare('SELECT id, event_type FROM audit_events WHERE id IN (SELECT value FROM json_each(?1))')
    .bind(JSON.stringify(eventIds))
    .all<{ id: number; event_type: string }>();
  return new Map(rows.results.map((r) => [r.id, r.event_type]));
}

/**
 * Whether an event was routed to this destination (it has a delivery there), with its event type
 * when the event is still in D1 (null when it moved to the archive: the caller reads it there).
 * Null when it was not routed there.
 */
export async function routedEventType(db: D1Database, eventId: number, destinationId: number): Promise<{ eventType: string | null } | null> {
  const row = await db
    .prepare('SELECT e.event_type FROM deliveries d LEFT JOIN audit_events e ON e.id = d.event_id WHERE d.event_id = ?1 AND d.destination_id = ?2')
    .bind(eventId, destinationId)
    .first<{ event_type: string | null }>();
  return row ? { eventType: row.event_type } : null;
}

/** Put deliveries reset for a redelivery back to failed, when their redelivery could not be enqueued (one statement). */
export async function markRedeliveriesNotEnqueued(db: D1Database, destinationId: number, eventIds: number[]): Promise<void> {
  if (eventIds.length === 0) return;
  await db
    .prepare(
      `UPDATE deliveries SET status = 'failed', last_error = 'Redelivery could not be enqueued', updated_at = ?3
       WHERE destination_id = ?1 AND status = 'pending' AND event_id IN (SELECT value FROM json_each(?2))`,
    )
    .bind(destinationId, JSON.stringify(eventIds), nowIso())
    .run();
}
