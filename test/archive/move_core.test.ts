import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { createGroup, createUser } from '../support/api';
import { eventInput, groupEntityOf, insertEvents } from '../audit_log/support';
import { appendPendingLeaves } from '../../src/audit/log_builder';
import { moveNextChunk, olderThan } from '../../src/audit/archive_move';
import { decodeChunk, decodeManifest, isEventLine } from '../../src/audit/archive_format';
import { treeHead } from '../../src/db/audit_log_tree';

const count = async (sql: string): Promise<number> => (await env.DB.prepare(sql).first<{ n: number }>())!.n;

describe('moving a block of events to the archive', () => {
  it('moves whole blocks oldest first, deletes their rows, leaves and low nodes, and keeps the tree growing', async () => {
    const u = await createUser();
    const g = await createGroup();
    const entity = await groupEntityOf(g.id);
    await insertEvents(Array.from({ length: 1500 }, () => eventInput(entity, u)));
    await appendPendingLeaves(env);
    const before = await treeHead(env.DB);
    const eventsBefore = await count('SELECT COUNT(*) AS n FROM audit_events');
    const cutoff = olderThan('9999-01-01T00:00:00.000Z');

    const first = await moveNextChunk(env, null, cutoff);
    expect(first).toMatchObject({ firstLeaf: 0, lastLeaf: 1023 });
    const lines = await decodeChunk(new Uint8Array(await (await env.AUDIT_ARCHIVE.get(first!.objectKey))!.arrayBuffer()));
    expect(lines).toHaveLength(1024);
    expect(lines.every(isEventLine)).toBe(true);
    const manifest = decodeManifest(new Uint8Array(await (await env.AUDIT_ARCHIVE.get(first!.manifestKey))!.arrayBuffer()));
    expect(manifest.leaf_hashes).toHaveLength(1024);
    expect(manifest.object.sha256).toBe(first!.objectSha256);
    // The block is complete: its leaves and nodes below level 10 are gone, its level-10 node stays.
    expect(await count('SELECT COUNT(*) AS n FROM audit_log_leaves WHERE leaf_index < 1024')).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM audit_log_nodes WHERE level < 10 AND (idx << level) < 1024')).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM audit_log_nodes WHERE level = 10 AND idx = 0')).toBe(1);
    // 1,024 events left D1, one archive event came in.
    expect(await count('SELECT COUNT(*) AS n FROM audit_events')).toBe(eventsBefore - 1024 + 1);

    // The rest moves up to the newest leaf; the partial block keeps its leaves in D1.
    const second = await moveNextChunk(env, null, cutoff);
    expect(second!.firstLeaf).toBe(1024);
    expect(second!.lastLeaf).toBe(before.size - 1);
    expect(await count('SELECT COUNT(*) AS n FROM audit_log_leaves WHERE leaf_index >= 1024')).toBe(before.size - 1024);
    // Nothing is left to move until the archive events themselves have leaves.
    expect(await moveNextChunk(env, null, cutoff)).toBeNull();
    await appendPendingLeaves(env);
    expect((await treeHead(env.DB)).size).toBe(before.size + 2);
  });
});

describe('reading archive objects', () => {
  it('reads a moved chunk by id and by leaves, checked against its recorded SHA-256', async () => {
    const { chunkContainingId, chunksForLeaves } = await import('../../src/db/audit_archive');
    const { readChunkLines, readChunkManifest, ArchiveObjectError } = await import('../../src/audit/archive_objects');
    const chunk = await chunkContainingId(env.DB, 5);
    expect(chunk).toMatchObject({ firstLeaf: 0 });
    const lines = await readChunkLines(env.AUDIT_ARCHIVE, chunk!);
    expect(lines.find((l) => l.id === 5)).toBeDefined();
    expect((await readChunkManifest(env.AUDIT_ARCHIVE, chunk!)).leaf_hashes[0]).toBe(lines[0].leaf_hash);
    expect((await chunksForLeaves(env.DB, 1000, 1030)).map((c) => c.firstLeaf)).toEqual([0, 1024]);
    expect(await chunkContainingId(env.DB, 10_000_000)).toBeNull();
    await expect(readChunkLines(env.AUDIT_ARCHIVE, { ...chunk!, objectSha256: '0'.repeat(64) })).rejects.toBeInstanceOf(ArchiveObjectError);
  });
});
