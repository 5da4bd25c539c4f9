/**
 * The verifiable audit log's API (issue 18): the verifier key, signed checkpoints (the scheduled
 * rule that keeps checkpointing from feeding itself, the administrator's "now"), inclusion proofs
 * (one, a batch) and consistency proofs that verify with src/tlog against the signed roots, and
 * their errors.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { ADMIN, api, call, createGroup, createUser, type TestUser } from '../support/api';
import { fromBase64, leafHash, toBase64 } from '../../src/tlog/hash';
import { leafBytes } from '../../src/tlog/leaf';
import { verifyNote } from '../../src/tlog/note';
import { parseCheckpoint } from '../../src/tlog/checkpoint';
import { verifyConsistency, verifyInclusion } from '../../src/tlog/tree';
import { runAuditLogJobs } from '../../src/audit/log_jobs';
import { streamingPayload } from '../../src/audit/record';
import { toAuditEvent, type AuditEventRow } from '../../src/db/audit_events';

let verifierKey: string;
let user: TestUser;
let groupEventId: number;

async function ingest(entityType: string, entityId: number, token = ADMIN): Promise<number> {
  const r = await api('POST', '/api/v4/audit_events', { token, body: { event_type: 'proof_test', entity_type: entityType, entity_id: entityId } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.id;
}

/** The checkpoint note's verified body. */
async function checkpointOf(note: string): Promise<{ size: number; root: Uint8Array; origin: string }> {
  const verified = await verifyNote(note, verifierKey);
  if ('error' in verified) throw new Error(verified.error);
  const cp = parseCheckpoint(verified.text);
  if ('error' in cp) throw new Error(cp.error);
  return { size: cp.size, root: cp.rootHash, origin: cp.origin };
}

async function latestNote(): Promise<string> {
  const r = await call('GET', '/api/v4/audit_events/checkpoint', { token: user.token });
  expect(r.status).toBe(200);
  return r.text();
}

const checkpointCount = async () => (await env.DB.prepare('SELECT COUNT(*) AS n FROM audit_log_checkpoints').first<{ n: number }>())!.n;

beforeAll(async () => {
  user = await createUser();
  const g = await createGroup();
  groupEventId = await ingest('Group', g.id);
  const key = await call('GET', '/-/audit-log/verifier-key');
  expect(key.status).toBe(200);
  expect(key.headers.get('Content-Type')).toMatch(/^text\/plain/);
  verifierKey = (await key.text()).trim();
});

describe('checkpoints', () => {
  it('the verifier key is served without authentication, named after the origin', () => {
    expect(verifierKey).toMatch(/^127\.0\.0\.1:8787\/audit-log\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$/);
  });

  it('the bench-only fill route does not exist without BENCH_ROUTES', async () => {
    const r = await call('POST', '/-/bench/tlog/fill?count=10');
    expect(r.status).toBe(404);
    expect(await env.DB.prepare('SELECT COUNT(*) AS n FROM audit_log_leaves WHERE event_id < 0').first<{ n: number }>()).toEqual({ n: 0 });
  });

  it('the scheduled job signs a checkpoint when the log grew, and none when only its own checkpoint events are new', async () => {
    expect(await runAuditLogJobs(env, null)).toMatch(/signed checkpoint/);
    const first = await checkpointOf(await latestNote());
    expect(first.origin).toBe('127.0.0.1:8787/audit-log');
    // The checkpoint's own event is the only new leaf: no checkpoint, run after run.
    for (let i = 0; i < 3; i++) {
      const summary = await runAuditLogJobs(env, null);
      expect(summary ?? '').not.toMatch(/signed checkpoint/);
    }
    const sizeNow = (await env.DB.prepare('SELECT COUNT(*) AS n FROM audit_log_leaves').first<{ n: number }>())!.n;
    expect(sizeNow).toBe(first.size + 1);
    expect((await checkpointOf(await latestNote())).size).toBe(first.size);
    // The checkpoint event is instance-level and carries the signed note.
    const ev = await env.DB.prepare("SELECT * FROM audit_events WHERE event_type = 'audit_log_checkpoint_issued' ORDER BY id DESC LIMIT 1").first<AuditEventRow>();
    expect(ev!.entity_type).toBe('Gitlab::Audit::InstanceScope');
    expect(JSON.parse(ev!.details).checkpoint).toBe(await latestNote());
    // Anything else happening: the next run signs one, covering the checkpoint event too.
    await ingest('User', user.id);
    expect(await runAuditLogJobs(env, null)).toMatch(/signed checkpoint/);
    expect((await checkpointOf(await latestNote())).size).toBe(first.size + 2);
  });

  it('an administrator issues one now (201), kept and readable by size; others may not', async () => {
    await ingest('User', user.id);
    const before = await checkpointCount();
    const r = await call('POST', '/api/v4/audit_events/checkpoint', { token: ADMIN });
    expect(r.status).toBe(201);
    const note = await r.text();
    const cp = await checkpointOf(note);
    expect(await checkpointCount()).toBe(before + 1);
    const again = await call('GET', `/api/v4/audit_events/checkpoint?tree_size=${cp.size}`, { token: user.token });
    expect(await again.text()).toBe(note);
    expect((await api('POST', '/api/v4/audit_events/checkpoint', { token: user.token })).status).toBe(403);
    expect((await api('GET', '/api/v4/audit_events/checkpoint')).status).toBe(401);
    expect(await api('GET', '/api/v4/audit_events/checkpoint?tree_size=999999', { token: user.token })).toMatchObject({ status: 404, body: { message: '404 Checkpoint Not Found' } });
    expect(await api('GET', '/api/v4/audit_events/checkpoint?tree_size=x', { token: user.token })).toMatchObject({
      status: 400,
      body: { message: '400 Bad request - tree_size must be a whole number' },
    });
  });
});

describe('racing issuers', () => {
  it('administrators asking at once (and the cron) never fail: one signs each size, the others answer it', async () => {
    await ingest('User', user.id);
    const answers = await Promise.all([0, 1, 2].map(() => call('POST', '/api/v4/audit_events/checkpoint', { token: ADMIN })));
    await Promise.allSettled([runAuditLogJobs(env, null)]);
    for (const r of answers) expect([200, 201]).toContain(r.status);
    const notes = await Promise.all(answers.map((r) => r.text()));
    for (const note of notes) await checkpointOf(note);
    expect(answers.filter((r) => r.status === 201).length).toBeGreaterThanOrEqual(1);
  });
});

describe('proofs', () => {
  it('an inclusion proof verifies against the signed root, its leaf hash is the RFC 8785 streaming payload', async () => {
    const cp = await checkpointOf(await latestNote());
    const r = await api('GET', `/api/v4/audit_events/${groupEventId}/inclusion_proof`, { token: ADMIN });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(Object.keys(r.body).sort()).toEqual(['hashes', 'leaf_hash', 'leaf_index', 'tree_size']);
    expect(r.body.tree_size).toBe(cp.size);
    const row = await env.DB.prepare('SELECT * FROM audit_events WHERE id = ?1').bind(groupEventId).first<AuditEventRow>();
    expect(r.body.leaf_hash).toBe(toBase64(await leafHash(leafBytes(streamingPayload(toAuditEvent(row!))))));
    const hashes = (r.body.hashes as string[]).map((h) => fromBase64(h)!);
    expect(await verifyInclusion(r.body.leaf_index, cp.size, fromBase64(r.body.leaf_hash)!, hashes, cp.root)).toBe(true);
    // At an older size too.
    const older = await api('GET', `/api/v4/audit_events/${groupEventId}/inclusion_proof?tree_size=${r.body.leaf_index + 1}`, { token: ADMIN });
    expect(older.status).toBe(200);
    expect(older.body.tree_size).toBe(r.body.leaf_index + 1);
  });

  it('inclusion proofs of a batch, each verifying; an unreadable or unknown id makes the whole request 404', async () => {
    const cp = await checkpointOf(await latestNote());
    const leaves = (await env.DB.prepare('SELECT event_id FROM audit_log_leaves WHERE leaf_index < ?1 ORDER BY leaf_index').bind(cp.size).all<{ event_id: number }>()).results;
    const ids = leaves.map((l) => l.event_id);
    const r = await api('GET', `/api/v4/audit_events/inclusion_proofs?ids=${ids.join(',')}`, { token: ADMIN });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.map((p: { id: number }) => p.id)).toEqual(ids);
    for (const p of r.body) {
      expect(await verifyInclusion(p.leaf_index, p.tree_size, fromBase64(p.leaf_hash)!, p.hashes.map((h: string) => fromBase64(h)!), cp.root)).toBe(true);
    }
    // A user who may not read the group's event: 404 for the whole request, as for an id that does not exist.
    expect(await api('GET', `/api/v4/audit_events/inclusion_proofs?ids=${groupEventId}`, { token: user.token })).toMatchObject({ status: 404, body: { message: '404 Audit Event Not Found' } });
    expect((await api('GET', `/api/v4/audit_events/${groupEventId}/inclusion_proof`, { token: user.token })).status).toBe(404);
    expect((await api('GET', '/api/v4/audit_events/99999999/inclusion_proof', { token: ADMIN })).status).toBe(404);
    const many = Array.from({ length: 101 }, (_, i) => i + 1).join(',');
    expect(await api('GET', `/api/v4/audit_events/inclusion_proofs?ids=${many}`, { token: ADMIN })).toMatchObject({ status: 400, body: { message: '400 Bad request - ids has more than 100 values' } });
    expect((await api('GET', '/api/v4/audit_events/inclusion_proofs?ids=1,x', { token: ADMIN })).status).toBe(400);
    expect((await api('GET', '/api/v4/audit_events/inclusion_proofs', { token: ADMIN })).status).toBe(400);
  });

  it('tree_size beyond the latest checkpoint, or not larger than the leaf index, is 400', async () => {
    const cp = await checkpointOf(await latestNote());
    const proof = await api('GET', `/api/v4/audit_events/${groupEventId}/inclusion_proof`, { token: ADMIN });
    const beyond = await api('GET', `/api/v4/audit_events/${groupEventId}/inclusion_proof?tree_size=${cp.size + 1}`, { token: ADMIN });
    expect(beyond).toMatchObject({ status: 400, body: { message: `400 Bad request - tree_size ${cp.size + 1} is beyond the latest checkpoint (tree size ${cp.size})` } });
    const below = await api('GET', `/api/v4/audit_events/${groupEventId}/inclusion_proof?tree_size=${proof.body.leaf_index}`, { token: ADMIN });
    expect(below.status).toBe(400);
    expect(below.body.message).toMatch(/^400 Bad request - tree_size \d+ does not cover audit event/);
    expect((await api('GET', `/api/v4/audit_events/${groupEventId}/inclusion_proof?tree_size=0`, { token: ADMIN })).status).toBe(400);
    expect((await api('GET', `/api/v4/audit_events/${groupEventId}/inclusion_proof?tree_size=-1`, { token: ADMIN })).status).toBe(400);
  });

  it('a consistency proof between two checkpoints verifies; bad sizes are 400', async () => {
    const a = await checkpointOf(await latestNote());
    await ingest('User', user.id);
    expect((await call('POST', '/api/v4/audit_events/checkpoint', { token: ADMIN })).status).toBe(201);
    const b = await checkpointOf(await latestNote());
    const r = await api('GET', `/api/v4/audit_events/consistency_proof?first=${a.size}&second=${b.size}`, { token: user.token });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ first: a.size, second: b.size });
    expect(await verifyConsistency(a.size, b.size, a.root, b.root, r.body.hashes.map((h: string) => fromBase64(h)!))).toBe(true);
    expect(await verifyConsistency(a.size, b.size, b.root, b.root, r.body.hashes.map((h: string) => fromBase64(h)!))).toBe(false);
    const same = await api('GET', `/api/v4/audit_events/consistency_proof?first=${b.size}&second=${b.size}`, { token: user.token });
    expect(same.body.hashes).toEqual([]);
    expect((await api('GET', `/api/v4/audit_events/consistency_proof?first=${b.size + 1}&second=${b.size}`, { token: user.token })).status).toBe(400);
    expect((await api('GET', `/api/v4/audit_events/consistency_proof?first=1&second=${b.size + 1}`, { token: user.token })).status).toBe(400);
    expect(await api('GET', '/api/v4/audit_events/consistency_proof?second=2', { token: user.token })).toMatchObject({ status: 400, body: { message: '400 Bad request - first is missing' } });
    expect((await api('GET', '/api/v4/audit_events/consistency_proof?first=1')).status).toBe(401);
  });
});

describe('bad input', () => {
  const hostile = ['-1', '1.5', '1e3', '0x10', '+1', '9'.repeat(16), '99999999999999', '%00', "1' OR 1=1", '１', 'null', '[]'];
  it('every hostile size or id answers 400 or 404 in the REST shape, never a 5xx', async () => {
    const paths = (v: string) => [
      `/api/v4/audit_events/checkpoint?tree_size=${encodeURIComponent(v)}`,
      `/api/v4/audit_events/${groupEventId}/inclusion_proof?tree_size=${encodeURIComponent(v)}`,
      `/api/v4/audit_events/${encodeURIComponent(v)}/inclusion_proof`,
      `/api/v4/audit_events/inclusion_proofs?ids=${encodeURIComponent(v)}`,
      `/api/v4/audit_events/inclusion_proofs?ids=${groupEventId},${encodeURIComponent(v)}`,
      `/api/v4/audit_events/consistency_proof?first=${encodeURIComponent(v)}`,
      `/api/v4/audit_events/consistency_proof?first=1&second=${encodeURIComponent(v)}`,
    ];
    for (const v of hostile) {
      for (const path of paths(v)) {
        const r = await api('GET', path, { token: ADMIN });
        expect([400, 404], `${path}: ${r.status} ${JSON.stringify(r.body)}`).toContain(r.status);
        expect(typeof r.body?.message, path).toBe('string');
        expect(r.body.message, path).toMatch(/^40[04] /);
      }
    }
  });
});
