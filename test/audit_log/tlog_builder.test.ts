/**
 * The audit log's stored tree (issue 18): the O(log n) append over complete-subtree nodes and
 * the planned proofs give exactly RFC 9162's tree heads and proofs (checked against src/tlog's
 * in-memory algorithms); the builder appends every event's leaf in id order, bounded per run.
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { fromBase64, sha256, toBase64, type Bytes } from '../../src/tlog/hash';
import { leafBytes, LEAF_VERSION } from '../../src/tlog/leaf';
import { consistencyProof, inclusionProof, rootHash } from '../../src/tlog/tree';
import { leafHash } from '../../src/tlog/hash';
import { appendToFrontier, consistencyRanges, evaluate, frontierKeys, inclusionRanges, PlanNodes } from '../../src/audit/log_tree';
import { appendPendingLeaves } from '../../src/audit/log_builder';
import { nodeKey } from '../../src/db/audit_log_tree';
import { instanceEntity, recordAuditEvents, streamingPayload } from '../../src/audit/record';
import { toAuditEvent, type AuditEventRow } from '../../src/db/audit_events';

const hashOf = (i: number) => sha256(new TextEncoder().encode(`leaf ${i}`));

/** A tree grown by appendToFrontier in uneven chunks, its nodes kept in a map as D1 keeps them. */
async function grow(n: number): Promise<{ leaves: Bytes[]; stored: Map<string, Bytes> }> {
  const leaves = await Promise.all(Array.from({ length: n }, (_, i) => hashOf(i)));
  const stored = new Map<string, Bytes>();
  const frontier = new Map<number, Bytes>();
  let size = 0;
  for (let chunk = 1; size < n; chunk = (chunk % 5) + 1) {
    const next = leaves.slice(size, Math.min(n, size + chunk));
    // The right edge the builder reads back from storage is what the frontier holds.
    for (const [level, idx] of frontierKeys(size)) expect(stored.get(nodeKey(level, idx))).toEqual(frontier.get(level));
    for (const [level, idx, hash] of await appendToFrontier(size, frontier, next)) stored.set(nodeKey(level, idx), hash);
    next.forEach((h, i) => stored.set(nodeKey(0, size + i), h));
    size += next.length;
  }
  return { leaves, stored };
}

async function planned(ranges: [number, number][], stored: Map<string, Bytes>): Promise<Bytes[]> {
  const nodes = new PlanNodes();
  const plans = ranges.map(([a, b]) => nodes.range(a, b));
  for (const key of nodes.keys.keys()) expect(stored.has(key), key).toBe(true);
  return Promise.all(plans.map((p) => evaluate(p, stored)));
}

describe('the stored tree gives RFC 9162 heads and proofs', () => {
  it('tree heads, inclusion proofs of every leaf and consistency proofs from every size, for n up to 40', async () => {
    const { leaves, stored } = await grow(40);
    for (let n = 1; n <= 40; n++) {
      const prefix = leaves.slice(0, n);
      const nodes = new PlanNodes();
      expect(await evaluate(nodes.range(0, n), stored)).toEqual(await rootHash(prefix));
      for (let m = 0; m < n; m++) expect(await planned(inclusionRanges(m, 0, n), stored)).toEqual(await inclusionProof(m, prefix));
      for (let m = 1; m <= n; m++) expect(await planned(consistencyRanges(m, n), stored)).toEqual(await consistencyProof(m, prefix));
    }
  });

  it('stores one node per leaf on average and a proof needs O(log n) of them', async () => {
    const { stored } = await grow(1000);
    // 1000 leaves: 999 complete-subtree nodes above them at most (exactly n - popcount(n)).
    expect(stored.size - 1000).toBe(1000 - 6);
    const nodes = new PlanNodes();
    inclusionRanges(500, 0, 1000).forEach(([a, b]) => nodes.range(a, b));
    expect(nodes.keys.size).toBeLessThanOrEqual(2 * 10);
  });
});

describe('the builder', () => {
  it('appends every event in id order, bounded per run, with leaves of their streaming payload', async () => {
    const inputs = Array.from({ length: 23 }, (_, i) => ({
      eventType: 'audit_operation',
      author: { id: 1, name: 'Administrator' },
      entity: instanceEntity(),
      details: { custom_message: `event ${i}`, nested: { b: i, a: [1, 'two'] } },
    }));
    await recordAuditEvents(env, null, inputs);
    let runs = 0;
    for (;;) {
      const r = await appendPendingLeaves(env, 5);
      if (r.appended === 0) break;
      expect(r.appended).toBeLessThanOrEqual(5);
      runs++;
    }
    expect(runs).toBeGreaterThanOrEqual(5);
    const events = (await env.DB.prepare('SELECT * FROM audit_events ORDER BY id').all<AuditEventRow>()).results.map(toAuditEvent);
    const leaves = (await env.DB.prepare('SELECT * FROM audit_log_leaves ORDER BY leaf_index').all<{ leaf_index: number; event_id: number; leaf_version: number; leaf_hash: string }>()).results;
    expect(leaves.map((l) => l.event_id)).toEqual(events.map((e) => e.id));
    expect(leaves.map((l) => l.leaf_index)).toEqual(events.map((_, i) => i));
    expect(new Set(leaves.map((l) => l.leaf_version))).toEqual(new Set([LEAF_VERSION]));
    const expected = await Promise.all(events.map(async (e) => toBase64(await leafHash(leafBytes(streamingPayload(e))))));
    expect(leaves.map((l) => l.leaf_hash)).toEqual(expected);
    // Every complete subtree is stored, with RFC 9162's hash.
    const nodes = (await env.DB.prepare('SELECT level, idx, hash FROM audit_log_nodes').all<{ level: number; idx: number; hash: string }>()).results;
    expect(nodes).toHaveLength(leaves.length - [...leaves.length.toString(2)].filter((c) => c === '1').length);
    const leafHashes = leaves.map((l) => fromBase64(l.leaf_hash)!);
    for (const n of nodes) {
      const width = 2 ** n.level;
      expect(n.hash).toBe(toBase64(await rootHash(leafHashes.slice(n.idx * width, (n.idx + 1) * width))));
    }
  });
});
