/**
 * Paused destinations (`active: false`, set by an owner or by a 410 Gone answer): their events
 * still get pending deliveries rows (routing ignores `active`: src/db/audit_events.ts), and their
 * queue messages still reach the destination's lanes, which keep the jobs in their own storage
 * without a request (src/delivery/lane.ts: the lane holds). A holding lane looks at the
 * destination again every PAUSE_RECHECK (a few delivery timeouts, at most 30 s): once it is active
 * again, the lane delivers its backlog oldest first; the destination's lanes look at the same
 * moments, so they resume together. Nothing of the backlog waits in the queue (a message waits
 * at most 12 hours).
 *
 * The bound: a delivery whose run began more than DELIVERY_PAUSE_RETENTION_DAYS ago while its
 * destination is paused is dead-lettered (failed in the delivery log with a clear error, sent to
 * the DLQ, redeliverable once the destination is active again): by the lane when it looks at
 * the destination, and by the cron (expirePausedDeliveries) for a delivery no lane holds (its
 * message was lost).
 */
import type { SharedEnv } from '../env';
import { failPausedDeliveries } from '../db/stale_deliveries';
import { readDeliveryConfig, type DeliveryVars } from './config';

/** The error a dead-lettered delivery of a paused destination shows in the delivery log. */
export const PAUSE_EXPIRED_ERROR = 'Gave up: the destination was paused longer than DELIVERY_PAUSE_RETENTION_DAYS';
/** Longest time between two looks of a holding lane at its paused destination. */
export const PAUSE_RECHECK_MAX_MS = 30_000;
/** Deliveries the cron dead-letters per run at most. */
export const PAUSE_EXPIRY_LIMIT = 1000;

/** How often a holding lane looks at its destination: three delivery timeouts, from 1 s to 30 s. */
export function pauseRecheckMs(env: DeliveryVars): number {
  return Math.min(PAUSE_RECHECK_MAX_MS, Math.max(1000, readDeliveryConfig(env).timeoutMs * 3));
}

/**
 * When a lane that found its destination paused at `now` looks again: the next multiple of
 * pauseRecheckMs on the clock, so that every lane of the destination looks at the same moment.
 */
export function nextPauseCheck(env: DeliveryVars, now: number = Date.now()): number {
  const every = pauseRecheckMs(env);
  return (Math.floor(now / every) + 1) * every;
}

/** Whether a paused destination's delivery whose run began at `runStartedAt` has waited past the bound. */
export function pauseRetentionPassed(env: DeliveryVars, runStartedAt: string, now: number = Date.now()): boolean {
  const started = Date.parse(runStartedAt);
  return !Number.isNaN(started) && now - started > readDeliveryConfig(env).pauseRetentionMs;
}

/**
 * The cron's part of the bound: mark failed (PAUSE_EXPIRED_ERROR) the pending deliveries of
 * paused destinations whose run began before the bound, at most PAUSE_EXPIRY_LIMIT per run.
 * Returns how many.
 */
export async function expirePausedDeliveries(env: Pick<SharedEnv, 'DB'> & DeliveryVars, now: number = Date.now()): Promise<number> {
  const cutoff = new Date(now - readDeliveryConfig(env).pauseRetentionMs).toISOString();
  return failPausedDeliveries(env.DB, cutoff, PAUSE_EXPIRED_ERROR, new Date(now).toISOString(), PAUSE_EXPIRY_LIMIT);
}
