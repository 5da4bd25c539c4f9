import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sha256, toBase64, type Bytes } from '../../src/tlog/hash';
import { consistencyProof, inclusionProof, rootHash, verifyConsistency, verifyInclusion } from '../../src/tlog/tree';

/** MTH(D[n]) by the recursive definition of RFC 9162 §2.1.1, independently of src/tlog. */
async function referenceRoot(leaves: Uint8Array[]): Promise<Bytes> {
  if (leaves.length === 0) return sha256();
  if (leaves.length === 1) return sha256(Uint8Array.of(0), leaves[0]);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return sha256(Uint8Array.of(1), await referenceRoot(leaves.slice(0, k)), await referenceRoot(leaves.slice(k)));
}

const leafOf = (i: number) => new TextEncoder().encode(`leaf ${i}`);
const leafHashOf = (i: number) => sha256(Uint8Array.of(0), leafOf(i));
const hashesOf = (n: number) => Promise.all(Array.from({ length: n }, (_, i) => leafHashOf(i)));

/** A copy of `bytes` with bit `bit` (mod its length in bits) flipped. */
function flip(bytes: Uint8Array, bit: number): Bytes {
  const out = new Uint8Array(bytes);
  const at = bit % (out.length * 8);
  out[Math.floor(at / 8)] ^= 1 << (at % 8);
  return out;
}

describe('tree head', () => {
  it('matches the recursive definition for every n up to 33', async () => {
    for (let n = 0; n <= 33; n++) {
      const leaves = Array.from({ length: n }, (_, i) => leafOf(i));
      expect(toBase64(await rootHash(await hashesOf(n))), `n=${n}`).toBe(toBase64(await referenceRoot(leaves)));
    }
  });

  it('known answers: roots of the leaves "leaf 0".."leaf n-1"', async () => {
    // Pins the leaf encoding and tree shape (the values come from referenceRoot above).
    expect(toBase64(await rootHash(await hashesOf(0)))).toBe('47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
    const one = await referenceRoot([leafOf(0)]);
    expect(toBase64(await rootHash(await hashesOf(1)))).toBe(toBase64(one));
    const three = await sha256(Uint8Array.of(1), await sha256(Uint8Array.of(1), await leafHashOf(0), await leafHashOf(1)), await leafHashOf(2));
    expect(toBase64(await rootHash(await hashesOf(3)))).toBe(toBase64(three));
  });
});

describe('inclusion proofs (RFC 9162 §2.1.3)', () => {
  // (A tree size is bound by the signed checkpoint's root, not by the proof: leaf 0's proof in a
  // tree of 3 has the shape of one in a tree of 4, so no size is varied here.)
  it('every leaf of every tree up to 20 leaves verifies, and not at another index', async () => {
    for (let n = 1; n <= 20; n++) {
      const hashes = await hashesOf(n);
      const root = await rootHash(hashes);
      for (let m = 0; m < n; m++) {
        const proof = await inclusionProof(m, hashes);
        expect(await verifyInclusion(m, n, hashes[m], proof, root), `n=${n} m=${m}`).toBe(true);
        for (let other = 0; other < n; other++) {
          if (other !== m) expect(await verifyInclusion(other, n, hashes[m], proof, root), `n=${n} m=${m} as ${other}`).toBe(false);
        }
      }
    }
  });

  it('property: a proof verifies; a flipped bit in the leaf, the proof or the root fails', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 70 }), fc.nat(), fc.nat(), fc.nat(), async (n, mSeed, which, bit) => {
        const m = mSeed % n;
        const hashes = await hashesOf(n);
        const root = await rootHash(hashes);
        const proof = await inclusionProof(m, hashes);
        expect(await verifyInclusion(m, n, hashes[m], proof, root)).toBe(true);
        expect(await verifyInclusion(m, n, flip(hashes[m], bit), proof, root)).toBe(false);
        expect(await verifyInclusion(m, n, hashes[m], proof, flip(root, bit))).toBe(false);
        if (proof.length > 0) {
          const i = which % proof.length;
          const bad = proof.map((p, j) => (j === i ? flip(p, bit) : p));
          expect(await verifyInclusion(m, n, hashes[m], bad, root)).toBe(false);
          expect(await verifyInclusion(m, n, hashes[m], proof.slice(1), root)).toBe(false);
          expect(await verifyInclusion(m, n, hashes[m], [...proof, proof[0]], root)).toBe(false);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('refuses an index outside the tree', async () => {
    const hashes = await hashesOf(4);
    const root = await rootHash(hashes);
    await expect(inclusionProof(4, hashes)).rejects.toThrow(RangeError);
    expect(await verifyInclusion(4, 4, hashes[0], [], root)).toBe(false);
    expect(await verifyInclusion(-1, 4, hashes[0], [], root)).toBe(false);
  });
});

describe('consistency proofs (RFC 9162 §2.1.4)', () => {
  it('every prefix of every tree up to 20 leaves is consistent, and the next size is not', async () => {
    for (let n = 1; n <= 20; n++) {
      const hashes = await hashesOf(n);
      const root = await rootHash(hashes);
      for (let m = 1; m <= n; m++) {
        const firstRoot = await rootHash(hashes.slice(0, m));
        const proof = await consistencyProof(m, hashes);
        expect(await verifyConsistency(m, n, firstRoot, root, proof), `m=${m} n=${n}`).toBe(true);
        if (m < n) {
          expect(await verifyConsistency(m + 1, n, firstRoot, root, proof), `m+1=${m + 1} n=${n}`).toBe(false);
        }
      }
    }
  });

  it('property: a proof verifies; a flipped bit anywhere fails; a tree that is no extension fails', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 70 }), fc.nat(), fc.nat(), fc.nat(), async (n, mSeed, which, bit) => {
        const m = 1 + (mSeed % (n - 1));
        const hashes = await hashesOf(n);
        const root = await rootHash(hashes);
        const firstRoot = await rootHash(hashes.slice(0, m));
        const proof = await consistencyProof(m, hashes);
        expect(await verifyConsistency(m, n, firstRoot, root, proof)).toBe(true);
        expect(await verifyConsistency(m, n, flip(firstRoot, bit), root, proof)).toBe(false);
        expect(await verifyConsistency(m, n, firstRoot, flip(root, bit), proof)).toBe(false);
        const i = which % proof.length;
        expect(await verifyConsistency(m, n, firstRoot, root, proof.map((p, j) => (j === i ? flip(p, bit) : p)))).toBe(false);
        // A rewritten history: leaf (which mod m) of the first tree changed in the second.
        const rewritten = [...hashes];
        rewritten[which % m] = flip(rewritten[which % m], bit);
        const otherRoot = await rootHash(rewritten);
        expect(await verifyConsistency(m, n, firstRoot, otherRoot, await consistencyProof(m, rewritten))).toBe(false);
      }),
      { numRuns: 60 },
    );
  });

  it('edge sizes: equal sizes need equal roots and no hashes; the empty tree is a prefix of all', async () => {
    const hashes = await hashesOf(5);
    const root = await rootHash(hashes);
    expect(await consistencyProof(5, hashes)).toEqual([]);
    expect(await verifyConsistency(5, 5, root, root, [])).toBe(true);
    expect(await verifyConsistency(5, 5, root, await rootHash(hashes.slice(0, 4)), [])).toBe(false);
    expect(await verifyConsistency(0, 5, await rootHash([]), root, [])).toBe(true);
    expect(await verifyConsistency(3, 5, await rootHash(hashes.slice(0, 3)), root, [])).toBe(false);
    expect(await verifyConsistency(5, 3, root, root, [])).toBe(false);
  });
});
