/**
 * RFC 9162 over the STORED tree: which stored nodes a tree head or a proof needs, and how to
 * combine them. Every subtree the RFC's recursion names is either a complete subtree (stored:
 * one node) or the right edge of a tree (the combination of O(log n) stored complete subtrees).
 * A computation is planned first (its node keys collected, synchronously), the nodes are read
 * in ONE query, then the plan is evaluated: a tree head or any proof costs one D1 read and
 * O(log n) hashes, whatever the log's size.
 */
import { fromBase64, nodeHash, type Bytes } from '../tlog/hash';
import { splitPoint } from '../tlog/tree';
import { nodeKey, storedHashes, type NodeKey } from '../db/audit_log_tree';
import { addMovedNodes, type TreeStore } from './archive_tree';

/** How to get MTH of a range: a stored node, a hash already known, or two plans combined. */
export type Plan = { key: string } | { hash: Bytes } | { left: Plan; right: Plan };

/** The stored nodes a set of plans needs, collected while planning. */
export class PlanNodes {
  readonly keys = new Map<string, NodeKey>();
  /** A range [a, b) whose hash is already known (the integrity check's recomputed slice). */
  constructor(readonly known?: { from: number; to: number; hash: Bytes }) {}

  /** MTH(D[a:b]) as a plan (RFC 9162 §2.1.1's recursion, down to complete subtrees). */
  range(a: number, b: number): Plan {
    if (this.known && this.known.from === a && this.known.to === b) return { hash: this.known.hash };
    const n = b - a;
    if (n <= 0) throw new RangeError(`empty range [${a}, ${b})`);
    const level = exactLog2(n);
    if (level !== null && a % n === 0) {
      const key = nodeKey(level, a / n);
      this.keys.set(key, [level, a / n]);
      return { key };
    }
    const k = splitPoint(n);
    return { left: this.range(a, a + k), right: this.range(a + k, b) };
  }
}

/** log2(n) when n is a power of two, else null. */
export function exactLog2(n: number): number | null {
  let level = 0;
  let p = 1;
  while (p < n) {
    p *= 2;
    level++;
  }
  return p === n ? level : null;
}

/**
 * Read the stored nodes the plans of `nodes` need (one query), as bytes by key. Nodes of moved
 * blocks that D1 no longer holds are recomputed from the archive's manifests (archive_tree.ts).
 */
export async function readPlanned(store: TreeStore, nodes: PlanNodes): Promise<Map<string, Bytes>> {
  const keys = [...nodes.keys.values()];
  const stored = await storedHashes(store.DB, keys);
  const out = new Map<string, Bytes>();
  for (const [key, text] of stored) {
    const bytes = fromBase64(text);
    if (!bytes || bytes.length !== 32) throw new Error(`audit log node ${key} holds no SHA-256 hash`);
    out.set(key, bytes);
  }
  const missing = keys.filter(([level, idx]) => !out.has(nodeKey(level, idx)));
  if (missing.length > 0) await addMovedNodes(store, missing, out);
  return out;
}

/** The hash a plan stands for, given the stored hashes it needs (by key). */
export async function evaluate(plan: Plan, stored: Map<string, Bytes>): Promise<Bytes> {
  if ('hash' in plan) return plan.hash;
  if ('key' in plan) {
    const h = stored.get(plan.key);
    if (!h) throw new Error(`audit log node ${plan.key} is not stored`);
    return h;
  }
  return nodeHash(await evaluate(plan.left, stored), await evaluate(plan.right, stored));
}

/** The ranges of PATH(m, D[a:b]) (RFC 9162 §2.1.3.1), deepest first: the inclusion proof of leaf m. */
export function inclusionRanges(m: number, a: number, b: number): [number, number][] {
  if (b - a <= 1) return [];
  const k = splitPoint(b - a);
  if (m < a + k) return [...inclusionRanges(m, a, a + k), [a + k, b]];
  return [...inclusionRanges(m, a + k, b), [a, a + k]];
}

/** The ranges of PROOF(m, D[n]) (RFC 9162 §2.1.4.1): the consistency proof from size m to size n (empty when m is 0 or n). */
export function consistencyRanges(m: number, n: number): [number, number][] {
  return m === 0 || m === n ? [] : subproof(m, 0, n, true);
}

/** SUBPROOF(m, D[a:b], complete) of RFC 9162 §2.1.4.1, m counted from a. */
function subproof(m: number, a: number, b: number, complete: boolean): [number, number][] {
  if (m === b - a) return complete ? [] : [[a, b]];
  const k = splitPoint(b - a);
  if (m <= k) return [...subproof(m, a, a + k, complete), [a + k, b]];
  return [...subproof(m - k, a + k, b, false), [a, a + k]];
}

/**
 * The stored complete subtrees on the right edge of a tree of `size` leaves: for each set bit
 * `level` of size, node (level, size / 2^level - 1). What appending the next leaf combines with.
 */
export function frontierKeys(size: number): NodeKey[] {
  const keys: NodeKey[] = [];
  for (let level = 0, p = 1; p <= size; level++, p *= 2) {
    if (Math.floor(size / p) % 2 === 1) keys.push([level, Math.floor(size / p) - 1]);
  }
  return keys;
}

/**
 * Append leaf hashes to a tree of `size` leaves whose right edge is `frontier` (level → node of
 * frontierKeys). Returns the new complete-subtree nodes (level >= 1): at most one per level per
 * leaf, one on average. `frontier` is updated in place.
 */
export async function appendToFrontier(size: number, frontier: Map<number, Bytes>, leafHashes: Bytes[]): Promise<[number, number, Bytes][]> {
  const nodes: [number, number, Bytes][] = [];
  let index = size;
  for (const leaf of leafHashes) {
    let hash = leaf;
    let level = 0;
    let idx = index;
    while (idx % 2 === 1) {
      const left = frontier.get(level);
      if (!left) throw new Error(`audit log frontier lacks level ${level} at size ${index}`);
      frontier.delete(level);
      hash = await nodeHash(left, hash);
      level++;
      idx = (idx - 1) / 2;
      nodes.push([level, idx, hash]);
    }
    frontier.set(level, hash);
    index++;
  }
  return nodes;
}
