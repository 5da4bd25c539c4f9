/**
 * Tampering with the stored audit log directly in D1, with the append-only triggers dropped
 * (issue 18's goals): altering any field of a stored event, deleting a row, inserting a row in
 * the middle, reordering rows, and rewriting the stored tree along with an event are each
 * detected by the service's own integrity check; an honest log (retention included) never
 * raises it. A failure records `audit_log_integrity_failure` and stops checkpoints until an
 * administrator acknowledges it.
 */
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import worker from '../../src/index';
import { ADMIN, api, call, createGroup, createProject, createUser, type TestUser } from '../support/api';
import { checkIntegrity, SLICE_LEAVES } from '../../src/audit/integrity';
import { appendPendingLeaves } from '../../src/audit/log_builder';
import { appendToFrontier } from '../../src/audit/log_tree';
import { applyAuditRetention } from '../../src/audit/retention';
import { instanceEntity, recordAuditEvents, streamingPayload } from '../../src/audit/record';
import { toAuditEvent, type AuditEventRow } from '../../src/db/audit_events';
import { leafHash, toBase64, type Bytes } from '../../src/tlog/hash';
import { leafBytes } from '../../src/tlog/leaf';
import type { Env } from '../../src/env';

const SLICE = 8;
type Row = Record<string, unknown>;
let admin: TestUser;
let target: number;
let size: number;

/** Run the check over every slice of the latest checkpoint's tree; the failures found. */
async function checkAll(): Promise<string[]> {
  const failures: string[] = [];
  for (let at = 0; at < size; at += SLICE) {
    const r = await checkIntegrity(env, null, { at, sliceLeaves: SLICE });
    if (r.failure) failures.push(r.failure);
  }
  return failures;
}

/** Statements to run with every trigger dropped, in ONE transaction that puts the triggers back. */
async function withoutTriggers(statements: D1PreparedStatement[]): Promise<void> {
  const triggers = (await env.DB.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").all<{ name: string; sql: string }>()).results;
  expect(triggers.map((t) => t.name)).toContain('audit_events_reject_update');
  await env.DB.batch([
    ...triggers.map((t) => env.DB.prepare(`DROP TRIGGER ${t.name}`)),
    ...statements,
    ...triggers.map((t) => env.DB.prepare(t.sql)),
  ]);
}

const snapshot = async (table: string) => (await env.DB.prepare(`SELECT * FROM ${table}`).all<Row>()).results;

function reinsert(table: string, rows: Row[]): D1PreparedStatement[] {
  return [
    env.DB.prepare(`DELETE FROM ${table}`),
    ...rows.map((r) => {
      const cols = Object.keys(r);
      return env.DB.prepare(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map((_, i) => `?${i + 1}`).join(', ')})`).bind(...cols.map((c) => r[c]));
    }),
  ];
}

let saved: { events: Row[]; leaves: Row[]; nodes: Row[] };

/** Put the stored log back as it was, and acknowledge the failure the case raised. */
async function restore(): Promise<void> {
  await withoutTriggers([...reinsert('audit_events', saved.events), ...reinsert('audit_log_leaves', saved.leaves), ...reinsert('audit_log_nodes', saved.nodes)]);
  await api('POST', '/api/v4/audit_events/integrity/acknowledge', { token: ADMIN });
  // The snapshot predates the events the check and the acknowledgement recorded: take them into it.
  saved = { events: await snapshot('audit_events'), leaves: await snapshot('audit_log_leaves'), nodes: await snapshot('audit_log_nodes') };
}

beforeAll(async () => {
  admin = await createUser({ admin: true });
  const g = await createGroup();
  const p = await createProject(g.id);
  for (let i = 0; i < 6; i++) {
    const r = await api('POST', `/api/v4/projects/${p.id}/releases`, {
      token: ADMIN,
      body: { tag_name: `v${i}`, description: `release ${i}`, assets: { links: [{ name: `bin${i}`, url: `https://example.com/${i}` }] } },
    });
    expect(r.status).toBe(201);
  }
  for (let i = 0; i < 10; i++) {
    const r = await api('POST', '/api/v4/audit_events', {
      token: ADMIN,
      body: { event_type: 'tamper_probe', entity_type: 'Group', entity_id: g.id, target_id: i, target_type: 'Thing', target_details: `thing ${i}`, details: { n: i } },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
  }
  // A target in the middle of the log, with every payload field set.
  target = (await env.DB.prepare("SELECT id FROM audit_events WHERE event_type = 'tamper_probe' ORDER BY id LIMIT 1 OFFSET 5").first<{ id: number }>())!.id;
  expect((await call('POST', '/api/v4/audit_events/checkpoint', { token: ADMIN })).status).toBe(201);
  size = (await env.DB.prepare('SELECT MAX(tree_size) AS n FROM audit_log_checkpoints').first<{ n: number }>())!.n;
  expect(size).toBeGreaterThan(3 * SLICE);
  saved = { events: await snapshot('audit_events'), leaves: await snapshot('audit_log_leaves'), nodes: await snapshot('audit_log_nodes') };
});

describe('an honest log', () => {
  it('passes the check over every slice, and the rotating cursor covers the whole log', async () => {
    expect(await checkAll()).toEqual([]);
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await checkIntegrity(env, null, { sliceLeaves: SLICE });
      expect(r.failure).toBeNull();
      seen.push(r.checked!.from);
    }
    expect(seen).toEqual([0, SLICE, 2 * SLICE]);
    expect(SLICE_LEAVES).toBeGreaterThan(0);
  });

  it('passes after retention removed old events (their leaves stay)', async () => {
    await recordAuditEvents(env, null, [1, 2, 3].map((d) => ({ eventType: 'old_probe', author: { id: 1, name: 'Administrator' }, entity: instanceEntity(), createdAt: `1990-01-0${d}T00:00:00.000Z` })));
    expect((await call('POST', '/api/v4/audit_events/checkpoint', { token: ADMIN })).status).toBe(201);
    size = (await env.DB.prepare('SELECT MAX(tree_size) AS n FROM audit_log_checkpoints').first<{ n: number }>())!.n;
    const r = await applyAuditRetention({ ...env, AUDIT_RETENTION_DAYS: '3' } as Env, null, new Date('1990-01-10T00:00:00.000Z'));
    expect(r.deleted).toBe(3);
    expect((await env.DB.prepare('SELECT COUNT(*) AS n FROM audit_log_leaves WHERE content_removed = 1').first<{ n: number }>())!.n).toBe(3);
    expect(await checkAll()).toEqual([]);
    // And a checkpoint after it still extends the previous one.
    expect((await call('POST', '/api/v4/audit_events/checkpoint', { token: ADMIN })).status).toBe(201);
    saved = { events: await snapshot('audit_events'), leaves: await snapshot('audit_log_leaves'), nodes: await snapshot('audit_log_nodes') };
  });
});

describe('tampering is detected', () => {
  beforeEach(async () => {
    expect(await checkAll()).toEqual([]);
  });

  const fields: [string, string][] = [
    ['author_id', 'author_id + 1'],
    ['author_name', "'Someone Else'"],
    ['entity_id', 'entity_id + 1'],
    ['entity_type', "'Project'"],
    ['entity_path', "'other/path'"],
    ['event_type', "'release_created'"],
    ['target_id', 'target_id + 1'],
    ['target_type', "'Other'"],
    ['target_details', "'other thing'"],
    ['ip_address', "'192.0.2.7'"],
    ['details', "json_set(details, '$.n', 99)"],
    ['created_at', "'2001-01-01T00:00:00.000Z'"],
  ];
  // Not in the payload, so not in the leaf: checked against the event's entity instead.
  const placement: [string, string][] = [
    ['root_namespace_id', 'root_namespace_id + 1'],
    ['scope_path', "'999/'"],
    ['project_id', '1'],
  ];
  for (const [column, value] of placement) {
    it(`altering ${column} of a stored event (where it belongs)`, async () => {
      await withoutTriggers([env.DB.prepare(`UPDATE audit_events SET ${column} = ${value} WHERE id = ?1`).bind(target)]);
      const failures = await checkAll();
      expect(failures[0]).toMatch(new RegExp(`event ${target}'s ${column} is not its entity's`));
      await restore();
    });
  }
  for (const [column, value] of fields) {
    it(`altering ${column} of a stored event`, async () => {
      await withoutTriggers([env.DB.prepare(`UPDATE audit_events SET ${column} = ${value} WHERE id = ?1`).bind(target)]);
      const failures = await checkAll();
      expect(failures.length, column).toBeGreaterThan(0);
      expect(failures[0]).toMatch(new RegExp(`event ${target} .*no longer matches`));
      await restore();
    });
  }

  it('deleting a row', async () => {
    await withoutTriggers([env.DB.prepare('DELETE FROM audit_events WHERE id = ?1').bind(target)]);
    expect((await checkAll())[0]).toMatch(new RegExp(`event ${target} .*missing`));
    await restore();
  });

  it('inserting a row in the middle (the rows after it renumbered to make room)', async () => {
    const row = saved.events.find((e) => e.id === target)!;
    const cols = Object.keys(row).filter((c) => c !== 'id' && c !== 'uuid');
    await withoutTriggers([
      env.DB.prepare('UPDATE audit_events SET id = id + 1000000 WHERE id > ?1').bind(target),
      env.DB.prepare('UPDATE audit_events SET id = id - 999999 WHERE id > 1000000'),
      env.DB.prepare(`INSERT INTO audit_events (id, ${cols.join(', ')}) SELECT ?1 + 1, ${cols.map((c) => (c === 'author_name' ? "'Forger'" : c)).join(', ')} FROM audit_events WHERE id = ?1`).bind(target),
    ]);
    expect((await checkAll()).length).toBeGreaterThan(0);
    await restore();
  });

  it('inserting a row before the first event', async () => {
    await withoutTriggers([
      env.DB.prepare(`INSERT INTO audit_events (id, author_id, author_name, entity_id, entity_type, event_type, details, created_at) VALUES (0, 1, 'Forger', 1, 'User', 'forged', '{}', '2000-01-01T00:00:00.000Z')`),
    ]);
    expect((await checkAll())[0]).toMatch(/event 0 is in the log's span .* has no leaf/);
    await restore();
  });

  it('reordering rows (two events swap places)', async () => {
    await withoutTriggers([
      env.DB.prepare('UPDATE audit_events SET id = -1 WHERE id = ?1').bind(target),
      env.DB.prepare('UPDATE audit_events SET id = ?1 WHERE id = ?1 + 1').bind(target),
      env.DB.prepare('UPDATE audit_events SET id = ?1 + 1 WHERE id = -1').bind(target),
    ]);
    expect((await checkAll()).length).toBeGreaterThan(0);
    await restore();
  });

  it('altering an event and rewriting its leaf hash and every stored node to match (only the signature is left)', async () => {
    await withoutTriggers([env.DB.prepare("UPDATE audit_events SET author_name = 'Someone Else' WHERE id = ?1").bind(target)]);
    // Rebuild the whole stored tree from the altered content, as whoever edits the database could.
    const leaves = (await env.DB.prepare('SELECT l.leaf_index, l.event_id, l.leaf_hash, e.id AS e FROM audit_log_leaves l LEFT JOIN audit_events e ON e.id = l.event_id ORDER BY l.leaf_index').all<Row>()).results;
    const hashes: Bytes[] = [];
    for (const l of leaves) {
      const row = await env.DB.prepare('SELECT * FROM audit_events WHERE id = ?1').bind(l.event_id).first<AuditEventRow>();
      hashes.push(row ? await leafHash(leafBytes(streamingPayload(toAuditEvent(row)))) : Uint8Array.from(atob(l.leaf_hash as string), (c) => c.charCodeAt(0)));
    }
    const nodes = await appendToFrontier(0, new Map(), hashes);
    await withoutTriggers([
      ...leaves.map((l, i) => env.DB.prepare('UPDATE audit_log_leaves SET leaf_hash = ?1 WHERE leaf_index = ?2').bind(toBase64(hashes[i]), l.leaf_index)),
      env.DB.prepare('DELETE FROM audit_log_nodes'),
      ...nodes.map(([level, idx, h]) => env.DB.prepare('INSERT INTO audit_log_nodes (level, idx, hash) VALUES (?1, ?2, ?3)').bind(level, idx, toBase64(h))),
    ]);
    const failures = await checkAll();
    expect(failures.length).toBeGreaterThan(0);
    expect(failures[0]).toMatch(/do not give the root signed by checkpoint/);
    await restore();
  });

  it('a failure is an instance event, stops checkpoints until an administrator acknowledges it', async () => {
    await withoutTriggers([env.DB.prepare('DELETE FROM audit_events WHERE id = ?1').bind(target)]);
    expect((await checkAll()).length).toBeGreaterThan(0);
    const ev = await env.DB.prepare("SELECT * FROM audit_events WHERE event_type = 'audit_log_integrity_failure' ORDER BY id DESC LIMIT 1").first<AuditEventRow>();
    expect(ev!.entity_type).toBe('Gitlab::Audit::InstanceScope');
    expect(JSON.parse(ev!.details).failure).toMatch(new RegExp(`event ${target}`));
    const blocked = await api('POST', '/api/v4/audit_events/checkpoint', { token: ADMIN });
    expect(blocked.status).toBe(409);
    expect(blocked.body.message).toMatch(/^409 Conflict - an audit log integrity failure waits for acknowledgement/);
    await withoutTriggers(reinsert('audit_events', saved.events));
    const acks = async () => (await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE event_type = 'audit_log_integrity_acknowledged'").first<{ n: number }>())!.n;
    const before = await acks();
    const other = await createUser();
    expect((await api('POST', '/api/v4/audit_events/integrity/acknowledge', { token: other.token })).status).toBe(403);
    const ack = await api('POST', '/api/v4/audit_events/integrity/acknowledge', { token: admin.token });
    expect(ack.status).toBe(200);
    expect(ack.body).toMatchObject({ acknowledged_by: admin.id });
    expect(ack.body.failure).toMatch(new RegExp(`event ${target}`));
    expect(await acks()).toBe(before + 1);
    expect((await call('POST', '/api/v4/audit_events/checkpoint', { token: ADMIN })).status).toBe(201);
  });

  it('a changed signing key: old checkpoints no longer verify (a failure); acknowledging signs a new baseline and checks resume', async () => {
    const rotated = { ...env, AUDIT_LOG_SIGNING_KEY: 'H/7ltIG5BbVmEeXQaXkx3HbEVhC9lLGe63Jwb1W0G1k=' } as Env;
    expect((await checkIntegrity(rotated, null, { at: 0, sliceLeaves: SLICE })).failure).toMatch(/does not verify|no signature by/);
    const ctx = createExecutionContext();
    const acked = await worker.fetch(new Request('http://127.0.0.1:8787/api/v4/audit_events/integrity/acknowledge', { method: 'POST', headers: { 'PRIVATE-TOKEN': ADMIN } }), rotated, ctx);
    await waitOnExecutionContext(ctx);
    expect(acked.status).toBe(200);
    expect((await checkIntegrity(rotated, null, { at: 0, sliceLeaves: SLICE })).failure).toBeNull();
    const state = await env.DB.prepare('SELECT failed_at, acknowledged_at FROM audit_log_state').first<{ failed_at: string; acknowledged_at: string | null }>();
    expect(state!.acknowledged_at).not.toBeNull();
  });
});
