/**
 * One delivery: one audit event to one streaming destination (one job). The destination's lane
 * (src/delivery/lane.ts: Durable Objects, DELIVERY_LANES_PER_DESTINATION (default 1) per destination) runs these on its alarm and keeps or
 * drops each job by the outcome, once its attempt is recorded.
 *
 * Per job: load the event, the destination and its active headers; skip (ack) when the
 * destination is gone; hold (keep, no request) while it is paused, dead-lettered past the pause
 * bound (src/delivery/pause.ts); wait (delayed retry, no request) while its circuit breaker is
 * open; make the attempt by the destination's category (./attempt.ts: the SSRF guard on every
 * URL, then an HTTP POST signed with Standard Webhooks headers, an S3 PUT signed with SigV4, or
 * a Cloud Logging entries:write); record the attempt; then ack, retry on the schedule, or, after
 * the last scheduled attempt, mark the delivery failed and dead-letter it.
 */
import type { ConsumerEnv as Env, DeliveryFanOut, DeliveryJob } from '../env';
import {
  deadLetterDelivery,
  ensureDelivery,
  failDeliveryWithoutAttempt,
  type DeliveryContext,
  type DeliveryDestination,
  type Delivery,
} from '../db/deliveries';
import { claimBreakerProbe, writeAttemptLog, type AttemptRecord, type DestinationEffect, type LoggedAttempt } from '../db/attempt_log';
import { breakerBaseCooldownSeconds, breakerWaitSeconds, failureWeight, isHalfOpen } from './breaker';
import { deliveryTimeoutMs, MAX_QUEUE_DELAY_SECONDS, retryDelaySeconds, retrySchedule, maxWaitPassed } from './retry';
import { attemptDelivery } from './attempt';
import { deliveryContext } from './contexts';

export { buildDeliveryRequest } from './attempt';
export { RESPONSE_EXCERPT_CHARS } from './send';
import { PAUSE_EXPIRED_ERROR, pauseRetentionPassed } from './pause';

/**
 * How a lane shares its D1 work (see src/delivery/lane.ts): contexts loaded for several due jobs
 * at once, and attempt records grouped with those of other jobs that finished meanwhile.
 */
export interface BatchShare {
  context?: DeliveryContext;
  /**
   * Records an attempt durably (resolves once it is: the lane's own storage, which passes it on
   * to D1). Without it, the attempt is written to D1 before deliverJob goes on.
   */
  record?: (attempt: LoggedAttempt) => Promise<void>;
  /** Called when the POST has ended (its connection is free), before the attempt is recorded. */
  onPosted?: () => void;
}
/** Delay before retrying a job whose processing failed on our side (D1 unavailable, ...). */
export const INTERNAL_ERROR_DELAY_SECONDS = 30;

/**
 * What to do with a job: drop it ('ack'), run it again after `delaySeconds` ('retry'), or keep
 * it as it is while its destination is paused ('hold': src/delivery/pause.ts).
 */
export type DeliveryOutcome =
  | { action: 'ack'; result: 'delivered' | 'skipped' | 'failed' | 'dead_lettered' }
  | { action: 'retry'; delaySeconds: number; result: 'failed' }
  /** `waitSeconds`: how long the breaker keeps the destination waiting (delaySeconds is that plus jitter). */
  | { action: 'retry'; delaySeconds: number; result: 'breaker_open'; waitSeconds: number }
  | { action: 'hold'; result: 'paused' };

/** Dead-letter a job and mark its delivery failed. */
async function deadLetter(env: Env, job: DeliveryJob, reason: string): Promise<void> {
  await env.DELIVERIES_DLQ.send(job, { contentType: 'json' });
  await deadLetterDelivery(env.DB, job.eventId, job.destinationId, reason);
}

/** How early (ms) a message may come before its delivery's next_retry_at and still be its scheduled one. */
const EARLY_MESSAGE_SLACK_MS = 1000;

export function isDeliveryJob(body: unknown): body is DeliveryJob {
  const b = body as DeliveryJob | null;
  return !!b && typeof b === 'object' && Number.isSafeInteger(b.eventId) && Number.isSafeInteger(b.destinationId);
}

/**
 * The jobs of a "deliveries" message: one for a {eventId, destinationId} (a redelivery, or a
 * message sent before the fan-out sent one per event), one per destination for a
 * {eventId, destinationIds}; null when the body is neither.
 */
export function deliveryJobsOf(body: unknown): DeliveryJob[] | null {
  if (isDeliveryJob(body)) return [{ eventId: body.eventId, destinationId: body.destinationId }];
  const b = body as DeliveryFanOut | null;
  if (!b || typeof b !== 'object' || !Number.isSafeInteger(b.eventId) || !Array.isArray(b.destinationIds)) return null;
  if (b.destinationIds.length === 0 || !b.destinationIds.every((id) => Number.isSafeInteger(id))) return null;
  return b.destinationIds.map((destinationId) => ({ eventId: b.eventId, destinationId }));
}

/**
 * Deliver one job and decide what happens to it. The retry schedule counts HTTP
 * attempts in the delivery row (not queue retries), so waits behind an open breaker use none.
 */
export async function deliverJob(env: Env, job: DeliveryJob, share: BatchShare = {}): Promise<DeliveryOutcome> {
  const { event, destination, headers, delivery: existing } = share.context ?? (await deliveryContext(env, job.eventId, job.destinationId));
  if (!event) {
    console.warn(`delivery ${job.eventId}→${job.destinationId}: the event no longer exists; dropped`);
    await failDeliveryWithoutAttempt(env.DB, job.eventId, job.destinationId, 'The event no longer exists');
    return { action: 'ack', result: 'skipped' };
  }
  if (!destination) {
    console.log(`delivery of event ${job.eventId} to destination ${job.destinationId} skipped: the destination was deleted`);
    await failDeliveryWithoutAttempt(env.DB, job.eventId, job.destinationId, 'The destination was deleted');
    return { action: 'ack', result: 'skipped' };
  }
  const delivery: Delivery = existing ?? (await ensureDelivery(env.DB, job.eventId, job.destinationId));
  // Duplicate message (at-least-once queues) or a stale one after the delivery was settled:
  // a redelivery resets the row to pending before it sends its message.
  if (delivery.status !== 'pending') return { action: 'ack', result: 'skipped' };
  // Paused (src/delivery/pause.ts): the lane keeps the job, without a request, until the
  // destination is active again or the delivery has waited DELIVERY_PAUSE_RETENTION_DAYS.
  if (!destination.active) {
    if (!pauseRetentionPassed(env, delivery.runStartedAt ?? delivery.createdAt)) return { action: 'hold', result: 'paused' };
    await deadLetter(env, job, PAUSE_EXPIRED_ERROR);
    return { action: 'ack', result: 'dead_lettered' };
  }
  // A second message for a delivery whose next attempt is already scheduled (a stale-sweep
  // re-send, or an outbox re-dispatch, racing the original): the scheduled message carries the
  // delivery. Attempting now would spend its retries early and send receivers duplicates; if
  // the scheduled message is ever lost, the stale delivery sweep re-sends it.
  if (delivery.nextRetryAt !== null && Date.parse(delivery.nextRetryAt) > Date.now() + EARLY_MESSAGE_SLACK_MS) {
    return { action: 'ack', result: 'skipped' };
  }

  // Waited DELIVERY_MAX_WAIT_DAYS since its run began, attempts left or not (a destination that
  // stays dead, its breaker open, still ends in the DLQ): give up.
  if (maxWaitPassed(env, delivery.runStartedAt ?? delivery.createdAt)) {
    await deadLetter(env, job, 'Gave up: the delivery waited longer than DELIVERY_MAX_WAIT_DAYS');
    return { action: 'ack', result: 'dead_lettered' };
  }

  const timeoutMs = deliveryTimeoutMs(env);
  const wait = breakerWaitSeconds(destination);
  const probe = wait === 0 && isHalfOpen(destination);
  if (wait > 0 || (probe && !(await claimBreakerProbe(env.DB, destination.id, Math.ceil(timeoutMs / 1000) + 5)))) {
    // Behind an open breaker: wait. Waiting spends no attempt and does not count against the
    // retry schedule, so a destination that recovers receives every delivery.
    return breakerDelay(wait > 0 ? wait : Math.ceil(timeoutMs / 1000) + 5);
  }

  const record = async (r: Omit<AttemptRecord, 'deliveryId'>, effect: DestinationEffect = { kind: 'none' }): Promise<void> => {
    const attempt: LoggedAttempt = { deliveryId: delivery.id, destinationId: destination.id, at: new Date().toISOString(), effect, ...r };
    if (share.record) await share.record(attempt);
    else await writeAttemptLog(env.DB, [attempt]);
  };

  const res = await attemptDelivery(env, event, destination, headers, timeoutMs);
  if (res.sent) share.onPosted?.();
  const base = { httpStatus: res.httpStatus, durationMs: res.durationMs, errorClass: res.errorClass, responseExcerpt: res.excerpt, error: res.error };
  if (res.permanent) {
    // A configuration problem (blocked URL, unusable config or key), not a transient one: no
    // retries and no breaker; fix it and redeliver.
    await record({ ...base, status: 'failed', deliveryStatus: 'failed', nextRetryAt: null });
    console.warn(`destination ${destination.id}: ${res.error}; delivery of event ${event.id} failed`);
    return { action: 'ack', result: 'failed' };
  }

  if (res.ok) {
    await record({ ...base, status: 'delivered', deliveryStatus: 'delivered', nextRetryAt: null }, { kind: 'success' });
    return { action: 'ack', result: 'delivered' };
  }
  if (res.httpStatus === 410) {
    // 410 Gone: the receiver says the endpoint is gone for good (as Stripe and Svix treat it).
    await record({ ...base, status: 'failed', deliveryStatus: 'failed', nextRetryAt: null }, { kind: 'deactivate' });
    console.warn(`destination ${destination.id} answered 410 Gone: deactivated`);
    return { action: 'ack', result: 'failed' };
  }
  const scheduled = retryDelaySeconds(retrySchedule(env), delivery.runAttempts + 1);
  const breaker: DestinationEffect = { kind: 'failure', probe, baseCooldown: breakerBaseCooldownSeconds(env), weight: failureWeight(res.errorClass) };
  if (scheduled === null) {
    await record({ ...base, status: 'failed', deliveryStatus: 'failed', nextRetryAt: null }, breaker);
    await env.DELIVERIES_DLQ.send(job, { contentType: 'json' });
    return { action: 'ack', result: 'dead_lettered' };
  }
  const delaySeconds = Math.min(Math.max(scheduled, res.retryAfter ?? 0), MAX_QUEUE_DELAY_SECONDS);
  await record(
    { ...base, status: 'failed', deliveryStatus: 'pending', nextRetryAt: new Date(Date.now() + delaySeconds * 1000).toISOString() },
    breaker,
  );
  return { action: 'retry', delaySeconds, result: 'failed' };
}

/**
 * Seconds of jitter over which the jobs waiting `seconds` behind an open breaker are spread (up to
 * 10% of the wait, at least 1 s, at most 30 s), so that they do not all wake at once.
 */
export function breakerJitterSpan(seconds: number): number {
  return Math.min(30, Math.max(1, seconds * 0.1));
}

/** Wait behind an open breaker: until it closes, plus a little jitter so waiters do not stampede. */
function breakerDelay(seconds: number): DeliveryOutcome {
  const jitter = Math.floor(Math.random() * breakerJitterSpan(seconds));
  return { action: 'retry', delaySeconds: Math.min(seconds + jitter, MAX_QUEUE_DELAY_SECONDS), result: 'breaker_open', waitSeconds: seconds };
}
