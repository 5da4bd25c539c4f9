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
import type { Env } from '../env';
import { nowIso } from '../db/time';
import { markDeliveriesResent, overdueDeliveries } from '../db/stale_deliveries';
import { sendDeliveries } from '../audit/outbox';
import { deliveryTimeoutMs } from './retry';

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
  const rows = await overdueDeliveries(env.DB, cutoff, new Date(now).toISOString(), limit);
  if (rows.length === 0) return 0;
  await sendDeliveries(env, rows);
  // Marked only after the messages are sent: a failed send leaves them overdue for the next sweep.
  await markDeliveriesResent(env.DB, rows.map((r) => r.id), nowIso());
  return rows.length;
}
