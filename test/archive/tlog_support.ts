/**
 * Helpers of the verifiable log's tests over cold data (test/archive/tlog_*.test.ts): build the
 * tree, move everything movable, and read signed checkpoints as an auditor would (src/tlog only).
 */
import { expect } from 'vitest';
import { env } from 'cloudflare:workers';
import { ADMIN, api, call } from '../support/api';
import { appendPendingLeaves } from '../../src/audit/log_builder';
import { moveNextChunk, olderThan } from '../../src/audit/archive_move';
import type { ArchiveChunk } from '../../src/db/audit_archive';
import { parseCheckpoint } from '../../src/tlog/checkpoint';
import { fromBase64, type Bytes } from '../../src/tlog/hash';
import { verifyNote } from '../../src/tlog/note';
import { verifyInclusion } from '../../src/tlog/tree';
import { releasesPath } from '../releases/support';

/** Append every pending leaf. */
export async function buildTree(): Promise<void> {
  while ((await appendPendingLeaves(env)).appended > 0);
}

/** Build the tree (unless `build` is false), then move every chunk the mover may move now (whatever their age); the chunks moved. */
export async function moveAll(build = true): Promise<ArchiveChunk[]> {
  if (build) await buildTree();
  const moved: ArchiveChunk[] = [];
  for (let c = await moveNextChunk(env, null, olderThan('9999-01-01T00:00:00.000Z')); c; c = await moveNextChunk(env, null, olderThan('9999-01-01T00:00:00.000Z'))) {
    moved.push(c);
  }
  return moved;
}

/** The leaf index of each event, by id (from D1: call before the move). */
export async function leafIndexes(ids: readonly number[]): Promise<Map<number, number>> {
  const rows = await env.DB.prepare('SELECT event_id, leaf_index FROM audit_log_leaves l JOIN json_each(?1) j ON j.value = l.event_id')
    .bind(JSON.stringify(ids))
    .all<{ event_id: number; leaf_index: number }>();
  return new Map(rows.results.map((r) => [r.event_id, r.leaf_index]));
}

/** A signed checkpoint, verified with the log's verifier key: its size and root. */
export interface Verified {
  size: number;
  root: Bytes;
}

/** Verify a checkpoint note with the log's published verifier key (src/tlog only). */
export async function verifyCheckpoint(note: string): Promise<Verified> {
  const key = (await (await call('GET', '/-/audit-log/verifier-key')).text()).trim();
  const verified = await verifyNote(note, key);
  if ('error' in verified) throw new Error(verified.error);
  const parsed = parseCheckpoint(verified.text);
  if ('error' in parsed) throw new Error(parsed.error);
  return { size: parsed.size, root: parsed.rootHash };
}

/** Issue a checkpoint now (as an administrator: pending leaves are appended first), verified. */
export async function checkpointNow(): Promise<Verified> {
  const issued = await call('POST', '/api/v4/audit_events/checkpoint', { token: ADMIN });
  expect([200, 201]).toContain(issued.status);
  const note = await (await call('GET', '/api/v4/audit_events/checkpoint', { token: ADMIN })).text();
  return verifyCheckpoint(note);
}

/** The signed checkpoint of a given size, verified. */
export async function checkpointOfSize(size: number): Promise<Verified> {
  const res = await call('GET', `/api/v4/audit_events/checkpoint?tree_size=${size}`, { token: ADMIN });
  expect(res.status).toBe(200);
  return verifyCheckpoint(await res.text());
}

/** Base64 hashes of an API answer as bytes. */
export function bytesOf(hashes: string[]): Bytes[] {
  return hashes.map((h) => fromBase64(h)!);
}

/** GET and expect 200: the JSON body. */
export async function getOk<T = any>(path: string): Promise<T> {
  const r = await api<T>('GET', path, { token: ADMIN });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}

/**
 * Release evidence made now for a release with these event ids: the document lists exactly them,
 * and every inclusion proof verifies against the document's own signed checkpoint.
 */
export async function expectVerifiedEvidence(release: { projectId: number; token: string; eventIds: number[] }, tag: string): Promise<void> {
  const r = await api('POST', `${releasesPath(release.projectId, tag)}/evidence`, { token: release.token });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  const row = await env.DB.prepare('SELECT evidence FROM release_evidences WHERE sha = ?1').bind(r.body.sha).first<{ evidence: string }>();
  const doc = JSON.parse(row!.evidence);
  expect(doc.audit_events).toEqual({ ids: release.eventIds, truncated: false });
  const cp = await verifyCheckpoint(doc.audit_log.checkpoint);
  expect(doc.audit_log.inclusion_proofs.map((p: any) => p.audit_event_id)).toEqual(release.eventIds);
  for (const p of doc.audit_log.inclusion_proofs) {
    expect(await verifyInclusion(p.leaf_index, cp.size, fromBase64(p.leaf_hash)!, bytesOf(p.hashes), cp.root), `proof of ${p.audit_event_id}`).toBe(true);
  }
}
