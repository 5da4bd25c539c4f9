/**
 * The delivery log: one `deliveries` row per (event, destination) and one `delivery_attempts`
 * row per HTTP attempt, plus the destination-side state the consumer keeps (circuit breaker,
 * deactivation on 410 Gone).
 */
import { toAuditEvents, type AuditEvent } from './audit_events';
import { DESTINATION_COLUMNS, toDestination, type Destination, type DestinationRow } from './destinations';
import { nowIso } from './time';

/**
 * Consecutive failures that open a destination's circuit breaker (the rule is
 * src/delivery/breaker.ts; the statements below apply it in SQL). High enough that a flaky but
 * living receiver (even one failing 40% of attempts: 0.4^10, about 1 in 10,000) rarely trips it.
 */
export const BREAKER_THRESHOLD = 10;
/**
 * Half-open probes in a row that must all fail before the breaker opens again (the rule is
 * src/delivery/breaker.ts): one failed request of a receiver that fails 40% of them no longer
 * doubles the cool-down (0.4^3, about 1 in 16, does).
 */
export const HALF_OPEN_PROBES = 3;
/** The longest cool-down is this many times the first. */
export const BREAKER_MAX_COOLDOWN_FACTOR = 10;

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'delivered', 'failed'];

/** A delivery: one (event, destination) pair and the state of its attempts. */
export interface Delivery {
  id: number;
  eventId: number;
  destinationId: number;
  status: DeliveryStatus;
  /** Attempts over every run. */
  attempts: number;
  /** Attempts of the current run (since the last redelivery): what the retry schedule counts. */
  runAttempts: number;
  lastHttpStatus: number | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
  deliveredAt: string | null;
  nextRetryAt: string | null;
  /** When the current run began (its last redelivery); null: at createdAt. */
  runStartedAt: string | null;
}

/** A deliveries row as D1 returns it. */
interface DeliveryRow {
  id: number;
  event_id: number;
  destination_id: number;
  status: DeliveryStatus;
  attempts: number;
  run_attempts: number;
  last_http_status: number | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  delivered_at: string | null;
  next_retry_at: string | null;
  run_started_at: string | null;
}

function toDelivery(r: DeliveryRow): Delivery {
  return {
    id: r.id,
    eventId: r.event_id,
    destinationId: r.destination_id,
    status: r.status,
    attempts: r.attempts,
    runAttempts: r.run_attempts,
    lastHttpStatus: r.last_http_status,
    lastError: r.last_error,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    deliveredAt: r.delivered_at,
    nextRetryAt: r.next_retry_at,
    runStartedAt: r.run_started_at,
  };
}

/** One HTTP attempt of a delivery. */
export interface DeliveryAttempt {
  id: number;
  deliveryId: number;
  /** 1 for the delivery's first attempt, over every run. */
  attempt: number;
  status: 'delivered' | 'failed';
  httpStatus: number | null;
  durationMs: number;
  errorClass: string | null;
  responseExcerpt: string | null;
  createdAt: string;
}

/** A delivery_attempts row as D1 returns it (db/ only: delivery_log.ts reads them too). */
export interface DeliveryAttemptRow {
  id: number;
  delivery_id: number;
  attempt: number;
  status: 'delivered' | 'failed';
  http_status: number | null;
  duration_ms: number;
  error_class: string | null;
  response_excerpt: string | null;
  created_at: string;
}

/** Row to domain object (db/ only). */
export function toDeliveryAttempt(r: DeliveryAttemptRow): DeliveryAttempt {
  return {
    id: r.id,
    deliveryId: r.delivery_id,
    attempt: r.attempt,
    status: r.status,
    httpStatus: r.http_status,
    durationMs: r.duration_ms,
    errorClass: r.error_class,
    responseExcerpt: r.response_excerpt,
    createdAt: r.created_at,
  };
}

/** A destination as the consumer needs it: with its circuit breaker's state. */
export interface DeliveryDestination extends Destination {
  consecutiveFailures: number;
  breakerOpenUntil: string | null;
}

type DeliveryDestinationRow = DestinationRow & { consecutive_failures: number; breaker_open_until: string | null };

function toDeliveryDestination(r: DeliveryDestinationRow): DeliveryDestination {
  return { ...toDestination(r), consecutiveFailures: r.consecutive_failures, breakerOpenUntil: r.breaker_open_until };
}

/** Everything one delivery attempt needs, loaded in one round trip. */
export interface DeliveryContext {
  event: AuditEvent | null;
  destination: DeliveryDestination | null;
  headers: { key: string; value: string }[];
  delivery: Delivery | null;
}

/** The key of a (event, destination) pair in the map loadDeliveryContexts returns. */
export function deliveryKey(eventId: number, destinationId: number): string {
  return `${eventId}:${destinationId}`;
}

/**
 * Everything the given deliveries need, in ONE D1 round trip: their events, destinations,
 * active headers and delivery rows. Keyed by deliveryKey.
 */
export async function loadDeliveryContexts(db: D1Database, jobs: { eventId: number; destinationId: number }[]): Promise<Map<string, DeliveryContext>> {
  const contexts = new Map<string, DeliveryContext>();
  if (jobs.length === 0) return contexts;
  const eventIds = JSON.stringify([...new Set(jobs.map((j) => j.eventId))]);
  const destinationIds = JSON.stringify([...new Set(jobs.map((j) => j.destinationId))]);
  const pairs = JSON.stringify(jobs.map((j) => [j.eventId, j.destinationId]));
  const [ev, dest, hdr, del] = await db.batch([
    db.prepare('SELECT * FROM audit_events WHERE id IN (SELECT value FROM json_each(?1))').bind(eventIds),
    db
      .prepare(
        `SELECT ${DESTINATION_COLUMNS}, consecutive_failures, breaker_open_until
         FROM streaming_destinations WHERE id IN (SELECT value FROM json_each(?1))`,
      )
      .bind(destinationIds),
    db
      .prepare('SELECT destination_id, key, value FROM streaming_headers WHERE destination_id IN (SELECT value FROM json_each(?1)) AND active = 1 ORDER BY id')
      .bind(destinationIds),
    db
      .prepare(
        `SELECT d.* FROM deliveries d JOIN json_each(?1) p
           ON d.event_id = json_extract(p.value, '$[0]') AND d.destination_id = json_extract(p.value, '$[1]')`,
      )
      .bind(pairs),
  ]);
  const events = new Map(toAuditEvents(ev).map((e) => [e.id, e]));
  const destinations = new Map((dest.results as DeliveryDestinationRow[]).map((d) => [d.id, toDeliveryDestination(d)]));
  const headers = new Map<number, { key: string; value: string }[]>();
  for (const h of hdr.results as { destination_id: number; key: string; value: string }[]) {
    let list = headers.get(h.destination_id);
    if (!list) headers.set(h.destination_id, (list = []));
    list.push({ key: h.key, value: h.value });
  }
  const deliveries = new Map((del.results as DeliveryRow[]).map((d) => [deliveryKey(d.event_id, d.destination_id), toDelivery(d)]));
  for (const j of jobs) {
    const key = deliveryKey(j.eventId, j.destinationId);
    contexts.set(key, {
      event: events.get(j.eventId) ?? null,
      destination: destinations.get(j.destinationId) ?? null,
      headers: headers.get(j.destinationId) ?? [],
      delivery: deliveries.get(key) ?? null,
    });
  }
  return contexts;
}

/** Load the event, the destination, its active custom headers and the delivery row (loadDeliveryContexts for one). */
export async function loadDeliveryContext(db: D1Database, eventId: number, destinationId: number): Promise<DeliveryContext> {
  return (await loadDeliveryContexts(db, [{ eventId, destinationId }])).get(deliveryKey(eventId, destinationId))!;
}

/** The delivery row of (event, destination), created pending when missing. */
export async function ensureDelivery(db: D1Database, eventId: number, destinationId: number): Promise<Delivery> {
  const now = nowIso();
  const [, row] = await db.batch([
    db
      .prepare(`INSERT OR IGNORE INTO deliveries (event_id, destination_id, status, created_at, updated_at) VALUES (?1, ?2, 'pending', ?3, ?3)`)
      .bind(eventId, destinationId, now),
    db.prepare('SELECT * FROM deliveries WHERE event_id = ?1 AND destination_id = ?2').bind(eventId, destinationId),
  ]);
  return toDelivery((row.results as DeliveryRow[])[0]);
}

/** Mark a delivery failed without an attempt (destination gone or inactive, event gone). */
export async function failDeliveryWithoutAttempt(db: D1Database, eventId: number, destinationId: number, reason: string): Promise<void> {
  await db
    .prepare(
      `UPDATE deliveries SET status = 'failed', last_error = ?3, updated_at = ?4, next_retry_at = NULL
       WHERE event_id = ?1 AND destination_id = ?2 AND status = 'pending'`,
    )
    .bind(eventId, destinationId, reason, nowIso())
    .run();
}

/** Mark a pending delivery failed because it was dead-lettered (keeps its last error when `reason` is null). */
export async function deadLetterDelivery(db: D1Database, eventId: number, destinationId: number, reason: string | null): Promise<void> {
  await db
    .prepare(
      `UPDATE deliveries SET status = 'failed', last_error = COALESCE(?3, last_error), next_retry_at = NULL, updated_at = ?4
       WHERE event_id = ?1 AND destination_id = ?2 AND status = 'pending'`,
    )
    .bind(eventId, destinationId, reason, nowIso())
    .run();
}

/**
 * Delete delivery attempts older than `before` (at most `limit` per call); returns how many were
 * removed. Walks delivery_attempts_destination_created (destination_id, created_at) destination
 * by destination: one seek per destination with attempts, then the range of its old attempts
 * (attempts written before migration 0011 may have no destination: their own range). It never
 * reads the whole table, and needs no index of its own on created_at (migration 0024).
 */
export async function pruneDeliveryAttempts(db: D1Database, before: string, limit = 5000): Promise<number> {
  const res = await db
    .prepare(
      `DELETE FROM delivery_attempts WHERE id IN (
         WITH RECURSIVE dest_ids(id) AS (
           SELECT min(destination_id) FROM delivery_attempts
           UNION ALL
           SELECT (SELECT min(destination_id) FROM delivery_attempts WHERE destination_id > dest_ids.id) FROM dest_ids WHERE dest_ids.id IS NOT NULL)
         SELECT a.id FROM dest_ids JOIN delivery_attempts a ON a.destination_id = dest_ids.id AND a.created_at < ?1
         UNION ALL
         SELECT a.id FROM delivery_attempts a WHERE a.destination_id IS NULL AND a.created_at < ?1
         LIMIT ?2)`,
    )
    .bind(before, limit)
    .run();
  return res.meta.changes ?? 0;
}

/**
 * A page of a destination's deliveries, newest first, below `beforeId`. Each status asked (all
 * three when none) is one range of deliveries_destination (destination_id, status, id) read
 * newest first and at most `limit` long, and the ranges are merged: a page reads at most
 * 3 × `limit` rows, whatever the destination's history.
 */
export async function listDeliveries(
  db: D1Database,
  destinationId: number,
  opts: { status?: DeliveryStatus | null; beforeId?: number | null; limit: number },
): Promise<Delivery[]> {
  const statuses = DELIVERY_STATUSES.filter((s) => !opts.status || s === opts.status);
  if (statuses.length === 0) return [];
  const ranges = statuses.map(
    (s) => `SELECT * FROM (SELECT * FROM deliveries WHERE destination_id = ?1 AND status = '${s}' AND id < ?2 ORDER BY id DESC LIMIT ?3)`,
  );
  const rows = await db
    .prepare(`${ranges.join(' UNION ALL ')} ORDER BY id DESC LIMIT ?3`)
    .bind(destinationId, opts.beforeId ?? Number.MAX_SAFE_INTEGER, opts.limit)
    .all<DeliveryRow>();
  return rows.results.map(toDelivery);
}

/** How many deliveries of a destination are in each status. */
export async function countDeliveries(db: D1Database, destinationId: number, status?: DeliveryStatus | null): Promise<Record<DeliveryStatus, number>> {
  const rows = await db
    .prepare(`SELECT status, COUNT(*) AS n FROM deliveries WHERE destination_id = ?1 AND (?2 IS NULL OR status = ?2) GROUP BY status`)
    .bind(destinationId, status ?? null)
    .all<{ status: DeliveryStatus; n: number }>();
  const counts: Record<DeliveryStatus, number> = { pending: 0, delivered: 0, failed: 0 };
  for (const r of rows.results) counts[r.status] = r.n;
  return counts;
}

/** Reset a delivery to pending for a new run (redelivery); creates it if the event never had one. */
export async function resetDeliveryForRedelivery(db: D1Database, eventId: number, destinationId: number): Promise<Delivery> {
  const now = nowIso();
  const [, , row] = await db.batch([
    db
      .prepare(`INSERT OR IGNORE INTO deliveries (event_id, destination_id, status, created_at, updated_at) VALUES (?1, ?2, 'pending', ?3, ?3)`)
      .bind(eventId, destinationId, now),
    db
      .prepare(
        `UPDATE deliveries SET status = 'pending', run_attempts = 0, next_retry_at = NULL, updated_at = ?3, run_started_at = ?3
         WHERE event_id = ?1 AND destination_id = ?2`,
      )
      .bind(eventId, destinationId, now),
    db.prepare('SELECT * FROM deliveries WHERE event_id = ?1 AND destination_id = ?2').bind(eventId, destinationId),
  ]);
  return toDelivery((row.results as DeliveryRow[])[0]);
}

/**
 * Reset the failed deliveries of a destination created since `since` to pending (at most
 * `limit`, oldest first); returns their event ids. Reads the partial index
 * deliveries_failed_created (failed rows only, migration 0024).
 */
export async function resetFailedDeliveriesSince(db: D1Database, destinationId: number, since: string, limit: number): Promise<number[]> {
  const rows = await db
    .prepare(
      `UPDATE deliveries SET status = 'pending', run_attempts = 0, next_retry_at = NULL, updated_at = ?4, run_started_at = ?4
       WHERE id IN (SELECT id FROM deliveries WHERE destination_id = ?1 AND status = 'failed' AND created_at >= ?2
                    ORDER BY id LIMIT ?3)
       RETURNING event_id`,
    )
    .bind(destinationId, since, limit, nowIso())
    .all<{ event_id: number }>();
  return rows.results.map((r) => r.event_id).sort((a, b) => a - b);
}
