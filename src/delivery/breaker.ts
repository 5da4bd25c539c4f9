/**
 * Per-destination circuit breaker. After BREAKER_THRESHOLD consecutive failed attempts (a timeout
 * counting for TIMEOUT_FAILURE_WEIGHT) the breaker opens for a cool-down; while it is open,
 * messages for the destination wait (delayed) without a request, so a dead endpoint costs neither
 * subrequests nor consumer time. When the cool-down ends the destination is half-open: one
 * message at a time claims the probe. A successful probe closes the breaker; a failed one lets
 * the next message probe, until HALF_OPEN_PROBES probes in a row have failed, which re-opens the
 * breaker for twice as long (60 s, 120 s, ... at most 10 min; the first cool-down is
 * DELIVERY_BREAKER_COOLDOWN_SECONDS, default 60, and the longest ten times it). So one unlucky
 * request of a flaky but living receiver does not decide the next cool-down. The cool-down
 * doubles with trips (openings), not with failed attempts: attempts that were already in flight
 * when the breaker opened fail without lengthening it. Healthy destinations never wait: the
 * state lives on each destination's row.
 */

import { DEFAULT_BREAKER_COOLDOWN_SECONDS, readDeliveryConfig } from './config';

import { BREAKER_MAX_COOLDOWN_FACTOR, BREAKER_THRESHOLD, HALF_OPEN_PROBES } from '../db/deliveries';

/**
 * Consecutive failures that open the breaker, the half-open probes that must all fail to re-open
 * it, and the longest cool-down's factor (defined with the SQL that applies them).
 */
export { BREAKER_MAX_COOLDOWN_FACTOR, BREAKER_THRESHOLD, HALF_OPEN_PROBES };
/**
 * How many failures an attempt that timed out counts for: a hanging receiver holds a connection
 * of its lane for a whole timeout per attempt, so five timeouts in a row open the breaker (ten
 * quick failures do). A receiver that hangs for good is still caught by its lane's first wave of
 * attempts (LANE_CONCURRENCY, 6, in flight at once: 12 ≥ 10), and it holds only its own lanes;
 * a heavier weight (two timeouts opened it) tripped the breaker every few hundred attempts at a
 * living receiver with 5% of slow answers. Waiting behind the breaker costs no attempt.
 */
export const TIMEOUT_FAILURE_WEIGHT = BREAKER_THRESHOLD / 5;

/** How many failures a failed attempt counts for on the breaker (by its error class). */
export function failureWeight(errorClass: string | null): number {
  return errorClass === 'timeout' ? TIMEOUT_FAILURE_WEIGHT : 1;
}

/** First cool-down, in seconds, when DELIVERY_BREAKER_COOLDOWN_SECONDS is not set. */
export const BREAKER_BASE_COOLDOWN_SECONDS = DEFAULT_BREAKER_COOLDOWN_SECONDS;

/** The first cool-down in seconds: DELIVERY_BREAKER_COOLDOWN_SECONDS (a whole number from 1 to 3600) or 60. */
export function breakerBaseCooldownSeconds(env: { DELIVERY_BREAKER_COOLDOWN_SECONDS?: string }): number {
  return readDeliveryConfig(env).breakerCooldownSeconds;
}

/** Breaker state of a destination (stored on its streaming_destinations row). */
export interface BreakerState {
  consecutiveFailures: number;
  breakerOpenUntil: string | null;
}

/** Cool-down of the breaker's `trips`-th opening in a row (1: first opening), from the first cool-down `base`. */
export function cooldownSeconds(trips: number, base: number = BREAKER_BASE_COOLDOWN_SECONDS): number {
  if (trips < 1) return 0;
  return Math.min(base * 2 ** Math.min(trips - 1, 10), base * BREAKER_MAX_COOLDOWN_FACTOR);
}

/** Seconds until an open breaker closes (rounded up), or 0 when it is closed. */
export function breakerWaitSeconds(state: BreakerState, now: number = Date.now()): number {
  if (!state.breakerOpenUntil) return 0;
  const until = Date.parse(state.breakerOpenUntil);
  if (Number.isNaN(until) || until <= now) return 0;
  return Math.ceil((until - now) / 1000);
}

/** Whether the destination is half-open: the cool-down is over but the last attempts failed. */
export function isHalfOpen(state: BreakerState, now: number = Date.now()): boolean {
  return state.consecutiveFailures >= BREAKER_THRESHOLD && breakerWaitSeconds(state, now) === 0;
}
