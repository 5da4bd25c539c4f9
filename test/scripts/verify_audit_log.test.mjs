// The auditors' verifier (scripts/verify-audit-log.mjs), run as `npm run verify-audit-log` runs
// it, against a small service on 127.0.0.1 that serves a log built with src/tlog: the service's
// tree holds the events as recorded; the exports given to the verifier are what a tampered
// database would export (an event altered, a row deleted, inserted or reordered), or the
// service itself misbehaves (a bad signature, a checkpoint that forks the log).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatCheckpoint } from '../../src/tlog/checkpoint.ts';
import { leafHash, toBase64 } from '../../src/tlog/hash.ts';
import { leafBytes, LEAF_VERSION } from '../../src/tlog/leaf.ts';
import { signNote, verifierKeyFromSeed } from '../../src/tlog/note.ts';
import { consistencyProof, inclusionProof, rootHash } from '../../src/tlog/tree.ts';

const SCRIPT = fileURLToPath(new URL('../../scripts/verify-audit-log.mjs', import.meta.url));
const ORIGIN = '127.0.0.1:8818/audit-log';
const SEED = new Uint8Array(32).fill(42);
const TOKEN = 'verifier-test-token';

/** A streaming payload as src/audit/record.ts's streamingPayload writes it. */
function payload(id) {
  return {
    id: String(id),
    author_id: 1,
    author_name: 'Administrator',
    entity_id: 2,
    entity_type: 'Project',
    entity_path: 'group/project',
    event_type: id % 2 ? 'release_created' : 'release_link_downloaded',
    target_id: 10 + id,
    target_type: 'Release',
    target_details: `v1.${id}`,
    ip_address: '127.0.0.1',
    details: { custom_message: `Event ${id}, "quoted", with a comma`, tag: `v1.${id}` },
    created_at: `2026-11-28T03:00:${String(id).padStart(2, '0')}.000Z`,
  };
}

/**
 * A log as the service would hold it: the events (ids in order), their tree, and a signed
 * checkpoint of the first `size` events. `opts.note` replaces the checkpoint served.
 */
async function makeLog(ids, size) {
  const payloads = ids.map(payload);
  const hashes = await Promise.all(payloads.map((p) => leafHash(leafBytes(p, LEAF_VERSION))));
  const tree = hashes.slice(0, size);
  const note = await signNote(formatCheckpoint(ORIGIN, size, await rootHash(tree)), ORIGIN, SEED);
  const indexOf = new Map(ids.map((id, i) => [id, i]));
  return { ids, payloads, hashes, tree, note, indexOf };
}

/** The service's API over a log (GitLab's error shape; 400 for an event the tree does not cover, as the service does). */
function serve(log, overrides = {}) {
  const key = verifierKeyFromSeed(ORIGIN, SEED);
  const requests = [];
  const proofOf = async (id, size) => {
    const index = log.indexOf.get(id);
    if (index === undefined || index >= size) return null;
    return { id, leaf_index: index, tree_size: size, leaf_hash: toBase64(log.tree[index]), hashes: (await inclusionProof(index, log.tree.slice(0, size))).map(toBase64) };
  };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    requests.push(url.pathname + url.search);
    const send = (status, body, type = 'application/json') =>
      res.writeHead(status, { 'Content-Type': type }).end(typeof body === 'string' ? body : JSON.stringify(body));
    if (url.pathname === '/-/audit-log/verifier-key') return send(200, `${overrides.key ?? (await key)}\n`, 'text/plain');
    if (req.headers['private-token'] !== TOKEN) return send(401, { message: '401 Unauthorized' });
    const size = Number(url.searchParams.get('tree_size') ?? log.tree.length);
    if (url.pathname === '/api/v4/audit_events/checkpoint') return send(200, overrides.note ?? log.note, 'text/plain');
    if (url.pathname === '/api/v4/audit_events/consistency_proof') {
      const first = Number(url.searchParams.get('first'));
      const second = Number(url.searchParams.get('second'));
      return send(200, { first, second, hashes: (await consistencyProof(first, log.tree.slice(0, second))).map(toBase64) });
    }
    const single = /^\/api\/v4\/audit_events\/(\d+)\/inclusion_proof$/.exec(url.pathname);
    const ids = single ? [Number(single[1])] : url.pathname === '/api/v4/audit_events/inclusion_proofs' ? url.searchParams.get('ids').split(',').map(Number) : null;
    if (!ids) return send(404, { message: '404 Not Found' });
    if (ids.length > 100) return send(400, { message: 'ids has more than 100 values' });
    const proofs = await Promise.all(ids.map((id) => proofOf(id, size)));
    if (proofs.some((p) => p === null)) return send(400, { message: `tree_size ${size} does not cover an audit event` });
    return send(200, single ? (({ id: _, ...p }) => p)(proofs[0]) : proofs);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, requests, url: `http://127.0.0.1:${server.address().port}` })));
}

let dir;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'verify-audit-log-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function file(text) {
  const path = join(dir, `f${files++}`);
  writeFileSync(path, text);
  return path;
}

/** A JSON export as the service writes it: [{ id, leaf_version, payload }] (newest first, as listings are). */
const jsonExport = (payloads) => file(JSON.stringify(payloads.map((p) => ({ id: Number(p.id), leaf_version: LEAF_VERSION, payload: p })).reverse()));

/** A CSV export with the service's columns and the `leaf` column last (cells quoted as RFC 4180). */
function csvExport(payloads) {
  const cell = (s) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const rows = payloads.map((p) => [p.author_name, p.details.custom_message, p.target_details, p.entity_path, p.event_type, p.ip_address, p.created_at, '', toBase64(leafBytes(p, LEAF_VERSION))]);
  const header = ['Author', 'Action', 'Target', 'Entity', 'Event type', 'IP', 'At', 'Changes', 'leaf'];
  return file([header, ...rows].map((r) => `${r.map(cell).join(',')}\r\n`).join(''));
}

/** Runs the verifier as `npm run verify-audit-log -- ...` does: { code, stdout, stderr }. */
function verify(service, ...args) {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--experimental-strip-types', '--no-warnings', SCRIPT, '--url', service.url, '--token', TOKEN, ...args], (err, stdout, stderr) =>
      resolve({ code: err ? err.code : 0, stdout, stderr }),
    );
  });
}

function assertMismatch(result, pattern) {
  assert.equal(result.code, 1, `exit status 1 expected: ${result.stdout}${result.stderr}`);
  assert.match(result.stderr, /MISMATCH/);
  assert.match(result.stderr, pattern);
}

const ALL = Array.from({ length: 12 }, (_, i) => i + 1);

/** A log of these ids with a checkpoint of `size`, served for one describe block (filled in by its before hook). */
function servedLog(ids, size) {
  const log = {};
  const service = {};
  before(async () => {
    Object.assign(log, await makeLog(ids, size));
    Object.assign(service, await serve(log));
  });
  after(() => service.server.close());
  return { log, service };
}

describe('verify-audit-log: an untouched log', () => {
  const { log, service } = servedLog(ALL, 10);

  it('verifies the signature and rebuilds the tree from a complete JSON export', async () => {
    const r = await verify(service, '--export', jsonExport(log.payloads));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /tree size 10/);
    assert.match(r.stdout, /the tree of its first 10 events \(ids 1\.\.10\) has the checkpoint's root/);
    assert.match(r.stdout, /2 later events are not in this checkpoint yet/);
    assert.equal(service.requests.filter((p) => p.includes('inclusion_proof')).length, 0);
  });

  it('checks a whole export older than the checkpoint as a prefix of its tree, by a consistency proof', async () => {
    const r = await verify(service, '--export', jsonExport(log.payloads.slice(0, 7)));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /its 7 events \(ids 1\.\.7\) are the first 7 events of the checkpoint's tree of 10 \(consistency proof\)/);
    assert.ok(service.requests.includes('/api/v4/audit_events/consistency_proof?first=7&second=10'));
  });

  it('checks a partial CSV export by inclusion proofs, in batches, and names events newer than the checkpoint', async () => {
    service.requests.length = 0;
    const r = await verify(service, '--export', csvExport(log.payloads.filter((p) => [3, 4, 7, 8, 10, 12].includes(Number(p.id)))));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /5 events verified by inclusion proofs/);
    assert.match(r.stdout, /1 later events \(ids 12\.\.12\) are not in this checkpoint yet/);
    assert.ok(service.requests.includes('/api/v4/audit_events/inclusion_proofs?ids=3,4,7,8,10,12&tree_size=10'));
  });

  it('asks for at most 100 ids a request', async () => {
    const big = await makeLog(Array.from({ length: 230 }, (_, i) => i + 1), 230);
    const bigService = await serve(big);
    try {
      const r = await verify(bigService, '--export', jsonExport(big.payloads.slice(1)));
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /229 events verified by inclusion proofs/);
      const batches = bigService.requests.filter((p) => p.startsWith('/api/v4/audit_events/inclusion_proofs'));
      assert.deepEqual(batches.map((p) => new URL(p, 'http://x').searchParams.get('ids').split(',').length), [100, 100, 29]);
    } finally {
      bigService.server.close();
    }
  });

  it('checks consistency with a saved checkpoint, and saves the latest one', async () => {
    const saved = await signNote(formatCheckpoint(ORIGIN, 6, await rootHash(log.tree.slice(0, 6))), ORIGIN, SEED);
    const out = join(dir, 'latest.note');
    const r = await verify(service, '--checkpoint', file(saved), '--save-checkpoint', out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /the latest tree extends the saved checkpoint of 6 events/);
    assert.equal(readFileSync(out, 'utf8'), log.note);
    const again = await verify(service, '--checkpoint', out, '--key', await verifierKeyFromSeed(ORIGIN, SEED));
    assert.equal(again.code, 0, again.stderr);
  });

  it('refuses bad usage with exit status 2', async () => {
    const r = await verify(service, '--complete');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--complete goes with --export/);
  });
});

describe('verify-audit-log: tampering is detected', () => {
  const { log, service } = servedLog(ALL, 10);

  const altered = () => log.payloads.map((p) => (p.id === '4' ? { ...p, ip_address: '203.0.113.9' } : p));

  it('an altered event, in a complete JSON export (the rebuilt root differs)', async () => {
    assertMismatch(await verify(service, '--export', jsonExport(altered())), /has root .* the checkpoint .*altered, removed, inserted or reordered/);
  });

  it('an altered event, in a whole export older than the checkpoint (not a prefix of its tree)', async () => {
    assertMismatch(await verify(service, '--export', jsonExport(altered().slice(0, 7))), /the export's 7 events \(ids 1\.\.7\) are not the first 7 events of the checkpoint's tree/);
  });

  it('an altered event, in a partial CSV export (its leaf hash is not the log\'s)', async () => {
    assertMismatch(await verify(service, '--export', csvExport(altered().slice(2, 6))), /audit event 4 in the export is not the event the log holds.*\(altered\)/);
  });

  it('a deleted row, in an export said to be complete', async () => {
    const rows = log.payloads.filter((p) => p.id !== '4');
    assertMismatch(await verify(service, '--export', jsonExport(rows), '--complete'), /altered, removed, inserted or reordered/);
    // The checkpoint's last event (10 of 12) removed: the first 10 rows are no longer its tree.
    const tenthGone = log.payloads.filter((p) => p.id !== '10');
    assertMismatch(await verify(service, '--export', jsonExport(tenthGone), '--complete'), /altered, removed, inserted or reordered/);
    // An export older than the checkpoint (rows 1..8) with row 4 removed is no prefix of its tree.
    assertMismatch(await verify(service, '--export', jsonExport(rows.slice(0, 7)), '--complete'), /are not the first 7 events of the checkpoint's tree/);
  });

  it('an inserted row: renumbering the later rows, or filling a gap in the ids', async () => {
    const renumbered = [...log.payloads.slice(0, 4), { ...payload(99), id: '5' }, ...log.payloads.slice(4).map((p) => ({ ...p, id: String(Number(p.id) + 1) }))];
    assertMismatch(await verify(service, '--export', jsonExport(renumbered)), /altered, removed, inserted or reordered/);
    assertMismatch(await verify(service, '--export', csvExport(renumbered.slice(3, 8))), /audit event 5 in the export is not the event the log holds/);
    // A log whose ids skip 5 (a rolled-back transaction): a row 5 inserted later has no leaf.
    const gapped = await makeLog([1, 2, 3, 4, 6, 7, 8, 9, 10, 11], 10);
    const gappedService = await serve(gapped);
    try {
      const inserted = [...gapped.payloads.slice(0, 4), payload(5), ...gapped.payloads.slice(4)];
      // A partial export (ids 3..11): checked by proofs; the whole export (ids 1..11 now): rebuilt.
      assertMismatch(await verify(gappedService, '--export', csvExport(inserted.slice(2))), /audit event 5 is not in the log, yet the later event 6 is: it was inserted/);
      assertMismatch(await verify(gappedService, '--export', jsonExport(inserted)), /altered, removed, inserted or reordered/);
    } finally {
      gappedService.server.close();
    }
  });

  it('reordered rows (rows 3 and 4 swap their ids)', async () => {
    const swapped = log.payloads.map((p) => (p.id === '3' ? { ...log.payloads[3], id: '3' } : p.id === '4' ? { ...log.payloads[2], id: '4' } : p));
    assertMismatch(await verify(service, '--export', jsonExport(swapped)), /altered, removed, inserted or reordered/);
    assertMismatch(await verify(service, '--export', csvExport(swapped.slice(1, 5))), /audit event 3 in the export is not the event the log holds/);
  });

  it('a bad signature: another key, an altered signature, an altered checkpoint, a key that is not the pinned one', async () => {
    const otherKey = await signNote(formatCheckpoint(ORIGIN, 10, await rootHash(log.tree)), ORIGIN, new Uint8Array(32).fill(1));
    const bad1 = await serve(log, { note: otherKey });
    const sigAt = log.note.lastIndexOf(' ') + 8;
    const flipped = `${log.note.slice(0, sigAt)}${log.note[sigAt] === 'A' ? 'B' : 'A'}${log.note.slice(sigAt + 1)}`;
    const bad2 = await serve(log, { note: flipped });
    const bad3 = await serve(log, { note: log.note.replace('\n10\n', '\n9\n') });
    const bad4 = await serve(log, { key: await verifierKeyFromSeed(ORIGIN, new Uint8Array(32).fill(1)), note: otherKey });
    try {
      assertMismatch(await verify(bad1), /the latest checkpoint: the note has no signature by 127\.0\.0\.1:8818\/audit-log\+/);
      assertMismatch(await verify(bad2), /the latest checkpoint: the signature by 127\.0\.0\.1:8818\/audit-log does not verify/);
      assertMismatch(await verify(bad3), /the latest checkpoint: the signature by 127\.0\.0\.1:8818\/audit-log does not verify/);
      assertMismatch(await verify(bad4, '--key', await verifierKeyFromSeed(ORIGIN, SEED)), /the service's verifier key .* is not the key you gave/);
    } finally {
      for (const s of [bad1, bad2, bad3, bad4]) s.server.close();
    }
  });

  it('an inconsistent checkpoint: the saved one is of a history the latest does not extend', async () => {
    const forked = await makeLog(ALL, 6);
    const history = forked.payloads.map((p) => (p.id === '2' ? { ...p, author_name: 'Someone else' } : p));
    const forkedTree = await Promise.all(history.slice(0, 6).map((p) => leafHash(leafBytes(p, LEAF_VERSION))));
    const saved = await signNote(formatCheckpoint(ORIGIN, 6, await rootHash(forkedTree)), ORIGIN, SEED);
    assertMismatch(await verify(service, '--checkpoint', file(saved)), /the latest tree \(10 events\) does not extend the saved checkpoint \(6 events/);
    const larger = await signNote(formatCheckpoint(ORIGIN, 11, await rootHash(log.hashes.slice(0, 11))), ORIGIN, SEED);
    assertMismatch(await verify(service, '--checkpoint', file(larger)), /the saved checkpoint has 11 events, the latest only 10: the log lost events/);
    const sameSizeOtherRoot = await signNote(formatCheckpoint(ORIGIN, 10, await rootHash(log.hashes.slice(1, 11))), ORIGIN, SEED);
    assertMismatch(await verify(service, '--checkpoint', file(sameSizeOtherRoot)), /does not extend the saved checkpoint \(10 events/);
  });
});
