import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { createGroup, createUser } from '../support/api';
import { eventInput, groupEntityOf, insertEvents } from '../audit_log/support';
import { appendPendingLeaves } from '../../src/audit/log_builder';
import { moveNextChunk, olderThan } from '../../src/audit/archive_move';
import { decodeChunk, decodeManifest, isEventLine } from '../../src/audit/archive_format';
import { treeHead } from '../../src/db/audit_log_tree';
import { coldBoundary } from '../../src/db/audit_archive';

const count = async (sql: string): Promise<number> => (await env.DB.prepare(sql).first<{ n: number }>())!.n;

// Other archive test files may share this database: assertions are about this file's events and
// the chunks it moved, never about global counts.
describe('moving a block of events to the archive', () => {
  it('moves whole blocks oldest first, deletes their rows, leaves and low nodes, and keeps the tree growing', async () => {
    const u = await createUser();
    const g = await createGroup();
    const entity = await groupEntityOf(g.id);
    const ids = await insertEvents(Array.from({ length: 2100 }, () => eventInput(entity, u)));
    await appendPendingLeaves(env);
    const cutoff = olderThan('9999-01-01T00:00:00.000Z');
    const mine = async (): Promise<number> =>
      (await env.DB.prepare('SELECT COUNT(*) AS n FROM audit_events WHERE id BETWEEN ?1 AND ?2').bind(ids[0], ids[ids.length - 1]).first<{ n: number }>())!.n;

    // Move until a chunk completes a block that holds only events of this file.
    let complete = null;
    for (let i = 0; i < 10 && !complete; i++) {
      const chunk = await moveNextChunk(env, null, cutoff);
      expect(chunk).not.toBeNull();
      if ((chunk!.lastLeaf + 1) % 1024 === 0 && chunk!.firstId >= ids[0] && chunk!.lastId <= ids[ids.length - 1] && chunk!.firstLeaf % 1024 === 0) complete = chunk;
      if (chunk!.lastId >= ids[ids.length - 1]) break;
    }
    expect(complete).not.toBeNull();
    const block = complete!.firstLeaf / 1024;
    const lines = await decodeChunk(new Uint8Array(await (await env.AUDIT_ARCHIVE.get(complete!.objectKey))!.arrayBuffer()));
    expect(lines).toHaveLength(1024);
    expect(lines.every(isEventLine)).toBe(true);
    const manifest = decodeManifest(new Uint8Array(await (await env.AUDIT_ARCHIVE.get(complete!.manifestKey))!.arrayBuffer()));
    expect(manifest.leaf_hashes).toHaveLength(1024);
    expect(manifest.object.sha256).toBe(complete!.objectSha256);
    // The block is complete: its leaves and nodes below level 10 are gone, its level-10 node stays.
    const lo = block * 1024;
    expect(await count(`SELECT COUNT(*) AS n FROM audit_log_leaves WHERE leaf_index BETWEEN ${lo} AND ${lo + 1023}`)).toBe(0);
    expect(await count(`SELECT COUNT(*) AS n FROM audit_log_nodes WHERE level < 10 AND (idx << level) BETWEEN ${lo} AND ${lo + 1023}`)).toBe(0);
    expect(await count(`SELECT COUNT(*) AS n FROM audit_log_nodes WHERE level = 10 AND idx = ${block}`)).toBe(1);

    // Everything of this file moves; the tree keeps its size and grows on.
    while ((await coldBoundary(env.DB)).lastId < ids[ids.length - 1]) expect(await moveNextChunk(env, null, cutoff)).not.toBeNull();
    expect(await mine()).toBe(0);
    const size = (await treeHead(env.DB)).size;
    await insertEvents([eventInput(entity, u)]);
    await appendPendingLeaves(env);
    expect((await treeHead(env.DB)).size).toBeGreaterThan(size);
  });
});

describe('reading archive objects', () => {
  it('reads a moved chunk by id and by leaves, checked against its recorded SHA-256', async () => {
    const { chunkContainingId, chunksForLeaves } = await import('../../src/db/audit_archive');
    const { readChunkLines, readChunkManifest, ArchiveObjectError } = await import('../../src/audit/archive_objects');
    const first = (await env.DB.prepare('SELECT first_id, first_leaf FROM audit_archive_chunks ORDER BY first_leaf LIMIT 1').first<{ first_id: number; first_leaf: number }>())!;
    const chunk = await chunkContainingId(env.DB, first.first_id);
    expect(chunk).toMatchObject({ firstLeaf: first.first_leaf });
    const lines = await readChunkLines(env.AUDIT_ARCHIVE, chunk!);
    expect(lines[0].id).toBe(first.first_id);
    expect((await readChunkManifest(env.AUDIT_ARCHIVE, chunk!)).leaf_hashes[0]).toBe(lines[0].leaf_hash);
    const across = await chunksForLeaves(env.DB, chunk!.lastLeaf, chunk!.lastLeaf + 1);
    expect(across[0].firstLeaf).toBe(chunk!.firstLeaf);
    expect(across.length).toBe(2);
    expect(await chunkContainingId(env.DB, 10_000_000)).toBeNull();
    await expect(readChunkLines(env.AUDIT_ARCHIVE, { ...chunk!, objectSha256: '0'.repeat(64) })).rejects.toBeInstanceOf(ArchiveObjectError);
  });
});
