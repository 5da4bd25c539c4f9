/**
 * DestinationLane: a Durable Object (SQLite) per streaming destination that owns that
 * destination's pending deliveries, so that a slow or hanging receiver can only slow itself.
 *
 * How a delivery flows: the API Worker (fan-out, the outbox and stale sweeps, redeliveries) sends
 * one "deliveries" message per (event, destination); the consumer Worker's queue handler
 * (src/delivery/batch.ts) hands a batch's jobs to their destinations' lanes (one `enqueue` RPC
 * per destination per batch) and acks each message once its lane's storage has the job — it
 * never POSTs itself, so a batch ends in a few milliseconds whatever the receivers do. The lane's
 * alarm then runs its due jobs, at most LANE_CONCURRENCY POSTs at a time for this destination,
 * through deliverJob (src/delivery/consumer.ts: context, breaker, SSRF re-check, signed POST,
 * attempt record in D1, dead letter), and keeps or drops each job by its outcome.
 *
 * Guarantees:
 * - At least once: a message is acked only after `enqueue` resolved, i.e. after the object's
 *   storage has the job (output gate); a failed enqueue retries the message. A job leaves the
 *   lane only after deliverJob returned, i.e. after its attempt was recorded in D1 (and, for a
 *   dead letter, sent to the DLQ); if the object or the process dies in between, the job is still
 *   stored and the alarm (stored too) runs it again. Duplicates (a stale-sweep re-send or an
 *   outbox re-dispatch) are one row (PRIMARY KEY event_id, INSERT OR IGNORE); one that arrives
 *   after the job left is skipped by deliverJob (its delivery row is no longer pending).
 * - Retries: outcome 'retry' (receiver failure on the schedule, Retry-After, or a wait behind the
 *   open breaker) keeps the job, due after its delay; an error on our side (D1 unavailable, ...)
 *   keeps it, due after INTERNAL_ERROR_DELAY_SECONDS. The retry schedule and DELIVERY_MAX_WAIT_DAYS
 *   (applied by deliverJob from the delivery row) alone decide when a delivery is dead-lettered:
 *   a job in a lane never runs out of queue retries (Queues' max_retries now only bounds failed
 *   enqueues; should one be dead-lettered, its delivery stays pending in D1 and the stale
 *   delivery sweep sends it again).
 * - Isolation: each destination has its own object, storage, alarm and LANE_CONCURRENCY
 *   connections; a receiver that hangs until the delivery timeout delays only its own lane.
 * - Attempt records of the lane's POSTs that end together share one D1 write (AttemptRecorder),
 *   never waiting for a slow POST; the contexts of up to LANE_LOAD_MAX due jobs are loaded in one
 *   D1 round trip.
 */
import { DurableObject } from 'cloudflare:workers';
import type { ConsumerEnv as Env, DeliveryJob } from '../env';
import { toAuditEvent, type AuditEventRow } from '../audit/record';
import type { DeliveryContext, DeliveryDestination, DeliveryRow } from '../db/deliveries';
import { deliverJob, INTERNAL_ERROR_DELAY_SECONDS } from './consumer';
import { runTraced } from '../bench/stats';

/** POSTs in flight per destination at most (each lane's alarm is its own invocation). */
export const LANE_CONCURRENCY = 4;
/** Due jobs whose contexts one D1 round trip loads. */
export const LANE_LOAD_MAX = 50;
/** Jobs one alarm starts at most before it hands over to the next alarm. */
const ALARM_MAX_JOBS = 1000;

/** Attempt records one D1 write carries at most. */
export const RECORD_GROUP_MAX = 50;
/** How long a record may wait for others whose POSTs are still running (never longer: see AttemptRecorder). */
export const RECORD_LINGER_MS = 25;

/**
 * Group commit of attempt records. A record is written with every record that comes in until
 * no other POST of the lane is running, RECORD_GROUP_MAX records are waiting, or it has waited
 * RECORD_LINGER_MS — so a record waits for faster POSTs' records but never for a slow POST —
 * and, while a write is in flight, with every record that arrives meanwhile. Each record's
 * promise settles with the write that carried it (a failed write fails all of its records).
 */
export class AttemptRecorder {
  private waiting: { statements: D1PreparedStatement[]; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private writing = false;
  private nudge: (() => void) | null = null;
  /** D1 write transactions so far (for the benchmarks and tests). */
  transactions = 0;

  /** `postsRunning`: how many POSTs of the lane are still running (their records may come soon). */
  constructor(
    private readonly db: D1Database,
    private readonly postsRunning: () => number = () => 0,
    private readonly lingerMs: number = RECORD_LINGER_MS,
  ) {}

  /** Record the statements of one attempt; resolves once they are committed. */
  record = (statements: D1PreparedStatement[]): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      this.waiting.push({ statements, resolve, reject });
      if (this.nudge) this.nudge();
      else if (!this.writing) void this.drain();
    });

  private async drain(): Promise<void> {
    this.writing = true;
    while (this.waiting.length > 0) {
      const deadline = Date.now() + this.lingerMs;
      while (this.postsRunning() > 0 && this.waiting.length < RECORD_GROUP_MAX && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
          this.nudge = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.nudge = null;
      }
      const group = this.waiting.splice(0, RECORD_GROUP_MAX);
      try {
        this.transactions++;
        await this.db.batch(group.flatMap((g) => g.statements));
        for (const g of group) g.resolve();
      } catch (err) {
        for (const g of group) g.reject(err);
      }
    }
    this.writing = false;
  }
}

/**
 * Everything the due jobs need, in ONE D1 round trip: their events, destinations,
 * active headers and delivery rows (instead of one round trip per job). Null when loading
 * failed (each job then loads its own).
 */
async function loadContexts(env: Env, jobs: DeliveryJob[]): Promise<Map<string, DeliveryContext> | null> {
  if (jobs.length === 0) return new Map();
  const eventIds = JSON.stringify([...new Set(jobs.map((j) => j.eventId))]);
  const destinationIds = JSON.stringify([...new Set(jobs.map((j) => j.destinationId))]);
  const pairs = JSON.stringify(jobs.map((j) => [j.eventId, j.destinationId]));
  let results: D1Result[];
  try {
    results = await env.DB.batch([
      env.DB.prepare('SELECT * FROM audit_events WHERE id IN (SELECT value FROM json_each(?1))').bind(eventIds),
      env.DB
        .prepare(
          `SELECT id, scope, namespace_id, destination_url, verification_token, signing_secret, previous_signing_secret,
                  previous_secret_expires_at, active, consecutive_failures, breaker_open_until
           FROM streaming_destinations WHERE id IN (SELECT value FROM json_each(?1))`,
        )
        .bind(destinationIds),
      env.DB
        .prepare('SELECT destination_id, key, value FROM streaming_headers WHERE destination_id IN (SELECT value FROM json_each(?1)) AND active = 1 ORDER BY id')
        .bind(destinationIds),
      env.DB
        .prepare(
          `SELECT d.* FROM deliveries d JOIN json_each(?1) p
             ON d.event_id = json_extract(p.value, '$[0]') AND d.destination_id = json_extract(p.value, '$[1]')`,
        )
        .bind(pairs),
    ]);
  } catch (err) {
    console.error('destination lane: loading due jobs failed; loading job by job', err instanceof Error ? err.message : err);
    return null;
  }
  const events = new Map((results[0].results as AuditEventRow[]).map((r) => [r.id, toAuditEvent(r)]));
  const destinations = new Map((results[1].results as DeliveryDestination[]).map((d) => [d.id, d]));
  const headers = new Map<number, { key: string; value: string }[]>();
  for (const h of results[2].results as { destination_id: number; key: string; value: string }[]) {
    let list = headers.get(h.destination_id);
    if (!list) headers.set(h.destination_id, (list = []));
    list.push({ key: h.key, value: h.value });
  }
  const deliveries = new Map((results[3].results as DeliveryRow[]).map((d) => [`${d.event_id}:${d.destination_id}`, d]));
  const contexts = new Map<string, DeliveryContext>();
  for (const j of jobs) {
    const key = `${j.eventId}:${j.destinationId}`;
    contexts.set(key, {
      event: events.get(j.eventId) ?? null,
      destination: destinations.get(j.destinationId) ?? null,
      headers: headers.get(j.destinationId) ?? [],
      delivery: deliveries.get(key) ?? null,
    });
  }
  return contexts;
}

/** A stored job of a lane. */
type LaneRow = {
  event_id: number;
  destination_id: number;
  due_at: number;
};

/** The pending deliveries of one destination (see the module comment). */
export class DestinationLane extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** When this instance last set the alarm (null: not set by this instance, or already run). */
  private alarmAt: number | null = null;
  /** Wakes a running alarm's loop (a job was enqueued while it runs). */
  private wake: (() => void) | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(
      'CREATE TABLE IF NOT EXISTS jobs (event_id INTEGER PRIMARY KEY, destination_id INTEGER NOT NULL, due_at INTEGER NOT NULL, enqueued_at INTEGER NOT NULL)',
    );
    this.sql.exec('CREATE INDEX IF NOT EXISTS jobs_due ON jobs (due_at)');
  }

  /**
   * Store jobs durably (a job already here is kept as it is) and schedule them now; resolves
   * once storage has them.
   */
  async enqueue(jobs: DeliveryJob[]): Promise<void> {
    const now = Date.now();
    for (const j of jobs) {
      this.sql.exec('INSERT OR IGNORE INTO jobs (event_id, destination_id, due_at, enqueued_at) VALUES (?, ?, ?, ?)', j.eventId, j.destinationId, now, now);
    }
    await this.scheduleAt(now);
    this.wake?.();
  }

  /** The jobs waiting here, soonest first (tests, operators). */
  async pending(): Promise<{ eventId: number; destinationId: number; dueAt: number }[]> {
    return this.sql
      .exec<LaneRow>('SELECT event_id, destination_id, due_at FROM jobs ORDER BY due_at, event_id')
      .toArray()
      .map((r) => ({ eventId: r.event_id, destinationId: r.destination_id, dueAt: r.due_at }));
  }

  private async scheduleAt(due: number): Promise<void> {
    if (this.alarmAt !== null && this.alarmAt <= due) return;
    const current = await this.ctx.storage.getAlarm();
    if (current !== null && current <= due) {
      this.alarmAt = current;
      return;
    }
    await this.ctx.storage.setAlarm(due);
    this.alarmAt = due;
  }

  override async alarm(): Promise<void> {
    this.alarmAt = null;
    let started = 0;
    try {
      // Under the benchmarks' edge model the lane pays Cloudflare's costs (off: this.env as is).
      // Its counts reach the API Worker's GET /-/bench/edge-stats under 'lane' (report: true).
      started = await runTraced(this.env, 'lane', (env) => this.runDue(env), { report: true });
    } catch (err) {
      console.error('destination lane: running due jobs failed', err instanceof Error ? err.message : err);
    }
    const next = this.sql.exec<{ due: number | null }>('SELECT MIN(due_at) AS due FROM jobs').one().due;
    if (next === null) return;
    // Handed over (ALARM_MAX_JOBS) or due meanwhile: at once; otherwise when the earliest is due.
    await this.scheduleAt(started >= ALARM_MAX_JOBS ? Date.now() : Math.max(next, Date.now()));
  }

  /** Run due jobs, LANE_CONCURRENCY at a time, until none is due (or ALARM_MAX_JOBS started). */
  private async runDue(env: Env): Promise<number> {
    const inFlight = new Set<number>();
    const ready: { job: DeliveryJob; context?: DeliveryContext }[] = [];
    let posting = 0; // jobs started whose POST has not ended (their records may come soon)
    const recorder = new AttemptRecorder(env.DB, () => posting);
    let started = 0;

    const run = async (job: DeliveryJob, context: DeliveryContext | undefined): Promise<void> => {
      let posted = false;
      const onPosted = () => {
        if (!posted) posting--;
        posted = true;
      };
      posting++;
      try {
        const outcome = await deliverJob(env, job, { context, record: recorder.record, onPosted });
        // Its attempt is recorded (deliverJob records before it returns): the job may go.
        if (outcome.action === 'ack') this.sql.exec('DELETE FROM jobs WHERE event_id = ?', job.eventId);
        else this.sql.exec('UPDATE jobs SET due_at = ? WHERE event_id = ?', Date.now() + outcome.delaySeconds * 1000, job.eventId);
      } catch (err) {
        console.error(`delivery ${job.eventId}→${job.destinationId} could not be processed`, err instanceof Error ? err.message : err);
        this.sql.exec('UPDATE jobs SET due_at = ? WHERE event_id = ?', Date.now() + INTERNAL_ERROR_DELAY_SECONDS * 1000, job.eventId);
      } finally {
        onPosted();
        inFlight.delete(job.eventId);
      }
    };

    for (;;) {
      if (ready.length === 0 && inFlight.size < LANE_CONCURRENCY && started < ALARM_MAX_JOBS) {
        const rows = this.sql
          .exec<LaneRow>('SELECT event_id, destination_id, due_at FROM jobs WHERE due_at <= ? ORDER BY due_at, event_id LIMIT ?', Date.now(), LANE_LOAD_MAX + inFlight.size)
          .toArray()
          .filter((r) => !inFlight.has(r.event_id))
          .slice(0, LANE_LOAD_MAX);
        const jobs = rows.map((r) => ({ eventId: r.event_id, destinationId: r.destination_id }));
        const contexts = await loadContexts(env, jobs);
        for (const job of jobs) ready.push({ job, context: contexts?.get(`${job.eventId}:${job.destinationId}`) });
      }
      while (ready.length > 0 && inFlight.size < LANE_CONCURRENCY && started < ALARM_MAX_JOBS) {
        const { job, context } = ready.shift()!;
        if (inFlight.has(job.eventId)) continue;
        inFlight.add(job.eventId);
        started++;
        void run(job, context).then(() => this.wake?.());
      }
      if (inFlight.size === 0 && (ready.length === 0 || started >= ALARM_MAX_JOBS)) {
        const more = ready.length === 0 && started < ALARM_MAX_JOBS && this.sql.exec<{ n: number }>('SELECT count(*) AS n FROM jobs WHERE due_at <= ?', Date.now()).one().n > 0;
        if (!more) return started;
        continue;
      }
      // Wait for a POST to end or a job to be enqueued.
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
  }
}

/** The lane of a destination. */
export function laneOf(env: Pick<Env, 'DESTINATION_LANES'>, destinationId: number): DurableObjectStub<DestinationLane> {
  return env.DESTINATION_LANES.get(env.DESTINATION_LANES.idFromName(String(destinationId)));
}
