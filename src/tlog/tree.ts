/**
 * RFC 9162 §2.1 over an in-memory list of leaf hashes: the tree head MTH(D[n]), inclusion and
 * consistency proofs (§2.1.3.1, §2.1.4.1), and their verification (§2.1.3.2, §2.1.4.2). The
 * auditors' verifier rebuilds a tree from a full export with it; the tests check the service's
 * proofs against it. Proof generation here is O(n) hashes per proof: for whole exports and
 * tests, not for the service's stored tree.
 */
import { emptyRoot, equalBytes, nodeHash, type Bytes } from './hash.ts';

/** The largest power of two smaller than n (n > 1): the split point k of RFC 9162 §2.1.1. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[n]) (RFC 9162 §2.1.1) of the leaves whose hashes are `leafHashes`. */
export async function rootHash(leafHashes: readonly Bytes[]): Promise<Bytes> {
  if (leafHashes.length === 0) return emptyRoot();
  // Bottom-up, level by level: the same tree as the recursive definition, since each level
  // pairs nodes from the left and carries a last odd node up unchanged.
  let level: Bytes[] = [...leafHashes];
  while (level.length > 1) {
    const next: Bytes[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(await nodeHash(level[i], level[i + 1]));
    if (level.length % 2 === 1) next.push(level[level.length - 1]);
    level = next;
  }
  return level[0];
}

/** PATH(m, D[n]) of RFC 9162 §2.1.3.1: the inclusion proof of leaf m (0 ≤ m < n). */
export async function inclusionProof(m: number, leafHashes: readonly Bytes[]): Promise<Bytes[]> {
  const n = leafHashes.length;
  if (!Number.isSafeInteger(m) || m < 0 || m >= n) throw new RangeError(`leaf index ${m} is not in a tree of size ${n}`);
  if (n === 1) return [];
  const k = splitPoint(n);
  if (m < k) return [...(await inclusionProof(m, leafHashes.slice(0, k))), await rootHash(leafHashes.slice(k))];
  return [...(await inclusionProof(m - k, leafHashes.slice(k))), await rootHash(leafHashes.slice(0, k))];
}

/**
 * PROOF(m, D[n]) of RFC 9162 §2.1.4.1: the consistency proof from the tree of the first m
 * leaves to the tree of all n (0 ≤ m ≤ n; empty when m is 0 or n, as nothing needs proving).
 */
export async function consistencyProof(m: number, leafHashes: readonly Bytes[]): Promise<Bytes[]> {
  const n = leafHashes.length;
  if (!Number.isSafeInteger(m) || m < 0 || m > n) throw new RangeError(`size ${m} is not within a tree of size ${n}`);
  if (m === 0) return [];
  return subproof(m, leafHashes, true);
}

/** SUBPROOF(m, D[n], b) of RFC 9162 §2.1.4.1. */
async function subproof(m: number, leafHashes: readonly Bytes[], complete: boolean): Promise<Bytes[]> {
  const n = leafHashes.length;
  if (m === n) return complete ? [] : [await rootHash(leafHashes)];
  const k = splitPoint(n);
  if (m <= k) return [...(await subproof(m, leafHashes.slice(0, k), complete)), await rootHash(leafHashes.slice(k))];
  return [...(await subproof(m - k, leafHashes.slice(k), false)), await rootHash(leafHashes.slice(0, k))];
}

/** Whether `n` is a whole number a tree size or index can be. */
function isSize(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/**
 * RFC 9162 §2.1.3.2: whether `proof` proves that the leaf with hash `leafHash` is at
 * `leafIndex` in the tree of `treeSize` leaves whose root is `root`.
 */
export async function verifyInclusion(
  leafIndex: number,
  treeSize: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): Promise<boolean> {
  if (!isSize(leafIndex) || !isSize(treeSize) || leafIndex >= treeSize) return false;
  const at: Cursor = { fn: leafIndex, sn: treeSize - 1 };
  let r: Uint8Array = leafHash;
  for (const p of proof) {
    if (at.sn === 0) return false;
    if (isRightChild(at)) {
      r = await nodeHash(p, r);
      shiftToOddOrZero(at);
    } else {
      r = await nodeHash(r, p);
    }
    shift(at);
  }
  return at.sn === 0 && equalBytes(r, root);
}

/**
 * RFC 9162 §2.1.4.2: whether `proof` proves that the tree of `first` leaves with root
 * `firstRoot` is a prefix of the tree of `second` leaves with root `secondRoot`. Sizes equal:
 * the roots must be equal and the proof empty; `first` 0: the empty tree is a prefix of every
 * tree, and the proof must be empty.
 */
export async function verifyConsistency(
  first: number,
  second: number,
  firstRoot: Uint8Array,
  secondRoot: Uint8Array,
  proof: readonly Uint8Array[],
): Promise<boolean> {
  if (!isSize(first) || !isSize(second) || first > second) return false;
  if (first === second) return proof.length === 0 && equalBytes(firstRoot, secondRoot);
  if (first === 0) return proof.length === 0;
  if (proof.length === 0) return false;
  const path: Uint8Array[] = isPowerOfTwo(first) ? [firstRoot, ...proof] : [...proof];
  const at: Cursor = { fn: first - 1, sn: second - 1 };
  while (at.fn % 2 === 1) shift(at);
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (at.sn === 0) return false;
    if (isRightChild(at)) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      shiftToOddOrZero(at);
    } else {
      sr = await nodeHash(sr, c);
    }
    shift(at);
  }
  return at.sn === 0 && equalBytes(fr, firstRoot) && equalBytes(sr, secondRoot);
}

/**
 * The verification algorithms' fn and sn (RFC 9162 §2.1.3.2, §2.1.4.2). They exceed 2^31 in a
 * large log: halved by division, not by bit operators.
 */
interface Cursor {
  fn: number;
  sn: number;
}

/** "LSB(fn) is set, or fn is equal to sn": the proof's next hash goes on the left. */
function isRightChild(at: Cursor): boolean {
  return at.fn % 2 === 1 || at.fn === at.sn;
}

/** Right-shift fn and sn once. */
function shift(at: Cursor): void {
  at.fn = Math.floor(at.fn / 2);
  at.sn = Math.floor(at.sn / 2);
}

/** Right-shift fn and sn until LSB(fn) is set or fn is 0. */
function shiftToOddOrZero(at: Cursor): void {
  while (at.fn % 2 === 0 && at.fn !== 0) shift(at);
}

/** Whether n (> 0) is a power of two. */
function isPowerOfTwo(n: number): boolean {
  while (n % 2 === 0) n /= 2;
  return n === 1;
}
