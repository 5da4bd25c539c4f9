/**
 * Proofs from the stored tree (RFC 9162 §2.1.3-2.1.4), up to the latest checkpoint: inclusion
 * proofs of events (one or a batch, all planned together and read in ONE query) and consistency
 * proofs between two tree sizes. Who may ask for an event's proof is who may read the event,
 * decided by can() (src/auth/policy.ts) with the rules of the audit log's listings.
 */
import type { Actor } from '../auth/authenticate';
import { can } from '../auth/policy';
import { eventsByIds, leavesOfEvents, type LogLeaf } from '../db/audit_log_tree';
import { latestCheckpoint } from '../db/audit_log_checkpoints';
import { findNamespaceById } from '../db/namespaces';
import { findProjectById } from '../db/projects';
import { toBase64 } from '../tlog/hash';
import type { AuditEvent } from './record';
import { consistencyRanges, evaluate, inclusionRanges, PlanNodes, readPlanned, type Plan } from './log_tree';
import { addColdEvents, addColdLeaves } from './archive_leaves';
import type { TreeStore } from './archive_tree';

/** An inclusion proof as the API answers it. */
export interface InclusionProof {
  id: number;
  leafIndex: number;
  treeSize: number;
  leafHash: string;
  hashes: string[];
}

/** Why a proof cannot be given (the caller's mistake: the API answers 400, or 404 for `not_found`). */
export class ProofError extends Error {
  constructor(
    readonly kind: 'bad_request' | 'not_found',
    message: string,
  ) {
    super(message);
  }
}

/**
 * May the actor read this event? Administrators: every event. An event of a project: who may
 * read all of that project's events (Maintainer and up, a group's Owner by inheritance), or
 * their own (Developer). An event of a group: who may read all of that group's (Owner, or of
 * an ancestor), or their own (Developer, Maintainer). Other events (users, the instance):
 * administrators only. The same rules as the listings (src/http/audit_log.ts).
 */
export async function canReadAuditEvent(db: D1Database, actor: Actor | null, event: AuditEvent): Promise<boolean> {
  if (!actor) return false;
  const own = event.authorId === actor.user.id;
  if (event.projectId !== null) {
    const project = await findProjectById(db, event.projectId);
    if (!project) return can(db, actor, 'read_instance_audit_events');
    const resource = { kind: 'project', project } as const;
    return (await can(db, actor, 'read_all_project_audit_events', resource)) || (own && (await can(db, actor, 'read_project_audit_events', resource)));
  }
  const groupId = innermostGroupId(event);
  const group = groupId === null ? null : await findNamespaceById(db, groupId);
  if (!group) return can(db, actor, 'read_instance_audit_events');
  const resource = { kind: 'group', group } as const;
  return (await can(db, actor, 'read_all_group_audit_events', resource)) || (own && (await can(db, actor, 'read_group_audit_events', resource)));
}

/** The innermost group of an event's position ('1/5/' gives 5), else its top-level group. */
function innermostGroupId(event: AuditEvent): number | null {
  const last = /(\d+)\/$/.exec(event.scopePath ?? '');
  return last ? Number(last[1]) : event.rootNamespaceId;
}

/**
 * The tree size a proof is asked for: `requested`, or the latest checkpoint's by default; it must
 * not exceed the latest checkpoint (proofs exist up to it).
 */
export async function proofTreeSize(db: D1Database, requested: number | undefined): Promise<number> {
  const latest = await latestCheckpoint(db);
  const max = latest?.treeSize ?? 0;
  if (requested === undefined) {
    if (max === 0) throw new ProofError('not_found', 'Checkpoint');
    return max;
  }
  if (requested < 1) throw new ProofError('bad_request', 'tree_size must be at least 1');
  if (requested > max) throw new ProofError('bad_request', `tree_size ${requested} is beyond the latest checkpoint (tree size ${max})`);
  return requested;
}

/**
 * Inclusion proofs of these events in the tree of `requestedSize` leaves (default: the latest
 * checkpoint's; see proofTreeSize), for an actor who may read every one of them: 404
 * (`not_found`) when any does not exist or the actor may not read it (the whole request, so a
 * batch tells nothing about events its caller cannot see); 400 when one's leaf index is not
 * below the tree size (or it has no leaf yet). The tree size, the events and their leaves are
 * read at once; events (and leaves) D1 no longer holds are read from the archive.
 */
export async function inclusionProofs(store: TreeStore, actor: Actor | null, ids: number[], requestedSize: number | undefined): Promise<InclusionProof[]> {
  const db = store.DB;
  const [size, events, leaves] = await Promise.all([
    proofTreeSize(db, requestedSize).then((n) => ({ n }), (error: unknown) => ({ error })),
    eventsByIds(db, ids),
    leavesOfEvents(db, ids),
  ]);
  if ('error' in size) throw size.error;
  const treeSize = size.n;
  await addColdEvents(store, ids, events, leaves);
  for (const id of ids) {
    const event = events.get(id);
    if (!event || !(await canReadAuditEvent(db, actor, event))) throw new ProofError('not_found', 'Audit Event');
  }
  return proofsOfLeaves(store, ids, leaves, treeSize);
}

/**
 * Inclusion proofs of these events in the tree of `treeSize` leaves, for the service's own use
 * (release evidence: the caller decided who may see them). 400 (`bad_request`) when an event's
 * leaf is not below the tree size or it has none yet. `known`: leaves the caller already read
 * (from the archive); the others come from D1, and from the archive only when D1 has none.
 */
export async function inclusionProofsAt(store: TreeStore, ids: number[], treeSize: number, known: ReadonlyMap<number, LogLeaf> = new Map()): Promise<InclusionProof[]> {
  const leaves = await leavesOfEvents(store.DB, ids.filter((id) => !known.has(id)));
  for (const [id, leaf] of known) leaves.set(id, leaf);
  await addColdLeaves(store, ids, leaves);
  return proofsOfLeaves(store, ids, leaves, treeSize);
}

/** The proofs of these events' leaves, all planned together and read in ONE query. */
async function proofsOfLeaves(store: TreeStore, ids: number[], leaves: Map<number, LogLeaf>, treeSize: number): Promise<InclusionProof[]> {
  const planned: { leaf: LogLeaf; plans: Plan[] }[] = [];
  const nodes = new PlanNodes();
  for (const id of ids) {
    const leaf = leaves.get(id);
    if (!leaf || leaf.leafIndex >= treeSize) {
      const where = leaf ? `its leaf index is ${leaf.leafIndex}` : 'it is not in the log yet';
      throw new ProofError('bad_request', `tree_size ${treeSize} does not cover audit event ${id} (${where})`);
    }
    planned.push({ leaf, plans: inclusionRanges(leaf.leafIndex, 0, treeSize).map(([a, b]) => nodes.range(a, b)) });
  }
  const stored = await readPlanned(store, nodes);
  return Promise.all(
    planned.map(async ({ leaf, plans }) => ({
      id: leaf.eventId,
      leafIndex: leaf.leafIndex,
      treeSize,
      leafHash: leaf.leafHash,
      hashes: await Promise.all(plans.map(async (p) => toBase64(await evaluate(p, stored)))),
    })),
  );
}

/** The consistency proof from the tree of `first` leaves to that of `second` (1 <= first <= second <= the latest checkpoint). */
export async function consistencyProof(store: TreeStore, first: number, second: number): Promise<string[]> {
  await proofTreeSize(store.DB, second);
  if (first < 1) throw new ProofError('bad_request', 'first must be at least 1');
  if (first > second) throw new ProofError('bad_request', `first (${first}) must not be larger than second (${second})`);
  const nodes = new PlanNodes();
  const plans = consistencyRanges(first, second).map(([a, b]) => nodes.range(a, b));
  const stored = await readPlanned(store, nodes);
  return Promise.all(plans.map(async (p) => toBase64(await evaluate(p, stored))));
}
