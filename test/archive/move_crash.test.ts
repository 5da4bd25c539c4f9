import { afterEach, describe, expect, it, vi } from 'vitest';
import { env } from 'cloudflare:workers';
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { handleScheduled } from '../../src/scheduled';
import type { Env } from '../../src/env';
import { createGroup, createUser } from '../support/api';
import { eventInput, groupEntityOf, insertEvents } from '../audit_log/support';
import { moveNextChunk, type Eligible } from '../../src/audit/archive_move';
import { coldBoundary } from '../../src/db/audit_archive';
import { runArchiveMove } from '../../src/audit/archive_run';
import { estimateHotSize } from '../../src/audit/archive_size';
import type { AuditEntity } from '../../src/audit/record';
import { anyAge, chunksBetween, drain, envWith, failingBatchDb, faultyBucket, hotIds, occurrences, seed, type BucketFault } from './move_support';

const DAY = 86_400_000;
const testEnv = env as unknown as Env;
const mine = (ids: readonly number[]): Eligible => {
  const set = new Set(ids);
  return (leaf) => set.has(leaf.eventId) && anyAge(leaf);
};
const bytesOf = async (key: string): Promise<Uint8Array> => new Uint8Array(await (await env.AUDIT_ARCHIVE.get(key))!.arrayBuffer());
const count = async (sql: string, ...params: unknown[]): Promise<number> =>
  (await env.DB.prepare(sql).bind(...params).first<{ n: number }>())!.n;

let entity: AuditEntity;
let author: { id: number; name: string };
const events = (n: number, extra: (i: number) => { createdAt?: string; eventType?: string } = () => ({})) =>
  Array.from({ length: n }, (_, i) => eventInput(entity, author, extra(i)));

async function setup(): Promise<void> {
  if (entity) return;
  const u = await createUser();
  author = { id: u.id, name: u.name };
  entity = await groupEntityOf((await createGroup()).id);
}

afterEach(() => vi.restoreAllMocks());

describe('the mover under failures', () => {
  const faults: BucketFault[] = ['put-events', 'put-manifest', 'get-throws', 'get-missing', 'get-other-bytes'];
  for (const fault of faults) {
    it(`loses nothing when the bucket fails (${fault}) and a rerun moves the chunk once, with the same keys and bytes`, async () => {
      await setup();
      const ids = await seed(events(40));
      const before = await coldBoundary(env.DB);
      const { bucket, puts } = faultyBucket(fault);
      await expect(moveNextChunk({ ...testEnv, AUDIT_ARCHIVE: bucket }, null, mine(ids))).rejects.toThrow();
      // Nothing left D1: every event is hot, the cold prefix did not move, no chunk row.
      expect(await hotIds(ids)).toEqual(ids);
      expect(await coldBoundary(env.DB)).toEqual(before);
      expect(await chunksBetween(ids[0], ids[ids.length - 1])).toEqual([]);

      const chunk = await moveNextChunk(testEnv, null, mine(ids));
      expect(chunk).toMatchObject({ firstId: ids[0], lastId: ids[ids.length - 1], eventCount: 40 });
      const attemptedEvents = puts.get(chunk!.objectKey);
      expect(attemptedEvents).toBeDefined();
      expect(await bytesOf(chunk!.objectKey)).toEqual(attemptedEvents);
      if (fault !== 'put-events') expect(await bytesOf(chunk!.manifestKey)).toEqual(puts.get(chunk!.manifestKey));
      expect(await moveNextChunk(testEnv, null, mine(ids))).toBeNull();
      expect([...(await occurrences(ids)).values()].every((n) => n === 1)).toBe(true);
      expect(await hotIds(ids)).toEqual([]);
    });
  }

  it('loses nothing when the D1 transaction fails, and a rerun moves the chunk once with the same bytes', async () => {
    await setup();
    const ids = await seed(events(30));
    const before = await coldBoundary(env.DB);
    const { bucket, puts } = faultyBucket('get-missing');
    // The objects are written for real (the bucket's get is not used here), then the transaction throws.
    await expect(moveNextChunk({ ...testEnv, DB: failingBatchDb() }, null, mine(ids))).rejects.toThrow('injected: D1 transaction failed');
    expect(await hotIds(ids)).toEqual(ids);
    expect(await coldBoundary(env.DB)).toEqual(before);
    expect(await chunksBetween(ids[0], ids[ids.length - 1])).toEqual([]);
    const [objectKey] = (await env.AUDIT_ARCHIVE.list({ prefix: 'events/' })).objects.map((o) => o.key).filter((k) => k.includes(String(ids[0]).padStart(16, '0')));
    expect(objectKey).toBeDefined();
    const orphan = await bytesOf(objectKey);

    await expect(moveNextChunk({ ...testEnv, AUDIT_ARCHIVE: bucket }, null, mine(ids))).rejects.toThrow();
    const chunk = await moveNextChunk(testEnv, null, mine(ids));
    expect(chunk!.objectKey).toBe(objectKey);
    expect(await bytesOf(objectKey)).toEqual(orphan);
    expect(puts.get(objectKey)).toEqual(orphan);
    expect([...(await occurrences(ids)).values()].every((n) => n === 1)).toBe(true);
  });

  it('moves a chunk once when two movers race: one returns null, one chunk row, one set of counts, one archive event', async () => {
    await setup();
    const ids = await seed(events(50, (i) => ({ eventType: i % 2 ? 'audit_operation' : 'audit_events_viewed' })));
    const results = await Promise.all([moveNextChunk(testEnv, null, mine(ids)), moveNextChunk(testEnv, null, mine(ids))]);
    const moved = results.filter((r) => r !== null);
    expect(moved).toHaveLength(1);
    const chunk = moved[0]!;
    expect(chunk).toMatchObject({ firstId: ids[0], lastId: ids[ids.length - 1], eventCount: 50 });
    expect(await chunksBetween(ids[0], ids[ids.length - 1])).toHaveLength(1);
    expect(await count('SELECT COALESCE(SUM(n), 0) AS n FROM audit_archive_counts WHERE first_leaf = ?1', chunk.firstLeaf)).toBe(50);
    expect(await count('SELECT COUNT(*) AS n FROM audit_archive_counts WHERE first_leaf = ?1', chunk.firstLeaf)).toBe(2);
    expect(
      await count("SELECT COUNT(*) AS n FROM audit_events WHERE event_type = 'audit_events_archived' AND json_extract(details, '$.object_key') = ?1", chunk.objectKey),
    ).toBe(1);
    expect([...(await occurrences(ids)).values()].every((n) => n === 1)).toBe(true);
  });

  it('stops the chunk before an event that still has its outbox row', async () => {
    await setup();
    const ids = await seed(events(6), new Set([3]));
    try {
      await drain();
      expect((await coldBoundary(env.DB)).lastId).toBe(ids[2]);
      expect(await hotIds(ids)).toEqual(ids.slice(3));
      // Even the size rule does not pass it.
      const r = await runArchiveMove(envWith({ AUDIT_HOT_DAYS: '0', AUDIT_HOT_MAX_MB: '1' }), null, new Date(Date.now() + DAY));
      expect(r.chunks).toBe(0);
      expect(await hotIds(ids)).toEqual(ids.slice(3));
    } finally {
      await env.DB.prepare('DELETE FROM audit_event_outbox WHERE event_id = ?1').bind(ids[3]).run();
    }
    await drain();
    expect(await hotIds(ids)).toEqual([]);
    expect([...(await occurrences(ids)).values()].every((n) => n === 1)).toBe(true);
  });

  it('keeps pending and failed deliveries (with their attempts) of moved events and deletes delivered ones with theirs', async () => {
    await setup();
    const ids = await seed(events(3));
    const now = new Date().toISOString();
    const statuses = ['pending', 'failed', 'delivered'] as const;
    const deliveryIds: number[] = [];
    for (const [i, status] of statuses.entries()) {
      const d = await env.DB.prepare(
        `INSERT INTO deliveries (event_id, destination_id, status, attempts, created_at, updated_at) VALUES (?1, -7, ?2, 1, ?3, ?3) RETURNING id`,
      )
        .bind(ids[i], status, now)
        .first<{ id: number }>();
      deliveryIds.push(d!.id);
      await env.DB.prepare(
        `INSERT INTO delivery_attempts (delivery_id, attempt, status, http_status, duration_ms, created_at, destination_id) VALUES (?1, 1, ?2, 500, 5, ?3, -7)`,
      )
        .bind(d!.id, status === 'delivered' ? 'delivered' : 'failed', now)
        .run();
    }
    await drain(mine(ids));
    expect(await hotIds(ids)).toEqual([]);
    const left = await env.DB.prepare('SELECT id, status FROM deliveries WHERE id IN (?1, ?2, ?3) ORDER BY id').bind(...deliveryIds).all<{ id: number; status: string }>();
    expect(left.results).toEqual([
      { id: deliveryIds[0], status: 'pending' },
      { id: deliveryIds[1], status: 'failed' },
    ]);
    const attempts = await env.DB.prepare('SELECT delivery_id FROM delivery_attempts WHERE delivery_id IN (?1, ?2, ?3) ORDER BY delivery_id')
      .bind(...deliveryIds)
      .all<{ delivery_id: number }>();
    expect(attempts.results.map((a) => a.delivery_id)).toEqual(deliveryIds.slice(0, 2));
    // Left for no sweep to find: these deliveries name no destination.
    await env.DB.prepare('DELETE FROM delivery_attempts WHERE delivery_id IN (?1, ?2)').bind(deliveryIds[0], deliveryIds[1]).run();
    await env.DB.prepare('DELETE FROM deliveries WHERE id IN (?1, ?2)').bind(deliveryIds[0], deliveryIds[1]).run();
  });
});

describe('the scheduled run', () => {
  it('with AUDIT_HOT_DAYS=7 moves events created more than 7 days before now, and no newer one', async () => {
    await setup();
    const now = new Date();
    const ago = (days: number) => new Date(now.getTime() - days * DAY).toISOString();
    // 30 days, 8 days, 7 days and 1 minute old, then 7 days less 1 minute, and 1 day.
    const ids = await seed(events(5, (i) => ({ createdAt: [ago(30), ago(8), ago(7 + 1 / 1440), ago(7 - 1 / 1440), ago(1)][i] })));
    const r = await runArchiveMove(envWith({ AUDIT_HOT_DAYS: '7' }), null, now);
    expect(r).toMatchObject({ skipped: null, chunks: 1, events: 3, bySize: 0, firstId: ids[0], lastId: ids[2], stoppedBy: 'done' });
    expect(await hotIds(ids)).toEqual(ids.slice(3));
    // Unset, the default is 7 days too.
    expect((await runArchiveMove(envWith({ AUDIT_HOT_DAYS: undefined }), null, now)).chunks).toBe(0);
    expect((await runArchiveMove(envWith({ AUDIT_HOT_DAYS: '7' }), null, new Date(now.getTime() + DAY))).lastId).toBe(ids[3]);
    expect(await hotIds(ids)).toEqual(ids.slice(4));
  });

  it('with AUDIT_HOT_DAYS=0 moves every event that has its leaf', async () => {
    await setup();
    const ids = await seed(events(20));
    const r = await runArchiveMove(envWith({ AUDIT_HOT_DAYS: '0' }), null, new Date(Date.now() + 1000));
    expect(r.lastId).toBeGreaterThanOrEqual(ids[ids.length - 1]);
    expect(await hotIds(ids)).toEqual([]);
  });

  it('moves nothing when a setting is malformed, and logs it once', async () => {
    await setup();
    const ids = await seed(events(5));
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    for (const vars of [{ AUDIT_HOT_DAYS: '7 days' }, { AUDIT_HOT_DAYS: '0', AUDIT_HOT_MAX_MB: '0' }, { AUDIT_HOT_DAYS: '-1' }, { AUDIT_HOT_DAYS: '0', AUDIT_HOT_MAX_MB: '1.5' }]) {
      const first = await runArchiveMove(envWith(vars), null, new Date(Date.now() + DAY));
      const again = await runArchiveMove(envWith(vars), null, new Date(Date.now() + DAY));
      expect(first).toMatchObject({ chunks: 0, stoppedBy: null });
      expect(first.skipped).toMatch(/must be a whole number/);
      expect(again.skipped).toBe(first.skipped);
    }
    expect(error).toHaveBeenCalledTimes(4);
    expect(String(error.mock.calls[0][0])).toContain('AUDIT_HOT_DAYS must be a whole number of days from 0 to 36500 (got "7 days"); the audit archive move is skipped');
    expect(await hotIds(ids)).toEqual(ids);
  });

  it('runs in the Cron Trigger after the tree builder, with its summary line', async () => {
    await setup();
    // Events without leaves yet: the cron's "audit log tree" job gives them theirs first.
    const ids = await insertEvents(events(4));
    const log = vi.spyOn(console, 'log');
    const ctx = createExecutionContext();
    await handleScheduled(createScheduledController({ cron: '* * * * *' }) as ScheduledController, envWith({ AUDIT_HOT_DAYS: '0' }), ctx);
    await waitOnExecutionContext(ctx);
    const lines = log.mock.calls.map((c) => String(c[0]));
    const tree = lines.findIndex((l) => l.startsWith('audit log tree: appended'));
    const archive = lines.findIndex((l) => /^audit archive: moved \d+ events \(ids \d+ to \d+\) in \d+ chunks?$/.test(l));
    expect(tree).toBeGreaterThanOrEqual(0);
    expect(archive).toBeGreaterThan(tree);
    expect(await hotIds(ids)).toEqual([]);
  });

  it('bounds a run by its chunk count and by its time budget; a following run continues', async () => {
    await setup();
    // More than a block: at least two chunks are due.
    const ids = await seed(events(1100));
    const later = new Date(Date.now() + DAY);
    const byCount = await runArchiveMove(envWith({ AUDIT_HOT_DAYS: '0' }), null, later, { maxChunks: 1 });
    expect(byCount).toMatchObject({ chunks: 1, firstId: ids[0], stoppedBy: 'chunks' });
    expect((await hotIds(ids)).length).toBeGreaterThan(0);
    const byTime = await runArchiveMove(envWith({ AUDIT_HOT_DAYS: '0' }), null, later, { budgetMs: 0 });
    expect(byTime).toMatchObject({ chunks: 1, firstId: byCount.lastId! + 1, stoppedBy: 'time' });
    await drain();
    expect(await hotIds(ids)).toEqual([]);
  });
});

const MB = 1024 * 1024;

describe('the size rule and what a move leaves in D1', () => {
  it('moves recent events oldest first while the estimate is above AUDIT_HOT_MAX_MB, then stops; moved blocks leave only their chunk, counts and high nodes', async () => {
    await setup();
    const types = ['audit_operation', 'audit_events_viewed'];
    const other = await createUser();
    const ids = await seed(
      Array.from({ length: 5000 }, (_, i) => eventInput(entity, i % 4 < 2 ? author : { id: other.id, name: other.name }, { eventType: types[i % 2] })),
    );
    const leafOf = async (id: number) => (await env.DB.prepare('SELECT leaf_index AS n FROM audit_log_leaves WHERE event_id = ?1').bind(id).first<{ n: number }>())!.n;
    const [firstLeaf, lastLeaf] = [await leafOf(ids[0]), await leafOf(ids[ids.length - 1])];
    const before = await estimateHotSize(testEnv, (await coldBoundary(env.DB)).lastId);
    expect(before.bytes).toBeGreaterThan(MB);
    console.log(`size rule: ${before.hotEvents} hot events estimated at ${before.bytesPerEvent} bytes each`);

    const sized = envWith({ AUDIT_HOT_DAYS: '36500', AUDIT_HOT_MAX_MB: '1' });
    const r = await runArchiveMove(sized, null);
    expect(r.chunks).toBeGreaterThan(0);
    expect(r).toMatchObject({ bySize: r.chunks, firstId: ids[0], stoppedBy: 'done' });
    expect(r.hotBytes!).toBeLessThanOrEqual(MB);
    const hot = await hotIds(ids);
    expect(hot.length).toBeGreaterThan(0);
    expect(hot).toEqual(ids.slice(ids.length - hot.length));
    expect(await runArchiveMove(sized, null)).toMatchObject({ chunks: 0, stoppedBy: 'done' });

    await runArchiveMove(envWith({ AUDIT_HOT_DAYS: '0' }), null, new Date(Date.now() + 1000));
    expect(await hotIds(ids)).toEqual([]);
    expect([...(await occurrences(ids)).values()].every((n) => n === 1)).toBe(true);

    // The complete blocks of these events: no leaf, no node below level 10, one level-10 node each.
    const b0 = Math.ceil(firstLeaf / 1024);
    const b1 = Math.floor((lastLeaf + 1) / 1024) - 1;
    expect(b1 - b0 + 1).toBeGreaterThanOrEqual(3);
    const [lo, hi] = [b0 * 1024, (b1 + 1) * 1024 - 1];
    expect(await count('SELECT COUNT(*) AS n FROM audit_log_leaves WHERE leaf_index BETWEEN ?1 AND ?2', lo, hi)).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM audit_log_nodes WHERE level < 10 AND (idx << level) BETWEEN ?1 AND ?2', lo, hi)).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM audit_log_nodes WHERE level = 10 AND idx BETWEEN ?1 AND ?2', b0, b1)).toBe(b1 - b0 + 1);

    // What they leave: chunk rows, counts rows, nodes of level 10 and above (row bytes: stored
    // lengths, 8 per integer, 16 per row, and each index entry's key plus 8).
    const chunkBytes = await count(
      `SELECT COALESCE(SUM(2 * (length(object_key) + length(manifest_key)) + length(object_sha256) + length(manifest_sha256) + length(moved_at)
         + COALESCE(length(first_at), 0) + COALESCE(length(last_at), 0) + 8 * 7 + 16 + 16 + 8 * 3), 0) AS n
       FROM audit_archive_chunks WHERE first_leaf BETWEEN ?1 AND ?2`,
      lo,
      hi,
    );
    const countBytes = await count(
      `SELECT COALESCE(SUM(2 * COALESCE(length(scope_path), 0) + length(event_type) + length(entity_type) + 8 * 6 + 16 + 4 * 16), 0) AS n
       FROM audit_archive_counts WHERE first_leaf BETWEEN ?1 AND ?2`,
      lo,
      hi,
    );
    const nodeBytes = await count(
      'SELECT COALESCE(SUM(length(hash) + 16 + 8), 0) AS n FROM audit_log_nodes WHERE level >= 10 AND (idx << level) >= ?1 AND ((idx + 1) << level) - 1 <= ?2',
      lo,
      hi,
    );
    const perBlock = (chunkBytes + countBytes + nodeBytes) / (b1 - b0 + 1);
    console.log(`residue per 1,024 moved events: ${perBlock} bytes (chunk rows ${chunkBytes}, counts ${countBytes}, nodes ${nodeBytes} over ${b1 - b0 + 1} blocks)`);
    expect(perBlock).toBeLessThan(RESIDUE_PER_BLOCK);
  });
});

/** The D1 residue of 1,024 moved events with 4 filter combinations (README, "Cold audit log (R2)"). */
const RESIDUE_PER_BLOCK = 2048;
