// End-to-end harness: starts the worker the way the README does (`npm start -- --port <port>`),
// with its own fresh local state directory, waits for GET /api/v4/version, and offers REST
// helpers, a local HTTP receiver (streaming destination) and a local file server (the external
// artifact a release links to). Debian's Chromium is driven with playwright-core.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash, randomBytes } from 'node:crypto';
import { DatabaseSync } from 'node:sqlite';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SCREENSHOTS = join(ROOT, 'test', 'e2e', 'screenshots');

/** The local wrangler binary (for `wrangler d1 migrations apply --local`). */
export const WRANGLER = join(ROOT, 'node_modules', '.bin', 'wrangler');

/** Tries of a d1Local read that meets the worker's write lock. */
const D1_BUSY_TRIES = 8;

/**
 * The SQLite files of miniflare's objects of one kind in a --persist-to directory (`kind`: e.g.
 * v3/d1/miniflare-D1DatabaseObject): one per object (a D1 database, an R2 bucket), beside the
 * directory's own metadata.sqlite.
 */
function objectFiles(persist, ...kind) {
  const dir = join(persist, ...kind);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sqlite') && f !== 'metadata.sqlite')
    .map((f) => join(dir, f));
}

/** The local D1 database file of a --persist-to directory (this Worker has one database, DB). */
function d1File(persist) {
  const files = objectFiles(persist, 'v3', 'd1', 'miniflare-D1DatabaseObject');
  if (files.length !== 1) throw new Error(`expected one local D1 database file in ${persist}, found: ${files.join(', ') || 'none'}`);
  return files[0];
}

/**
 * The rows of one SELECT run against the local D1 of a --persist-to directory, read from its SQLite
 * file with node:sqlite (what `wrangler d1 execute --local` reads, without starting wrangler and a
 * workerd for each query: about 2 s each). The worker under test may be writing the same file (its
 * minute cron, a request): a read that meets its write lock (SQLITE_BUSY, "database is locked") is
 * tried again, up to D1_BUSY_TRIES times, 250 ms apart; a SELECT changes nothing, so that is safe.
 */
export function d1Local(persist, sql) {
  if (!/^\s*SELECT\b/i.test(sql)) throw new Error(`d1Local runs SELECTs only: ${sql}`);
  const file = d1File(persist);
  for (let attempt = 1; ; attempt++) {
    // Not readOnly: after a SIGKILL the first reader must recover the write-ahead log's index.
    const db = new DatabaseSync(file, { timeout: 2000 });
    try {
      // Plain objects (node:sqlite's rows have no prototype), as wrangler's JSON gave them.
      return db.prepare(sql).all().map((r) => ({ ...r }));
    } catch (err) {
      if (attempt >= D1_BUSY_TRIES || !/SQLITE_BUSY|database is locked/i.test(String(err?.message))) throw new Error(`reading the local D1 failed (attempt ${attempt}): ${err?.message}`);
    } finally {
      db.close();
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250);
  }
}

/**
 * The bytes of object `key` in R2 bucket `bucket` of a --persist-to directory, read from miniflare's
 * files (what `wrangler r2 object get --local` reads, without starting wrangler and a workerd: about
 * 2 s each): the object's row in a SQLite file of v3/r2/miniflare-R2BucketObject/ names its blob in
 * v3/r2/<bucket>/blobs/. Throws when no file has the key, or the object was a multipart upload.
 */
export function r2Local(persist, bucket, key) {
  for (const file of objectFiles(persist, 'v3', 'r2', 'miniflare-R2BucketObject')) {
    const db = new DatabaseSync(file, { timeout: 2000 });
    let row;
    try {
      row = db.prepare('SELECT blob_id FROM _mf_objects WHERE key = ?').get(key);
    } finally {
      db.close();
    }
    if (!row) continue;
    if (!row.blob_id) throw new Error(`R2 object ${key} has no single blob (a multipart upload?)`);
    return readFileSync(join(persist, 'v3', 'r2', bucket, 'blobs', row.blob_id));
  }
  throw new Error(`no R2 object ${key} in the local R2 of ${persist}`);
}

/**
 * A fresh --persist-to directory at `persist` with every D1 migration applied: a copy of a template
 * migrated once per set of migrations (kept in the temporary directory, keyed by the SHA-256 of the
 * migrations and wrangler's package.json) instead of `wrangler d1 migrations apply` for each start (about 10 s each). npm start
 * still runs its own apply, which then finds nothing to do. README's Try it starts from an empty
 * directory, so the whole path of a first start stays tested.
 */
export function migratedState(persist) {
  const dir = join(ROOT, 'migrations');
  const hash = createHash('sha256');
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.sql')).sort()) hash.update(f).update(readFileSync(join(dir, f)));
  // ... and wrangler's version (its local storage layout).
  hash.update(readFileSync(join(ROOT, 'node_modules', 'wrangler', 'package.json')));
  const template = join(tmpdir(), `audit-e2e-migrated-${hash.digest('hex').slice(0, 16)}`);
  if (!existsSync(template)) {
    const building = `${template}.${process.pid}`;
    const r = spawnSync(WRANGLER, ['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', building], { cwd: ROOT, env: workerEnv(), encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`migrations failed:\n${r.stdout}\n${r.stderr}`);
    try {
      renameSync(building, template); // atomic: another test file may have made it meanwhile
    } catch {
      rmSync(building, { recursive: true, force: true });
    }
  }
  cpSync(template, persist, { recursive: true });
  return persist;
}

/** `npm run verify-audit-log -- --url <base> --token <token> ...args`: its exit code and output. */
export function verifyAuditLog(base, token, ...args) {
  return new Promise((resolve) => {
    execFile('npm', ['run', '--silent', 'verify-audit-log', '--', '--url', base, '--token', token, ...args], { cwd: ROOT, env: workerEnv(), maxBuffer: 1 << 24 }, (err, stdout, stderr) =>
      resolve({ code: err ? err.code : 0, stdout, stderr }),
    );
  });
}

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** The environment `npm start` and wrangler run with here: no metrics, non-interactive, no colour. */
export function workerEnv() {
  return { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true', NO_COLOR: '1' };
}

/**
 * Run `npm start -- ...args` (args include the `--`) in its own process group, so that
 * process.kill(-child.pid) stops npm, scripts/start.mjs, wrangler and workerd together, and hand
 * its output to `onOutput`. Returns the child process.
 */
export function spawnNpmStart(args, onOutput) {
  const child = spawn('npm', args, { cwd: ROOT, env: workerEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  return child;
}

/**
 * Signal the whole process group of `child` (from spawnNpmStart: npm, scripts/start.mjs, wrangler
 * and workerd at once; SIGKILL: like a crash), wait until it exited and `base` no longer answers.
 */
export async function killGroup(child, base, signal = 'SIGKILL') {
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* already gone */
  }
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  for (let i = 0; i < 40 && child.exitCode === null && child.signalCode === null; i++) await sleep(100);
  // Wait until the port is free again.
  for (let i = 0; i < 50; i++) {
    try {
      await fetch(`${base}/api/v4/version`);
      await sleep(100);
    } catch {
      return;
    }
  }
}

/**
 * Wait until the worker `child` started answers GET `base`/api/v4/version. Throws when npm exits
 * first or after `timeoutMs`, with `log()` (its output so far) in the message.
 */
export async function waitForVersion(child, base, log, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}:\n${log()}`);
    try {
      const res = await fetch(`${base}/api/v4/version`);
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`worker did not answer /api/v4/version within ${timeoutMs / 1000} s:\n${log()}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/**
 * Start the worker with `npm start`. State lives in a temporary --persist-to directory, migrated
 * (migratedState), so every run starts from an empty database and never touches .wrangler/state.
 * ADMIN_TOKEN, ALLOW_LOCAL_DESTINATIONS and RATE_LIMITS=off are passed with --var, so .dev.vars may hold anything;
 * `vars` adds more (`{ NAME: value }`, e.g. the cloud endpoint vars). The result's `persist` is the
 * state directory (for d1Local, or `wrangler d1 execute --local --persist-to`).
 */
export async function startWorker({ vars = {}, testScheduled = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'audit-e2e-'));
  const persist = migratedState(join(dir, 'state'));
  const adminToken = `e2e-admin-${randomBytes(12).toString('hex')}`;
  const port = await freePort();
  const inspector = await freePort();
  const args = [
    'start', '--', '--port', String(port), '--inspector-port', String(inspector), '--persist-to', persist,
    '--var', `ADMIN_TOKEN:${adminToken}`, '--var', 'ALLOW_LOCAL_DESTINATIONS:true', '--var', 'DELIVERY_LOOPBACK_ONLY:true', '--var', 'DELIVERY_RETRY_SCHEDULE:1,1,1',
    // Polling and setup calls must not meet the rate limits (test/rest/rate_limits.test.ts tests them).
    '--var', 'RATE_LIMITS:off',
    ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
    // GET /__scheduled runs the cron at once (the minute cron runs on its own as well).
    ...(testScheduled ? ['--test-scheduled'] : []),
    '--show-interactive-dev-session=false',
  ];
  let log = '';
  const child = spawnNpmStart(args, (d) => { log += d; });
  const base = `http://127.0.0.1:${port}`;
  await waitForVersion(child, base, () => log);
  return {
    base,
    adminToken,
    persist,
    log: () => log,
    async stop() {
      // The whole process group: npm, node scripts/start.mjs, wrangler and workerd.
      try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
      await new Promise((r) => setTimeout(r, 500));
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** REST call with a token; returns { status, body, headers }. */
export async function api(base, method, path, { token, body, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h['PRIVATE-TOKEN'] = token;
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const res = await fetch(`${base}${path}`, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), redirect: 'manual' });
  const text = await res.text();
  let parsed = text;
  try { parsed = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** Like api() but throws unless the status is the expected one. */
export async function must(base, expected, method, path, opts) {
  const r = await api(base, method, path, opts);
  if (r.status !== expected) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** As the administrator, create a user and an `api` token of theirs; returns { id, username, token }. */
export async function createUserWithToken(worker, username, name) {
  const { base, adminToken } = worker;
  const user = await must(base, 201, 'POST', '/api/v4/users', {
    token: adminToken,
    body: { username, name, email: `${username}@example.com`, password: 'secret-password-1' },
  });
  const pat = await must(base, 201, 'POST', `/api/v4/users/${user.id}/personal_access_tokens`, { token: adminToken, body: { name: 'e2e', scopes: ['api'] } });
  return { id: user.id, username: user.username, token: pat.token };
}

/** A local HTTP server that records every request (a streaming destination). */
export async function startReceiver() {
  const requests = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}/hook`, requests, close: () => new Promise((r) => server.close(r)) };
}

/** A local server standing in for the external artifact host a release links to. */
export async function startFileServer() {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(`artifact ${req.url}\n`);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { origin: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

/** Launch Debian's Chromium (never a downloaded browser) with a fresh profile; `options` add to the context's (timezoneId, ...). */
export async function launchBrowser(options = {}) {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'audit-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1280, height: 900 },
    ...options,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Save a full-page screenshot under test/e2e/screenshots/. */
export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Wait until `check()` is truthy (polling every 250 ms) and return its value, or fail with `what` after `timeoutMs`. */
export async function until(check, what, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Stop what a suite started, in the order given (each has close() or stop(); undefined ones are skipped). */
export async function closeAll(...things) {
  for (const t of things) {
    if (!t) continue;
    await (t.close ? t.close() : t.stop());
  }
}

/** Sign `user` ({ token, username }) in on the sign-in page, and wait for the header to say so. */
export async function signIn(page, base, user) {
  await page.goto(`${base}/-/sign_in`);
  await page.getByLabel('Personal access token').fill(user.token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText(`Signed in as @${user.username}`).waitFor();
}
