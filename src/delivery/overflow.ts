/**
 * Overflow (DELIVERY_OVERFLOW_LANES, default 3): more connections for a destination only while it
 * needs them. A home lane (the lane its jobs are routed to, src/delivery/lanes.ts) whose due jobs
 * its own LANE_CONCURRENCY connections would take more than OVERFLOW_AFTER_MS to send hands part
 * of them to its overflow lanes, `<home>+1` .. `<home>+N`: other DestinationLane objects, each its
 * own invocation with its own connections, that run what they are given and hand nothing on. A
 * destination with a trickle keeps one lane (no extra invocations, no smaller attempt-log groups);
 * one whose receiver is slow but answering, behind a backlog, gets up to (1 + N) × LANE_CONCURRENCY
 * connections. One that hangs or fails does not: a failed attempt resets the estimate (only
 * delivered POSTs count in it), and its breaker holds its jobs. The lane's storage side (which jobs, held back while handed over,
 * deleted once taken) is DestinationLane's; this module decides and names.
 */
import type { ConsumerEnv as Env, DeliveryJob } from '../env';
import type { DeliveryVars } from './config';
import { laneIndex, laneName, lanesPerDestination } from './lanes';

/** POSTs in flight per lane at most (each lane's alarm is its own invocation, and an invocation has 6 outbound connections). */
export const LANE_CONCURRENCY = 6;
/** A home lane hands jobs over when its connections would take longer than this to send the due jobs waiting... */
export const OVERFLOW_AFTER_MS = 1000;
/**
 * Jobs a hand-over gives each overflow lane at least: a whole attempt-log group (LOG_FLUSH_MAX in
 * ./lane.ts), so that an overflow lane writes its attempts to D1 in full groups (overflow costs
 * about one more D1 write per 100 deliveries, not one per lane and second).
 */
export const OVERFLOW_MIN_GROUP = 100;
/** A home lane hands jobs over only when at least this many due jobs wait (it keeps a share too). */
export const OVERFLOW_MIN_JOBS = 2 * OVERFLOW_MIN_GROUP;
/** At most one hand-over per this interval, one at a time. */
export const OVERFLOW_INTERVAL_MS = 1000;
/** Jobs one hand-over gives each overflow lane at most. */
export const OVERFLOW_MAX_JOBS = 500;
/**
 * How long the jobs of a hand-over in flight are held back in the home lane: if it dies before the
 * overflow lane confirmed them, they run there then (at least once).
 */
export const OVERFLOW_RESERVE_MS = 60_000;

/** Whether `waiting` due jobs would take a lane's connections more than OVERFLOW_AFTER_MS, a delivered POST taking `postMs`. */
export function backlogged(waiting: number, postMs: number): boolean {
  return postMs > 0 && waiting >= OVERFLOW_MIN_JOBS && (waiting * postMs) / LANE_CONCURRENCY > OVERFLOW_AFTER_MS;
}

/** A home lane's overflow state in memory: its delivered POSTs' average time, its hand-overs. */
export class Overflow {
  /** Average ms from a job's start to the end of its POST, over recent delivered jobs (0: none yet). */
  postMs = 0;
  /** A hand-over is in flight. */
  busy = false;
  /** Jobs this instance handed over. */
  handed = 0;
  private askedAt = 0;

  /** Count a job's outcome: a delivered one's time to the end of its POST in the average; a failed one forgets it (no overflow until the receiver delivers again). */
  note(delivered: boolean, ms: number): void {
    if (!delivered) this.postMs = 0;
    else this.postMs = this.postMs === 0 ? ms : 0.8 * this.postMs + 0.2 * ms;
  }

  /**
   * Whether to look at the backlog now (then `backlogged` decides): a receiver that answered, no
   * hand-over in flight, and at most once per OVERFLOW_INTERVAL_MS.
   */
  due(now: number): boolean {
    if (this.busy || this.postMs === 0 || now - this.askedAt < OVERFLOW_INTERVAL_MS) return false;
    this.askedAt = now;
    return true;
  }
}

/**
 * Which due jobs (oldest first) go to which overflow lane: as many lanes (at most `lanes`) as get
 * OVERFLOW_MIN_GROUP jobs each with the home lane keeping a share as large; every (used + 1)th job
 * stays home, the others go round-robin to lanes 1..used, so that each lane gets old and new ones.
 */
export function overflowGroups(due: DeliveryJob[], lanes: number): DeliveryJob[][] {
  const used = Math.max(0, Math.min(lanes, Math.floor(due.length / OVERFLOW_MIN_GROUP) - 1));
  const groups: DeliveryJob[][] = Array.from({ length: used }, () => []);
  if (used === 0) return groups;
  due.forEach((job, i) => {
    const k = i % (used + 1);
    if (k > 0) groups[k - 1].push(job);
  });
  return groups;
}

/** The name of the lane a job is routed to (its home lane). */
export function homeLaneName(env: DeliveryVars, job: DeliveryJob): string {
  return laneName(job.destinationId, laneIndex(job.eventId, lanesPerDestination(env)));
}

/**
 * Hand each group to its overflow lane (group i to `<home>+<i + 1>`), all at once; `taken(jobs)`
 * once a lane has a group in storage, `refused(jobs, err)` when it could not take it.
 */
export async function handOver(
  env: Pick<Env, 'DESTINATION_LANES'>,
  home: string,
  groups: DeliveryJob[][],
  taken: (jobs: DeliveryJob[]) => void,
  refused: (jobs: DeliveryJob[], err: unknown) => void,
): Promise<void> {
  await Promise.all(
    groups.map(async (jobs, i) => {
      if (jobs.length === 0) return;
      try {
        await env.DESTINATION_LANES.get(env.DESTINATION_LANES.idFromName(`${home}+${i + 1}`)).enqueue(jobs, home);
      } catch (err) {
        refused(jobs, err);
        return;
      }
      taken(jobs);
    }),
  );
}
