/**
 * Sealed segments of the cold archive (issue 19: D1 bounded by the hot window plus a constant).
 * With AUDIT_ARCHIVE_SEGMENT_CHUNKS = 2 a segment is 2 blocks (2,048 leaves, level 11), so 6,600
 * events seal at least two segments made only of them: the first with its counts summed per scope
 * and event type (a cap of 8 rows for 12 combinations), the second with one count row (a cap of 1);
 * the segment before them (when another test's or the setup's events precede) per full combination. After sealing, D1 holds no chunk or count
 * row and no level-10 node of a sealed segment, and every reader answers exactly as before:
 * listings (offset and keyset pages, filters, X-Total), exports, one event by id, inclusion and
 * consistency proofs verifying against signed checkpoints, the integrity check. A crash between
 * the index's write and the D1 transaction is recovered by the next run; retention neither races
 * the seal nor misses a sealed segment. These events are dated 1950 (older than any other test's
 * but the 1920 pair of retention.test.ts) and retention here runs with an explicit `now` in 1951.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import type { Env } from '../../src/env';
import { ADMIN, api, call, createGroup, createProject, createUser } from '../support/api';
import { eventInput, groupEntityOf, insertEvents, projectEntityOf } from '../audit_log/support';
import { keysetWalk, offsetPages, releaseWithThreeEvents } from './listing_support';
import { moveNextChunk, type Eligible } from '../../src/audit/archive_move';
import { nextSegment, runArchiveSeal, sealNextSegment } from '../../src/audit/archive_seal';
import { applyArchiveRetention } from '../../src/audit/archive_retention';
import { checkIntegrity } from '../../src/audit/integrity';
import { chunkContainingId, readSegmentIndex } from '../../src/audit/archive_segments';
import { archiveRetentionStatements } from '../../src/db/audit_archive_retention';
import { toArchiveSegment, type ArchiveSegment, type ArchiveSegmentRow } from '../../src/db/audit_archive_segments';
import { fromBase64 } from '../../src/tlog/hash';
import { verifyConsistency, verifyInclusion } from '../../src/tlog/tree';
import { buildTree, bytesOf, expectVerifiedEvidence, checkpointNow, getOk, leafIndexes, type Verified } from './tlog_support';

const SEAL = { ...env, AUDIT_ARCHIVE_SEGMENT_CHUNKS: '2' } as unknown as Env;
const N = 6600;
const HOT = 200;
const base = Date.parse('1950-01-01T00:00:00.000Z');

const count = async (sql: string, ...args: unknown[]): Promise<number> => (await env.DB.prepare(sql).bind(...args).first<{ n: number }>())!.n;

async function segmentRows(): Promise<ArchiveSegment[]> {
  return (await env.DB.prepare('SELECT * FROM audit_archive_segments ORDER BY first_leaf').all<ArchiveSegmentRow>()).results.map(toArchiveSegment);
}


let ids: number[];
let index: Map<number, number>;
let checkpoint: Verified;
let read: () => Promise<unknown>;
let before: unknown;
/** The first two segments made only of these events (leaves). */
let mine: { first: number; last: number };
let mine2: { first: number; last: number };
/** A release whose events (before these events in the log) end up in a sealed segment. */
let release: { projectId: number; token: string; eventIds: number[] };

beforeAll(async () => {
  release = await releaseWithThreeEvents('v-sealed');
  const owner = await createUser();
  const other = await createUser();
  const g = await createGroup({ token: owner.token });
  const project = await createProject(g.id, { token: owner.token });
  const entities = [await groupEntityOf(g.id), await projectEntityOf(project.id)];
  const authors = [owner, other].map((u) => ({ id: u.id, name: u.name }));
  const types = ['audit_operation', 'release_created', 'release_updated'];
  ids = await insertEvents(
    Array.from({ length: N }, (_, i) =>
      eventInput(entities[i % 2], authors[(i >> 1) % 2], {
        eventType: types[(i >> 2) % 3],
        // Mostly in order, every 29th dated three days back: chunks whose times overlap.
        createdAt: new Date(base + i * 600_000 - (i % 29 === 0 ? 3 * 86_400_000 : 0)).toISOString(),
        details: { custom_message: `sealed ${i}` },
      }),
    ),
  );
  await buildTree();
  index = await leafIndexes(ids);
  // Move the log up to the last HOT events (those stay hot).
  const cut = ids[N - HOT - 1];
  const eligible: Eligible = (leaf) => leaf.event === null || (!leaf.inOutbox && leaf.event.id <= cut);
  while (await moveNextChunk(env as unknown as Env, null, eligible));
  checkpoint = await checkpointNow();
  const size = 2048;
  const firstMine = Math.ceil(index.get(ids[0])! / size) * size;
  mine = { first: firstMine, last: firstMine + size - 1 };
  mine2 = { first: mine.last + 1, last: mine.last + size };
  expect(mine2.last).toBeLessThanOrEqual(index.get(cut)!);

  const G = `/api/v4/groups/${g.id}/audit_events`;
  const P = `/api/v4/projects/${project.id}/audit_events`;
  const window = `created_after=${new Date(base + 1000 * 600_000).toISOString()}&created_before=${new Date(base + 3100 * 600_000).toISOString()}`;
  const inSegment = ids.filter((id) => index.get(id)! >= mine.first && index.get(id)! <= mine.last);
  const one = [ids[0], inSegment[0], inSegment[1], inSegment[700], inSegment[inSegment.length - 1], ids.find((id) => index.get(id) === mine2.first + 7)!, ids[N - 1]];
  read = async () => ({
    offset: [
      await offsetPages(`${G}?per_page=100`, owner.token),
      await offsetPages(`${G}?per_page=100&${window}`, owner.token),
      await offsetPages(`${P}?per_page=100&author_id=${other.id}`, owner.token),
      await offsetPages(`${G}?per_page=100&event_type=release_updated`, owner.token),
      await offsetPages(`/api/v4/audit_events?per_page=100&created_after=1949-12-01T00:00:00.000Z&created_before=1950-06-01T00:00:00.000Z`, ADMIN),
    ],
    keyset: [
      await keysetWalk(`${G}?per_page=100&sort=desc`, owner.token, 400),
      await keysetWalk(`${G}?per_page=100&sort=asc&${window}&event_type=release_created`, owner.token, 400),
      await keysetWalk(`${P}?per_page=50&sort=asc`, owner.token, 400),
    ],
    one: await Promise.all(
      one.flatMap((id) => [`${G}/${id}`, `/api/v4/audit_events/${id}`]).map(async (p) => {
        const r = await api('GET', p, { token: p.startsWith(G) ? owner.token : ADMIN });
        return { status: r.status, body: r.body };
      }),
    ),
    exports: await Promise.all(
      [`/api/v4/audit_events.csv?entity_type=Group&entity_id=${g.id}`, `/api/v4/audit_events.json?entity_type=Project&entity_id=${project.id}&sort=asc`].map(
        async (p) => (await call('GET', p, { token: ADMIN })).text(),
      ),
    ),
    proofs: await Promise.all(one.map((id) => getOk(`/api/v4/audit_events/${id}/inclusion_proof?tree_size=${checkpoint.size}`))),
    consistency: await getOk(`/api/v4/audit_events/consistency_proof?first=${mine.first + 5}&second=${checkpoint.size}`),
    integrity: [
      await checkIntegrity(env as unknown as Env, null, { at: mine.first, sliceLeaves: 2048 }),
      await checkIntegrity(env as unknown as Env, null, { at: mine.first + 1024, sliceLeaves: 1024 }),
      await checkIntegrity(env as unknown as Env, null, { at: mine.first, sliceLeaves: 4096 }),
    ],
  });
  before = await read();
  // The forms see the events (the comparisons below are not between two empty answers).
  const b = before as { offset: { headers: string[] }[][]; keyset: { events: unknown[] }[]; one: { status: number }[]; proofs: unknown[] };
  expect(Number(b.offset[0][0].headers[0])).toBeGreaterThanOrEqual(N);
  expect(b.keyset[0].events.length).toBeGreaterThanOrEqual(N);
  expect(b.one.filter((o) => o.status === 200)).toHaveLength(14);
  expect(Number(b.offset[4][0].headers[0])).toBe(N);
}, 120_000);

describe('sealing a segment of the cold archive', () => {
  it('recovers a crash between the index write and the D1 transaction, without duplicating anything', async () => {
    // Seal everything before the first segment of these events (whoever made it), then crash on that one.
    while ((await nextSegment(SEAL)).first < mine.first) expect(await sealNextSegment(SEAL, null)).not.toBeNull();
    expect(await nextSegment(SEAL)).toMatchObject({ first: mine.first, last: mine.last, level: 11 });
    // Not while one of its live chunks is due for retention (retention deletes objects before its transaction).
    expect(await sealNextSegment({ ...SEAL, AUDIT_RETENTION_DAYS: '1' }, null, new Date('2999-01-01T00:00:00.000Z'))).toBeNull();
    expect((await env.AUDIT_ARCHIVE.list({ prefix: 'segments/' })).objects.filter((o) => o.key.includes(String(ids.find((id) => index.get(id) === mine.first)).padStart(16, '0')))).toHaveLength(0);
    let batches = 0;
    const crashing = new Proxy(env.DB, {
      get(target, prop) {
        // The first batch reads the segment's rows; the second is its transaction: it fails.
        if (prop === 'batch') return async (s: D1PreparedStatement[]) => (++batches === 2 ? Promise.reject(new Error('injected: D1 transaction failed')) : target.batch(s));
        const v = Reflect.get(target, prop) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    await expect(sealNextSegment({ ...SEAL, DB: crashing }, null)).rejects.toThrow(/injected/);
    const written = await env.AUDIT_ARCHIVE.list({ prefix: 'segments/' });
    const key = written.objects.map((o) => o.key).find((k) => k.includes(String(ids.find((id) => index.get(id) === mine.first)).padStart(16, '0')));
    expect(key).toBeDefined();
    expect(await count('SELECT COUNT(*) AS n FROM audit_archive_segments WHERE first_leaf = ?1', mine.first)).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM audit_archive_chunks WHERE first_leaf BETWEEN ?1 AND ?2', mine.first, mine.last)).toBe(2);
    expect(await count("SELECT COUNT(*) AS n FROM audit_events WHERE event_type = 'audit_archive_segment_sealed' AND json_extract(details, '$.first_leaf') = ?1", mine.first)).toBe(0);
    // Readers are unaffected by the object written alone.
    expect(await read()).toEqual(before);

    const sealed = await sealNextSegment(SEAL, null, new Date(), { maxCountRows: 8 });
    expect(sealed).toMatchObject({ firstLeaf: mine.first, lastLeaf: mine.last, level: 11, chunks: 2, deletedChunks: 0, coarse: 1, objectKey: key });
    expect(await sealNextSegment(SEAL, null, new Date(), { maxCountRows: 1 })).toMatchObject({ firstLeaf: mine2.first, lastLeaf: mine2.last, coarse: 2 });
    // A second run finds nothing more to seal in this segment (the next one is not wholly cold yet, or seals on its own).
    await runArchiveSeal(SEAL, null);
    expect(await count('SELECT COUNT(*) AS n FROM audit_archive_segments WHERE first_leaf = ?1', mine.first)).toBe(1);
    expect(await count("SELECT COUNT(*) AS n FROM audit_events WHERE event_type = 'audit_archive_segment_sealed' AND json_extract(details, '$.first_leaf') = ?1", mine.first)).toBe(1);
    const event = await env.DB.prepare("SELECT details FROM audit_events WHERE event_type = 'audit_archive_segment_sealed' AND json_extract(details, '$.first_leaf') = ?1")
      .bind(mine.first)
      .first<{ details: string }>();
    expect(JSON.parse(event!.details)).toMatchObject({ object_key: key, object_sha256: sealed!.objectSha256, chunks: 2 });
  });

  it('leaves in D1 only the segment row, its summed counts and its level-11 node', async () => {
    const [s] = (await segmentRows()).filter((r) => r.firstLeaf === mine.first);
    expect(s.eventCount).toBe(2048);
    expect(await count('SELECT COUNT(*) AS n FROM audit_archive_chunks WHERE first_leaf BETWEEN ?1 AND ?2', mine.first, mine.last)).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM audit_archive_counts WHERE first_leaf BETWEEN ?1 AND ?2', mine.first, mine.last)).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM audit_log_nodes WHERE level = 10 AND idx BETWEEN ?1 AND ?2', mine.first / 1024, mine.last / 1024 - 1)).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM audit_log_nodes WHERE level = 11 AND idx = ?1', mine.first / 2048)).toBe(1);
    expect(await count('SELECT COUNT(*) AS n FROM audit_log_leaves WHERE leaf_index BETWEEN ?1 AND ?2', mine.first, mine.last)).toBe(0);
    // Summed within the cap: per scope and event type (2 x 3) for the first, one row for the second; the same events.
    expect(await count('SELECT SUM(n) AS n FROM audit_archive_segment_counts WHERE first_leaf = ?1', mine.first)).toBe(2048);
    expect(await count('SELECT COUNT(*) AS n FROM audit_archive_segment_counts WHERE first_leaf = ?1', mine.first)).toBe(6);
    expect(await count('SELECT SUM(n) AS n FROM audit_archive_segment_counts WHERE first_leaf = ?1', mine2.first)).toBe(2048);
    expect(await count('SELECT COUNT(*) AS n FROM audit_archive_segment_counts WHERE first_leaf = ?1', mine2.first)).toBe(1);
    for (const m of [mine, mine2]) {
      expect(await count('SELECT COUNT(*) AS n FROM audit_archive_chunks WHERE first_leaf BETWEEN ?1 AND ?2', m.first, m.last)).toBe(0);
      expect(await count('SELECT COUNT(*) AS n FROM audit_log_nodes WHERE level = 10 AND idx BETWEEN ?1 AND ?2', m.first / 1024, m.last / 1024 - 1)).toBe(0);
    }
    // The segment before these events (the setup's and other tests' events with some of these) per full combination.
    const earlier = (await segmentRows()).filter((r) => r.lastLeaf < mine.first);
    if (earlier.length > 0) expect(earlier.map((r) => r.coarse)).toEqual(earlier.map(() => 0));
    // Nothing to seal beyond the cold boundary.
    const next = await nextSegment(SEAL);
    expect(next.last).toBeGreaterThan((await env.DB.prepare('SELECT MAX(last_leaf) AS n FROM audit_archive_chunks').first<{ n: number }>())!.n);
  });

  it('gives every reader the same answers after sealing, and the proofs verify against the signed checkpoint', async () => {
    const after = (await read()) as typeof before & { proofs: any[]; consistency: { hashes: string[] }; integrity: { failure: string | null }[] };
    expect(after).toEqual(before);
    for (const r of after.integrity) expect(r.failure).toBeNull();
    for (const p of after.proofs) expect(await verifyInclusion(p.leaf_index, checkpoint.size, fromBase64(p.leaf_hash)!, bytesOf(p.hashes), checkpoint.root)).toBe(true);
    expect(after.proofs.some((p) => p.leaf_index >= mine.first && p.leaf_index <= mine.last)).toBe(true);
    const now = await checkpointNow();
    const cons = await getOk(`/api/v4/audit_events/consistency_proof?first=${checkpoint.size}&second=${now.size}`);
    expect(await verifyConsistency(checkpoint.size, now.size, checkpoint.root, now.root, bytesOf(cons.hashes))).toBe(true);
    // One event of the segment by id, through its index.
    const id = ids.find((i) => index.get(i) === mine.first + 3)!;
    expect((await chunkContainingId(env as unknown as Env, id))?.firstLeaf).toBe(mine.first);
  });

  it('collects release evidence from sealed segments, every proof verifying against its signed checkpoint', async () => {
    const leaves = await Promise.all(release.eventIds.map((id) => env.DB.prepare('SELECT COUNT(*) AS n FROM audit_events WHERE id = ?1').bind(id).first<{ n: number }>()));
    expect(leaves.map((l) => l!.n)).toEqual([0, 0, 0]);
    // Every one of them lies in a sealed segment (no chunk row holds it any more).
    const segments = await segmentRows();
    for (const id of release.eventIds) expect(segments.some((s) => s.firstId <= id && id <= s.lastId), `event ${id}`).toBe(true);
    await expectVerifiedEvidence(release, 'v-sealed');
  });

  it('refuses a sealed index whose bytes are not those its row recorded', async () => {
    const [s] = (await segmentRows()).filter((r) => r.firstLeaf === mine.first);
    // The index is checked against the row's SHA-256 and the level-11 node: an index of other bytes fails.
    const real = await env.AUDIT_ARCHIVE.get(s.objectKey);
    const bytes = new Uint8Array(await real!.arrayBuffer());
    const bad = { ...env, AUDIT_ARCHIVE: { get: async () => ({ arrayBuffer: async () => bytes.slice(0, bytes.length - 1).buffer }) } } as unknown as Env;
    await expect(readSegmentIndex(bad, s, true)).rejects.toThrow(/SHA-256/);
  });

  it('keeps retention and sealing apart, and applies retention to a sealed segment whole', async () => {
    // Retention's transaction refuses chunks sealed since it read them.
    await expect(env.DB.batch(archiveRetentionStatements(env.DB, [mine.first], new Date().toISOString()))).rejects.toThrow(/sealed into a segment meanwhile/);
    const due = { ...SEAL, AUDIT_RETENTION_DAYS: '1' } as Env;

    const sealedBefore = (await segmentRows()).filter((r) => r.firstLeaf === mine.first)[0];
    const r = await applyArchiveRetention(due, null, new Date('1951-01-02T00:00:00.000Z'));
    expect(r.segments).toBeGreaterThanOrEqual(1);
    const [s] = (await segmentRows()).filter((x) => x.firstLeaf === mine.first);
    expect(s.deletedAt).not.toBeNull();
    expect(await count('SELECT COUNT(*) AS n FROM audit_archive_segment_counts WHERE first_leaf = ?1', mine.first)).toBe(0);
    // Its chunks' events objects are gone, its index stays; its events are gone from listings, and proofs of other events still hold.
    expect(await env.AUDIT_ARCHIVE.head(sealedBefore.objectKey)).not.toBeNull();
    const id = ids.find((i) => index.get(i) === mine.first + 3)!;
    const chunk = (await chunkContainingId(env as unknown as Env, id))!;
    expect(chunk.deletedAt).not.toBeNull();
    expect(await env.AUDIT_ARCHIVE.head(chunk.objectKey)).toBeNull();
    expect((await api('GET', `/api/v4/audit_events/${id}`, { token: ADMIN })).status).toBe(404);
    const p = await getOk(`/api/v4/audit_events/${ids[N - 1]}/inclusion_proof?tree_size=${checkpoint.size}`);
    expect(await verifyInclusion(p.leaf_index, checkpoint.size, fromBase64(p.leaf_hash)!, bytesOf(p.hashes), checkpoint.root)).toBe(true);
    // A second run finds the segment done.
    expect((await applyArchiveRetention(due, null, new Date('1951-01-02T00:00:00.000Z'))).segments).toBe(0);
  });
});
