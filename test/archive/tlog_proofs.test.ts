/**
 * The verifiable log over moved blocks (issue 19): a move changes neither the tree's size nor its
 * root; inclusion proofs of hot events, of events in a wholly moved block (leaves and low nodes
 * gone from D1) and of events of a partly moved block, and consistency proofs between sizes inside
 * and across moved blocks, all verify with src/tlog against signed checkpoints; an event retention
 * removed before the move, or whose events object retention deleted, has no proof (404) while
 * every other proof still holds; who may read a cold event's proof is decided by its scope.
 * A release whose events moved is still given evidence, listed and proved from the archive.
 * Other archive test files may share this database: only this file's events are asserted on.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { ADMIN, api, createGroup, createProject, createUser, type TestUser } from '../support/api';
import { eventInput, groupEntityOf, insertEvents } from '../audit_log/support';
import { createRelease, releasesPath } from '../releases/support';
import { applyAuditRetention } from '../../src/audit/retention';
import { eventLeafHash } from '../../src/audit/log_builder';
import { evaluate, PlanNodes, readPlanned } from '../../src/audit/log_tree';
import { chunkContainingId } from '../../src/db/audit_archive';
import { readChunkLines, readChunkManifest } from '../../src/audit/archive_objects';
import { toAuditEvent, type AuditEventRow } from '../../src/db/audit_events';
import type { Env } from '../../src/env';
import { fromBase64, toBase64, type Bytes } from '../../src/tlog/hash';
import { verifyConsistency, verifyInclusion } from '../../src/tlog/tree';
import { buildTree, bytesOf, checkpointNow, checkpointOfSize, getOk, leafIndexes, moveAll, verifyCheckpoint, type Verified } from './tlog_support';

const count = async (sql: string, ...args: unknown[]): Promise<number> => (await env.DB.prepare(sql).bind(...args).first<{ n: number }>())!.n;

/** The root of the tree of `size` leaves as the service computes it now. */
async function rootNow(size: number): Promise<Bytes> {
  const nodes = new PlanNodes();
  const plan = nodes.range(0, size);
  return evaluate(plan, await readPlanned(env, nodes));
}

let owner: TestUser;
let outsider: TestUser;
let ids: number[];
let hotIds: number[];
let removedId: number;
let index: Map<number, number>;
const leafHashes = new Map<number, string>();
let before: Verified;
let after: Verified;
/** Roots of sizes inside and across the blocks that move, computed from the stored tree before the move. */
const roots = new Map<number, Bytes>();

beforeAll(async () => {
  [owner, outsider] = await Promise.all([createUser(), createUser()]);
  const g = await createGroup({ token: owner.token });
  const entity = await groupEntityOf(g.id);
  const author = { id: owner.id, name: owner.name };
  // One event retention removes (while hot) before the move, then 1,100 events: at least one block boundary inside them.
  [removedId] = await insertEvents([eventInput(entity, author, { createdAt: '1980-01-01T00:00:00.000Z' })]);
  ids = await insertEvents(Array.from({ length: 1100 }, (_, i) => eventInput(entity, author, { details: { custom_message: `cold ${i}` } })));
  await buildTree();
  const retention = await applyAuditRetention({ ...env, AUDIT_RETENTION_DAYS: '3' } as Env, null, new Date('1980-01-10T00:00:00.000Z'));
  expect(retention.deleted).toBeGreaterThanOrEqual(1);
  before = await checkpointNow();
  index = await leafIndexes([removedId, ...ids]);
  expect(index.size).toBe(1101);
  const rows = await env.DB.prepare('SELECT e.* FROM audit_events e JOIN json_each(?1) j ON j.value = e.id').bind(JSON.stringify(ids)).all<AuditEventRow>();
  for (const r of rows.results) leafHashes.set(r.id, toBase64(await eventLeafHash(toAuditEvent(r), 1)));
  const first = index.get(ids[0])!;
  const blockEnd = (Math.floor(first / 1024) + 1) * 1024;
  for (const size of [first + 1, first + 2, blockEnd - 1, blockEnd, blockEnd + 1, index.get(ids[1099])! + 1, before.size]) {
    if (size <= before.size) roots.set(size, await rootNow(size));
  }
  expect(roots.get(before.size)).toEqual(before.root);

  const moved = await moveAll();
  expect(moved.length).toBeGreaterThan(0);
  hotIds = await insertEvents([eventInput(entity, author), eventInput(entity, author)]);
  after = await checkpointNow();
});

describe('proofs over moved blocks', () => {
  it('moved the events (a whole block: its leaves and low nodes too), and the tree keeps its size and root', async () => {
    const first = index.get(ids[0])!;
    expect(await count('SELECT COUNT(*) AS n FROM audit_events e JOIN json_each(?1) j ON j.value = e.id', JSON.stringify(ids))).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM audit_log_leaves WHERE leaf_index = ?1', first)).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM audit_log_nodes WHERE level = 1 AND idx = ?1', Math.floor(first / 2))).toBe(0);
    expect(await chunkContainingId(env.DB, ids[1099])).not.toBeNull();
    // The same root for every size computed before the move, the signed one included.
    for (const [size, root] of roots) expect(toBase64(await rootNow(size)), `root of size ${size}`).toBe(toBase64(root));
    expect(toBase64((await checkpointOfSize(before.size)).root)).toBe(toBase64(before.root));
    const proof = await getOk(`/api/v4/audit_events/consistency_proof?first=${before.size}&second=${after.size}`);
    expect(await verifyConsistency(before.size, after.size, before.root, after.root, bytesOf(proof.hashes))).toBe(true);
  });

  it('proves the inclusion of cold (whole and partly moved blocks) and hot events against signed checkpoints', async () => {
    const cold = [ids[0], ids[1], ids[600], ids[1099]];
    for (const id of [...cold, hotIds[0]]) {
      const p = await getOk(`/api/v4/audit_events/${id}/inclusion_proof`);
      if (index.has(id)) expect(p.leaf_index).toBe(index.get(id));
      if (leafHashes.has(id)) expect(p.leaf_hash).toBe(leafHashes.get(id));
      expect(await verifyInclusion(p.leaf_index, after.size, fromBase64(p.leaf_hash)!, bytesOf(p.hashes), after.root), `event ${id}`).toBe(true);
    }
    // At the checkpoint issued before the move (its right edge lies in a moved block).
    for (const id of cold) {
      const p = await getOk(`/api/v4/audit_events/${id}/inclusion_proof?tree_size=${before.size}`);
      expect(await verifyInclusion(p.leaf_index, before.size, fromBase64(p.leaf_hash)!, bytesOf(p.hashes), before.root), `event ${id} at ${before.size}`).toBe(true);
    }
    const batch = await getOk<any[]>(`/api/v4/audit_events/inclusion_proofs?ids=${[...cold, hotIds[1]].join(',')}`);
    expect(batch.map((p) => p.id)).toEqual([...cold, hotIds[1]]);
    for (const p of batch) expect(await verifyInclusion(p.leaf_index, after.size, fromBase64(p.leaf_hash)!, bytesOf(p.hashes), after.root)).toBe(true);
  });

  it("decides who may read a cold event's proof by its scope", async () => {
    expect((await api('GET', `/api/v4/audit_events/${ids[0]}/inclusion_proof`, { token: owner.token })).status).toBe(200);
    const denied = await api('GET', `/api/v4/audit_events/${ids[0]}/inclusion_proof`, { token: outsider.token });
    expect(denied.status).toBe(404);
    expect(denied.body).toEqual({ message: '404 Audit Event Not Found' });
  });

  it('proves consistency between sizes inside and across moved blocks', async () => {
    const sizes = [...roots.keys()].sort((a, b) => a - b);
    for (const m of sizes) {
      for (const [n, root] of [...sizes.filter((s) => s >= m).map((s) => [s, roots.get(s)!] as const), [after.size, after.root] as const]) {
        const p = await getOk(`/api/v4/audit_events/consistency_proof?first=${m}&second=${n}`);
        expect(await verifyConsistency(m, n, roots.get(m)!, root, bytesOf(p.hashes)), `${m} -> ${n}`).toBe(true);
      }
    }
  });

  it('has no proof of an event retention removed before the move, and its leaf still counts', async () => {
    const r = await api('GET', `/api/v4/audit_events/${removedId}/inclusion_proof`, { token: ADMIN });
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ message: '404 Audit Event Not Found' });
    const batch = await api('GET', `/api/v4/audit_events/inclusion_proofs?ids=${removedId},${ids[0]}`, { token: ADMIN });
    expect(batch.status).toBe(404);
    // Its leaf stays in the archive (a `removed` line and the manifest's hash), so the proofs around it hold.
    const chunk = (await chunkContainingId(env.DB, removedId))!;
    const line = (await readChunkLines(env.AUDIT_ARCHIVE, chunk)).find((l) => l.id === removedId)!;
    expect(line).toMatchObject({ removed: true, leaf_index: index.get(removedId) });
    expect((await readChunkManifest(env.AUDIT_ARCHIVE, chunk)).leaf_hashes[line.leaf_index - chunk.firstLeaf]).toBe(line.leaf_hash);
    const p = await getOk(`/api/v4/audit_events/${ids[0]}/inclusion_proof`);
    expect(await verifyInclusion(p.leaf_index, after.size, fromBase64(p.leaf_hash)!, bytesOf(p.hashes), after.root)).toBe(true);
  });

  it('has no proof of an event whose events object retention deleted; other proofs still hold', async () => {
    const g = await createGroup({ token: owner.token });
    const entity = await groupEntityOf(g.id);
    const late = await insertEvents([eventInput(entity, { id: owner.id, name: owner.name }), eventInput(entity, { id: owner.id, name: owner.name })]);
    await moveAll();
    const chunk = (await chunkContainingId(env.DB, late[0]))!;
    expect(chunk).not.toBeNull();
    // What retention of cold objects does (issue 19): the events object goes, the manifest and the row stay.
    await env.AUDIT_ARCHIVE.delete(chunk.objectKey);
    await env.DB.prepare('UPDATE audit_archive_chunks SET deleted_at = ?1 WHERE first_leaf = ?2').bind(new Date().toISOString(), chunk.firstLeaf).run();
    const [hot] = await insertEvents([eventInput(entity, { id: owner.id, name: owner.name })]);
    const latest = await checkpointNow();
    const gone = await api('GET', `/api/v4/audit_events/${late[0]}/inclusion_proof`, { token: ADMIN });
    expect(gone.status).toBe(404);
    expect(gone.body).toEqual({ message: '404 Audit Event Not Found' });
    for (const id of [ids[0], ids[1099], hot]) {
      const p = await getOk(`/api/v4/audit_events/${id}/inclusion_proof`);
      expect(await verifyInclusion(p.leaf_index, latest.size, fromBase64(p.leaf_hash)!, bytesOf(p.hashes), latest.root)).toBe(true);
    }
    const c = await getOk(`/api/v4/audit_events/consistency_proof?first=${before.size}&second=${latest.size}`);
    expect(await verifyConsistency(before.size, latest.size, before.root, latest.root, bytesOf(c.hashes))).toBe(true);
  });
});

describe('release evidence over cold events', () => {
  const eventsOf = async (projectId: number) =>
    (await env.DB.prepare('SELECT id, event_type, target_type, target_id FROM audit_events WHERE project_id = ?1 ORDER BY id').bind(projectId).all<{ id: number; event_type: string }>()).results;

  it('collects evidence of a release whose events moved to the archive: its cold and hot events, each with a proof that verifies', async () => {
    const user = await createUser();
    const group = await createGroup({ token: user.token });
    const project = await createProject(group.id, { token: user.token });
    await createRelease(project.id, user.token, {
      tag_name: 'v-cold',
      name: 'Cold',
      assets: { links: [{ name: 'cold.tar.gz', url: 'https://downloads.example.com/cold.tar.gz' }] },
    });
    // Another release of the project, before and after: its events are not listed.
    await createRelease(project.id, user.token, { tag_name: 'v-other', name: 'Other' });
    expect((await api('PUT', releasesPath(project.id, 'v-cold'), { token: user.token, body: { description: 'moved soon' } })).status).toBe(200);
    const before = await eventsOf(project.id);
    expect(before.map((e) => e.event_type)).toEqual(['project_created', 'release_created', 'release_asset_link_created', 'release_created', 'release_updated']);
    const ofCold = [before[1].id, before[2].id, before[4].id];
    await checkpointNow();
    await moveAll();
    expect(await eventsOf(project.id)).toEqual([]);
    // One more event of the release, hot; and one of the other release.
    expect((await api('PUT', releasesPath(project.id, 'v-cold'), { token: user.token, body: { name: 'Cold, renamed' } })).status).toBe(200);
    expect((await api('PUT', releasesPath(project.id, 'v-other'), { token: user.token, body: { name: 'Other, renamed' } })).status).toBe(200);
    const hot = await eventsOf(project.id);
    expect(hot.map((e) => e.event_type)).toEqual(['release_updated', 'release_updated']);
    await checkpointNow();

    const r = await api('POST', `${releasesPath(project.id, 'v-cold')}/evidence`, { token: user.token });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const row = await env.DB.prepare('SELECT evidence FROM release_evidences WHERE sha = ?1').bind(r.body.sha).first<{ evidence: string }>();
    const doc = JSON.parse(row!.evidence);
    expect(doc.audit_events).toEqual({ ids: [...ofCold, hot[0].id], truncated: false });
    const cp = await verifyCheckpoint(doc.audit_log.checkpoint);
    expect(doc.audit_log.inclusion_proofs.map((p: any) => p.audit_event_id)).toEqual(doc.audit_events.ids);
    for (const p of doc.audit_log.inclusion_proofs) {
      expect(await verifyInclusion(p.leaf_index, cp.size, fromBase64(p.leaf_hash)!, bytesOf(p.hashes), cp.root), `proof of ${p.audit_event_id}`).toBe(true);
    }
  });

  it('refuses clearly (409) once retention deleted the archived creation event of the release', async () => {
    const user = await createUser();
    const group = await createGroup({ token: user.token });
    const project = await createProject(group.id, { token: user.token });
    await createRelease(project.id, user.token, { tag_name: 'v-gone', name: 'Gone' });
    const created = (await eventsOf(project.id)).find((e) => e.event_type === 'release_created')!;
    await checkpointNow();
    await moveAll();
    const chunk = (await chunkContainingId(env.DB, created.id))!;
    // What retention of cold objects does (issue 19): the events object goes, the manifest and the row stay.
    await env.AUDIT_ARCHIVE.delete(chunk.objectKey);
    await env.DB.prepare('UPDATE audit_archive_chunks SET deleted_at = ?1 WHERE first_leaf = ?2').bind(new Date().toISOString(), chunk.firstLeaf).run();
    await checkpointNow();
    const r = await api('POST', `${releasesPath(project.id, 'v-gone')}/evidence`, { token: user.token });
    expect(r.status).toBe(409);
    expect(r.body.message).toBe('The creation event of release v-gone was removed from the audit log by retention; evidence can no longer be collected');
  });
});
