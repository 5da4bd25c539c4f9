/**
 * The tree builder and checkpoints after a move (issue 19): when EVERY leaf built so far has moved
 * (the tree ends on a block boundary and D1 holds no leaf), the builder appends the next events
 * after the moved leaves, and the checkpoint signed then extends the one signed before the move
 * (consistency proof verified with src/tlog). Other archive test files may share the database and
 * append concurrently: the setup retries until it gets the tree to end on a block boundary.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { createGroup, createUser } from '../support/api';
import { eventInput, groupEntityOf, insertEvents } from '../audit_log/support';
import { appendPendingLeaves } from '../../src/audit/log_builder';
import { CHUNK_LEAVES } from '../../src/audit/archive_format';
import { coldBoundary } from '../../src/db/audit_archive';
import { treeHead } from '../../src/db/audit_log_tree';
import { fromBase64 } from '../../src/tlog/hash';
import { verifyConsistency, verifyInclusion } from '../../src/tlog/tree';
import { buildTree, bytesOf, checkpointNow, getOk, leafIndexes, moveAll, type Verified } from './tlog_support';

const leavesInD1 = async (): Promise<number> => (await env.DB.prepare('SELECT COUNT(*) AS n FROM audit_log_leaves').first<{ n: number }>())!.n;

let before: Verified;
let padding: number[] = [];
let entity: Awaited<ReturnType<typeof groupEntityOf>>;
let author: { id: number; name: string };

beforeAll(async () => {
  const user = await createUser();
  const g = await createGroup({ token: user.token });
  entity = await groupEntityOf(g.id);
  author = { id: user.id, name: user.name };
  for (let attempt = 0; attempt < 5; attempt++) {
    await moveAll();
    await buildTree();
    const size = (await treeHead(env.DB)).size;
    const pad = (CHUNK_LEAVES - (size % CHUNK_LEAVES)) % CHUNK_LEAVES;
    padding = await insertEvents(Array.from({ length: pad }, () => eventInput(entity, author)));
    before = await checkpointNow();
    if (before.size % CHUNK_LEAVES !== 0) continue;
    // Move everything built (the checkpoint's event and the move's own are recorded after the tree's end, not built yet).
    await moveAll(false);
    if ((await coldBoundary(env.DB)).lastLeaf === before.size - 1 && (await leavesInD1()) === 0) return;
  }
  throw new Error('could not get a tree whose every built leaf moved (other archive tests kept appending)');
});

describe('the builder after every built leaf moved', () => {
  it('keeps the size, appends the next leaves after the moved ones, and the next checkpoint extends the last', async () => {
    expect((await treeHead(env.DB)).size).toBe(before.size);
    const hot = await insertEvents([eventInput(entity, author)]);
    const { appended, size } = await appendPendingLeaves(env);
    expect(appended).toBeGreaterThanOrEqual(2);
    expect(size).toBe(before.size + appended);
    const index = await leafIndexes(hot);
    expect(index.get(hot[0])).toBeGreaterThanOrEqual(before.size);
    const { lastLeaf } = await coldBoundary(env.DB);
    expect(lastLeaf).toBe(before.size - 1);

    const after = await checkpointNow();
    expect(after.size).toBeGreaterThan(before.size);
    const c = await getOk(`/api/v4/audit_events/consistency_proof?first=${before.size}&second=${after.size}`);
    expect(await verifyConsistency(before.size, after.size, before.root, after.root, bytesOf(c.hashes))).toBe(true);
    // The first new leaf and a moved one are both proved against the new checkpoint.
    for (const id of [hot[0], ...(padding.length > 0 ? [padding[padding.length - 1]] : [])]) {
      const p = await getOk(`/api/v4/audit_events/${id}/inclusion_proof`);
      expect(await verifyInclusion(p.leaf_index, after.size, fromBase64(p.leaf_hash)!, bytesOf(p.hashes), after.root), `event ${id}`).toBe(true);
    }
  });
});
