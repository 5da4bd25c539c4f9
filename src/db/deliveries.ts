/**
 * The delivery log: one `deliveries` row per (event, destination) and one `delivery_attempts`
 * row per HTTP attempt, plus the destination-side state the consumer keeps (circuit breaker,
 * deactivation on 410 Gone).
 */
import { toAuditEvent, type AuditEvent, type AuditEventRow } from './audit_events';
import { nowIso } from './time';

/**
 * Consecutive failures that open a destination's circuit breaker (the rule is
 * src/delivery/breaker.ts; the statements below apply it in SQL). High enough that a flaky but
 * living receiver (even one failing 40% of attempts: 0.4^10, about 1 in 10,000) rarely trips it.
 */
export const BREAKER_THRESHOLD = 10;
/** The longest cool-down is this many times the first. */
export const BREAKER_MAX_COOLDOWN_FACTOR = 10;

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'delivered', 'failed'];

/** A deliveries row. */
export interface DeliveryRow {
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
  /** When the current run began (its last redelivery); null: at created_at. */
  run_started_at: string | null;
}

/** A delivery_attempts row. */
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

/** What the consumer needs of a destination. */
export interface DeliveryDestination {
  id: number;
  scope: 'group' | 'instance';
  namespace_id: number | null;
  destination_url: string;
  verification_token: string;
  signing_secret: string;
  previous_signing_secret: string | null;
  previous_secret_expires_at: string | null;
  active: number;
  consecutive_failures: number;
  breaker_open_until: string | null;
}

/** Everything one delivery attempt needs, loaded in one round trip. */
export interface DeliveryContext {
  event: AuditEvent | null;
  destination: DeliveryDestination | null;
  headers: { key: string; value: string }[];
  delivery: DeliveryRow | null;
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
        `SELECT id, scope, namespace_id, destination_url, verification_token, signing_secret, previous_signing_secret,
                previous_secret_expires_at, active, consecutive_failures, breaker_open_until
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
  const events = new Map((ev.results as AuditEventRow[]).map((r) => [r.id, toAuditEvent(r)]));
  const destinations = new Map((dest.results as DeliveryDestination[]).map((d) => [d.id, d]));
  const headers = new Map<number, { key: string; value: string }[]>();
  for (const h of hdr.results as { destination_id: number; key: string; value: string }[]) {
    let list = headers.get(h.destination_id);
    if (!list) headers.set(h.destination_id, (list = []));
    list.push({ key: h.key, value: h.value });
  }
  const deliveries = new Map((del.results as DeliveryRow[]).map((d) => [deliveryKey(d.event_id, d.destination_id), d]));
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
export async function ensureDelivery(db: D1Database, eventId: number, destinationId: number): Promise<DeliveryRow> {
  const now = nowIso();
  const [, row] = await db.batch([
    db
      .prepare(`INSERT OR IGNORE INTO deliveries (event_id, destination_id, status, created_at, updated_at) VALUES (?1, ?2, 'pending', ?3, ?3)`)
      .bind(eventId, destinationId, now),
    db.prepare('SELECT * FROM deliveries WHERE event_id = ?1 AND destination_id = ?2').bind(eventId, destinationId),
  ]);
  return (row.results as DeliveryRow[])[0];
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

/** The result of one attempt, as recorded. */
export interface AttemptRecord {
  deliveryId: number;
  status: 'delivered' | 'failed';
  httpStatus: number | null;
  durationMs: number;
  errorClass: string | null;
  responseExcerpt: string | null;
  /** Human-readable last error for the delivery row (null on success). */
  error: string | null;
  /** The delivery's status after this attempt. */
  deliveryStatus: DeliveryStatus;
  /** When the next retry is due, for the log (pending deliveries only). */
  nextRetryAt: string | null;
}

/** What an attempt does to its destination's row besides the log (see src/delivery/breaker.ts). */
export type DestinationEffect =
  | { kind: 'none' }
  | { kind: 'success' }
  | { kind: 'failure'; probe: boolean; baseCooldown: number; weight: number }
  | { kind: 'deactivate' };

/** An attempt as a lane keeps it until D1 has it: the record, when it was made, and its effect on the destination. */
export interface LoggedAttempt extends AttemptRecord {
  destinationId: number;
  /** When the attempt ended (ISO 8601): the attempt row's created_at and the delivery's updated_at. */
  at: string;
  effect: DestinationEffect;
}

/**
 * SQL: the delivery was redelivered (a new run began) after the last attempt of the group was
 * made; the attempts still count, but the new run's state is kept.
 */
const SUPERSEDED = '(deliveries.run_started_at IS NOT NULL AND deliveries.run_started_at > last.at)';

/**
 * Statements writing attempts (in the order made) to the delivery log and their deliveries'
 * state, with their effects on the destinations, as ONE transaction whatever their number: one
 * insert of every attempt row (numbered after the delivery's earlier attempts), one update of
 * every delivery (its counters by its attempts here, its state from its last one, unless a
 * redelivery started a new run after that attempt: the log reaches D1 up to a second late), then one
 * statement per failure or deactivation, and one breaker reset per run of successes.
 */
export function attemptLogStatements(db: D1Database, attempts: LoggedAttempt[]): D1PreparedStatement[] {
  if (attempts.length === 0) return [];
  const rows = JSON.stringify(
    attempts.map((a) => [a.deliveryId, a.status, a.httpStatus, a.durationMs, a.errorClass, a.responseExcerpt, a.error, a.deliveryStatus, a.nextRetryAt, a.at]),
  );
  const statements = [
    db
      .prepare(
        `INSERT INTO delivery_attempts (delivery_id, attempt, status, http_status, duration_ms, error_class, response_excerpt, created_at)
         SELECT d.id, d.attempts + row_number() OVER (PARTITION BY d.id ORDER BY r.key), json_extract(r.value, '$[1]'),
                json_extract(r.value, '$[2]'), json_extract(r.value, '$[3]'), json_extract(r.value, '$[4]'), json_extract(r.value, '$[5]'),
                json_extract(r.value, '$[9]')
         FROM json_each(?1) r JOIN deliveries d ON d.id = json_extract(r.value, '$[0]')
         ORDER BY r.key`,
      )
      .bind(rows),
    db
      .prepare(
        `WITH r AS (SELECT key AS k, json_extract(value, '$[0]') AS delivery_id, json_extract(value, '$[2]') AS http_status,
                           json_extract(value, '$[6]') AS error, json_extract(value, '$[7]') AS status,
                           json_extract(value, '$[8]') AS next_retry_at, json_extract(value, '$[9]') AS at
                    FROM json_each(?1)),
              last AS (SELECT r.*, (SELECT count(*) FROM r r2 WHERE r2.delivery_id = r.delivery_id) AS n FROM r
                       WHERE r.k = (SELECT max(r2.k) FROM r r2 WHERE r2.delivery_id = r.delivery_id))
         UPDATE deliveries SET attempts = deliveries.attempts + last.n,
           run_attempts = CASE WHEN ${SUPERSEDED} THEN deliveries.run_attempts ELSE deliveries.run_attempts + last.n END,
           status = CASE WHEN ${SUPERSEDED} THEN deliveries.status ELSE last.status END,
           last_http_status = CASE WHEN ${SUPERSEDED} THEN deliveries.last_http_status ELSE last.http_status END,
           last_error = CASE WHEN ${SUPERSEDED} THEN deliveries.last_error ELSE last.error END,
           updated_at = CASE WHEN ${SUPERSEDED} THEN deliveries.updated_at ELSE last.at END,
           delivered_at = CASE WHEN NOT ${SUPERSEDED} AND last.status = 'delivered' THEN last.at ELSE deliveries.delivered_at END,
           next_retry_at = CASE WHEN ${SUPERSEDED} THEN deliveries.next_retry_at ELSE last.next_retry_at END
         FROM last WHERE deliveries.id = last.delivery_id`,
      )
      .bind(rows),
  ];
  attempts.forEach((a, i) => {
    const e = a.effect;
    if (e.kind === 'success') {
      const next = attempts[i + 1];
      if (!next || next.destinationId !== a.destinationId || next.effect.kind !== 'success') statements.push(breakerSuccessStatement(db, a.destinationId));
    } else if (e.kind === 'failure') statements.push(breakerFailureStatement(db, a.destinationId, e.probe, e.baseCooldown, e.weight));
    else if (e.kind === 'deactivate') statements.push(deactivateDestinationStatement(db, a.destinationId));
  });
  return statements;
}

/** Statement: a successful attempt closes the destination's breaker. */
export function breakerSuccessStatement(db: D1Database, destinationId: number): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE streaming_destinations SET consecutive_failures = 0, breaker_open_until = NULL, breaker_trips = 0
       WHERE id = ?1 AND (consecutive_failures <> 0 OR breaker_open_until IS NOT NULL OR breaker_trips <> 0)`,
    )
    .bind(destinationId);
}

/**
 * Statement: a failed attempt counts against the destination (see src/delivery/breaker.ts).
 * A failed half-open probe re-opens the breaker for the next, doubled cool-down; at the
 * threshold a closed breaker opens; a failure while it is open (an attempt that was in flight
 * when it opened) changes nothing but the count. SQLite evaluates every SET expression on the
 * row as it was, so the CASEs agree with each other. `baseCooldown`: the first cool-down in
 * seconds (see cooldownSeconds in src/delivery/breaker.ts, which this computes in SQL). `weight`:
 * how many failures this one counts for (see failureWeight in src/delivery/breaker.ts).
 */
export function breakerFailureStatement(db: D1Database, destinationId: number, probe: boolean, baseCooldown: number, weight = 1): D1PreparedStatement {
  const now = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;
  const opens = `(?2 = 1 OR ((breaker_open_until IS NULL OR breaker_open_until <= ${now}) AND consecutive_failures + ?6 >= ?3))`;
  return db
    .prepare(
      `UPDATE streaming_destinations SET
         consecutive_failures = consecutive_failures + ?6,
         breaker_open_until = CASE WHEN ${opens}
           THEN strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+' || min(?5, ?4 * (1 << min(breaker_trips, 10))) || ' seconds')
           ELSE breaker_open_until END,
         breaker_trips = CASE WHEN ${opens} THEN breaker_trips + 1 ELSE breaker_trips END
       WHERE id = ?1`,
    )
    .bind(destinationId, probe ? 1 : 0, BREAKER_THRESHOLD, baseCooldown, baseCooldown * BREAKER_MAX_COOLDOWN_FACTOR, weight);
}

/**
 * Claim the half-open probe of a destination whose cool-down is over: only one consumer wins
 * (the row is pushed `holdSeconds` into the future); the others keep waiting.
 */
export async function claimBreakerProbe(db: D1Database, destinationId: number, holdSeconds: number): Promise<boolean> {
  const now = nowIso();
  const until = new Date(Date.now() + holdSeconds * 1000).toISOString();
  const row = await db
    .prepare(
      `UPDATE streaming_destinations SET breaker_open_until = ?3
       WHERE id = ?1 AND consecutive_failures >= ?4 AND (breaker_open_until IS NULL OR breaker_open_until <= ?2)
       RETURNING id`,
    )
    .bind(destinationId, now, until, BREAKER_THRESHOLD)
    .first<{ id: number }>();
  return row !== null;
}

/** Statement: deactivate a destination (its receiver answered 410 Gone). */
export function deactivateDestinationStatement(db: D1Database, destinationId: number): D1PreparedStatement {
  return db.prepare(`UPDATE streaming_destinations SET active = 0, updated_at = ?2 WHERE id = ?1`).bind(destinationId, nowIso());
}

/** Delete delivery attempts older than `before` (bounded per call); returns how many were removed. */
export async function pruneDeliveryAttempts(db: D1Database, before: string, limit = 5000): Promise<number> {
  const res = await db
    .prepare(
      `DELETE FROM delivery_attempts WHERE id IN (SELECT id FROM delivery_attempts WHERE created_at < ?1 ORDER BY created_at LIMIT ?2)`,
    )
    .bind(before, limit)
    .run();
  return res.meta.changes ?? 0;
}

/** Deliveries of a destination, newest first, keyset-paged by id. */
export async function listDeliveries(
  db: D1Database,
  destinationId: number,
  opts: { status?: DeliveryStatus | null; beforeId?: number | null; limit: number },
): Promise<DeliveryRow[]> {
  const rows = await db
    .prepare(
      `SELECT * FROM deliveries WHERE destination_id = ?1 AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR id < ?3)
       ORDER BY id DESC LIMIT ?4`,
    )
    .bind(destinationId, opts.status ?? null, opts.beforeId ?? null, opts.limit)
    .all<DeliveryRow>();
  return rows.results;
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

/** The attempts of a delivery, oldest first (at most `limit`, newest kept). */
export async function listAttempts(db: D1Database, deliveryId: number, limit = 100): Promise<DeliveryAttemptRow[]> {
  const rows = await db
    .prepare(`SELECT * FROM (SELECT * FROM delivery_attempts WHERE delivery_id = ?1 ORDER BY id DESC LIMIT ?2) ORDER BY id`)
    .bind(deliveryId, limit)
    .all<DeliveryAttemptRow>();
  return rows.results;
}

/** Reset a delivery to pending for a new run (redelivery); creates it if the event never had one. */
export async function resetDeliveryForRedelivery(db: D1Database, eventId: number, destinationId: number): Promise<DeliveryRow> {
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
  return (row.results as DeliveryRow[])[0];
}

/**
 * Reset the failed deliveries of a destination created since `since` to pending (at most
 * `limit`, oldest first); returns their event ids.
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
