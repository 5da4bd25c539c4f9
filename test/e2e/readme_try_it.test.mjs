// End-to-end: the README's "Try it" section, run as written. Its fenced `sh` blocks are taken in
// order and run in one bash (`set -euo pipefail`) in the repository, against an `npm start` this
// test starts on a free port (with --ip given, which wrangler once refused as a duplicate) and a
// fresh --persist-to state. The only edits: the README's ports (8787 for npm start, 8799 for the
// receiver) become free ones. The admin token is the one in .dev.vars, as the README says (npm
// start creates the file when it is missing). Also checks that `npm start` printed a short start:
// the migrations in one line, no tables or stack traces, and the token and URLs last.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, freePort, spawnNpmStart, waitForVersion, workerEnv } from './harness.mjs';

/** The fenced `sh` blocks of the README's "## Try it" section, in order. */
function tryItBlocks() {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const from = readme.indexOf('\n## Try it\n');
  assert.ok(from >= 0, 'README.md has a "## Try it" section');
  const to = readme.indexOf('\n## ', from + 1);
  const section = readme.slice(from, to < 0 ? undefined : to);
  return [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

/** Run a bash script in the repository; resolves to { code, output } (stdout and stderr interleaved). */
function runBash(script, timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd: ROOT, env: workerEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => {
      output += `\n[test] the README's commands did not finish within ${timeoutMs / 1000} s`;
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      // The receiver, should it still run in the background.
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
      resolve({ code, output });
    });
  });
}

describe("README's Try it, on a real npm start", { concurrency: false }, () => {
  let npmStart, dir, port, startLog = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'audit-try-it-'));
    port = await freePort();
    const inspector = await freePort();
    const args = [
      'start', '--', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector), '--persist-to', join(dir, 'state'),
      // What `npm start` writes into a new .dev.vars, whatever this one says; and nothing leaves the machine.
      '--var', 'ALLOW_LOCAL_DESTINATIONS:true', '--var', 'DELIVERY_LOOPBACK_ONLY:true',
    ];
    npmStart = spawnNpmStart(args, (d) => (startLog += d));
    // Up to 4 minutes: on a loaded machine (2 cores shared) wrangler dev has taken over 2 to be ready.
    await waitForVersion(npmStart, `http://127.0.0.1:${port}`, () => startLog, 240_000);
    // The ready block is printed right after wrangler says it is ready; give it a moment.
    for (let i = 0; i < 50 && !startLog.includes('GraphQL'); i++) await new Promise((r) => setTimeout(r, 100));
  });

  after(() => {
    try { process.kill(-npmStart.pid, 'SIGTERM'); } catch { /* gone */ }
    setTimeout(() => { try { process.kill(-npmStart.pid, 'SIGKILL'); } catch { /* gone */ } }, 500).unref();
    rmSync(dir, { recursive: true, force: true });
  });

  it('npm start prints a short start: the migrations in one line, then the admin token and the URLs last', () => {
    const lines = startLog.split('\n');
    const ready = lines.findIndex((l) => l.includes('GraphQL'));
    assert.ok(ready > 0, `the URLs are printed:\n${startLog}`);
    const start = lines.slice(0, ready + 1);
    assert.ok(start.length <= 16, `at most 16 lines until the URLs, got ${start.length}:\n${startLog}`);
    assert.equal(start.filter((l) => l.startsWith('D1 migrations: applied')).length, 1, startLog);
    assert.doesNotMatch(start.join('\n'), /[┌│└]|^\s+at |Error:|has access to the following bindings/m);
    const token = readFileSync(join(ROOT, '.dev.vars'), 'utf8').match(/^ADMIN_TOKEN=(.*)$/m)[1];
    const tail = start.slice(-4).map((l) => l.trim());
    assert.match(tail[0], new RegExp(`^ADMIN_TOKEN\\s+${token.replace(/[^\w]/g, '\\$&')}\\s`));
    assert.deepEqual(tail.slice(1).map((l) => l.split(/\s+/).at(-1)), [`http://127.0.0.1:${port}/`, `http://127.0.0.1:${port}/api/v4/version`, `http://127.0.0.1:${port}/api/graphql`]);
  });

  it('runs every command of the Try it section, and the signed delivery reaches the receiver', async () => {
    const blocks = tryItBlocks();
    assert.ok(blocks.length >= 6, `the Try it section has its blocks (found ${blocks.length})`);
    const script = blocks.join('\n');
    for (const step of ['/api/v4/users', 'personal_access_tokens', '/api/v4/groups', '/api/v4/projects', '/releases', 'externalAuditEventDestinationCreate', 'scripts/receiver.mjs', '/-/releases/v1.0/downloads/', 'deliveries']) {
      assert.ok(script.includes(step), `the Try it section covers ${step}`);
    }
    assert.match(script, /127\.0\.0\.1:8787/);
    assert.match(script, /8799/);
    const receiverPort = await freePort();
    const { code, output } = await runBash(script.replaceAll('127.0.0.1:8787', `127.0.0.1:${port}`).replace(/\b8799\b/g, String(receiverPort)), 90_000);
    assert.equal(code, 0, `the README's commands failed (exit ${code}):\n${output}\n--- npm start:\n${startLog}`);
    // Alice owns her group; the tracked download answered 302 to the external URL.
    assert.match(output, /alice: 50/);
    assert.match(output, /^302 https:\/\/downloads\.example\.com\/app-1\.0\.tar\.gz$/m);
    // Both deliveries arrived signed, and the receiver verified them with standardwebhooks.
    assert.match(output, /X-Gitlab-Audit-Event-Type create_event_streaming_destination: signature verified/);
    assert.match(output, /X-Gitlab-Audit-Event-Type release_external_artifact_download: signature verified/);
    assert.doesNotMatch(output, /NOT verified/);
    // It waited for both by type (a scheduled release_evidence_collected may come in between).
    assert.match(output, /receiver: [23] deliveries verified \(each of create_event_streaming_destination, release_external_artifact_download\), exiting/);
    // The audit log has the download; the delivery log shows both delivered, the download at once.
    assert.match(output, /Alice: Repository External Resource Download Started v1\.0 \/binaries\/app\.tar\.gz/);
    assert.match(output, /'release_external_artifact_download: DELIVERED \(attempts: 200\)'/);
    // The creation event: its first attempt usually came before the receiver listened.
    assert.match(output, /'create_event_streaming_destination: DELIVERED \(attempts: (network_error, )?200\)'/);
  });
});
