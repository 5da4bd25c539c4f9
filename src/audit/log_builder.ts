/**
 * The verifiable audit log's ONE builder: appends the leaves of new events, in id order, with the
 * complete-subtree nodes they complete. Run by the scheduled job every minute (and before an
 * administrator's checkpoint), never by the paths that record events: recording an event costs
 * nothing more than before (no extra D1 round trip before the download redirect's 302).
 *
 * Ids are assigned in commit order (D1 has one writer; the download buffer inserts its batch in
 * order, src/downloads/buffer.ts), so once an id is visible every smaller id that will ever
 * exist is visible too: the builder never has to go back. Each run appends at most `limit`
 * leaves; a backlog is finished by the following runs. Appending costs O(log n) hashes per leaf
 * (one node per leaf on average) and reads only the tree's right edge, never the whole tree.
 * Two builders racing (the cron and an administrator's checkpoint) cannot both append: the
 * loser's transaction fails on the leaves' primary key and nothing of it is written.
 */
import { appendLeaves, eventsAfter, isKeyConflict, nodeKey, treeHead } from '../db/audit_log_tree';
import { leafHash, toBase64, type Bytes } from '../tlog/hash';
import { LEAF_VERSION, leafBytes } from '../tlog/leaf';
import { streamingPayload, type AuditEvent } from './record';
import type { TreeStore } from './archive_tree';
import { appendToFrontier, frontierKeys, PlanNodes, readPlanned } from './log_tree';

/** Leaves appended per run at most (a backlog continues next run). */
export const APPEND_LIMIT = 5000;

/** The leaf hash of an event as stored now, under a leaf version: what its leaf is, or should be. */
export async function eventLeafHash(event: AuditEvent, version: number): Promise<Bytes> {
  return leafHash(leafBytes(streamingPayload(event), version));
}

/** Append the leaves of the events recorded since the last run (at most `limit`). Returns how many, and the tree's size after. */
export async function appendPendingLeaves(env: TreeStore, limit = APPEND_LIMIT): Promise<{ appended: number; size: number }> {
  const head = await treeHead(env.DB);
  const events = await eventsAfter(env.DB, head.lastEventId, limit);
  if (events.length === 0) return { appended: 0, size: head.size };
  const hashes = await Promise.all(events.map((e) => eventLeafHash(e, LEAF_VERSION)));
  try {
    await appendHashes(env, head.size, events.map((e, i) => ({ eventId: e.id, hash: hashes[i] })));
  } catch (err) {
    // Another builder (the cron, an administrator's checkpoint) appended these leaves first.
    if (isKeyConflict(err)) return { appended: 0, size: (await treeHead(env.DB)).size };
    throw err;
  }
  return { appended: events.length, size: head.size + events.length };
}

/**
 * Append leaves to a tree of `size` leaves: read its right edge (one query), compute the
 * complete-subtree nodes the new leaves complete, write leaves and nodes in ONE transaction.
 * `contentRemoved`: a leaf with no event content (the benchmark's synthetic leaves).
 */
export async function appendHashes(store: TreeStore, size: number, leaves: { eventId: number; hash: Bytes; contentRemoved?: boolean }[]): Promise<void> {
  const edge = new PlanNodes();
  const keys = frontierKeys(size);
  for (const [level, idx] of keys) edge.range(idx * 2 ** level, (idx + 1) * 2 ** level);
  const stored = await readPlanned(store, edge);
  const frontier = new Map<number, Bytes>();
  for (const [level, idx] of keys) {
    const hash = stored.get(nodeKey(level, idx));
    if (!hash) throw new Error(`audit log node ${level}:${idx} of the tree's right edge is not stored`);
    frontier.set(level, hash);
  }
  const nodes = await appendToFrontier(size, frontier, leaves.map((l) => l.hash));
  await appendLeaves(
    store.DB,
    leaves.map((l, i) => [size + i, l.eventId, LEAF_VERSION, toBase64(l.hash), l.contentRemoved ? 1 : 0]),
    nodes.map(([level, idx, hash]) => [level, idx, toBase64(hash)]),
  );
}
