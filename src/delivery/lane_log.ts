/**
 * A lane's attempt log (src/delivery/lane.ts): every attempt the lane makes is first written to
 * the lane's own SQLite storage (durable once the object's output gate opens, before the job
 * leaves the lane), then passed on to D1 in groups, where the delivery log (GraphQL) reads it.
 *
 * When a group goes to D1: once LOG_FLUSH_MAX attempts wait, or LOG_FLUSH_INTERVAL_MS after the
 * oldest waiting one, or at once when an attempt is not a plain success (a failure, a dead
 * letter, a 410: the destination's circuit breaker and the delivery log's failures stay
 * current). A group is one D1 transaction whatever its size (attemptLogStatements). A failed
 * write keeps every attempt here and is retried after a growing delay (up to
 * LOG_RETRY_MAX_MS); so is a write the isolate did not live to finish: the lane's alarm is set
 * for the log's due time whenever the log is not empty.
 */
import { attemptLogStatements, type LoggedAttempt } from '../db/deliveries';

/** Longest time a plain success waits here before D1 has it (the delivery log's staleness bound while D1 answers). */
export const LOG_FLUSH_INTERVAL_MS = 1000;
/** Attempts that make a group go at once; also the most one D1 write carries. */
export const LOG_FLUSH_MAX = 100;
/** Longest wait between retries of a failed write to D1. */
export const LOG_RETRY_MAX_MS = 30_000;

/** The attempt log of one lane (see the module comment). */
export class AttemptLog {
  private writing: Promise<void> | null = null;
  private failures = 0;
  private retryAt = 0;

  constructor(private readonly sql: SqlStorage) {
    sql.exec(
      `CREATE TABLE IF NOT EXISTS attempt_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id INTEGER NOT NULL,
         attempt TEXT NOT NULL, urgent INTEGER NOT NULL, logged_at INTEGER NOT NULL)`,
    );
  }

  /** Keep one attempt of the job for event `eventId` (synchronous: in storage once this returns and the output gate opens). */
  append(eventId: number, attempt: LoggedAttempt, now = Date.now()): void {
    const urgent = attempt.effect.kind !== 'success' || attempt.deliveryStatus !== 'delivered' ? 1 : 0;
    this.sql.exec('INSERT INTO attempt_log (event_id, attempt, urgent, logged_at) VALUES (?, ?, ?, ?)', eventId, JSON.stringify(attempt), urgent, now);
  }

  /** Attempts not yet in D1. */
  size(): number {
    return this.sql.exec<{ n: number }>('SELECT count(*) AS n FROM attempt_log').one().n;
  }

  /** When the log should next go to D1 (null: empty); at or before `now` means at once. */
  dueAt(now = Date.now()): number | null {
    const r = this.sql.exec<{ n: number; first: number | null; urgent: number | null }>(
      'SELECT count(*) AS n, MIN(logged_at) AS first, MAX(urgent) AS urgent FROM attempt_log',
    ).one();
    if (r.n === 0) return null;
    const due = r.urgent || r.n >= LOG_FLUSH_MAX ? now : r.first! + LOG_FLUSH_INTERVAL_MS;
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
        await db.batch(attemptLogStatements(db, rows.map((r) => JSON.parse(r.attempt) as LoggedAttempt)));
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
    }
  }
}
