// scripts/receiver.mjs (the README's Try it receiver): it verifies each delivery's Standard
// Webhooks signature with the official package, and its exit conditions: --until waits for a
// delivery of each named event type, whatever else arrives in between (the scheduled
// release_evidence_collected once ended a Try it run that counted deliveries with --exit-after).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import standardwebhooks from 'standardwebhooks';
import { ROOT, freePort } from '../e2e/harness.mjs';

const SECRET = `whsec_${randomBytes(24).toString('base64')}`;

/** Start the receiver; resolves once it listens, with the child, its output so far and its exit. */
async function startReceiver(args) {
  const port = await freePort();
  const child = spawn(process.execPath, ['scripts/receiver.mjs', '--port', String(port), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { text: '' };
  child.stdout.on('data', (d) => (out.text += d));
  child.stderr.on('data', (d) => (out.text += d));
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  for (let i = 0; i < 100 && !out.text.includes('listening'); i++) await new Promise((r) => setTimeout(r, 50));
  assert.match(out.text, /receiver: listening on/);
  return { child, port, out, exited };
}

/** POST one signed delivery of `type` (message id `id`); the receiver's status. */
async function deliver(port, id, type, secret = SECRET) {
  const body = JSON.stringify({ id, event_type: type });
  const timestamp = new Date();
  const signature = new standardwebhooks.Webhook(secret).sign(id, timestamp, body);
  const res = await fetch(`http://127.0.0.1:${port}/audit`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)), 'webhook-signature': signature, 'x-gitlab-audit-event-type': type },
    body,
  });
  await res.text();
  return res.status;
}

const isRunning = (child) => child.exitCode === null && child.signalCode === null;
const settle = () => new Promise((r) => setTimeout(r, 150));

describe('scripts/receiver.mjs', () => {
  it('--until waits for a delivery of each named type; other types, repeats and bad signatures do not end it', async () => {
    const r = await startReceiver(['--secret', SECRET, '--until', 'create_event_streaming_destination,release_external_artifact_download']);
    try {
      assert.equal(await deliver(r.port, 'msg_1', 'release_external_artifact_download'), 200);
      assert.equal(await deliver(r.port, 'msg_2', 'release_evidence_collected'), 200);
      assert.equal(await deliver(r.port, 'msg_1', 'release_external_artifact_download'), 200);
      // Signed with another secret: 401, and its type does not count.
      assert.equal(await deliver(r.port, 'msg_3', 'create_event_streaming_destination', `whsec_${randomBytes(24).toString('base64')}`), 401);
      await settle();
      assert.ok(isRunning(r.child), `still waiting for create_event_streaming_destination:\n${r.out.text}`);
      assert.match(r.out.text, /signature NOT verified/);
      assert.match(r.out.text, /a repeat of an earlier delivery/);
      assert.equal(await deliver(r.port, 'msg_4', 'create_event_streaming_destination'), 200);
      assert.equal(await r.exited, 0);
      assert.match(r.out.text, /receiver: 3 deliveries verified \(each of create_event_streaming_destination, release_external_artifact_download\), exiting/);
    } finally {
      r.child.kill();
    }
  });

  it('--exit-after counts verified deliveries by webhook-id', async () => {
    const r = await startReceiver(['--secret', SECRET, '--exit-after', '2']);
    try {
      assert.equal(await deliver(r.port, 'msg_1', 'a_type'), 200);
      assert.equal(await deliver(r.port, 'msg_1', 'a_type'), 200);
      await settle();
      assert.ok(isRunning(r.child), 'a repeat does not count twice');
      assert.equal(await deliver(r.port, 'msg_2', 'b_type'), 200);
      assert.equal(await r.exited, 0);
      assert.match(r.out.text, /receiver: 2 deliveries verified, exiting/);
    } finally {
      r.child.kill();
    }
  });

  it('refuses a bad --until with its usage', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['scripts/receiver.mjs', '--port', String(port), '--until', 'Not A Type'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    assert.equal(code, 2);
    assert.match(err, /usage: node scripts\/receiver\.mjs .*--until/);
  });
});
