/**
 * The integrity check over moved leaves (issue 19): rows the move deleted from D1 are no failure;
 * the archive is verified instead (objects against their recorded SHA-256, each event's leaf hash
 * recomputed against the manifest, a complete block's root against its stored level-10 node). A
 * tampered R2 object is found like a tampered D1 row: an events object overwritten with other
 * bytes, a manifest with a changed hash, and rewrites that keep every SHA-256 consistent (an
 * event altered; an event altered with its leaf hash) are each reported. Only this file's events
 * are asserted on (other archive test files may share the database).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { ADMIN, api, createGroup, createUser } from '../support/api';
import { eventInput, groupEntityOf, insertEvents } from '../audit_log/support';
import { checkIntegrity } from '../../src/audit/integrity';
import { rehashColdLeaves } from '../../src/audit/archive_integrity';
import { buildManifest, decodeChunk, encodeChunk, encodeManifest, isEventLine, sha256Hex, type ArchiveLine } from '../../src/audit/archive_format';
import { eventLeafHash } from '../../src/audit/log_builder';
import { chunkContainingId, coldBoundary, type ArchiveChunk } from '../../src/db/audit_archive';
import { toAuditEvent } from '../../src/db/audit_events';
import { toBase64 } from '../../src/tlog/hash';
import { checkpointNow, leafIndexes, moveAll } from './tlog_support';

let ids: number[];
let index: Map<number, number>;
let chunk: ArchiveChunk;
/** The leaves [from, to) of the block holding this file's first event (wholly moved). */
let from: number;
let to: number;

const bytesOf = async (key: string): Promise<Uint8Array> => new Uint8Array(await (await env.AUDIT_ARCHIVE.get(key))!.arrayBuffer());

/** Update a chunk row's recorded digests (as someone with write access to D1 could), its append-only trigger dropped for the statement. */
async function setChunkDigests(c: ArchiveChunk, objectSha256: string, manifestSha256: string): Promise<void> {
  const trigger = (await env.DB.prepare("SELECT sql FROM sqlite_master WHERE name = 'audit_archive_chunks_reject_update'").first<{ sql: string }>())!.sql;
  await env.DB.batch([
    env.DB.prepare('DROP TRIGGER audit_archive_chunks_reject_update'),
    env.DB.prepare('UPDATE audit_archive_chunks SET object_sha256 = ?1, manifest_sha256 = ?2 WHERE first_leaf = ?3').bind(objectSha256, manifestSha256, c.firstLeaf),
    env.DB.prepare(trigger),
  ]);
}

/** Rewrite a chunk's two objects from edited lines with consistent digests everywhere (objects, manifest, D1 row); returns a restore function. */
async function rewriteConsistently(c: ArchiveChunk, edit: (lines: ArchiveLine[]) => Promise<void>): Promise<() => Promise<void>> {
  const [object, manifest] = await Promise.all([bytesOf(c.objectKey), bytesOf(c.manifestKey)]);
  const lines = await decodeChunk(object);
  await edit(lines);
  const bytes = await encodeChunk(lines);
  const sha = await sha256Hex(bytes);
  const m = encodeManifest(buildManifest(lines, { key: c.objectKey, bytes: bytes.byteLength, sha256: sha }));
  await env.AUDIT_ARCHIVE.put(c.objectKey, bytes);
  await env.AUDIT_ARCHIVE.put(c.manifestKey, m);
  await setChunkDigests(c, sha, await sha256Hex(m));
  return async () => {
    await env.AUDIT_ARCHIVE.put(c.objectKey, object);
    await env.AUDIT_ARCHIVE.put(c.manifestKey, manifest);
    await setChunkDigests(c, c.objectSha256, c.manifestSha256);
  };
}

/** The event line of this file's first event in `lines`. */
const mine = (lines: ArchiveLine[]) => lines.find((l) => l.id === ids[0] && isEventLine(l))!;

beforeAll(async () => {
  const user = await createUser();
  const g = await createGroup({ token: user.token });
  const entity = await groupEntityOf(g.id);
  ids = await insertEvents(Array.from({ length: 1100 }, (_, i) => eventInput(entity, { id: user.id, name: user.name }, { details: { custom_message: `integrity ${i}` } })));
  await checkpointNow();
  index = await leafIndexes(ids);
  await moveAll();
  await insertEvents(Array.from({ length: 4 }, () => eventInput(entity, { id: user.id, name: user.name })));
  await checkpointNow();
  chunk = (await chunkContainingId(env.DB, ids[0]))!;
  from = index.get(ids[0])! - (index.get(ids[0])! % 1024);
  to = from + 1024;
  expect((await env.DB.prepare('SELECT COUNT(*) AS n FROM audit_log_leaves WHERE leaf_index BETWEEN ?1 AND ?2').bind(from, to - 1).first<{ n: number }>())!.n).toBe(0);
});

describe('the integrity check over moved leaves', () => {
  it('passes over wholly and partly moved blocks, by slices of every size', async () => {
    const last = index.get(ids[1099])!;
    // Hot leaves after the moved ones (the move's own events and four more), in slices of their own.
    const hot = (await coldBoundary(env.DB)).lastLeaf + 1;
    for (const [at, sliceLeaves] of [
      [hot, 1],
      [hot + 2, 2],
      [from, 2048],
      [from, 1024],
      [from + 8, 8],
      [index.get(ids[0])!, 2],
      [last, 2048],
      [last, 16],
      [to - 1, 4],
    ]) {
      const r = await checkIntegrity(env, null, { at, sliceLeaves });
      expect(r.failure, `at ${at} by ${sliceLeaves}`).toBeNull();
      expect(r.checked).not.toBeNull();
    }
    expect(await rehashColdLeaves(env, from, to)).toMatchObject({ problem: null });
    expect((await rehashColdLeaves(env, from, to)).hashes).toHaveLength(1024);
  });

  it('reports an events object overwritten with other bytes, and records the failure', async () => {
    const original = await bytesOf(chunk.objectKey);
    await env.AUDIT_ARCHIVE.put(chunk.objectKey, await encodeChunk([]));
    try {
      expect((await rehashColdLeaves(env, from, to)).problem).toMatch(/does not match its recorded SHA-256/);
      const r = await checkIntegrity(env, null, { at: from, sliceLeaves: 1024 });
      expect(r.failure).toMatch(/does not match its recorded SHA-256/);
      const failures = await env.DB.prepare("SELECT details FROM audit_events WHERE event_type = 'audit_log_integrity_failure' ORDER BY id DESC LIMIT 1").first<{ details: string }>();
      expect(JSON.parse(failures!.details).failure).toBe(r.failure);
    } finally {
      await env.AUDIT_ARCHIVE.put(chunk.objectKey, original);
      // Checkpoints resume once an administrator acknowledges it.
      expect((await api('POST', '/api/v4/audit_events/integrity/acknowledge', { token: ADMIN })).status).toBe(200);
    }
    expect((await checkIntegrity(env, null, { at: from, sliceLeaves: 1024 })).failure).toBeNull();
  });

  it('reports a manifest whose leaf hash was changed', async () => {
    const original = await bytesOf(chunk.manifestKey);
    const m = JSON.parse(new TextDecoder().decode(original));
    m.leaf_hashes[3] = m.leaf_hashes[4];
    await env.AUDIT_ARCHIVE.put(chunk.manifestKey, JSON.stringify(m));
    try {
      expect((await rehashColdLeaves(env, from, to)).problem).toMatch(/does not match its recorded SHA-256/);
    } finally {
      await env.AUDIT_ARCHIVE.put(chunk.manifestKey, original);
    }
    expect((await rehashColdLeaves(env, from, to)).problem).toBeNull();
  });

  it('reports an archived event altered with every digest rewritten to match', async () => {
    const restore = await rewriteConsistently(chunk, async (lines) => {
      const line = mine(lines);
      if (isEventLine(line)) line.author_name = 'Someone Else';
    });
    try {
      const moved = (await chunkContainingId(env.DB, ids[0]))!;
      expect(moved.objectSha256).not.toBe(chunk.objectSha256);
      expect((await rehashColdLeaves(env, from, to)).problem).toBe(`archived event ${ids[0]} (leaf ${index.get(ids[0])}) no longer matches its leaf hash`);
    } finally {
      await restore();
    }
    expect((await rehashColdLeaves(env, from, to)).problem).toBeNull();
  });

  it("reports an archived event altered together with its leaf hash: the block's root is not its stored node", async () => {
    const restore = await rewriteConsistently(chunk, async (lines) => {
      const line = mine(lines);
      if (!isEventLine(line)) return;
      line.author_name = 'Someone Else';
      line.leaf_hash = toBase64(await eventLeafHash(toAuditEvent(line), line.leaf_version));
    });
    try {
      const block = Math.floor(from / 1024);
      expect((await rehashColdLeaves(env, from, to)).problem).toBe(`the archived leaves of moved block ${block} do not give its stored level-10 node`);
      // A proof that needs the block's hashes fails rather than answer from the altered manifest.
      const proof = await api('GET', `/api/v4/audit_events/${ids[1]}/inclusion_proof`, { token: ADMIN });
      expect(proof.status).toBe(500);
    } finally {
      await restore();
    }
    expect((await rehashColdLeaves(env, from, to)).problem).toBeNull();
    expect((await api('GET', `/api/v4/audit_events/${ids[1]}/inclusion_proof`, { token: ADMIN })).status).toBe(200);
  });
});
