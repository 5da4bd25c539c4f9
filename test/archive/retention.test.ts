import { beforeAll, describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import worker from '../../src/index';
import { createGroup, createUser } from '../support/api';
import { eventInput, groupEntityOf, insertEvents } from '../audit_log/support';
import { appendPendingLeaves } from '../../src/audit/log_builder';
import { moveNextChunk, olderThan } from '../../src/audit/archive_move';
import { applyArchiveRetention } from '../../src/audit/archive_retention';
import { ArchiveObjectError, readChunkLines, readChunkManifest } from '../../src/audit/archive_objects';
import { toArchiveChunk, type ArchiveChunk, type ArchiveChunkRow } from '../../src/db/audit_archive';

/**
 * Retention over the cold archive. These events are dated January 1971 (older than any other
 * test's) and every run passes `now` explicitly, so retention only ever reaches chunks made of
 * these events. Each set of events is moved as chunks of its own: first everything before it
 * (whoever created it), then exactly its events.
 */
const RETAIN = { ...env, AUDIT_RETENTION_DAYS: '3' };
const DAY = (d: number, time = '12:00:00.000') => `1971-01-${String(d).padStart(2, '0')}T${time}Z`;
const ANY_AGE = olderThan('9999-01-01T00:00:00.000Z');

async function chunkRow(firstLeaf: number): Promise<ArchiveChunk> {
  const row = await env.DB.prepare('SELECT * FROM audit_archive_chunks WHERE first_leaf = ?1').bind(firstLeaf).first<ArchiveChunkRow>();
  return toArchiveChunk(row!);
}

async function countsOf(chunks: readonly ArchiveChunk[]): Promise<number> {
  const leaves = JSON.stringify(chunks.map((c) => c.firstLeaf));
  const row = await env.DB.prepare('SELECT COALESCE(SUM(n), 0) AS n FROM audit_archive_counts WHERE first_leaf IN (SELECT value FROM json_each(?1))')
    .bind(leaves)
    .first<{ n: number }>();
  return row!.n;
}

/** The retention events recorded with this cutoff, oldest first. */
async function retentionEvents(cutoff: string): Promise<{ details: Record<string, unknown> }[]> {
  const rows = await env.DB.prepare(
    "SELECT details FROM audit_events WHERE event_type = 'audit_events_retention_applied' AND json_extract(details, '$.deleted_before') = ?1 ORDER BY id",
  )
    .bind(cutoff)
    .all<{ details: string }>();
  return rows.results.map((r) => ({ details: JSON.parse(r.details) }));
}

/** Move exactly these events (ids ascending, just inserted) as chunks of their own; returns those chunks. */
async function moveExactly(ids: number[]): Promise<ArchiveChunk[]> {
  while ((await appendPendingLeaves(env)).appended > 0);
  const mine = new Set(ids);
  while (await moveNextChunk(env, null, (leaf) => leaf.eventId < ids[0] && ANY_AGE(leaf)));
  const chunks: ArchiveChunk[] = [];
  for (let c = await moveNextChunk(env, null, (leaf) => mine.has(leaf.eventId)); c; c = await moveNextChunk(env, null, (leaf) => mine.has(leaf.eventId))) {
    chunks.push(c);
  }
  expect(chunks.length).toBeGreaterThan(0);
  expect(chunks[0].firstId).toBe(ids[0]);
  expect(chunks[chunks.length - 1].lastId).toBe(ids[ids.length - 1]);
  expect(chunks.reduce((n, c) => n + c.eventCount, 0)).toBe(ids.length);
  return chunks;
}

const exists = async (key: string) => (await env.AUDIT_ARCHIVE.head(key)) !== null;

describe('retention of the cold archive (AUDIT_RETENTION_DAYS over R2 chunks)', () => {
  let groupId: number;
  /** Old: all before 1971-01-07. Straddling: one before, one after. Newer, Racing: later days. */
  let old: ArchiveChunk[];
  let straddling: ArchiveChunk[];
  let newer: ArchiveChunk[];
  let racing: ArchiveChunk[];
  let oldIds: number[];
  let at: (createdAt: string) => ReturnType<typeof eventInput>;

  beforeAll(async () => {
    const u = await createUser();
    const g = await createGroup();
    groupId = g.id;
    const entity = await groupEntityOf(g.id);
    at = (createdAt: string) => eventInput(entity, u, { createdAt });
    oldIds = await insertEvents([1, 2, 3, 4, 5].map((d) => at(DAY(d))));
    old = await moveExactly(oldIds);
    straddling = await moveExactly(await insertEvents([at(DAY(6)), at(DAY(8))]));
    newer = await moveExactly(await insertEvents([at(DAY(9, '08:00:00.000')), at(DAY(9, '09:00:00.000'))]));
    racing = await moveExactly(await insertEvents([at(DAY(14))]));
  });

  it('keeps everything when retention is off (unset, 0) or malformed', async () => {
    const now = new Date('1999-01-01T00:00:00.000Z');
    for (const days of [undefined, '', '0', 'forever', '-1']) {
      const r = await applyArchiveRetention({ ...env, AUDIT_RETENTION_DAYS: days }, null, now);
      expect(r).toMatchObject({ cutoff: null, chunks: 0, recorded: 0 });
    }
    for (const c of [...old, ...straddling, ...newer, ...racing]) {
      expect(await exists(c.objectKey)).toBe(true);
      expect((await chunkRow(c.firstLeaf)).deletedAt).toBeNull();
    }
  });

  it('deletes the events objects of chunks whose newest event is past the cutoff, keeps their manifests, drops their counts, records it', async () => {
    const cutoff = '1971-01-07T00:00:00.000Z';
    const keptBefore = await countsOf([...straddling, ...newer, ...racing]);
    expect(await countsOf(old)).toBe(5);
    const groupTotal = () => env.DB.prepare('SELECT SUM(n) AS n FROM audit_archive_counts WHERE root_namespace_id = ?1').bind(groupId).first<{ n: number }>();
    const groupBefore = (await groupTotal())!.n;
    const r = await applyArchiveRetention(RETAIN, null, new Date('1971-01-10T15:00:00.000Z'));
    expect(r).toMatchObject({ days: 3, cutoff, chunks: old.length, events: 5, recorded: 1 });

    for (const c of old) {
      expect(await exists(c.objectKey)).toBe(false);
      expect(await exists(c.manifestKey)).toBe(true);
      const row = await chunkRow(c.firstLeaf);
      expect(row.deletedAt).not.toBeNull();
      // Proofs still have every leaf hash; the events are gone to every reader.
      expect((await readChunkManifest(env.AUDIT_ARCHIVE, row)).leaf_hashes).toHaveLength(c.lastLeaf - c.firstLeaf + 1);
      await expect(readChunkLines(env.AUDIT_ARCHIVE, row)).rejects.toBeInstanceOf(ArchiveObjectError);
    }
    // The listings' totals over cold data (sums of the counts rows) no longer count them.
    expect(await countsOf(old)).toBe(0);
    expect((await groupTotal())!.n).toBe(groupBefore - 5);
    // Nothing newer is touched: the straddling chunk's oldest event is past the cutoff, its newest is not.
    for (const c of [...straddling, ...newer, ...racing]) {
      expect(await exists(c.objectKey)).toBe(true);
      expect((await chunkRow(c.firstLeaf)).deletedAt).toBeNull();
    }
    expect(await countsOf([...straddling, ...newer, ...racing])).toBe(keptBefore);

    const records = await retentionEvents(cutoff);
    expect(records).toHaveLength(1);
    expect(records[0].details).toMatchObject({
      retention_days: 3,
      deleted_count: 5,
      first_day: '1971-01-01',
      last_day: '1971-01-05',
      author_name: 'Audit log retention',
      archive_chunks: old.map((c) => ({ object_key: c.objectKey, manifest_key: c.manifestKey, first_id: c.firstId, last_id: c.lastId, events: c.eventCount })),
    });
    expect(records[0].details.archive_chunks).toEqual(
      old.map((c) => expect.objectContaining({ first_leaf: c.firstLeaf, last_leaf: c.lastLeaf })),
    );
    // A second run finds nothing more and records nothing.
    expect(await applyArchiveRetention(RETAIN, null, new Date('1971-01-10T23:00:00.000Z'))).toMatchObject({ chunks: 0, recorded: 0 });
    expect(await retentionEvents(cutoff)).toHaveLength(1);
  });

  it('deletes a chunk straddling the cutoff only once its newest event passes it', async () => {
    // Cutoff 1971-01-09T00:00: the straddling chunk's newest event (01-08) passes; the next chunk's (01-09 08:00) does not.
    const r = await applyArchiveRetention(RETAIN, null, new Date('1971-01-12T10:00:00.000Z'));
    expect(r).toMatchObject({ cutoff: '1971-01-09T00:00:00.000Z', chunks: straddling.length, events: 2 });
    for (const c of straddling) expect(await exists(c.objectKey)).toBe(false);
    for (const c of [...newer, ...racing]) {
      expect(await exists(c.objectKey)).toBe(true);
      expect((await chunkRow(c.firstLeaf)).deletedAt).toBeNull();
    }
  });

  it('a crash between the R2 delete and the D1 transaction is finished by the next run', async () => {
    const cutoff = '1971-01-10T00:00:00.000Z';
    await env.DB.prepare(
      `CREATE TRIGGER refuse_archive_retention_record BEFORE INSERT ON audit_events
       WHEN NEW.event_type = 'audit_events_retention_applied' AND json_extract(NEW.details, '$.deleted_before') = '${cutoff}'
       BEGIN SELECT RAISE(ABORT, 'audit event refused by the test'); END`,
    ).run();
    try {
      await expect(applyArchiveRetention(RETAIN, null, new Date('1971-01-13T10:00:00.000Z'))).rejects.toThrow(/refused by the test/);
    } finally {
      await env.DB.prepare('DROP TRIGGER refuse_archive_retention_record').run();
    }
    // The objects are gone, D1 is as before: the chunks are still live with their counts.
    for (const c of newer) {
      expect(await exists(c.objectKey)).toBe(false);
      expect((await chunkRow(c.firstLeaf)).deletedAt).toBeNull();
    }
    expect(await countsOf(newer)).toBe(2);
    expect(await retentionEvents(cutoff)).toHaveLength(0);

    const r = await applyArchiveRetention(RETAIN, null, new Date('1971-01-13T10:00:00.000Z'));
    expect(r).toMatchObject({ chunks: newer.length, events: 2, recorded: 1 });
    for (const c of newer) expect((await chunkRow(c.firstLeaf)).deletedAt).not.toBeNull();
    expect(await countsOf(newer)).toBe(0);
    expect(await retentionEvents(cutoff)).toHaveLength(1);
    for (const c of racing) expect(await exists(c.objectKey)).toBe(true);
  });

  it('two runs racing record the deletion once; deleted_at is set once', async () => {
    const now = new Date('1971-01-18T10:00:00.000Z');
    const [a, b] = await Promise.all([applyArchiveRetention(RETAIN, null, now), applyArchiveRetention(RETAIN, null, now)]);
    expect(a.recorded + b.recorded).toBe(1);
    expect(a.chunks + b.chunks).toBe(racing.length);
    expect(await retentionEvents('1971-01-15T00:00:00.000Z')).toHaveLength(1);
    const row = await chunkRow(racing[0].firstLeaf);
    expect(row.deletedAt).not.toBeNull();
    await expect(
      env.DB.prepare("UPDATE audit_archive_chunks SET deleted_at = '2000-01-01T00:00:00.000Z' WHERE first_leaf = ?1").bind(row.firstLeaf).run(),
    ).rejects.toThrow(/already deleted by retention/);
    await expect(env.DB.prepare('UPDATE audit_archive_chunks SET deleted_at = NULL WHERE first_leaf = ?1').bind(row.firstLeaf).run()).rejects.toThrow(
      /already deleted by retention/,
    );
    // The old events are in no object and in no count: hot D1 has none of them either.
    const hot = await env.DB.prepare(`SELECT COUNT(*) AS n FROM audit_events WHERE id IN (${oldIds.join(',')})`).first<{ n: number }>();
    expect(hot!.n).toBe(0);
  });

  it("runs in the cron's 'audit retention' job, after the hot events' retention", async () => {
    // The longest retention accepted (36,500 days) reaches back to 1926: only these 1920 events are that old.
    const ancient = await moveExactly(await insertEvents([at('1920-03-01T00:00:00.000Z'), at('1920-03-02T00:00:00.000Z')]));
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: '* * * * *' }), { ...env, AUDIT_RETENTION_DAYS: '36500' }, ctx);
    await waitOnExecutionContext(ctx);
    for (const c of ancient) {
      expect(await exists(c.objectKey)).toBe(false);
      expect((await chunkRow(c.firstLeaf)).deletedAt).not.toBeNull();
    }
    expect(await countsOf(ancient)).toBe(0);
  });
});
