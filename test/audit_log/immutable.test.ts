import { beforeAll, describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import worker from '../../src/index';
import { ADMIN, api, createGroup, createUser, type TestUser } from '../support/api';
import { eventInput, groupEntityOf, insertEvents } from './support';
import { applyAuditRetention, retentionCutoff, retentionDays } from '../../src/audit/retention';

/**
 * Retention tests use days in January 1990 and pass `now` explicitly, so that they delete only
 * their own rows from the database every test file shares.
 */
const NOW = new Date('1990-01-10T15:00:00.000Z');
const CUTOFF = '1990-01-07T00:00:00.000Z';

describe('the database keeps audit events append-only', () => {
  let id: number;
  beforeAll(async () => {
    const u = await createUser();
    const g = await createGroup();
    [id] = await insertEvents([eventInput(await groupEntityOf(g.id), u)]);
  });

  it('rejects UPDATE of any column', async () => {
    await expect(env.DB.prepare('UPDATE audit_events SET author_name = ?1 WHERE id = ?2').bind('someone else', id).run()).rejects.toThrow(
      /append-only/,
    );
    await expect(env.DB.prepare("UPDATE audit_events SET details = '{}' WHERE id = ?1").bind(id).run()).rejects.toThrow(/append-only/);
    const row = await env.DB.prepare('SELECT author_name FROM audit_events WHERE id = ?1').bind(id).first<{ author_name: string }>();
    expect(row!.author_name).not.toBe('someone else');
  });

  it('rejects DELETE, alone or inside a batch (the whole batch rolls back)', async () => {
    await expect(env.DB.prepare('DELETE FROM audit_events WHERE id = ?1').bind(id).run()).rejects.toThrow(/append-only/);
    await expect(
      env.DB.batch([env.DB.prepare('DELETE FROM audit_event_outbox WHERE event_id = -42'), env.DB.prepare('DELETE FROM audit_events WHERE id = ?1').bind(id)]),
    ).rejects.toThrow(/append-only/);
    const row = await env.DB.prepare('SELECT id FROM audit_events WHERE id = ?1').bind(id).first();
    expect(row).not.toBeNull();
    const guard = await env.DB.prepare('SELECT COUNT(*) AS n FROM audit_retention_guard').first<{ n: number }>();
    expect(guard!.n).toBe(0);
  });
});

describe('retention (AUDIT_RETENTION_DAYS)', () => {
  let author: TestUser;
  let groupId: number;
  let kept: number[];
  let old: number[];

  beforeAll(async () => {
    author = await createUser();
    const g = await createGroup();
    groupId = g.id;
    const entity = await groupEntityOf(g.id);
    const at = (s: string) => eventInput(entity, author, { createdAt: s });
    old = await insertEvents(
      [at('1990-01-01T00:00:00.000Z'), at('1990-01-03T12:00:00.000Z'), at('1990-01-06T23:59:59.999Z')],
      true,
    );
    kept = await insertEvents([at('1990-01-07T00:00:00.000Z'), at('1990-01-09T08:00:00.000Z')], true);
  });

  it('reads the setting: unset, empty and 0 are off; malformed is refused', () => {
    expect(retentionDays({})).toBe(0);
    expect(retentionDays({ AUDIT_RETENTION_DAYS: '' })).toBe(0);
    expect(retentionDays({ AUDIT_RETENTION_DAYS: '0' })).toBe(0);
    expect(retentionDays({ AUDIT_RETENTION_DAYS: '90' })).toBe(90);
    expect(retentionDays({ AUDIT_RETENTION_DAYS: '-3' })).toBeNull();
    expect(retentionDays({ AUDIT_RETENTION_DAYS: '1.5' })).toBeNull();
    expect(retentionCutoff(3, NOW)).toBe(CUTOFF);
  });

  it('is off by default: the Cron Trigger deletes nothing when AUDIT_RETENTION_DAYS is unset', async () => {
    expect(env.AUDIT_RETENTION_DAYS ?? '').toBe('');
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: NOW.getTime(), cron: '* * * * *' }), env, ctx);
    await waitOnExecutionContext(ctx);
    const n = await env.DB.prepare(`SELECT COUNT(*) AS n FROM audit_events WHERE id IN (${[...old, ...kept].join(',')})`).first<{ n: number }>();
    expect(n!.n).toBe(5);
    const bad = await applyAuditRetention({ ...env, AUDIT_RETENTION_DAYS: 'forever' }, null, NOW);
    expect(bad.deleted).toBe(0);
  });

  it('deletes nothing when its record cannot be written (the removal and its event are one transaction)', async () => {
    await env.DB.prepare(
      `CREATE TRIGGER refuse_retention_record BEFORE INSERT ON audit_events WHEN NEW.event_type = 'audit_events_retention_applied'
       BEGIN SELECT RAISE(ABORT, 'audit event refused by the test'); END`,
    ).run();
    try {
      await expect(applyAuditRetention({ ...env, AUDIT_RETENTION_DAYS: '3' }, null, NOW, { chunkSize: 3 })).rejects.toThrow(/refused by the test/);
    } finally {
      await env.DB.prepare('DROP TRIGGER refuse_retention_record').run();
    }
    const left = await env.DB.prepare(`SELECT COUNT(*) AS n FROM audit_events WHERE id IN (${old.join(',')})`).first<{ n: number }>();
    expect(left!.n).toBe(old.length);
    const guard = await env.DB.prepare('SELECT COUNT(*) AS n FROM audit_retention_guard').first<{ n: number }>();
    expect(guard!.n).toBe(0);
  });

  it('deletes whole UTC days past retention, with their outbox rows, and records that it did', async () => {
    // Fresh outbox rows (the sweep in the previous test may have dispatched the first ones).
    const entity = await groupEntityOf(groupId);
    const pending = await insertEvents([eventInput(entity, author, { createdAt: '1990-01-05T00:00:00.000Z' })], true);
    old.push(...pending);
    const outboxBefore = await env.DB.prepare(`SELECT COUNT(*) AS n FROM audit_event_outbox WHERE event_id IN (${pending.join(',')})`).first<{ n: number }>();
    expect(outboxBefore!.n).toBe(1);
    // Chunks of 3: one transaction (and one record) per chunk.
    const result = await applyAuditRetention({ ...env, AUDIT_RETENTION_DAYS: '3' }, null, NOW, { chunkSize: 3 });
    expect(result).toMatchObject({ days: 3, cutoff: CUTOFF, deleted: 4, recorded: 2 });
    const left = await env.DB.prepare(`SELECT id FROM audit_events WHERE id IN (${[...old, ...kept].join(',')}) ORDER BY id`).all<{ id: number }>();
    expect(left.results.map((r) => r.id)).toEqual(kept);
    const outboxAfter = await env.DB.prepare(`SELECT COUNT(*) AS n FROM audit_event_outbox WHERE event_id IN (${old.join(',')})`).first<{ n: number }>();
    expect(outboxAfter!.n).toBe(0);
    // The guard is gone again: outside the job, DELETE is still rejected.
    const guard = await env.DB.prepare('SELECT COUNT(*) AS n FROM audit_retention_guard').first<{ n: number }>();
    expect(guard!.n).toBe(0);
    await expect(env.DB.prepare('DELETE FROM audit_events WHERE id = ?1').bind(kept[0]).run()).rejects.toThrow(/append-only/);
    // The record: an instance event with the days, the cutoff and the count.
    const r = await api('GET', '/api/v4/audit_events?entity_type=Gitlab::Audit::InstanceScope&event_type=audit_events_retention_applied&per_page=100', {
      token: ADMIN,
    });
    const records = r.body.filter((e: { details: { deleted_before?: string } }) => e.details.deleted_before === CUTOFF);
    expect(records.length).toBe(2);
    expect(records[1].details).toMatchObject({ deleted_count: 3, first_day: '1990-01-01', last_day: '1990-01-06' });
    expect(records[0].details).toMatchObject({ deleted_count: 1, first_day: '1990-01-05', last_day: '1990-01-05' });
    const ev = records[1];
    expect(ev).toMatchObject({
      entity_type: 'Gitlab::Audit::InstanceScope',
      entity_id: 1,
      author_id: -1,
      details: { retention_days: 3, author_name: 'Audit log retention', custom_message: `Removed 3 audit events created before ${CUTOFF} (retention 3 days)` },
    });
    // The group's listing no longer has the removed days.
    const g = await api('GET', `/api/v4/groups/${groupId}/audit_events?created_before=1990-12-31`, { token: ADMIN });
    expect(g.body.map((e: { id: number }) => e.id)).toEqual([...kept].reverse());
    // Running again finds nothing more and records nothing.
    const again = await applyAuditRetention({ ...env, AUDIT_RETENTION_DAYS: '3' }, null, NOW);
    expect(again).toMatchObject({ deleted: 0, recorded: 0 });
  });
});
