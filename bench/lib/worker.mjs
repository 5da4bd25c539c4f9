// Benchmark harness: start the Worker the way the README does (`npm start -- --port <port>`)
// with a fresh --persist-to directory (npm start applies the migrations there too), wait for
// GET /api/v4/version, and offer REST and GraphQL helpers. Modelled on test/e2e/harness.mjs,
// with bench vars (BENCH_ROUTES) and quieter logs. Loopback only.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WRANGLER = join(ROOT, 'node_modules', '.bin', 'wrangler');

// The REST helpers, port finder and `npm start` launcher are the e2e harness's (it loads
// playwright only when a browser starts).
import { api, freePort, must, spawnNpmStart, waitForVersion, workerEnv } from '../../test/e2e/harness.mjs';
export { api, freePort, must };

/**
 * Start `npm start` on a free port with its own state directory. `vars` are extra
 * `--var NAME:value` pairs (ADMIN_TOKEN, ALLOW_LOCAL_DESTINATIONS, DELIVERY_LOOPBACK_ONLY, BENCH_ROUTES and RATE_LIMITS=off are set).
 * `inspector: true` adds --inspector-port (see bench/lib/profile.mjs); `port` fixes the port (default: a free one); `args`: more arguments for `wrangler dev` (e.g. --test-scheduled).
 * Returns { base, adminToken, persist, inspectorPort, pid (npm's), log(), stop(), removeState() }.
 */
export async function startWorker({ vars = {}, logLevel = 'warn', inspector = false, port: fixedPort = 0, args: extraArgs = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'audit-bench-'));
  const persist = join(dir, 'state');
  const adminToken = `bench-admin-${randomBytes(12).toString('hex')}`;
  const port = fixedPort || (await freePort());
  // RATE_LIMITS off: load measures the service, not the limiter (README "Security").
  const allVars = { ADMIN_TOKEN: adminToken, ALLOW_LOCAL_DESTINATIONS: 'true', DELIVERY_LOOPBACK_ONLY: 'true', BENCH_ROUTES: 'true', RATE_LIMITS: 'off', ...vars };
  const inspectorPort = inspector ? await freePort() : null;
  // wrangler dev's local trace collector (X_LOCAL_OBSERVABILITY, on by default with
  // [observability] enabled) stores a span for every invocation, D1 call and queue send in its
  // own SQLite on the same workerd thread: about as much CPU as the Worker's own work under load
  // (bench:delivery --profile). It is dev tooling, not part of what the benchmarks measure, so it
  // is off unless the caller's environment sets it.
  process.env.X_LOCAL_OBSERVABILITY ??= 'false';
  const args = ['start', '--', '--port', String(port), '--persist-to', persist, '--show-interactive-dev-session=false', '--log-level', logLevel];
  if (inspectorPort) args.push('--inspector-port', String(inspectorPort));
  args.push(...extraArgs);
  for (const [k, v] of Object.entries(allVars)) args.push('--var', `${k}:${v}`);
  let log = '';
  const child = spawnNpmStart(args, (d) => {
    log += d;
    if (log.length > 2_000_000) log = log.slice(-1_000_000);
  });
  const base = `http://127.0.0.1:${port}`;
  await waitForVersion(child, base, () => log, 180_000);
  let stopped = false;
  return {
    base,
    adminToken,
    persist,
    inspectorPort,
    pid: child.pid,
    log: () => log,
    /** Stop npm, start.mjs, wrangler and workerd (the process group); the state stays until removeState(). */
    async stop() {
      if (stopped) return;
      stopped = true;
      try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
      for (let i = 0; i < 50 && child.exitCode === null && child.signalCode === null; i++) await new Promise((r) => setTimeout(r, 100));
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
      await new Promise((r) => setTimeout(r, 300));
    },
    removeState() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Run SQL against the stopped Worker's local D1 (`wrangler d1 execute --local --persist-to`); returns the rows. */
export function d1Query(persist, sql) {
  const r = spawnSync(WRANGLER, ['d1', 'execute', 'DB', '--local', '--persist-to', persist, '--json', '--command', sql], { cwd: ROOT, env: workerEnv(), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`d1 execute failed:\n${r.stdout}\n${r.stderr}`);
  const parsed = JSON.parse(r.stdout);
  return parsed[0].results;
}

/** A GraphQL request that must succeed without top-level errors; returns data. */
export async function gql(base, token, query, variables) {
  const r = await api(base, 'POST', '/api/graphql', { token, body: { query, variables } });
  if (r.status !== 200 || r.body.errors) throw new Error(`GraphQL ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body.data;
}

/** A public top-level group, a public project in it, and a release whose link has a direct_asset_path. */
export async function seedPublicRelease(base, token, suffix, artifactUrl = 'https://example.com/artifacts/app.tar.gz') {
  const group = await must(base, 201, 'POST', '/api/v4/groups', { token, body: { name: `Bench ${suffix}`, path: `bench-${suffix}`, visibility: 'public' } });
  const project = await must(base, 201, 'POST', '/api/v4/projects', { token, body: { name: 'app', path: 'app', namespace_id: group.id, visibility: 'public' } });
  await must(base, 201, 'POST', `/api/v4/projects/${project.id}/releases`, {
    token,
    body: { tag_name: 'v1.0.0', name: 'v1.0.0', assets: { links: [{ name: 'app.tar.gz', url: artifactUrl, direct_asset_path: '/bin/app.tar.gz' }] } },
  });
  return { group, project, downloadPath: `/${group.full_path}/app/-/releases/v1.0.0/downloads/bin/app.tar.gz` };
}

/** Lines of the Worker's log that signal trouble (warnings, errors, hangs, cross-request promises), minus wrangler's offline noise. */
export function workerWarnings(log) {
  const noise = /nodedir|Request\.cf|ENOTFOUND workers\.cloudflare\.com|Scheduled Workers are not automatically triggered|^> node (\S+ )*scripts\/start\.mjs /;
  return (log.match(/^.*(warn|error|hang|never generate|different request).*$/gim) ?? []).filter((l) => !noise.test(l));
}
