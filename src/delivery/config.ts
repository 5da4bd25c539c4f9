/**
 * The delivery settings (DELIVERY_TIMEOUT_MS, DELIVERY_RETRY_SCHEDULE,
 * DELIVERY_BREAKER_COOLDOWN_SECONDS, DELIVERY_MAX_WAIT_DAYS, DELIVERY_PAUSE_RETENTION_DAYS,
 * DELIVERY_LANES_PER_DESTINATION, DELIVERY_OVERFLOW_LANES):
 * parsed and checked in ONE place.
 * The Workers read them through readDeliveryConfig (an unusable value falls back to its default
 * and is logged once); `npm start` and `npm run deploy` refuse a configuration with errors
 * (scripts/check-delivery-config.mjs runs this very file under Node's type stripping, so it
 * has no imports and uses only erasable TypeScript).
 */

/** Seconds between attempts when DELIVERY_RETRY_SCHEDULE is not set (Svix's schedule). */
export const DEFAULT_RETRY_SCHEDULE: readonly number[] = [5, 300, 1800, 7200, 18000, 36000, 36000];
/** The longest `delaySeconds` Cloudflare Queues accepts (12 hours). */
export const MAX_QUEUE_DELAY_SECONDS = 43_200;
/** Milliseconds one attempt may take when DELIVERY_TIMEOUT_MS is not set. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** The longest attempt timeout accepted (a consumer invocation has 15 minutes of wall time). */
export const MAX_TIMEOUT_MS = 300_000;
/** First breaker cool-down, in seconds, when DELIVERY_BREAKER_COOLDOWN_SECONDS is not set. */
export const DEFAULT_BREAKER_COOLDOWN_SECONDS = 60;
/** Days a delivery may wait (behind an open breaker, or between attempts) before it is dead-lettered. */
export const DEFAULT_MAX_WAIT_DAYS = 7;
/** Days the deliveries of a paused (inactive) destination are kept pending before they are dead-lettered. */
export const DEFAULT_PAUSE_RETENTION_DAYS = 7;
/**
 * DestinationLane objects per destination (src/delivery/lanes.ts). One by default: measured
 * locally, four lanes per destination made the far benchmark slower (many short lane invocations
 * and small attempt-log flushes cost more CPU than the extra connections saved; bench/RESULTS.md).
 */
export const DEFAULT_LANES_PER_DESTINATION = 1;
/** The most lanes per destination (a hung destination holds lanes × LANE_CONCURRENCY connections). */
export const MAX_LANES_PER_DESTINATION = 16;
/**
 * Overflow lanes per lane (src/delivery/lane.ts): a lane whose backlog its own connections would
 * take more than a second to send hands part of it to up to this many more lanes, so that a busy
 * destination gets more connections only while it needs them (0: never).
 */
export const DEFAULT_OVERFLOW_LANES = 3;
/** The most overflow lanes per lane. */
export const MAX_OVERFLOW_LANES = 15;

/** The delivery settings as the variables give them (strings, possibly unset). */
export interface DeliveryVars {
  DELIVERY_TIMEOUT_MS?: string;
  DELIVERY_RETRY_SCHEDULE?: string;
  DELIVERY_BREAKER_COOLDOWN_SECONDS?: string;
  DELIVERY_MAX_WAIT_DAYS?: string;
  DELIVERY_PAUSE_RETENTION_DAYS?: string;
  DELIVERY_LANES_PER_DESTINATION?: string;
  DELIVERY_OVERFLOW_LANES?: string;
}

/** The delivery settings in use. */
export interface DeliveryConfig {
  timeoutMs: number;
  /** Seconds before each retry; its length is the number of retries. */
  schedule: number[];
  breakerCooldownSeconds: number;
  maxWaitMs: number;
  /** How long a paused destination's deliveries wait (from their run's start) before they are dead-lettered. */
  pauseRetentionMs: number;
  /** DestinationLane objects per destination; a delivery's lane is its event id modulo this. */
  lanesPerDestination: number;
  /** Lanes a backlogged lane may hand part of its due jobs to (0: none). */
  overflowLanes: number;
}

/** The settings and what is wrong with the variables (empty when nothing). */
export interface CheckedDeliveryConfig {
  config: DeliveryConfig;
  errors: string[];
}

/**
 * How long the retry schedule takes when every attempt fails, in ms: its delays plus one timeout
 * per attempt (the first attempt and one per retry).
 */
export function scheduleTotalMs(schedule: readonly number[], timeoutMs: number): number {
  return schedule.reduce((sum, s) => sum + s * 1000, 0) + (schedule.length + 1) * timeoutMs;
}

/** Parse and check the delivery variables: see the module comment. Pure; never throws. */
export function checkDeliveryVars(vars: DeliveryVars): CheckedDeliveryConfig {
  const errors: string[] = [];
  const config: DeliveryConfig = {
    timeoutMs: DEFAULT_TIMEOUT_MS,
    schedule: [...DEFAULT_RETRY_SCHEDULE],
    breakerCooldownSeconds: DEFAULT_BREAKER_COOLDOWN_SECONDS,
    maxWaitMs: DEFAULT_MAX_WAIT_DAYS * 86_400_000,
    pauseRetentionMs: DEFAULT_PAUSE_RETENTION_DAYS * 86_400_000,
    lanesPerDestination: DEFAULT_LANES_PER_DESTINATION,
    overflowLanes: DEFAULT_OVERFLOW_LANES,
  };

  const timeout = vars.DELIVERY_TIMEOUT_MS?.trim();
  if (timeout !== undefined) {
    const n = Number(timeout);
    if (timeout !== '' && Number.isInteger(n) && n > 0 && n <= MAX_TIMEOUT_MS) config.timeoutMs = n;
    else errors.push(`DELIVERY_TIMEOUT_MS must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}; got ${JSON.stringify(vars.DELIVERY_TIMEOUT_MS)}`);
  }

  const schedule = vars.DELIVERY_RETRY_SCHEDULE;
  if (schedule !== undefined) {
    const parts = schedule.split(',').map((s) => s.trim());
    const delays = parts.map(Number);
    if (schedule.trim() === '' || parts.some((p, i) => p === '' || !Number.isFinite(delays[i]) || delays[i] < 0 || delays[i] > MAX_QUEUE_DELAY_SECONDS)) {
      errors.push(
        `DELIVERY_RETRY_SCHEDULE must be a comma-separated list of seconds from 0 to ${MAX_QUEUE_DELAY_SECONDS} (e.g. "5,300,1800"); got ${JSON.stringify(schedule)}`,
      );
    } else config.schedule = delays.map((n) => Math.round(n));
  }

  const cooldown = vars.DELIVERY_BREAKER_COOLDOWN_SECONDS?.trim();
  if (cooldown !== undefined) {
    const n = Number(cooldown);
    if (cooldown !== '' && Number.isInteger(n) && n >= 1 && n <= 3600) config.breakerCooldownSeconds = n;
    else errors.push(`DELIVERY_BREAKER_COOLDOWN_SECONDS must be a whole number of seconds from 1 to 3600; got ${JSON.stringify(vars.DELIVERY_BREAKER_COOLDOWN_SECONDS)}`);
  }

  const wait = vars.DELIVERY_MAX_WAIT_DAYS?.trim();
  if (wait !== undefined) {
    const n = Number(wait);
    if (wait !== '' && Number.isFinite(n) && n > 0 && n <= 365) config.maxWaitMs = Math.round(n * 86_400_000);
    else errors.push(`DELIVERY_MAX_WAIT_DAYS must be a number of days above 0 and at most 365; got ${JSON.stringify(vars.DELIVERY_MAX_WAIT_DAYS)}`);
  }

  const pause = vars.DELIVERY_PAUSE_RETENTION_DAYS?.trim();
  if (pause !== undefined) {
    const n = Number(pause);
    if (pause !== '' && Number.isFinite(n) && n > 0 && n <= 365) config.pauseRetentionMs = Math.round(n * 86_400_000);
    else errors.push(`DELIVERY_PAUSE_RETENTION_DAYS must be a number of days above 0 and at most 365; got ${JSON.stringify(vars.DELIVERY_PAUSE_RETENTION_DAYS)}`);
  }

  const lanes = vars.DELIVERY_LANES_PER_DESTINATION?.trim();
  if (lanes !== undefined) {
    const n = Number(lanes);
    if (lanes !== '' && Number.isInteger(n) && n >= 1 && n <= MAX_LANES_PER_DESTINATION) config.lanesPerDestination = n;
    else errors.push(`DELIVERY_LANES_PER_DESTINATION must be a whole number from 1 to ${MAX_LANES_PER_DESTINATION}; got ${JSON.stringify(vars.DELIVERY_LANES_PER_DESTINATION)}`);
  }

  const overflow = vars.DELIVERY_OVERFLOW_LANES?.trim();
  if (overflow !== undefined) {
    const n = Number(overflow);
    if (overflow !== '' && Number.isInteger(n) && n >= 0 && n <= MAX_OVERFLOW_LANES) config.overflowLanes = n;
    else errors.push(`DELIVERY_OVERFLOW_LANES must be a whole number from 0 to ${MAX_OVERFLOW_LANES}; got ${JSON.stringify(vars.DELIVERY_OVERFLOW_LANES)}`);
  }

  // Contradictions between valid values: a delivery must be able to make every scheduled attempt
  // before it has waited too long, or the schedule's last attempts would never run.
  const total = scheduleTotalMs(config.schedule, config.timeoutMs);
  if (errors.length === 0 && config.maxWaitMs < total) {
    errors.push(
      `DELIVERY_MAX_WAIT_DAYS (${config.maxWaitMs / 86_400_000} days) is shorter than the retry schedule takes when every attempt fails ` +
        `(${(total / 86_400_000).toFixed(4)} days: DELIVERY_RETRY_SCHEDULE plus one DELIVERY_TIMEOUT_MS per attempt)`,
    );
    config.maxWaitMs = total;
  }
  // A resumed backlog is still bound by DELIVERY_MAX_WAIT_DAYS, counted from the same start: kept
  // longer while paused, it would be dead-lettered the moment the destination is resumed. Unset,
  // the pause bound follows a shorter max wait.
  if (pause === undefined) config.pauseRetentionMs = Math.min(config.pauseRetentionMs, config.maxWaitMs);
  else if (errors.length === 0 && config.pauseRetentionMs > config.maxWaitMs) {
    errors.push(
      `DELIVERY_PAUSE_RETENTION_DAYS (${config.pauseRetentionMs / 86_400_000} days) is longer than DELIVERY_MAX_WAIT_DAYS (${config.maxWaitMs / 86_400_000} days): ` +
        'a paused destination\'s deliveries would be dead-lettered as soon as it is resumed',
    );
    config.pauseRetentionMs = config.maxWaitMs;
  }
  return { config, errors };
}

const logged = new Set<string>();

/**
 * The delivery settings of a Worker's env. Errors are logged once per isolate and distinct value
 * (the Worker keeps running on the defaults of the values it cannot use).
 */
export function readDeliveryConfig(vars: DeliveryVars): DeliveryConfig {
  const { config, errors } = checkDeliveryVars(vars);
  for (const e of errors) {
    if (logged.has(e)) continue;
    logged.add(e);
    console.error(`delivery configuration: ${e}; using the default instead`);
  }
  return config;
}
