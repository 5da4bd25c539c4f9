/**
 * Issuing the audit log's signed checkpoints: the C2SP tlog-checkpoint body (origin, tree size,
 * base64 root hash) signed as a C2SP signed note with the log's Ed25519 key. The scheduled job
 * issues one in every run in which the log grew; an administrator may ask for one now. Every
 * checkpoint is kept, and each is recorded as an instance-level `audit_log_checkpoint_issued`
 * event (in the checkpoint's own transaction), streamed to instance destinations so an outside
 * system witnesses it.
 *
 * That event is itself a leaf of the log, so the scheduled job issues a checkpoint only when the
 * log grew by some OTHER event since the last checkpoint: a run whose only new leaves are
 * checkpoint events issues none, and checkpointing cannot feed itself. (The next checkpoint,
 * issued when anything else happens, covers those checkpoint events too.)
 *
 * Before signing, the new tree must extend the last checkpoint's: the last checkpoint's root is
 * recomputed from the stored nodes and compared with the root its note signed. No checkpoint
 * is signed while an integrity failure waits for an administrator (src/audit/integrity.ts).
 */
import type { Env } from '../env';
import { hasLeafOtherThan, isKeyConflict, treeHead } from '../db/audit_log_tree';
import { insertCheckpointStatement, integrityBlocked, latestCheckpoint, readIntegrityState, type StoredCheckpoint } from '../db/audit_log_checkpoints';
import { nowIso } from '../db/time';
import { equalBytes, toBase64 } from '../tlog/hash';
import { formatCheckpoint } from '../tlog/checkpoint';
import { signNote, verifierKeyFromSeed } from '../tlog/note';
import { instanceEntity, recordAuditEvent } from './record';
import { evaluate, PlanNodes, readPlanned } from './log_tree';
import { recordIntegrityFailure } from './integrity';
import { CHECKPOINT_EVENT, LOG_AUTHOR, logOrigin, signedRoot, signingSeed } from './log_signing';

/** What an attempt to issue a checkpoint came to. */
export type CheckpointOutcome =
  | { kind: 'issued'; checkpoint: StoredCheckpoint }
  /** Nothing to sign: the latest checkpoint (null: none yet) already covers what the rule asks. */
  | { kind: 'current'; checkpoint: StoredCheckpoint | null }
  /** An integrity failure waits for an administrator (or was just found). */
  | { kind: 'blocked'; failure: string }
  /** AUDIT_LOG_SIGNING_KEY is unset or malformed. */
  | { kind: 'no_key' };

type Ctx = Pick<ExecutionContext, 'waitUntil'> | null;

/**
 * Sign a checkpoint of the tree as built now, if it grew since the latest one. `scheduled`:
 * the scheduled job's rule (only when the log grew by some other event than checkpoint events).
 * `requestedBy`: the administrator who asked (the event's author), else the log itself.
 * `acknowledged`: an administrator just acknowledged an integrity failure; the stored tree is
 * signed as it is, without comparing it with the checkpoint that failed (which may also be one
 * the current key cannot verify, after the key was changed), so that checks resume from it.
 */
export async function issueCheckpoint(
  env: Env,
  ctx: Ctx,
  options: { scheduled: boolean; requestedBy?: { id: number; name: string }; ipAddress?: string | null; acknowledged?: boolean },
): Promise<CheckpointOutcome> {
  const db = env.DB;
  const seed = signingSeed(env);
  if (!seed) return { kind: 'no_key' };
  const [state, head, latest] = await Promise.all([readIntegrityState(db), treeHead(db), latestCheckpoint(db)]);
  if (integrityBlocked(state)) return { kind: 'blocked', failure: state.failure ?? 'integrity failure' };
  const previous = latest?.treeSize ?? 0;
  if (head.size <= previous) return { kind: 'current', checkpoint: latest };
  if (options.scheduled && !(await hasLeafOtherThan(db, previous, CHECKPOINT_EVENT))) return { kind: 'current', checkpoint: latest };

  const origin = logOrigin(env);
  const plans = new PlanNodes();
  const newRoot = plans.range(0, head.size);
  const oldRoot = latest ? plans.range(0, latest.treeSize) : null;
  const nodes = await readPlanned(env, plans);
  const root = await evaluate(newRoot, nodes);
  if (latest && oldRoot && !options.acknowledged) {
    const signed = await signedRoot(await verifierKeyFromSeed(origin, seed), latest);
    const problem =
      'error' in signed
        ? signed.error
        : equalBytes(await evaluate(oldRoot, nodes), signed)
          ? null
          : `the stored tree no longer gives the root signed by checkpoint ${latest.treeSize}`;
    if (problem) {
      await recordIntegrityFailure(env, ctx, problem, { checkpoint_tree_size: latest.treeSize });
      return { kind: 'blocked', failure: problem };
    }
  }
  const note = await signNote(formatCheckpoint(origin, head.size, root), origin, seed);
  const checkpoint: StoredCheckpoint = { treeSize: head.size, rootHash: toBase64(root), note, createdAt: nowIso() };
  const author = options.requestedBy ?? { ...LOG_AUTHOR };
  try {
    await recordAuditEvent(
      env,
      ctx,
      {
        eventType: CHECKPOINT_EVENT,
        author,
        authorClass: options.requestedBy ? 'User' : 'System',
        entity: instanceEntity(),
        ipAddress: options.ipAddress ?? null,
        details: {
          custom_message: `Issued audit log checkpoint of tree size ${head.size}${options.acknowledged ? ' after an acknowledged integrity failure' : ''}`,
          origin,
          tree_size: head.size,
          root_hash: checkpoint.rootHash,
          checkpoint: note,
        },
      },
      [insertCheckpointStatement(db, checkpoint)],
    );
  } catch (err) {
    // Another issuer (the cron, an administrator) signed this size first: its checkpoint stands.
    if (isKeyConflict(err)) return { kind: 'current', checkpoint: await latestCheckpoint(db) };
    throw err;
  }
  return { kind: 'issued', checkpoint };
}
