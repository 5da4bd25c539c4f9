// The auditors' verifier against the service started with `npm start` (issue 18): a checkpoint
// signed with the configured key, the JSON and CSV exports, consistency from a saved checkpoint;
// then an event altered directly in the local D1 file (its trigger dropped) is caught.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, must, startWorker, workerEnv } from './harness.mjs';
import { toBase64 } from '../../src/tlog/hash.ts';
import { verifierKeyFromSeed } from '../../src/tlog/note.ts';

const SEED = new Uint8Array(32).fill(9);

describe('verify-audit-log against the service', { concurrency: false }, () => {
  let worker, dir, group;
  const s = Date.now().toString(36);

  /** Runs `npm run verify-audit-log -- ...` as an auditor would: { code, stdout, stderr }. */
  function verify(...args) {
    return new Promise((resolve) => {
      execFile('npm', ['run', '--silent', 'verify-audit-log', '--', '--url', worker.base, '--token', worker.adminToken, ...args], { cwd: ROOT, env: workerEnv() }, (err, stdout, stderr) =>
        resolve({ code: err ? err.code : 0, stdout, stderr }),
      );
    });
  }

  /** A download of an export path into a file. */
  async function download(path) {
    const res = await fetch(`${worker.base}${path}`, { headers: { 'PRIVATE-TOKEN': worker.adminToken } });
    assert.equal(res.status, 200, path);
    const file = join(dir, `export-${Date.now()}${path.endsWith('.csv') ? '.csv' : '.json'}`);
    writeFileSync(file, await res.text());
    return file;
  }

  const checkpointNow = () => fetch(`${worker.base}/api/v4/audit_events/checkpoint`, { method: 'POST', headers: { 'PRIVATE-TOKEN': worker.adminToken } });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'verify-e2e-'));
    worker = await startWorker({ vars: { AUDIT_LOG_SIGNING_KEY: toBase64(SEED) } });
    group = await must(worker.base, 201, 'POST', '/api/v4/groups', { token: worker.adminToken, body: { name: `audit-${s}`, path: `audit-${s}` } });
    for (const name of ['one', 'two', 'three']) {
      await must(worker.base, 201, 'POST', '/api/v4/projects', { token: worker.adminToken, body: { name: `${name}-${s}`, path: `${name}-${s}`, namespace_id: group.id } });
    }
  });
  after(async () => {
    await worker?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves the key of its seed, and the verifier checks a whole JSON export and a group CSV export', async () => {
    const key = (await (await fetch(`${worker.base}/-/audit-log/verifier-key`)).text()).trim();
    assert.equal(key, await verifierKeyFromSeed('127.0.0.1:8787/audit-log', SEED));
    assert.ok([200, 201].includes((await checkpointNow()).status));
    const saved = join(dir, 'saved.note');
    const whole = await verify('--key', key, '--export', await download('/api/v4/audit_events.json'), '--save-checkpoint', saved);
    assert.equal(whole.code, 0, whole.stdout + whole.stderr);
    assert.match(whole.stdout, /signature verified/);
    assert.match(whole.stdout, /export: (the tree of its first|its) \d+ events/);
    // More events, a new checkpoint: the saved one is extended; the group's CSV is checked by proofs.
    await must(worker.base, 201, 'POST', '/api/v4/projects', { token: worker.adminToken, body: { name: `four-${s}`, path: `four-${s}`, namespace_id: group.id } });
    assert.equal((await checkpointNow()).status, 201);
    const later = await verify('--key', key, '--checkpoint', saved, '--export', await download(`/api/v4/groups/${group.id}/audit_events.csv`));
    assert.equal(later.code, 0, later.stdout + later.stderr);
    assert.match(later.stdout, /the latest tree extends the saved checkpoint/);
    assert.match(later.stdout, /export: \d+ events verified by inclusion proofs/);
  });

  it('an event altered in the D1 file (its trigger dropped) fails the verifier', async () => {
    const events = await must(worker.base, 200, 'GET', `/api/v4/groups/${group.id}/audit_events?sort=asc&pagination=keyset&order_by=id`, { token: worker.adminToken });
    const target = events[0].id;
    const wrangler = join(ROOT, 'node_modules', '.bin', 'wrangler');
    const sql = `DROP TRIGGER IF EXISTS audit_events_reject_update; UPDATE audit_events SET ip_address = '203.0.113.66' WHERE id = ${target};`;
    const run = spawnSync(wrangler, ['d1', 'execute', 'DB', '--local', '--persist-to', worker.persist, '--command', sql], { cwd: ROOT, env: workerEnv(), encoding: 'utf8' });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    const r = await verify('--export', await download(`/api/v4/groups/${group.id}/audit_events.json`));
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`MISMATCH: audit event ${target} in the export is not the event the log holds`));
  });
});
