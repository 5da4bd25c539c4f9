/**
 * Release evidence (issue 18 section 5): none before a checkpoint covers the release's creation;
 * the scheduled job collects it at the first covering checkpoint; POST .../evidence (who may, no
 * checkpoint yet, success at the latest checkpoint); the document's proofs verify with src/tlog
 * against the signed checkpoint's root, its sha matches the served bytes and is carried by the
 * `release_evidence_collected` event; the release JSON lists it; the file's read permission.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { handleScheduled } from '../../src/scheduled';
import type { Env } from '../../src/env';
import { ADMIN, api, call, gql } from '../support/api';
import { createRelease, projectEvents, releasesPath, releaseWorld, type ReleaseWorld } from './support';
import { fromBase64, sha256, toHex } from '../../src/tlog/hash';
import { verifyNote } from '../../src/tlog/note';
import { parseCheckpoint } from '../../src/tlog/checkpoint';
import { verifyInclusion } from '../../src/tlog/tree';
import { runAuditLogJobs } from '../../src/audit/log_jobs';
import { collectScheduledEvidence } from '../../src/releases/evidence';

let w: ReleaseWorld;
let verifierKey: string;

/** The cron's two steps, in the scheduled job's order: the log (and its checkpoint), then evidence. */
async function cron(): Promise<number> {
  await runAuditLogJobs(env, null);
  return collectScheduledEvidence(env, null);
}

const evidenceRows = async (tag: string) =>
  (
    await env.DB.prepare('SELECT v.* FROM release_evidences v JOIN releases r ON r.id = v.release_id WHERE r.project_id = ?1 AND r.tag_name = ?2 ORDER BY v.id')
      .bind(w.project.id, tag)
      .all<{ id: number; sha: string; tree_size: number; collected_by: string; evidence: string }>()
  ).results;

/** Fetch the document at `filepath` (an absolute URL of ours) as `token`. */
async function fetchEvidence(filepath: string, token?: string) {
  const url = new URL(filepath);
  expect(url.origin).toBe('http://127.0.0.1:8787');
  return call('GET', url.pathname, { token });
}

/** Check a document: its note verifies, every proof verifies against the note's root. */
async function verifyDocument(doc: any): Promise<void> {
  const verified = await verifyNote(doc.audit_log.checkpoint, verifierKey);
  if ('error' in verified) throw new Error(verified.error);
  const cp = parseCheckpoint(verified.text);
  if ('error' in cp) throw new Error(cp.error);
  expect(cp.size).toBe(doc.audit_log.tree_size);
  expect(doc.audit_log.inclusion_proofs.map((p: any) => p.audit_event_id)).toEqual(doc.audit_events.ids);
  expect(doc.audit_events.ids.length).toBeGreaterThan(0);
  for (const p of doc.audit_log.inclusion_proofs) {
    const ok = await verifyInclusion(p.leaf_index, cp.size, fromBase64(p.leaf_hash)!, p.hashes.map((h: string) => fromBase64(h)!), cp.rootHash);
    expect(ok, `proof of event ${p.audit_event_id}`).toBe(true);
  }
}

beforeAll(async () => {
  w = await releaseWorld('private');
  verifierKey = (await (await call('GET', '/-/audit-log/verifier-key')).text()).trim();
});

describe('release evidence', () => {
  it('POST .../evidence before any checkpoint: 409 with a clear message, nothing stored', async () => {
    const count = await env.DB.prepare('SELECT COUNT(*) AS n FROM audit_log_checkpoints').first<{ n: number }>();
    expect(count!.n).toBe(0);
    await createRelease(w.project.id, w.developer.token, { tag_name: 'v0.9', name: 'Early' });
    const r = await api('POST', `${releasesPath(w.project.id, 'v0.9')}/evidence`, { token: w.maintainer.token });
    expect(r.status).toBe(409);
    expect(r.body.message).toMatch(/No audit log checkpoint has been issued yet/);
    expect(await evidenceRows('v0.9')).toEqual([]);
    expect(await collectScheduledEvidence(env, null)).toBe(0);
  });

  it('the cron collects evidence at the first checkpoint covering the release creation, once; none before', async () => {
    await createRelease(w.project.id, w.developer.token, {
      tag_name: 'v1.0',
      name: 'One',
      description: 'First',
      assets: { links: [{ name: 'bin', url: 'https://example.com/bin', direct_asset_path: '/bin' }] },
    });
    // Not covered by any checkpoint yet: the release lists no evidence.
    expect((await api('GET', releasesPath(w.project.id, 'v1.0'), { token: w.reporter.token })).body.evidences).toEqual([]);
    expect(await collectScheduledEvidence(env, null)).toBe(0);
    expect(await evidenceRows('v1.0')).toEqual([]);

    expect(await cron()).toBe(2); // v0.9 and v1.0
    const rows = await evidenceRows('v1.0');
    expect(rows).toHaveLength(1);
    expect(rows[0].collected_by).toBe('scheduled');
    const firstCovering = await env.DB.prepare('SELECT MIN(tree_size) AS n FROM audit_log_checkpoints').first<{ n: number }>();
    expect(rows[0].tree_size).toBe(firstCovering!.n);
    // Once: later runs (and a later checkpoint) collect nothing more for it.
    await api('PUT', releasesPath(w.project.id, 'v1.0'), { token: w.developer.token, body: { description: 'changed' } });
    expect(await cron()).toBe(0);
    expect(await evidenceRows('v1.0')).toHaveLength(1);

    const doc = JSON.parse(rows[0].evidence);
    expect(doc.audit_log.collected_by).toBe('scheduled');
    expect(doc.audit_log.checkpoint_rule).toMatch(/first checkpoint/);
    expect(doc.release).toMatchObject({ tag_name: 'v1.0', name: 'One', description: 'First' });
    expect(doc.release.links).toEqual([expect.objectContaining({ name: 'bin', url: 'https://example.com/bin', direct_asset_path: '/bin', link_type: 'other' })]);
    const created = await projectEvents(w.project.id, 'release_created');
    const linkCreated = await projectEvents(w.project.id, 'release_asset_link_created');
    const ofV1 = [...created, ...linkCreated].filter((e) => e.details.tag_name === 'v1.0').map((e) => e.id).sort((a, b) => a - b);
    expect(doc.audit_events.ids).toEqual(ofV1);
    await verifyDocument(doc);
  });

  it('the release JSON lists the evidence; the served bytes hash to its sha; the event carries the sha', async () => {
    const r = await api('GET', releasesPath(w.project.id, 'v1.0'), { token: w.reporter.token });
    expect(r.status).toBe(200);
    expect(r.body.evidences).toHaveLength(1);
    const [ev] = r.body.evidences;
    expect(Object.keys(ev).sort()).toEqual(['collected_at', 'filepath', 'sha']);
    const [row] = await evidenceRows('v1.0');
    expect(ev.filepath).toBe(`http://127.0.0.1:8787/${w.project.path_with_namespace}/-/releases/v1.0/evidences/${row.id}.json`);
    const served = await fetchEvidence(ev.filepath, w.reporter.token);
    expect(served.status).toBe(200);
    expect(served.headers.get('Content-Type')).toMatch(/^application\/json/);
    const bytes = new Uint8Array(await served.arrayBuffer());
    expect(toHex(await sha256(bytes))).toBe(ev.sha);
    const events = (await projectEvents(w.project.id, 'release_evidence_collected')).filter((e) => e.details.tag_name === 'v1.0');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ target_type: 'Release', author_id: -1 });
    expect(events[0].details).toMatchObject({ sha: ev.sha, evidence_id: row.id, collected_by: 'scheduled' });
    // The listing shows it too.
    const list = await api('GET', releasesPath(w.project.id), { token: w.reporter.token });
    expect(list.body.find((x: any) => x.tag_name === 'v1.0').evidences).toEqual([ev]);
  });

  it('GraphQL Release.evidences lists the same (single release and listing), hidden from outsiders', async () => {
    const rest = (await api('GET', releasesPath(w.project.id, 'v1.0'), { token: w.reporter.token })).body.evidences;
    const [row] = await evidenceRows('v1.0');
    const q = `query($p: ID!) { project(fullPath: $p) {
      release(tagName: "v1.0") { evidences { nodes { id sha filepath collectedAt } } }
      releases { nodes { tagName evidences { nodes { sha } } } } } }`;
    const r = await gql(q, { p: w.project.path_with_namespace }, w.reporter.token);
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data!.project.release.evidences.nodes).toEqual(
      rest.map((e: any) => ({ id: `gid://gitlab/Releases::Evidence/${row.id}`, sha: e.sha, filepath: e.filepath, collectedAt: e.collected_at })),
    );
    const listed = r.body.data!.project.releases.nodes.find((n: any) => n.tagName === 'v1.0');
    expect(listed.evidences.nodes).toEqual([{ sha: rest[0].sha }]);
    const outsider = await gql(q, { p: w.project.path_with_namespace }, w.outsider.token);
    expect(outsider.body.data!.project).toBeNull();
  });

  it('the evidence file: 404 for outsiders and anonymous callers of a private project, and for unknown ids', async () => {
    const [row] = await evidenceRows('v1.0');
    const path = `/${w.project.path_with_namespace}/-/releases/v1.0/evidences/${row.id}.json`;
    for (const token of [w.outsider.token, undefined]) {
      const r = await call('GET', path, { token });
      expect(r.status).toBe(404);
      expect(await r.json()).toEqual({ message: '404 Not Found' });
    }
    expect((await call('GET', path, { token: w.guest.token })).status).toBe(404); // Guests may not read releases of a private project
    expect((await call('GET', `/${w.project.path_with_namespace}/-/releases/v0.9/evidences/${row.id}.json`, { token: ADMIN })).status).toBe(404);
    expect((await call('GET', path.replace(`${row.id}.json`, '999999.json'), { token: ADMIN })).status).toBe(404);
    expect((await call('POST', path, { token: ADMIN })).status).toBe(405);
  });

  it('POST .../evidence: Developer and up collect at the latest checkpoint (201); Reporter 403, outsider 404, anonymous 401, unknown tag 404', async () => {
    expect((await api('POST', `${releasesPath(w.project.id, 'v1.0')}/evidence`, { token: w.reporter.token })).status).toBe(403);
    expect((await api('POST', `${releasesPath(w.project.id, 'v1.0')}/evidence`, { token: w.outsider.token })).status).toBe(404);
    expect((await api('POST', `${releasesPath(w.project.id, 'v1.0')}/evidence`)).status).toBe(401); // anonymous writes: 401, as every REST write
    expect((await api('POST', `${releasesPath(w.project.id, 'nope')}/evidence`, { token: w.maintainer.token })).status).toBe(404);
    await runAuditLogJobs(env, null);
    const latest = await env.DB.prepare('SELECT MAX(tree_size) AS n FROM audit_log_checkpoints').first<{ n: number }>();
    const r = await api('POST', `${releasesPath(w.project.id, 'v1.0')}/evidence`, { token: w.developer.token });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(Object.keys(r.body).sort()).toEqual(['collected_at', 'filepath', 'sha']);
    const served = await fetchEvidence(r.body.filepath, w.developer.token);
    const text = await served.text();
    expect(toHex(await sha256(new TextEncoder().encode(text)))).toBe(r.body.sha);
    const doc = JSON.parse(text);
    expect(doc.audit_log.collected_by).toBe('request');
    expect(doc.audit_log.checkpoint_rule).toMatch(/latest checkpoint/);
    expect(doc.audit_log.tree_size).toBe(latest!.n);
    expect(doc.release.description).toBe('changed');
    // The update and the first evidence's event are covered by this checkpoint: listed and proved.
    const updated = (await projectEvents(w.project.id, 'release_updated')).filter((e) => e.details.tag_name === 'v1.0');
    const collected = (await projectEvents(w.project.id, 'release_evidence_collected')).filter((e) => e.details.tag_name === 'v1.0');
    expect(doc.audit_events.ids).toEqual(expect.arrayContaining([updated[0].id, collected[0].id]));
    await verifyDocument(doc);
    const ev = collected.at(-1)!;
    expect(ev).toMatchObject({ author_id: w.developer.id, target_type: 'Release' });
    expect(ev.details).toMatchObject({ sha: r.body.sha, collected_by: 'request' });
    const listed = (await api('GET', releasesPath(w.project.id, 'v1.0'), { token: w.reporter.token })).body.evidences;
    expect(listed).toHaveLength(2);
    expect(listed[1]).toEqual(r.body);
  });

  it('the Cron Trigger runs the step after the checkpoint it issues', async () => {
    await createRelease(w.project.id, w.developer.token, { tag_name: 'v2.0' });
    const ctx = createExecutionContext();
    await handleScheduled(createScheduledController() as ScheduledController, env as unknown as Env, ctx);
    await waitOnExecutionContext(ctx);
    const rows = await evidenceRows('v2.0');
    expect(rows.map((r) => r.collected_by)).toEqual(['scheduled']);
    await verifyDocument(JSON.parse(rows[0].evidence));
  });

  it('DELETE answers the release with its evidences; the evidence outlives the release (no longer served)', async () => {
    const before = (await api('GET', releasesPath(w.project.id, 'v2.0'), { token: w.reporter.token })).body.evidences;
    expect(before).toHaveLength(1);
    const r = await api('DELETE', releasesPath(w.project.id, 'v2.0'), { token: w.maintainer.token });
    expect(r.status).toBe(200);
    expect(r.body.evidences).toEqual(before);
    expect((await fetchEvidence(before[0].filepath, w.maintainer.token)).status).toBe(404);
    const kept = await env.DB.prepare('SELECT COUNT(*) AS n FROM release_evidences WHERE sha = ?1').bind(before[0].sha).first<{ n: number }>();
    expect(kept!.n).toBe(1);
  });

  it('stored evidence is append-only', async () => {
    await expect(env.DB.prepare("UPDATE release_evidences SET sha = 'x'").run()).rejects.toThrow(/append-only/);
    await expect(env.DB.prepare('DELETE FROM release_evidences').run()).rejects.toThrow(/append-only/);
  });
});
