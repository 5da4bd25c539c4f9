/**
 * Audit log retention: the ONLY way an audit event is ever removed.
 *
 * With AUDIT_RETENTION_DAYS = N (unset or 0: off, events are kept forever), the Cron Trigger
 * (src/scheduled.ts, every minute) deletes the events of every WHOLE UTC day that ended more
 * than N days ago: everything created before midnight UTC of (today - N days). Today's events
 * and those of the N previous days are kept.
 *
 * The database rejects DELETE on audit_events (migration 0006) unless the single row of
 * audit_retention_guard exists. Each chunk is ONE db.batch (one transaction): insert the guard
 * row, delete the outbox rows of the events, delete the events, remove the guard row, and
 * record `audit_events_retention_applied` (instance entity) with the retention days, the cutoff
 * and the count. The deletion and its record commit together or not at all, and the guard is
 * never visible outside that transaction.
 *
 * Work is bounded per run (CHUNK_SIZE events, MAX_CHUNKS chunks); a large backlog is finished
 * by the following runs.
 */
import type { Env } from '../env';
import { expiredEventsChunk, expiredEventsRemovalStatements } from '../db/audit_events';
import { markLeavesRemovedStatement } from '../db/audit_log_tree';
import { instanceEntity, recordAuditEvent } from './record';

/** Events deleted per transaction. */
export const CHUNK_SIZE = 5000;
/** Transactions per run. */
export const MAX_CHUNKS = 10;
/** Largest accepted AUDIT_RETENTION_DAYS (100 years). */
const MAX_DAYS = 36_500;

/** The author of retention events: not a user (GitLab's convention for non-user authors is id -1). */
export const RETENTION_AUTHOR = { id: -1, name: 'Audit log retention' } as const;

/** Retention in days from AUDIT_RETENTION_DAYS; 0 (off) when unset, empty or "0"; null when malformed. */
export function retentionDays(env: Pick<Env, 'AUDIT_RETENTION_DAYS'>): number | null {
  const raw = (env.AUDIT_RETENTION_DAYS ?? '').trim();
  if (raw === '') return 0;
  if (!/^\d{1,6}$/.test(raw)) return null;
  const n = Number(raw);
  return n > MAX_DAYS ? null : n;
}

/** Midnight UTC of (the UTC day of `now`) minus `days`: events created before it are past retention. */
export function retentionCutoff(days: number, now: Date): string {
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return new Date(midnight - days * 86_400_000).toISOString();
}

/**
 * Record `audit_events_retention_applied` (instance entity, the retention author) in ONE
 * transaction with the statements that remove what it describes (hot events here, archive chunks
 * in archive_retention.ts).
 */
export async function recordRetention(
  env: Env,
  ctx: Pick<ExecutionContext, 'waitUntil'> | null,
  details: Record<string, unknown>,
  removal: D1PreparedStatement[],
): Promise<void> {
  await recordAuditEvent(
    env,
    ctx,
    {
      eventType: 'audit_events_retention_applied',
      author: { ...RETENTION_AUTHOR },
      authorClass: 'System',
      entity: instanceEntity(),
      target: { id: null, type: null, details: null },
      details,
    },
    removal,
  );
}

/** What one run did. */
export interface RetentionResult {
  /** Retention in days (0: off). */
  days: number;
  /** Events created before this instant were removed; null when retention is off. */
  cutoff: string | null;
  deleted: number;
  /** Events `audit_events_retention_applied` recorded (one per chunk). */
  recorded: number;
}

/**
 * Apply retention once. Never throws for a malformed AUDIT_RETENTION_DAYS (it is logged and
 * nothing is deleted); database errors propagate to the scheduled handler.
 */
export async function applyAuditRetention(
  env: Env,
  ctx: Pick<ExecutionContext, 'waitUntil'> | null,
  now: Date = new Date(),
  limits: { chunkSize?: number; maxChunks?: number } = {},
): Promise<RetentionResult> {
  const chunkSize = limits.chunkSize ?? CHUNK_SIZE;
  const maxChunks = limits.maxChunks ?? MAX_CHUNKS;
  const days = retentionDays(env);
  if (days === null) {
    console.error('AUDIT_RETENTION_DAYS must be a whole number of days (0 or unset: keep forever); retention skipped');
    return { days: 0, cutoff: null, deleted: 0, recorded: 0 };
  }
  if (days === 0) return { days: 0, cutoff: null, deleted: 0, recorded: 0 };
  const cutoff = retentionCutoff(days, now);
  const db = env.DB;
  let deleted = 0;
  let recorded = 0;
  for (let chunk = 0; chunk < maxChunks; chunk++) {
    const stats = await expiredEventsChunk(db, cutoff, chunkSize);
    if (!stats) break;
    // The removed events' leaves stay (proofs keep working), marked as having lost their content.
    const removal = [markLeavesRemovedStatement(db, cutoff, stats.maxId), ...expiredEventsRemovalStatements(db, cutoff, stats.maxId)];
    const firstDay = stats.firstAt?.slice(0, 10) ?? null;
    const lastDay = stats.lastAt?.slice(0, 10) ?? null;
    await recordRetention(
      env,
      ctx,
      {
        custom_message: `Removed ${stats.n} audit events created before ${cutoff} (retention ${days} days)`,
        retention_days: days,
        deleted_before: cutoff,
        deleted_count: stats.n,
        first_day: firstDay,
        last_day: lastDay,
      },
      removal,
    );
    deleted += stats.n;
    recorded++;
    if (stats.n < chunkSize) break;
  }
  return { days, cutoff, deleted, recorded };
}
