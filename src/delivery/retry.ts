/**
 * Retry policy of deliveries: Svix's schedule (about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
 * 10 h between attempts), jittered, capped by the longest delay Cloudflare Queues accepts, and
 * stretched by the receiver's `Retry-After` when it asks for more.
 */
import type { Env } from '../env';
import { DEFAULT_RETRY_SCHEDULE, DEFAULT_TIMEOUT_MS, MAX_QUEUE_DELAY_SECONDS, readDeliveryConfig } from './config';

export { DEFAULT_RETRY_SCHEDULE, DEFAULT_TIMEOUT_MS, MAX_QUEUE_DELAY_SECONDS };

/** The retry schedule: DELIVERY_RETRY_SCHEDULE (comma-separated seconds) or the default. */
export function retrySchedule(env: Pick<Env, 'DELIVERY_RETRY_SCHEDULE'>): number[] {
  return readDeliveryConfig(env).schedule;
}

/** The per-attempt timeout in milliseconds: DELIVERY_TIMEOUT_MS or 10 s. */
export function deliveryTimeoutMs(env: Pick<Env, 'DELIVERY_TIMEOUT_MS'>): number {
  return readDeliveryConfig(env).timeoutMs;
}

/**
 * The delay before the retry that follows failed attempt number `attempt` (1-based), or null
 * when that was the last attempt the schedule allows. Jitter adds up to 10% so retries of
 * many messages failing together spread out instead of arriving in one burst.
 */
export function retryDelaySeconds(schedule: number[], attempt: number, random: () => number = Math.random): number | null {
  if (attempt < 1 || attempt > schedule.length) return null;
  const base = schedule[attempt - 1];
  const jitter = Math.floor(random() * base * 0.1);
  return Math.min(base + jitter, MAX_QUEUE_DELAY_SECONDS);
}

/**
 * Seconds a `Retry-After` header asks to wait (delta-seconds or an HTTP date, RFC 9110 §10.2.3),
 * capped at the longest queue delay; null when absent or unparseable.
 */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (value === null) return null;
  const v = value.trim();
  let seconds: number;
  if (/^\d+$/.test(v)) seconds = Number(v);
  else {
    const t = Date.parse(v);
    if (Number.isNaN(t)) return null;
    seconds = Math.ceil((t - now) / 1000);
  }
  return Math.max(0, Math.min(seconds, MAX_QUEUE_DELAY_SECONDS));
}

/**
 * Whether a delivery's run (from `runStartedAt`, its creation or last redelivery) has waited
 * longer than DELIVERY_MAX_WAIT_DAYS (default 7, never shorter than the whole retry schedule).
 * Only then does a delivery that still has scheduled attempts left give up: waiting behind an
 * open circuit breaker spends no attempt, so a short outage never ends in the dead-letter queue.
 */
export function maxWaitPassed(env: Pick<Env, 'DELIVERY_RETRY_SCHEDULE' | 'DELIVERY_TIMEOUT_MS' | 'DELIVERY_MAX_WAIT_DAYS'>, runStartedAt: string, now: number = Date.now()): boolean {
  const started = Date.parse(runStartedAt);
  return !Number.isNaN(started) && now - started > readDeliveryConfig(env).maxWaitMs;
}
