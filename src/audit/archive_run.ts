/**
 * One run of the cold audit log's move (the Cron Trigger's "audit archive" job, src/scheduled.ts,
 * right after the tree builder gave the new events their leaves). Chunks move oldest first
 * (src/audit/archive_move.ts, one crash-safe chunk at a time) while the next leaves are eligible:
 * - age rule: an event created before now − AUDIT_HOT_DAYS (an exact instant), or one whose
 *   content retention removed, and without an outbox row;
 * - size rule: while the estimated audit data in D1 (src/audit/archive_size.ts) is above
 *   AUDIT_HOT_MAX_MB, any event without an outbox row, whatever its age, up to its block's end.
 * Work is bounded per run (MAX_CHUNKS chunks and a BUDGET_MS wall-clock budget, checked after
 * each chunk); a larger backlog is finished by the following runs.
 */
import type { Env } from '../env';
import { coldBoundary } from '../db/audit_archive';
import { hotCutoff, logConfigErrorOnce, readArchiveConfig } from './archive_config';
import { moveNextChunk, olderThan, type Eligible } from './archive_move';
import { estimateHotSize } from './archive_size';

/** Chunks moved per run at most (each up to 1,024 events). */
export const MAX_CHUNKS = 50;
/** Wall-clock milliseconds after which a run starts no further chunk. */
export const BUDGET_MS = 20_000;

/** What a run did. */
export interface ArchiveRunResult {
  /** Why nothing was tried (a malformed setting), else null. */
  skipped: string | null;
  chunks: number;
  /** Events moved (lines with an event). */
  events: number;
  /** Chunks moved because D1's audit data was above AUDIT_HOT_MAX_MB. */
  bySize: number;
  /** First and last event id moved (null when none). */
  firstId: number | null;
  lastId: number | null;
  /** The size estimate after the run, in bytes (null when skipped). */
  hotBytes: number | null;
  /** Why the run stopped: nothing more may move, the chunk bound, or the time budget. */
  stoppedBy: 'done' | 'chunks' | 'time' | null;
}

/** Not waiting for delivery dispatch: no outbox row (or no content left to deliver). */
const dispatched: Eligible = (leaf) => leaf.event === null || !leaf.inOutbox;

/** Move what is due. Never throws for a malformed setting (logged once, nothing moved); D1 and R2 errors propagate. */
export async function runArchiveMove(
  env: Env,
  ctx: Pick<ExecutionContext, 'waitUntil'> | null,
  now: Date = new Date(),
  limits: { maxChunks?: number; budgetMs?: number } = {},
): Promise<ArchiveRunResult> {
  const result: ArchiveRunResult = { skipped: null, chunks: 0, events: 0, bySize: 0, firstId: null, lastId: null, hotBytes: null, stoppedBy: null };
  const read = readArchiveConfig(env);
  if ('errors' in read) {
    for (const e of read.errors) logConfigErrorOnce(e);
    result.skipped = read.errors.join('; ');
    return result;
  }
  const maxChunks = limits.maxChunks ?? MAX_CHUNKS;
  const budgetMs = limits.budgetMs ?? BUDGET_MS;
  const byAge = olderThan(hotCutoff(read.config.hotDays, now));
  const started = Date.now();
  // Bytes per event are sampled once per run; each chunk re-reads only the hot id range.
  let perEvent: number | undefined;
  const estimate = async (): Promise<number> => {
    const size = await estimateHotSize(env, (await coldBoundary(env.DB)).lastId, perEvent);
    perEvent = size.bytesPerEvent;
    return size.bytes;
  };
  for (;;) {
    result.hotBytes = await estimate();
    const overSize = result.hotBytes > read.config.hotMaxBytes;
    const chunk = await moveNextChunk(env, ctx, overSize ? dispatched : byAge, now);
    if (!chunk) {
      result.stoppedBy = 'done';
      break;
    }
    result.chunks++;
    result.events += chunk.eventCount;
    if (overSize) result.bySize++;
    result.firstId ??= chunk.firstId;
    result.lastId = chunk.lastId;
    if (result.chunks >= maxChunks) {
      result.stoppedBy = 'chunks';
      break;
    }
    if (Date.now() - started >= budgetMs) {
      result.stoppedBy = 'time';
      break;
    }
  }
  if (result.stoppedBy !== 'done') result.hotBytes = await estimate();
  return result;
}

/** The cron's summary line of a run, or null when nothing happened. */
export function archiveRunSummary(r: ArchiveRunResult): string | null {
  if (r.chunks === 0) return null;
  const size = r.bySize > 0 ? ` (${r.bySize} by AUDIT_HOT_MAX_MB)` : '';
  const more = r.stoppedBy === 'done' ? '' : `; stopped by the ${r.stoppedBy === 'time' ? 'time budget' : 'chunk bound'}, the next run continues`;
  return `moved ${r.events} events (ids ${r.firstId} to ${r.lastId}) in ${r.chunks} chunk${r.chunks === 1 ? '' : 's'}${size}${more}`;
}
