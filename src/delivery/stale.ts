/**
 * The stale-delivery sweep: re-enqueue deliveries that are still 'pending' in D1 but whose queue
 * message is gone. The outbox sweep (src/audit/outbox.ts) only covers events whose messages
 * were never sent; once a delivery row exists and its message was sent, the queue alone carried
 * it. A queue that loses messages (local queues in `wrangler dev` live in memory and die with
 * the process; a consumer killed between settling and recording) would leave such a delivery
 * pending forever. D1 is the source of truth, so the cron re-sends what D1 says is overdue.
 *
 * A pending delivery is overdue when nothing touched it for the grace period after it was due:
 * its retry time (`next_retry_at`) or, before its first attempt, its creation (`updated_at`).
 * Deliveries of a destination whose circuit breaker is (or was recently) open are waiting on
 * purpose and are left alone; inactive destinations are skipped (the consumer settles those).
 * Re-sending may duplicate a message that was only slow: receivers deduplicate by `webhook-id`,
 * which stays the same, and the consumer acks a message whose delivery is no longer pending.
 * A message that is merely stuck in a long backlog cannot be told from a lost one, so re-sends
 * of one delivery back off: the next one waits at least half the delivery's age (the first
 * fault soak, without this, re-sent 8 messages per delivery while a 15,000-delivery backlog drained).
 */
import type { DeliveryJob, Env } from '../env';
import { nowIso } from '../db/time';
import { deliveryTimeoutMs } from './retry';

/** Queues accept at most 100 messages per sendBatch. */
const SEND_BATCH_LIMIT = 100;
/** Deliveries re-sent per sweep at most (the cron runs every minute). */
export const STALE_SWEEP_LIMIT = 500;

/**
 * The grace period, in seconds: 30 delivery timeouts, at least 30 s (5 minutes with the default
 * 10 s timeout). Derived from DELIVERY_TIMEOUT_MS so that the shortened timeouts of tests and of
 * the fault soak shorten it too; production keeps minutes of slack for queue backlogs.
 */
export function staleAfterSeconds(env: Pick<Env, 'DELIVERY_TIMEOUT_MS'>): number {
  return Math.max(30, Math.ceil((deliveryTimeoutMs(env) * 30) / 1000));
}

/**
 * Re-enqueue overdue pending deliveries (see the module comment) and mark them re-sent
 * (`next_retry_at` = now), so the next sweep waits another grace period before sending again.
 * Returns how many deliveries were re-sent.
 */
export async function sweepStaleDeliveries(env: Env, now: number = Date.now(), limit = STALE_SWEEP_LIMIT): Promise<number> {
  const cutoff = new Date(now - staleAfterSeconds(env) * 1000).toISOString();
  const rows = await env.DB
    .prepare(
      `SELECT d.id, d.event_id, d.destination_id FROM deliveries d
       JOIN streaming_destinations s ON s.id = d.destination_id
       WHERE d.status = 'pending'
         AND d.updated_at <= ?1
         AND COALESCE(d.next_retry_at, d.updated_at) <= ?1
         AND (julianday(?3) - julianday(d.updated_at)) * 2 >= julianday(?3) - julianday(d.created_at)
         AND s.active = 1
         AND (s.breaker_open_until IS NULL OR s.breaker_open_until <= ?1)
       ORDER BY d.id
       LIMIT ?2`,
    )
    .bind(cutoff, limit, new Date(now).toISOString())
    .all<{ id: number; event_id: number; destination_id: number }>();
  if (rows.results.length === 0) return 0;
  const jobs: DeliveryJob[] = rows.results.map((r) => ({ eventId: r.event_id, destinationId: r.destination_id }));
  for (let i = 0; i < jobs.length; i += SEND_BATCH_LIMIT) {
    await env.DELIVERIES.sendBatch(jobs.slice(i, i + SEND_BATCH_LIMIT).map((body) => ({ body, contentType: 'json' as const })));
  }
  // Marked only after the messages are sent: a failed send leaves them overdue for the next sweep.
  const stamp = nowIso();
  const ids = rows.results.map((r) => r.id);
  for (let i = 0; i < ids.length; i += 90) {
    const chunk = ids.slice(i, i + 90);
    await env.DB
      .prepare(
        `UPDATE deliveries SET next_retry_at = ?1, updated_at = ?1
         WHERE status = 'pending' AND id IN (${chunk.map((_, k) => `?${k + 2}`).join(', ')})`,
      )
      .bind(stamp, ...chunk)
      .run();
  }
  return jobs.length;
}
