/**
 * DestinationLane: Durable Objects (SQLite) that own a streaming destination's pending deliveries,
 * so that a slow or hanging receiver can only slow itself: DELIVERY_LANES_PER_DESTINATION home
 * lanes per destination (a job's chosen by its event id, laneIndex), each with up to
 * DELIVERY_OVERFLOW_LANES overflow lanes while it is backlogged (./overflow.ts). The queue handler
 * (./batch.ts) hands jobs over (`enqueue`); the alarm runs due jobs, LANE_CONCURRENCY POSTs at a
 * time, through deliverJob (./consumer.ts), and keeps or drops each by its outcome; attempts go to
 * the lane's storage first and reach D1 in groups (AttemptLog, below). Guarantees (at least once,
 * retries, isolation, breaker, pause, D1 writes): ARCHITECTURE.md, "Delivery lanes".
 */
import { DurableObject } from 'cloudflare:workers';
import type { ConsumerEnv as Env, DeliveryJob } from '../env';
import { deliveryKey, type DeliveryContext } from '../db/deliveries';
import { deliveryContexts } from './contexts';
import { writeAttemptLog, type LoggedAttempt } from '../db/attempt_log';
import { breakerJitterSpan, deliverJob, INTERNAL_ERROR_DELAY_SECONDS } from './consumer';
import { readDeliveryConfig } from './config';
import { backlogged, handOver, homeLaneName, LANE_CONCURRENCY, Overflow, OVERFLOW_MAX_JOBS, OVERFLOW_RESERVE_MS, overflowGroups } from './overflow';
import { nextPauseCheck } from './pause';
import { runTraced } from '../bench/stats';
import { BindingTrace, traceEnv } from '../bench/trace';

export { LANE_CONCURRENCY } from './overflow';
/** Due jobs whose contexts one D1 round trip loads. */
export const LANE_LOAD_MAX = 50;
/** Jobs one alarm starts at most before it hands over to the next alarm. */
const ALARM_MAX_JOBS = 1000;

/** A stored job of a lane. */
type LaneRow = { event_id: number; destination_id: number; due_at: number };

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
  /** Wakes a running alarm's loop (a job was enqueued, a POST ended, the log was written, a hand-over ended). */
  private wake: (() => void) | null = null;
  /** Until when the lane runs nothing: its destination was found paused (0: not holding; stored in `hold`). */
  private holdUntil: number;
  /** Until when the destination's breaker is open, as a job here last found it (0: not known open); due and new jobs wait meanwhile. */
  private breakerUntil = 0;
  /** The home lane's name when this is one of its overflow lanes (stored in `overflow_of`; null: a home lane). */
  private overflowOf: string | null;
  private readonly overflowState = new Overflow();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(
      'CREATE TABLE IF NOT EXISTS jobs (event_id INTEGER PRIMARY KEY, destination_id INTEGER NOT NULL, due_at INTEGER NOT NULL, enqueued_at INTEGER NOT NULL)',
    );
    this.sql.exec('CREATE INDEX IF NOT EXISTS jobs_due ON jobs (due_at)');
    this.sql.exec('CREATE TABLE IF NOT EXISTS hold (id INTEGER PRIMARY KEY CHECK (id = 1), until INTEGER NOT NULL)');
    this.holdUntil = this.sql.exec<{ until: number }>('SELECT until FROM hold').toArray()[0]?.until ?? 0;
    this.sql.exec('CREATE TABLE IF NOT EXISTS overflow_of (id INTEGER PRIMARY KEY CHECK (id = 1), home TEXT NOT NULL)');
    this.overflowOf = this.sql.exec<{ home: string }>('SELECT home FROM overflow_of').toArray()[0]?.home ?? null;
    this.log = new AttemptLog(this.sql);
  }

  /**
   * Store jobs durably (a job already here is kept as it is) and schedule them now; resolves
   * once storage has them. `overflowOf`: the home lane handing them over (this is its overflow lane).
   */
  async enqueue(jobs: DeliveryJob[], overflowOf?: string): Promise<void> {
    const now = Date.now();
    if (overflowOf !== undefined && this.overflowOf === null) {
      this.overflowOf = overflowOf;
      this.sql.exec('INSERT OR REPLACE INTO overflow_of (id, home) VALUES (1, ?)', overflowOf);
    }
    // Behind the open breaker a new job waits as the others do (until it closes, plus its own jitter).
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

  /** What this instance did (tests, benchmarks): jobs finished, D1 write transactions, attempts waiting for D1, jobs handed over. */
  async stats(): Promise<{ finished: number; d1WriteTransactions: number; logged: number; holding: boolean; overflowed: number; overflowOf: string | null }> {
    const writes = this.d1.before.d1WriteTransactions + this.d1.after.d1WriteTransactions;
    return { finished: this.finished, d1WriteTransactions: writes, logged: this.log.size(), holding: this.holding(), overflowed: this.overflowState.handed, overflowOf: this.overflowOf };
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
      // The benchmarks' edge model (off: this.env as is), counted under 'lane'; this.d1 counts this
      // instance's D1 use (stats) inside the model, whose outbound fetch limit applies to the POSTs.
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
    if (this.logDueNow() && !this.log.busy) void this.log.flush(env.DB).then(() => this.wake?.());
  }

  /** Whether the log is due now (null: empty, not due). */
  private logDueNow(): boolean {
    return (this.log.dueAt() ?? Infinity) <= Date.now();
  }

  /** Runnable jobs now. */
  private runnableCount(): number {
    return this.sql.exec<{ n: number }>(`SELECT count(*) AS n ${RUNNABLE}`, Date.now()).one().n;
  }

  /** The `limit` oldest runnable jobs not in `skip`. */
  private dueJobs(limit: number, skip: Set<number>): DeliveryJob[] {
    return this.sql
      .exec<LaneRow>(`SELECT event_id, destination_id, due_at ${RUNNABLE} ORDER BY due_at, event_id LIMIT ?2`, Date.now(), limit + skip.size)
      .toArray()
      .filter((r) => !skip.has(r.event_id))
      .slice(0, limit)
      .map((r) => ({ eventId: r.event_id, destinationId: r.destination_id }));
  }

  /** Whether this home lane hands due jobs over now (./overflow.ts): not holding, not behind an open breaker, backlogged. */
  private shouldOverflow(env: Env, inFlight: number): boolean {
    const now = Date.now();
    if (this.overflowOf !== null || this.holding() || this.breakerUntil > now || !this.overflowState.due(now)) return false;
    return readDeliveryConfig(env).overflowLanes > 0 && backlogged(this.runnableCount() - inFlight, this.overflowState.postMs);
  }

  /**
   * Hand due jobs neither running nor loading to the overflow lanes (overflowGroups; loaded ones leave `ready`): held
   * back here while the hand-over is in flight, deleted once their lane has them, due here again if refused.
   */
  private async overflow(env: Env, running: Set<number>, ready: { job: DeliveryJob }[]): Promise<void> {
    const lanes = readDeliveryConfig(env).overflowLanes;
    const groups = overflowGroups(this.dueJobs((lanes + 1) * OVERFLOW_MAX_JOBS, running), lanes);
    if (groups.length === 0) return;
    const moved = new Set(groups.flat().map((j) => j.eventId));
    ready.splice(0, ready.length, ...ready.filter((r) => !moved.has(r.job.eventId)));
    const ids = (jobs: DeliveryJob[]) => JSON.stringify(jobs.map((j) => j.eventId));
    const setDue = (jobs: DeliveryJob[], at: number) => this.sql.exec('UPDATE jobs SET due_at = ?1 WHERE event_id IN (SELECT value FROM json_each(?2))', at, ids(jobs));
    setDue(groups.flat(), Date.now() + OVERFLOW_RESERVE_MS);
    const home = homeLaneName(env, groups[0][0]);
    this.overflowState.busy = true;
    const taken = (jobs: DeliveryJob[]) => {
      this.sql.exec('DELETE FROM jobs WHERE event_id IN (SELECT value FROM json_each(?1))', ids(jobs));
      this.overflowState.handed += jobs.length;
    };
    const refused = (jobs: DeliveryJob[], err: unknown) => {
      console.error(`destination lane ${home}: handing ${jobs.length} jobs to an overflow lane failed; they run here`, err instanceof Error ? err.message : err);
      setDue(jobs, Date.now());
    };
    await handOver(env, home, groups, taken, refused).finally(() => (this.overflowState.busy = false));
  }

  /**
   * Run due jobs, LANE_CONCURRENCY at a time, until none is due (or ALARM_MAX_JOBS started);
   * keep the attempt log moving to D1 meanwhile, and leave it written when it is due.
   */
  private async runDue(env: Env): Promise<number> {
    const inFlight = new Set<number>();
    const ready: { job: DeliveryJob; context?: DeliveryContext }[] = [];
    let started = 0;
    let loading: Promise<void> | null = null; // the background load of due jobs' contexts (null: none)
    let loadingIds = new Set<number>(); // ... and its jobs

    const run = async (job: DeliveryJob, context: DeliveryContext | undefined): Promise<void> => {
      const record = async (attempt: LoggedAttempt): Promise<void> => {
        this.log.append(job.eventId, attempt);
        this.flushIfDue(env);
      };
      const startedAt = Date.now();
      let postedAt = 0;
      try {
        const outcome = await deliverJob(env, job, { context, record, onPosted: () => (postedAt = Date.now()) });
        if (outcome.result === 'delivered' || outcome.result === 'failed') this.overflowState.note(outcome.result === 'delivered' && postedAt > 0, postedAt - startedAt);
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
      if (this.holding()) ready.length = 0;
      if (this.breakerUntil > Date.now()) {
        // The breaker is open: every due job waits with the one that found it so, in one step (each
        // with its own jitter over breakerJitterSpan, as deliverJob would defer it), unloaded.
        const now = Date.now();
        const spanMs = Math.max(1, Math.round(breakerJitterSpan((this.breakerUntil - now) / 1000) * 1000));
        this.sql.exec('UPDATE jobs SET due_at = ?1 + abs(random()) % ?2 WHERE due_at <= ?3', this.breakerUntil, spanMs, now);
        ready.length = 0;
      }
      // The next due jobs' contexts load in the background once fewer than LANE_CONCURRENCY are
      // ready, also while every connection is busy: a freed connection never waits for D1.
      if (loading === null && ready.length < LANE_CONCURRENCY && started + ready.length < ALARM_MAX_JOBS && !this.holding()) {
        const jobs = this.dueJobs(LANE_LOAD_MAX, new Set([...inFlight, ...ready.map((r) => r.job.eventId)]));
        if (jobs.length > 0) {
          loadingIds = new Set(jobs.map((j) => j.eventId));
          loading = deliveryContexts(env, jobs)
            .catch((err) => void console.error('destination lane: loading due jobs failed; loading job by job', err instanceof Error ? err.message : err))
            .then((contexts) => void ready.push(...jobs.map((job) => ({ job, context: contexts?.get(deliveryKey(job.eventId, job.destinationId)) }))))
            .finally(() => void ((loading = null), (loadingIds = new Set()), this.wake?.()));
        }
      }
      if (this.shouldOverflow(env, inFlight.size)) void this.overflow(env, new Set([...inFlight, ...loadingIds]), ready).then(() => this.wake?.());
      while (ready.length > 0 && inFlight.size < LANE_CONCURRENCY && started < ALARM_MAX_JOBS && !this.holding()) {
        const { job, context } = ready.shift()!;
        if (inFlight.has(job.eventId)) continue;
        inFlight.add(job.eventId);
        started++;
        void run(job, context).then(() => this.wake?.());
      }
      if (loading === null && inFlight.size === 0 && (ready.length === 0 || started >= ALARM_MAX_JOBS)) {
        const more = ready.length === 0 && started < ALARM_MAX_JOBS && !this.holding() && this.runnableCount() > 0;
        if (more) continue;
        // Nothing to run: leave the log written when it is due (its jobs may then run), else stop.
        const logDue = this.log.dueAt();
        if (logDue === null) return started;
        if (logDue <= Date.now()) {
          await this.log.flush(env.DB);
          if (this.logDueNow()) return started; // D1 refused: the alarm comes back when the retry is due
          continue;
        }
        // The log is due within LOG_FLUSH_INTERVAL_MS: wait for it here (an enqueue wakes this loop)
        // rather than end and be started again by each enqueue of a trickle.
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

/** Longest time a plain success waits here before D1 has it (the delivery log's staleness bound while D1 answers). */
export const LOG_FLUSH_INTERVAL_MS = 1000;
/** Attempts that make a group go at once; also the most one D1 write carries. */
export const LOG_FLUSH_MAX = 100;
/** Longest wait between retries of a failed write to D1. */
export const LOG_RETRY_MAX_MS = 30_000;

/** What the log holds, as dueAt needs it: its size, its oldest attempt's time, whether any is urgent. */
type LogSummary = { n: number; first: number | null; urgent: boolean };

/**
 * The attempt log of one lane: each attempt is written to the lane's own SQLite storage, then passed
 * on to D1 in groups (when and how: ARCHITECTURE.md, "Delivery lanes", D1 writes).
 */
export class AttemptLog {
  private writing: Promise<void> | null = null;
  private failures = 0;
  private retryAt = 0;
  /** The log's summary in memory (asked after every attempt); read from storage when unknown (null). */
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
