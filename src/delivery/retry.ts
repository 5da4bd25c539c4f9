/**
 * Retry policy of deliveries: Svix's schedule (about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
 * 10 h between attempts), jittered, capped by the longest delay Cloudflare Queues accepts, and
 * stretched by the receiver's `Retry-After` when it asks for more.
 */
import type { Env } from '../env';

/** Seconds between attempts when DELIVERY_RETRY_SCHEDULE is not set. */
export const DEFAULT_RETRY_SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000] as const;
/** The longest `delaySeconds` Cloudflare Queues accepts (12 hours). */
export const MAX_QUEUE_DELAY_SECONDS = 43_200;
/** Milliseconds one attempt may take when DELIVERY_TIMEOUT_MS is not set. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** The retry schedule: DELIVERY_RETRY_SCHEDULE (comma-separated seconds) or the default. */
export function retrySchedule(env: Pick<Env, 'DELIVERY_RETRY_SCHEDULE'>): number[] {
  const raw = env.DELIVERY_RETRY_SCHEDULE?.trim();
  if (!raw) return [...DEFAULT_RETRY_SCHEDULE];
  const parts = raw.split(',').map((s) => Number(s.trim()));
  if (parts.length === 0 || parts.some((n) => !Number.isFinite(n) || n < 0)) {
    console.error('DELIVERY_RETRY_SCHEDULE is not a list of seconds; using the default');
    return [...DEFAULT_RETRY_SCHEDULE];
  }
  return parts.map((n) => Math.min(Math.round(n), MAX_QUEUE_DELAY_SECONDS));
}

/** The per-attempt timeout in milliseconds: DELIVERY_TIMEOUT_MS or 10 s. */
export function deliveryTimeoutMs(env: Pick<Env, 'DELIVERY_TIMEOUT_MS'>): number {
  const n = Number(env.DELIVERY_TIMEOUT_MS);
  return Number.isFinite(n) && n > 0 ? n : DEFAULT_TIMEOUT_MS;
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
 * How long a delivery may stay undelivered in one run: the whole retry schedule plus one
 * attempt timeout per attempt. A delivery still waiting behind an open circuit breaker when its
 * window has passed is given up (failed and dead-lettered), as one whose attempts ran out.
 */
export function retryWindowMs(env: Pick<Env, 'DELIVERY_RETRY_SCHEDULE' | 'DELIVERY_TIMEOUT_MS'>): number {
  const schedule = retrySchedule(env);
  return schedule.reduce((sum, s) => sum + s * 1000, 0) + (schedule.length + 1) * deliveryTimeoutMs(env);
}

/** Whether a delivery's run (from `runStartedAt`) has outlived its retry window. */
export function retryWindowPassed(
  env: Pick<Env, 'DELIVERY_RETRY_SCHEDULE' | 'DELIVERY_TIMEOUT_MS'>,
  runStartedAt: string,
  now: number = Date.now(),
): boolean {
  const started = Date.parse(runStartedAt);
  return !Number.isNaN(started) && now - started > retryWindowMs(env);
}
