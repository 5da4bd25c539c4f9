/**
 * The delivery log's writes from the delivery path: attempts (grouped, one transaction per group)
 * and their effects on the destination's circuit breaker.
 */
import { BREAKER_MAX_COOLDOWN_FACTOR, BREAKER_THRESHOLD, HALF_OPEN_PROBES, type DeliveryStatus } from './deliveries';
import { nowIso } from './time';

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
 * Each delivery's last attempt and count come from window functions over the group, one pass: a
 * correlated subquery per attempt made the update quadratic in the group (27 ms of SQLite for a group
 * of 100 against 1 ms; test/delivery/attempt_log.test.ts).
 */
export function attemptLogStatements(db: D1Database, attempts: LoggedAttempt[]): D1PreparedStatement[] {
  if (attempts.length === 0) return [];
  const rows = JSON.stringify(
    attempts.map((a) => [a.deliveryId, a.status, a.httpStatus, a.durationMs, a.errorClass, a.responseExcerpt, a.error, a.deliveryStatus, a.nextRetryAt, a.at]),
  );
  const statements = [
    db
      .prepare(
        `INSERT INTO delivery_attempts (delivery_id, attempt, status, http_status, duration_ms, error_class, response_excerpt, created_at, destination_id)
         SELECT d.id, d.attempts + row_number() OVER (PARTITION BY d.id ORDER BY r.key), json_extract(r.value, '$[1]'),
                json_extract(r.value, '$[2]'), json_extract(r.value, '$[3]'), json_extract(r.value, '$[4]'), json_extract(r.value, '$[5]'),
                json_extract(r.value, '$[9]'), d.destination_id
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
              last AS (SELECT * FROM (SELECT r.*, count(*) OVER (PARTITION BY r.delivery_id) AS n,
                                             row_number() OVER (PARTITION BY r.delivery_id ORDER BY r.k DESC) AS rn FROM r)
                       WHERE rn = 1)
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

/** Write attempts (in the order made) and their effects as one D1 transaction (see attemptLogStatements). */
export async function writeAttemptLog(db: D1Database, attempts: LoggedAttempt[]): Promise<void> {
  if (attempts.length > 0) await db.batch(attemptLogStatements(db, attempts));
}

/** Statement: a successful attempt closes the destination's breaker. */
export function breakerSuccessStatement(db: D1Database, destinationId: number): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE streaming_destinations SET consecutive_failures = 0, breaker_open_until = NULL, breaker_trips = 0, breaker_probe_failures = 0
       WHERE id = ?1 AND (consecutive_failures <> 0 OR breaker_open_until IS NOT NULL OR breaker_trips <> 0 OR breaker_probe_failures <> 0)`,
    )
    .bind(destinationId);
}

/**
 * Statement: a failed attempt counts against the destination (see src/delivery/breaker.ts).
 * A failed half-open probe releases the probe (the destination is half-open again at once, so
 * the next probe can go) until HALF_OPEN_PROBES probes in a row have failed; that one re-opens
 * the breaker for the next, doubled cool-down. At the threshold a closed breaker opens; a failure
 * while it is open (an attempt that was in flight when it opened) changes nothing but the count.
 * SQLite evaluates every SET expression on the row as it was, so the CASEs agree with each other.
 * `baseCooldown`: the first cool-down in seconds (see cooldownSeconds in src/delivery/breaker.ts,
 * which this computes in SQL). `weight`: how many failures this one counts for (see failureWeight
 * in src/delivery/breaker.ts).
 */
export function breakerFailureStatement(db: D1Database, destinationId: number, probe: boolean, baseCooldown: number, weight = 1): D1PreparedStatement {
  const now = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;
  // A probe whose breaker another attempt's success closed meanwhile counts as a plain failure.
  const probing = `(?2 = 1 AND consecutive_failures >= ?3)`;
  const opens = `((${probing} AND breaker_probe_failures + 1 >= ?7)
    OR (NOT ${probing} AND (breaker_open_until IS NULL OR breaker_open_until <= ${now}) AND consecutive_failures + ?6 >= ?3))`;
  return db
    .prepare(
      `UPDATE streaming_destinations SET
         consecutive_failures = consecutive_failures + ?6,
         breaker_open_until = CASE WHEN ${opens}
           THEN strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+' || min(?5, ?4 * (1 << min(breaker_trips, 10))) || ' seconds')
           WHEN ${probing} THEN ${now}
           ELSE breaker_open_until END,
         breaker_trips = CASE WHEN ${opens} THEN breaker_trips + 1 ELSE breaker_trips END,
         breaker_probe_failures = CASE WHEN ${opens} THEN 0 WHEN ${probing} THEN breaker_probe_failures + 1 ELSE breaker_probe_failures END
       WHERE id = ?1`,
    )
    .bind(destinationId, probe ? 1 : 0, BREAKER_THRESHOLD, baseCooldown, baseCooldown * BREAKER_MAX_COOLDOWN_FACTOR, weight, HALF_OPEN_PROBES);
}

/**
 * Claim the half-open probe of a destination whose cool-down is over: only one consumer wins
 * (the row is pushed `holdSeconds` into the future); the others keep waiting. Probes go one at a
 * time: a failed one that is not the last of HALF_OPEN_PROBES releases the claim
 * (breakerFailureStatement), a successful one closes the breaker.
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
