/**
 * DestinationLane: Durable Objects (SQLite), DELIVERY_LANES_PER_DESTINATION (default 1) per streaming destination,
 * that own that destination's pending deliveries, so that a slow or hanging receiver can only
 * slow itself. A job's lane is chosen by its event id (laneIndex), so every message of one
 * delivery (the first, an outbox or stale-sweep re-send, a redelivery) reaches the same lane.
 *
 * How a delivery flows: the API Worker (fan-out, the outbox and stale sweeps, redeliveries) sends
 * "deliveries" messages (the fan-out one per event, naming its destinations; a redelivery one per
 * delivery); the consumer Worker's queue handler (src/delivery/batch.ts) hands a batch's jobs to
 * their lanes (one `enqueue` RPC per lane per batch) and acks each message once its lanes' storage
 * has its jobs — it
 * never POSTs itself, so a batch ends in a few milliseconds whatever the receivers do. The lane's
 * alarm then runs its due jobs, at most LANE_CONCURRENCY POSTs at a time per lane,
 * through deliverJob (src/delivery/consumer.ts: context, breaker, SSRF re-check, signed POST,
 * attempt record, dead letter), and keeps or drops each job by its outcome. Attempts are
 * recorded in the lane's own storage first and reach D1 in groups (AttemptLog, below).
 *
 * Guarantees:
 * - At least once: a message is acked only after `enqueue` resolved, i.e. after the object's
 *   storage has the job (output gate); a failed enqueue retries the message. A job leaves the
 *   lane only after deliverJob returned, i.e. after its attempt was recorded in the lane's
 *   attempt log (and, for a dead letter, sent to the DLQ); if the object or the process dies in
 *   between, the job is still stored and the alarm (stored too) runs it again. The log keeps
 *   each attempt until D1 has it (the alarm is set for its due time whenever it is not empty).
 *   Duplicates (a stale-sweep re-send or an outbox re-dispatch) are one row (PRIMARY KEY
 *   event_id, INSERT OR IGNORE); one that arrives after the job left waits until the log has
 *   passed that job's attempts to D1 (a job never runs while its event has attempts in the log,
 *   so it always decides on D1's current delivery row) and is then skipped by deliverJob (its
 *   delivery row is no longer pending).
 * - Retries: outcome 'retry' (receiver failure on the schedule, Retry-After, or a wait behind the
 *   open breaker) keeps the job, due after its delay; an error on our side (D1 unavailable, ...)
 *   keeps it, due after INTERNAL_ERROR_DELAY_SECONDS. The retry schedule and DELIVERY_MAX_WAIT_DAYS
 *   (applied by deliverJob from the delivery row) alone decide when a delivery is dead-lettered:
 *   a job in a lane never runs out of queue retries (Queues' max_retries now only bounds failed
 *   enqueues; should one be dead-lettered, its delivery stays pending in D1 and the stale
 *   delivery sweep sends it again). Once a job found the breaker open, the lane's due and new
 *   jobs wait with it, each with its own jitter, without being loaded one by one.
 * - Isolation: each destination has its own objects, storage, alarms and at most
 *   DELIVERY_LANES_PER_DESTINATION × LANE_CONCURRENCY connections; a receiver that hangs until the
 *   delivery timeout delays only its own lanes.
 * - One breaker per destination, shared by its lanes: it lives on the destination's D1 row
 *   (every lane reads it with its jobs' contexts, and its attempts' failures and successes reach
 *   it through the attempt log); the half-open probe is claimed in D1, so one lane of the
 *   destination probes and the others keep waiting, spending no attempt.
 * - Pause (src/delivery/pause.ts): a job whose destination is inactive stays as it is (outcome
 *   'hold') and the lane holds, running nothing, until the next pause check (the same moment for
 *   every lane of the destination); then it loads its oldest due jobs again: still paused, it
 *   holds again (dead-lettering the jobs past DELIVERY_PAUSE_RETENTION_DAYS first), active, it
 *   delivers the backlog oldest first.
 * - D1 writes: the attempt log passes up to LOG_FLUSH_MAX attempts in one D1 transaction, at
 *   most LOG_FLUSH_INTERVAL_MS after a plain success (at once after a failure); the contexts of up
 *   to LANE_LOAD_MAX due jobs are loaded in one D1 round trip.
 */
import { DurableObject } from 'cloudflare:workers';
import type { ConsumerEnv as Env, DeliveryJob } from '../env';
import { deliveryKey, type DeliveryContext } from '../db/deliveries';
import { deliveryContexts } from './contexts';
import { writeAttemptLog, type LoggedAttempt } from '../db/attempt_log';
import { breakerJitterSpan, deliverJob, INTERNAL_ERROR_DELAY_SECONDS } from './consumer';
import { nextPauseCheck } from './pause';
import { runTraced } from '../bench/stats';
import { BindingTrace, traceEnv } from '../bench/trace';

/**
 * POSTs in flight per destination at most (each lane's alarm is its own invocation, and an
 * invocation has 6 outbound connections).
 */
export const LANE_CONCURRENCY = 6;
/** Due jobs whose contexts one D1 round trip loads. */
export const LANE_LOAD_MAX = 50;
/** Jobs one alarm starts at most before it hands over to the next alarm. */
const ALARM_MAX_JOBS = 1000;

/** A stored job of a lane. */
type LaneRow = {
  event_id: number;
  destination_id: number;
  due_at: number;
};

/** Due jobs whose events have no attempt waiting in the log (?1: now). */
const RUNNABLE = `FROM jobs WHERE due_at <= ?1 AND event_id NOT IN (SELECT event_id FROM attempt_log)`;

/** The pending deliveries of one destination (see the module comment). */
export class DestinationLane extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly log: AttemptLog;
  /** What this instance asked of D1 (its write transactions: the `stats` RPC). */
  private readonly d1 = new BindingTrace();
  /** Jobs this instance finished (acked or rescheduled). */
  private finished = 0;
  /** When this instance last set the alarm (null: not set by this instance, or already run). */
  private alarmAt: number | null = null;
  /** Wakes a running alarm's loop (a job was enqueued, a POST ended, the log was written). */
  private wake: (() => void) | null = null;
  /** Until when the lane runs nothing: its destination was found paused (0: not holding; stored in `hold`). */
  private holdUntil: number;
  /**
   * Until when the destination's breaker is open, as a job of this lane last found it (memory
   * only; 0: not known to be open). Meanwhile due and new jobs wait without being loaded.
   */
  private breakerUntil = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(
      'CREATE TABLE IF NOT EXISTS jobs (event_id INTEGER PRIMARY KEY, destination_id INTEGER NOT NULL, due_at INTEGER NOT NULL, enqueued_at INTEGER NOT NULL)',
    );
    this.sql.exec('CREATE INDEX IF NOT EXISTS jobs_due ON jobs (due_at)');
    this.sql.exec('CREATE TABLE IF NOT EXISTS hold (id INTEGER PRIMARY KEY CHECK (id = 1), until INTEGER NOT NULL)');
    this.holdUntil = this.sql.exec<{ until: number }>('SELECT until FROM hold').toArray()[0]?.until ?? 0;
    this.log = new AttemptLog(this.sql);
  }

  /**
   * Store jobs durably (a job already here is kept as it is) and schedule them now; resolves
   * once storage has them.
   */
  async enqueue(jobs: DeliveryJob[]): Promise<void> {
    const now = Date.now();
    // Behind the open breaker a new job waits as the lane's other jobs do (until it closes, plus
    // its own jitter), instead of being loaded only to be deferred.
    const behind = this.breakerUntil > now ? this.breakerUntil : null;
    const spanMs = behind === null ? 0 : breakerJitterSpan((behind - now) / 1000) * 1000;
    let first = Infinity;
    for (const j of jobs) {
      const due = behind === null ? now : behind + Math.floor(Math.random() * spanMs);
      first = Math.min(first, due);
      this.sql.exec('INSERT OR IGNORE INTO jobs (event_id, destination_id, due_at, enqueued_at) VALUES (?, ?, ?, ?)', j.eventId, j.destinationId, due, now);
    }
    await this.scheduleAt(Math.max(first === Infinity ? now : first, this.holdUntil));
    this.wake?.();
  }

  /** Hold until `until` (the destination is paused): stored, so that a restarted object holds too. */
  private hold(until: number): void {
    this.holdUntil = until;
    this.sql.exec('INSERT OR REPLACE INTO hold (id, until) VALUES (1, ?)', until);
  }

  /** Whether the lane holds now. */
  private holding(): boolean {
    return this.holdUntil > Date.now();
  }

  /** The jobs waiting here, soonest first (tests, operators). */
  async pending(): Promise<{ eventId: number; destinationId: number; dueAt: number }[]> {
    return this.sql
      .exec<LaneRow>('SELECT event_id, destination_id, due_at FROM jobs ORDER BY due_at, event_id')
      .toArray()
      .map((r) => ({ eventId: r.event_id, destinationId: r.destination_id, dueAt: r.due_at }));
  }

  /**
   * What this instance did since it started (tests, benchmarks): jobs finished (acked or
   * rescheduled), its D1 write transactions, and attempts still waiting in the log for D1.
   */
  async stats(): Promise<{ finished: number; d1WriteTransactions: number; logged: number; holding: boolean }> {
    const writes = this.d1.before.d1WriteTransactions + this.d1.after.d1WriteTransactions;
    return { finished: this.finished, d1WriteTransactions: writes, logged: this.log.size(), holding: this.holding() };
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
      // this.d1 counts this instance's own D1 use (the stats RPC); the model wraps outside it, so
      // the env runDue gets is the model's own (its outbound fetch limit applies to the POSTs).
      started = await runTraced(traceEnv(this.env, this.d1), 'lane', (env) => this.runDue(env), { report: true });
    } catch (err) {
      console.error('destination lane: running due jobs failed', err instanceof Error ? err.message : err);
    }
    const now = Date.now();
    const nextJob = this.sql.exec<{ due: number | null }>('SELECT MIN(due_at) AS due FROM jobs WHERE event_id NOT IN (SELECT event_id FROM attempt_log)').one().due;
    // While holding, the jobs wait for the next pause check (the log does not).
    const next = Math.min(nextJob === null ? Infinity : Math.max(nextJob, this.holdUntil), this.log.dueAt(now) ?? Infinity);
    if (next === Infinity) return;
    // Handed over (ALARM_MAX_JOBS) or due meanwhile: at once; otherwise when the earliest is due.
    await this.scheduleAt(started >= ALARM_MAX_JOBS ? now : Math.max(next, now));
  }

  /** Start writing the log to D1 when it is due (the loop is woken once it is written). */
  private flushIfDue(env: Env): void {
    const due = this.log.dueAt();
    if (due !== null && due <= Date.now() && !this.log.busy) void this.log.flush(env.DB).then(() => this.wake?.());
  }

  /** Whether the log is due now (null: empty, not due). */
  private logDueNow(): boolean {
    const due = this.log.dueAt();
    return due !== null && due <= Date.now();
  }

  /**
   * Run due jobs, LANE_CONCURRENCY at a time, until none is due (or ALARM_MAX_JOBS started);
   * keep the attempt log moving to D1 meanwhile, and leave it written when it is due.
   */
  private async runDue(env: Env): Promise<number> {
    const inFlight = new Set<number>();
    const ready: { job: DeliveryJob; context?: DeliveryContext }[] = [];
    let started = 0;

    const run = async (job: DeliveryJob, context: DeliveryContext | undefined): Promise<void> => {
      const record = async (attempt: LoggedAttempt): Promise<void> => {
        this.log.append(job.eventId, attempt);
        this.flushIfDue(env);
      };
      try {
        const outcome = await deliverJob(env, job, { context, record });
        // Its attempt is recorded (deliverJob records before it returns): the job may go.
        if (outcome.action === 'ack') this.sql.exec('DELETE FROM jobs WHERE event_id = ?', job.eventId);
        else if (outcome.action === 'hold') this.hold(nextPauseCheck(env)); // the job stays as it is, in its place
        else this.sql.exec('UPDATE jobs SET due_at = ? WHERE event_id = ?', Date.now() + outcome.delaySeconds * 1000, job.eventId);
        if (outcome.result === 'breaker_open') this.breakerUntil = Math.max(this.breakerUntil, Date.now() + outcome.waitSeconds * 1000);
        else if (outcome.result === 'delivered') this.breakerUntil = 0; // a success closes the breaker
      } catch (err) {
        console.error(`delivery ${job.eventId}→${job.destinationId} could not be processed`, err instanceof Error ? err.message : err);
        this.sql.exec('UPDATE jobs SET due_at = ? WHERE event_id = ?', Date.now() + INTERNAL_ERROR_DELAY_SECONDS * 1000, job.eventId);
      } finally {
        this.finished++;
        inFlight.delete(job.eventId);
      }
    };

    for (;;) {
      this.flushIfDue(env);
      // The next due jobs' contexts are loaded as soon as none is ready, also while every
      // connection is busy, so that a freed connection never waits for a D1 round trip.
      if (this.holding()) ready.length = 0;
      if (this.breakerUntil > Date.now()) {
        // The breaker is open: every due job waits with the one that found it so (until it closes,
        // each with its own jitter over breakerJitterSpan, as deliverJob would defer it), in one
        // step, without its context being loaded or deliverJob run for it.
        const now = Date.now();
        const spanMs = Math.max(1, Math.round(breakerJitterSpan((this.breakerUntil - now) / 1000) * 1000));
        this.sql.exec('UPDATE jobs SET due_at = ?1 + abs(random()) % ?2 WHERE due_at <= ?3', this.breakerUntil, spanMs, now);
        ready.length = 0;
      }
      if (ready.length === 0 && started < ALARM_MAX_JOBS && !this.holding()) {
        const rows = this.sql
          .exec<LaneRow>(`SELECT event_id, destination_id, due_at ${RUNNABLE} ORDER BY due_at, event_id LIMIT ?2`, Date.now(), LANE_LOAD_MAX + inFlight.size)
          .toArray()
          .filter((r) => !inFlight.has(r.event_id))
          .slice(0, LANE_LOAD_MAX);
        const jobs = rows.map((r) => ({ eventId: r.event_id, destinationId: r.destination_id }));
        let contexts: Map<string, DeliveryContext> | null = null;
        try {
          contexts = await deliveryContexts(env, jobs);
        } catch (err) {
          console.error('destination lane: loading due jobs failed; loading job by job', err instanceof Error ? err.message : err);
        }
        for (const job of jobs) ready.push({ job, context: contexts?.get(deliveryKey(job.eventId, job.destinationId)) });
      }
      while (ready.length > 0 && inFlight.size < LANE_CONCURRENCY && started < ALARM_MAX_JOBS && !this.holding()) {
        const { job, context } = ready.shift()!;
        if (inFlight.has(job.eventId)) continue;
        inFlight.add(job.eventId);
        started++;
        void run(job, context).then(() => this.wake?.());
      }
      if (inFlight.size === 0 && (ready.length === 0 || started >= ALARM_MAX_JOBS)) {
        const more = ready.length === 0 && started < ALARM_MAX_JOBS && !this.holding() && this.sql.exec<{ n: number }>(`SELECT count(*) AS n ${RUNNABLE}`, Date.now()).one().n > 0;
        if (more) continue;
        // Nothing to run: leave the log written when it is due (its jobs may then run), else stop.
        const logDue = this.log.dueAt();
        if (logDue === null) return started;
        if (logDue <= Date.now()) {
          await this.log.flush(env.DB);
          if (this.logDueNow()) return started; // D1 refused: the alarm comes back when the retry is due
          continue;
        }
        // The log is due within LOG_FLUSH_INTERVAL_MS: wait for it here, where a job enqueued
        // meanwhile wakes this loop, instead of ending and being started again by each enqueue
        // (with several lanes per destination, each sees a trickle).
        if (started >= ALARM_MAX_JOBS || logDue - Date.now() > LOG_FLUSH_INTERVAL_MS) return started;
      }
      // Wait for a POST to end, a job to be enqueued, the log to be written, or the log to be due.
      // (While the log is being written, its end wakes the loop: no timer.)
      const logDue = this.log.busy ? null : this.log.dueAt();
      await new Promise<void>((resolve) => {
        const timer = logDue === null ? null : setTimeout(resolve, Math.max(1, logDue - Date.now()));
        this.wake = () => {
          if (timer !== null) clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }
}

/*
 * The lane's attempt log: every attempt the lane makes is first written to
 * the lane's own SQLite storage (durable once the object's output gate opens, before the job
 * leaves the lane), then passed on to D1 in groups, where the delivery log (GraphQL) reads it.
 *
 * When a group goes to D1: once LOG_FLUSH_MAX attempts wait, or LOG_FLUSH_INTERVAL_MS after the
 * oldest waiting one, or at once when an attempt is not a plain success (a failure, a dead
 * letter, a 410: the destination's circuit breaker and the delivery log's failures stay
 * current). A group is one D1 transaction whatever its size (writeAttemptLog). A failed
 * write keeps every attempt here and is retried after a growing delay (up to
 * LOG_RETRY_MAX_MS); so is a write the isolate did not live to finish: the lane's alarm is set
 * for the log's due time whenever the log is not empty.
 */
/** Longest time a plain success waits here before D1 has it (the delivery log's staleness bound while D1 answers). */
export const LOG_FLUSH_INTERVAL_MS = 1000;
/** Attempts that make a group go at once; also the most one D1 write carries. */
export const LOG_FLUSH_MAX = 100;
/** Longest wait between retries of a failed write to D1. */
export const LOG_RETRY_MAX_MS = 30_000;

/** What the log holds, as dueAt needs it: its size, its oldest attempt's time, whether any is urgent. */
interface LogSummary {
  n: number;
  first: number | null;
  urgent: boolean;
}

/** The attempt log of one lane (see the module comment). */
export class AttemptLog {
  private writing: Promise<void> | null = null;
  private failures = 0;
  private retryAt = 0;
  /**
   * The log's summary, kept in memory (the alarm loop asks for it after every attempt); read
   * from storage when unknown (a new instance, or after a write to D1 removed attempts).
   */
  private summary: LogSummary | null = null;

  constructor(private readonly sql: SqlStorage) {
    sql.exec(
      `CREATE TABLE IF NOT EXISTS attempt_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id INTEGER NOT NULL,
         attempt TEXT NOT NULL, urgent INTEGER NOT NULL, logged_at INTEGER NOT NULL)`,
    );
  }

  /** Keep one attempt of the job for event `eventId` (synchronous: in storage once this returns and the output gate opens). */
  append(eventId: number, attempt: LoggedAttempt, now = Date.now()): void {
    const urgent = attempt.effect.kind !== 'success' || attempt.deliveryStatus !== 'delivered';
    const s = this.read();
    this.sql.exec('INSERT INTO attempt_log (event_id, attempt, urgent, logged_at) VALUES (?, ?, ?, ?)', eventId, JSON.stringify(attempt), urgent ? 1 : 0, now);
    this.summary = { n: s.n + 1, first: s.first === null ? now : Math.min(s.first, now), urgent: s.urgent || urgent };
  }

  private read(): LogSummary {
    if (this.summary) return this.summary;
    const r = this.sql
      .exec<{ n: number; first: number | null; urgent: number | null }>('SELECT count(*) AS n, MIN(logged_at) AS first, MAX(urgent) AS urgent FROM attempt_log')
      .one();
    return (this.summary = { n: r.n, first: r.first, urgent: !!r.urgent });
  }

  /** Attempts not yet in D1. */
  size(): number {
    return this.read().n;
  }

  /** When the log should next go to D1 (null: empty, not due); at or before `now` means at once. */
  dueAt(now = Date.now()): number | null {
    const s = this.read();
    if (s.n === 0) return null;
    const due = s.urgent || s.n >= LOG_FLUSH_MAX ? now : s.first! + LOG_FLUSH_INTERVAL_MS;
    return Math.max(due, this.retryAt);
  }

  /** Whether an attempt is in flight to D1. */
  get busy(): boolean {
    return this.writing !== null;
  }

  /**
   * Write every attempt waiting when called to D1, LOG_FLUSH_MAX per transaction, oldest first,
   * and forget each group once D1 has it. One write at a time (a call during a write joins it). Never
   * rejects: a failure is logged and the rest waits for the retry.
   */
  flush(db: D1Database): Promise<void> {
    this.writing ??= this.writeAll(db).finally(() => (this.writing = null));
    return this.writing;
  }

  private async writeAll(db: D1Database): Promise<void> {
    // Only what waits now: attempts logged during the write wait for their own group (else a
    // slow D1 would turn one flush into a stream of small ones).
    const last = this.sql.exec<{ seq: number | null }>('SELECT MAX(seq) AS seq FROM attempt_log').one().seq ?? 0;
    for (;;) {
      const rows = this.sql
        .exec<{ seq: number; attempt: string }>('SELECT seq, attempt FROM attempt_log WHERE seq <= ? ORDER BY seq LIMIT ?', last, LOG_FLUSH_MAX)
        .toArray();
      if (rows.length === 0) return;
      try {
        await writeAttemptLog(db, rows.map((r) => JSON.parse(r.attempt) as LoggedAttempt));
      } catch (err) {
        this.failures++;
        this.retryAt = Date.now() + Math.min(LOG_FLUSH_INTERVAL_MS * 2 ** (this.failures - 1), LOG_RETRY_MAX_MS);
        console.error(
          `destination lane: writing ${rows.length} attempts to D1 failed (${this.failures} in a row); kept, retrying in ${this.retryAt - Date.now()} ms`,
          err instanceof Error ? err.message : err,
        );
        return;
      }
      this.failures = 0;
      this.retryAt = 0;
      this.sql.exec('DELETE FROM attempt_log WHERE seq <= ?', rows[rows.length - 1].seq);
      this.summary = null;
    }
  }
}
