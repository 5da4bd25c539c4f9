/**
 * The audit log's integrity check. Each scheduled run re-hashes a bounded slice of the stored
 * events (SLICE_LEAVES leaves, one aligned block; a cursor rotates over the whole log up to the
 * latest checkpoint, so every event is re-hashed once per size/SLICE_LEAVES runs) from their
 * CURRENT content, and compares:
 * 1. the slice's subtree root, rebuilt from those hashes, with the stored tree (its node, or for
 *    the last, partial block the combination of stored nodes), and
 * 2. the root of the latest checkpoint's tree computed with the rebuilt slice and the stored
 *    nodes around it, with the root that checkpoint SIGNED.
 * The first finds an event changed behind the stored tree's back; the second finds one changed
 * together with its stored leaf hash and nodes (which whoever edits the database could rewrite
 * too; the signature they cannot). The slice's id span is also checked for events that no leaf
 * names (a row inserted in the middle), every leaf for its event (a row deleted; retention's
 * removals are marked on the leaf in retention's own transaction), and every event's placement
 * columns, which its leaf does not cover, against its entity (src/audit/placement.ts).
 *
 * A mismatch records `audit_log_integrity_failure` (instance level: it reaches instance
 * destinations as an alert) and stops checkpoints until an administrator acknowledges it
 * (POST /api/v4/audit_events/integrity/acknowledge). While a failure waits, the check keeps
 * running but records no new failure event.
 */
import type { Env } from '../env';
import { leafSlice } from '../db/audit_log_tree';
import { coldBoundary } from '../db/audit_archive';
import {
  acknowledgeStatement,
  integrityBlocked,
  integrityFailureStatement,
  latestCheckpoint,
  readIntegrityState,
  saveIntegrityCursor,
  type LogIntegrityState,
  type StoredCheckpoint,
} from '../db/audit_log_checkpoints';
import { nowIso } from '../db/time';
import { equalBytes, fromBase64, type Bytes } from '../tlog/hash';
import { rootHash } from '../tlog/tree';
import { instanceEntity, recordChangesIfChanged, type AuditEvent } from './record';
import { eventLeafHash } from './log_builder';
import { misplacedEvent } from './placement';
import { evaluate, PlanNodes, readPlanned } from './log_tree';
import { rehashColdLeaves } from './archive_integrity';
import { INTEGRITY_ACKNOWLEDGED_EVENT, INTEGRITY_FAILURE_EVENT, LOG_AUTHOR, logVerifierKey, signedRoot } from './log_signing';

/** Leaves re-hashed per run: one aligned block of 2^11. */
export const SLICE_LEAVES = 2048;

/** What one check did. */
export interface IntegrityResult {
  /** The leaves [from, to) re-hashed, or null when there was nothing to check (no checkpoint yet). */
  checked: { from: number; to: number } | null;
  /** What did not match, or null. */
  failure: string | null;
}

type Ctx = Pick<ExecutionContext, 'waitUntil'> | null;

/**
 * Record a failure: its audit event and the blocking state in one transaction. When a failure
 * already waits for acknowledgement nothing new is recorded (the check runs every minute).
 */
export async function recordIntegrityFailure(env: Env, ctx: Ctx, failure: string, details: Record<string, unknown> = {}): Promise<void> {
  const state = await readIntegrityState(env.DB);
  console.error(`audit log integrity: ${failure}`);
  if (integrityBlocked(state)) return;
  await recordChangesIfChanged(env, ctx, [integrityFailureStatement(env.DB, failure, nowIso())], {
    eventType: INTEGRITY_FAILURE_EVENT,
    author: { ...LOG_AUTHOR },
    authorClass: 'System',
    entity: instanceEntity(),
    details: { custom_message: `Audit log integrity check failed: ${failure}`, failure, ...details },
  });
}

/** Why the slice's stored events do not give back their leaves, or null. Also gives the rebuilt leaf hashes. */
async function rehashSlice(env: Env, from: number, to: number): Promise<{ hashes: Bytes[]; problem: string | null }> {
  const slice = await leafSlice(env.DB, from, to);
  if (slice.leaves.length !== to - from) return { hashes: [], problem: `leaves ${from} to ${to - 1} are not all stored` };
  if (slice.strayEventIds.length > 0) return { hashes: [], problem: `event ${slice.strayEventIds[0]} is in the log's span of leaves ${from} to ${to - 1} but has no leaf (a row inserted)` };
  const hashes: Bytes[] = [];
  for (const { leaf, event } of slice.leaves) {
    if (!event && !leaf.contentRemoved) return { hashes, problem: `event ${leaf.eventId} (leaf ${leaf.leafIndex}) is missing (a row deleted)` };
    let hash: Bytes | null;
    try {
      hash = event ? await eventLeafHash(event as AuditEvent, leaf.leafVersion) : fromBase64(leaf.leafHash);
    } catch (err) {
      return { hashes, problem: `event ${leaf.eventId} (leaf ${leaf.leafIndex}) cannot be hashed: ${err instanceof Error ? err.message : String(err)}` };
    }
    if (!hash) return { hashes, problem: `leaf ${leaf.leafIndex} holds no hash` };
    if (event && !equalBytes(hash, fromBase64(leaf.leafHash) ?? new Uint8Array())) {
      return { hashes, problem: `event ${leaf.eventId} (leaf ${leaf.leafIndex}) no longer matches its leaf hash` };
    }
    hashes.push(hash);
  }
  const misplaced = await misplacedEvent(env.DB, slice.leaves.flatMap(({ event }) => (event ? [event] : [])));
  return { hashes, problem: misplaced };
}

/**
 * Check one slice: the block at the cursor (or the one holding `at`), against the latest
 * checkpoint. Moves the cursor on (back to 0 after the last block). Records a failure.
 */
export async function checkIntegrity(env: Env, ctx: Ctx, options: { at?: number; sliceLeaves?: number } = {}): Promise<IntegrityResult> {
  const db = env.DB;
  const slice = options.sliceLeaves ?? SLICE_LEAVES;
  const [state, checkpoint] = await Promise.all([readIntegrityState(db), latestCheckpoint(db)]);
  if (!checkpoint) return { checked: null, failure: null };
  const size = checkpoint.treeSize;
  const start = options.at ?? (state.cursor < size ? state.cursor : 0);
  const from = start - (start % slice);
  if (from >= size) return { checked: null, failure: null };
  const to = Math.min(from + slice, size);
  const failure = await checkSlice(env, from, to, checkpoint);
  if (options.at === undefined) await saveIntegrityCursor(db, to >= size ? 0 : to);
  if (failure) await recordIntegrityFailure(env, ctx, failure, { leaf_from: from, leaf_to: to - 1, checkpoint_tree_size: size });
  return { checked: { from, to }, failure };
}

/** Check leaves [from, to) of the checkpoint's tree (see the module comment); the failure found, or null. */
async function checkSlice(env: Env, from: number, to: number, checkpoint: StoredCheckpoint): Promise<string | null> {
  const key = await logVerifierKey(env);
  if (!key) return null;
  const signed = await signedRoot(key, checkpoint);
  if ('error' in signed) return signed.error;
  // Leaves up to the cold boundary were moved to the archive: verified there (archive_integrity.ts).
  const cold = Math.max(from, Math.min(to, (await coldBoundary(env.DB)).lastLeaf + 1));
  const moved = cold > from ? await rehashColdLeaves(env, from, cold) : { hashes: [], problem: null };
  if (moved.problem) return moved.problem;
  const rebuilt = cold < to ? await rehashSlice(env, cold, to) : { hashes: [], problem: null };
  if (rebuilt.problem) return rebuilt.problem;
  const sliceRoot = await rootHash([...moved.hashes, ...rebuilt.hashes]);
  const stored = new PlanNodes();
  const storedSlice = stored.range(from, to);
  const chained = new PlanNodes({ from, to, hash: sliceRoot });
  const root = chained.range(0, checkpoint.treeSize);
  try {
    const nodes = await readPlanned(env, mergeNodes(stored, chained));
    if (!equalBytes(await evaluate(storedSlice, nodes), sliceRoot)) return `the stored tree over leaves ${from} to ${to - 1} does not match their events`;
    if (!equalBytes(await evaluate(root, nodes), signed)) {
      return `leaves ${from} to ${to - 1} with the stored tree do not give the root signed by checkpoint ${checkpoint.treeSize}`;
    }
  } catch (err) {
    return `the stored tree cannot be read: ${err instanceof Error ? err.message : String(err)}`;
  }
  return null;
}

/** One PlanNodes holding the keys of both (for one read). */
function mergeNodes(a: PlanNodes, b: PlanNodes): PlanNodes {
  const all = new PlanNodes();
  for (const [k, v] of [...a.keys, ...b.keys]) all.keys.set(k, v);
  return all;
}

/**
 * An administrator acknowledges the pending failure: checkpoints resume. Recorded as
 * `audit_log_integrity_acknowledged` when there was one to acknowledge. Returns the state after.
 */
export async function acknowledgeIntegrityFailure(env: Env, ctx: Ctx, user: { id: number; name: string }, ipAddress: string | null): Promise<LogIntegrityState> {
  const state = await readIntegrityState(env.DB);
  if (integrityBlocked(state)) {
    await recordChangesIfChanged(env, ctx, [acknowledgeStatement(env.DB, user.id, nowIso())], {
      eventType: INTEGRITY_ACKNOWLEDGED_EVENT,
      author: user,
      entity: instanceEntity(),
      ipAddress,
      details: { custom_message: 'Acknowledged an audit log integrity failure', failure: state.failure, failed_at: state.failedAt },
    });
  }
  return readIntegrityState(env.DB);
}
