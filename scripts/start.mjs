#!/usr/bin/env node
// `npm start`: make sure .dev.vars exists (a random ADMIN_TOKEN and DOWNLOAD_LINK_SECRET), apply the D1 migrations to the
// local database (one line of output), then run both Workers in one `wrangler dev` on
// 127.0.0.1:8787 with local D1 and local queues: the API Worker (wrangler.toml, first: it owns
// the port, the local state and the cron) and the consumer Worker (consumer/wrangler.toml).
// While it runs, the API Worker's Cron Triggers fire every minute (scripts/local-cron.mjs).
// Once the server is ready it prints the admin token and the URLs, last.
// Arguments after `--` reach `wrangler dev`, every option included (`npm start -- --port 8790`,
// `npm start -- --ip 0.0.0.0`): --ip and --port replace the defaults.
import { spawnSync, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { runCronsLocally } from './local-cron.mjs';
import { eachLine, migrationsSummary, wranglerDevFilter } from './quiet-wrangler.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const devVars = join(root, '.dev.vars');
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  console.error(`wrangler needs Node.js >= 22.12; this is ${process.version}. See README.md (Prerequisites).`);
  process.exit(1);
}

/** A new DOWNLOAD_LINK_SECRET line (the key of the signed download links). */
const linkSecretLine = () => `DOWNLOAD_LINK_SECRET=${randomBytes(32).toString('base64url')}\n`;
/** A new audit log signing key: the base64 of a random 32-byte Ed25519 seed (AUDIT_LOG_SIGNING_KEY). */
const signingKeyLine = () => `AUDIT_LOG_SIGNING_KEY=${randomBytes(32).toString('base64')}\n`;
if (!existsSync(devVars)) {
  const token = `admin-${randomBytes(24).toString('base64url')}`;
  writeFileSync(devVars, `ADMIN_TOKEN=${token}\nALLOW_LOCAL_DESTINATIONS=true\n${linkSecretLine()}${signingKeyLine()}`, { mode: 0o600 });
  console.log('Created .dev.vars with a new ADMIN_TOKEN (it authenticates as root), a DOWNLOAD_LINK_SECRET, an AUDIT_LOG_SIGNING_KEY and ALLOW_LOCAL_DESTINATIONS=true (destinations on loopback only).');
} else {
  const text = readFileSync(devVars, 'utf8');
  if (!/^ADMIN_TOKEN=./m.test(text)) console.warn('.dev.vars has no ADMIN_TOKEN: nothing can authenticate as root until you add one.');
  const missing = [];
  if (!/^DOWNLOAD_LINK_SECRET=./m.test(text)) missing.push(['DOWNLOAD_LINK_SECRET', linkSecretLine(), 'it signs the download links of the releases page']);
  if (!/^AUDIT_LOG_SIGNING_KEY=./m.test(text)) missing.push(['AUDIT_LOG_SIGNING_KEY', signingKeyLine(), "it signs the audit log's checkpoints"]);
  for (const [name, line, why] of missing) {
    const now = readFileSync(devVars, 'utf8');
    appendFileSync(devVars, `${now === '' || now.endsWith('\n') ? '' : '\n'}${line}`);
    console.log(`Added a new ${name} to .dev.vars (${why}).`);
  }
}

// No metrics, and no fetch of the Request.cf object from workers.cloudflare.com (a placeholder is used):
// nothing leaves the machine.
const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };
const wrangler = join(root, 'node_modules', '.bin', 'wrangler');
const extra = process.argv.slice(2);
/** The `--var NAME:value` pairs given after `--` (`--var A:1 B:2`, `--var=A:1`), as [name, value]. */
const cliVars = [];
for (let i = 0; i < extra.length; i++) {
  const add = (v) => v.indexOf(':') > 0 && cliVars.push([v.slice(0, v.indexOf(':')), v.slice(v.indexOf(':') + 1)]);
  if (extra[i].startsWith('--var=')) add(extra[i].slice(6));
  else if (extra[i] === '--var') for (; i + 1 < extra.length && !extra[i + 1].startsWith('--'); i++) add(extra[i + 1]);
}
// Contradictory delivery settings (the Workers' own checks, src/delivery/config.ts): refuse to start.
// (Imported here, after the Node version check: it loads TypeScript through Node's type stripping.)
const { refuseBadDeliveryConfig } = await import('./check-delivery-config.mjs');
const { unstable_readConfig } = await import('wrangler');
refuseBadDeliveryConfig({ ...parseEnv(readFileSync(devVars, 'utf8')), ...Object.fromEntries(cliVars) }, 'start');
// The same state directory for the migrations as for `wrangler dev` (`--persist-to DIR` or `--persist-to=DIR`).
const persistAt = extra.findIndex((a) => a === '--persist-to' || a.startsWith('--persist-to='));
const persist = persistAt < 0 ? [] : extra[persistAt].includes('=') ? [extra[persistAt]] : extra.slice(persistAt, persistAt + 2);
// Local state lives beside the FIRST config (or in --persist-to): migrate with that config.
// CI=true: apply without the interactive "continue?" prompt.
const migrate = spawnSync(wrangler, ['d1', 'migrations', 'apply', 'DB', '--local', '-c', 'wrangler.toml', ...persist], { cwd: root, env: { ...env, CI: 'true' }, encoding: 'utf8' });
if (migrate.status !== 0) {
  console.error(`D1 migrations failed (wrangler d1 migrations apply DB --local):\n${migrate.stdout}${migrate.stderr}`);
  process.exit(migrate.status ?? 1);
}
console.log(migrationsSummary(migrate.stdout, persist.length ? persist.at(-1).replace(/^--persist-to=/, '') : '.wrangler/state'));

/** Secrets of the API Worker only, never in the consumer's .dev.vars. */
const API_ONLY = ['ADMIN_TOKEN', 'DOWNLOAD_LINK_SECRET', 'AUDIT_LOG_SIGNING_KEY'];

/**
 * `wrangler dev` gives .dev.vars, `--env-file` and `--var` to the FIRST Worker only; the second
 * reads the .dev.vars beside its own config. So the consumer runs from a copy of
 * consumer/wrangler.toml in a folder of this run (.wrangler/consumer-dev-<pid>, git-ignored; its
 * relative paths rewritten) with a .dev.vars of its own: ./.dev.vars without API_ONLY's secrets, then
 * every `--var NAME:value` given here. Both Workers thus see the same vars. Folders of runs that are gone are removed.
 */
function consumerDevConfig() {
  const base = join(root, '.wrangler');
  mkdirSync(base, { recursive: true });
  for (const name of readdirSync(base)) {
    const pid = Number(/^consumer-dev-(\d+)$/.exec(name)?.[1]);
    if (!pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch {
      rmSync(join(base, name), { recursive: true, force: true });
    }
  }
  const dir = join(base, `consumer-dev-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const up = relative(dir, root).split('\\').join('/');
  const toml = readFileSync(join(root, 'consumer', 'wrangler.toml'), 'utf8').replaceAll('"../', `"${up}/`);
  writeFileSync(join(dir, 'wrangler.toml'), `# Generated by scripts/start.mjs from consumer/wrangler.toml for one \`npm start\`; do not edit.\n${toml}`);
  const lines = cliVars.filter(([name]) => !API_ONLY.includes(name)).map(([name, value]) => `${name}=${JSON.stringify(value)}`);
  // ADMIN_TOKEN, DOWNLOAD_LINK_SECRET and AUDIT_LOG_SIGNING_KEY stay with the API Worker: the consumer authenticates and signs nothing.
  const own = readFileSync(devVars, 'utf8').split('\n').filter((l) => !API_ONLY.includes(l.split('=')[0].trim()));
  writeFileSync(join(dir, '.dev.vars'), `${[...own, ...lines].join('\n')}\n`, { mode: 0o600 });
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return relative(root, join(dir, 'wrangler.toml'));
}

/** Whether the wrangler option `name` is among the arguments given after `--` (`--name v` or `--name=v`). */
const given = (name) => extra.some((a) => a === name || a.startsWith(`${name}=`));
// The API Worker first (it owns the port, the local state and the cron), the consumer second.
const configs = ['-c', 'wrangler.toml', '-c', consumerDevConfig()];
const defaults = [
  ...(given('--ip') ? [] : ['--ip', '127.0.0.1']),
  ...(given('--port') ? [] : ['--port', '8787']),
  // Its output goes through the filter below, not to a terminal: no hotkeys bar.
  ...(given('--show-interactive-dev-session') ? [] : ['--show-interactive-dev-session=false']),
];
const args = ['dev', ...configs, ...defaults, ...extra];
const child = spawn(wrangler, args, { cwd: root, env, stdio: ['inherit', 'pipe', 'pipe'] });
const crons = unstable_readConfig({ config: join(root, 'wrangler.toml') }).triggers?.crons ?? [];
let stopCrons = () => {};

/** Printed once wrangler dev is ready: what runs, then the admin token and the URLs, last. */
function onReady(url) {
  const listening = new URL(url);
  // What this machine calls: wrangler's own address, or loopback when it listens on every interface.
  const local = new URL(url);
  if (listening.hostname === '0.0.0.0') local.hostname = '127.0.0.1';
  if (listening.hostname === '[::]') local.hostname = '[::1]';
  const origin = local.origin;
  stopCrons = runCronsLocally(origin, crons, (message) => console.warn(`[npm start] ${message}`));
  const token = Object.fromEntries(cliVars).ADMIN_TOKEN ?? parseEnv(readFileSync(devVars, 'utf8')).ADMIN_TOKEN;
  const lines = [
    '',
    `Both Workers run in one wrangler dev (API Worker audit-events-edge, consumer audit-events-consumer), with local D1, queues and Durable Objects.`,
    crons.length ? `Cron Triggers (${crons.map((c) => `"${c}"`).join(', ')}) fire at the start of each matching minute while this runs. Ctrl-C stops everything.` : 'Ctrl-C stops everything.',
    listening.origin !== origin ? `Listening on every interface (${listening.host}): other machines use this machine's address; from this one:` : '',
    '',
    `  ADMIN_TOKEN  ${token ?? '(none: add ADMIN_TOKEN to .dev.vars)'}   (authenticates as root; from ${Object.fromEntries(cliVars).ADMIN_TOKEN ? '--var' : '.dev.vars'})`,
    `  Web pages    ${origin}/`,
    `  REST         ${origin}/api/v4/version`,
    `  GraphQL      ${origin}/api/graphql`,
    '',
  ];
  // The audit log's note verifier key, as the server publishes it (loopback).
  fetch(`${origin}/-/audit-log/verifier-key`)
    .then(async (r) => (r.ok ? (await r.text()).trim() : null))
    .catch(() => null)
    .then((key) => {
      lines.splice(lines.length - 1, 0, `  Audit log    ${key ?? '(no AUDIT_LOG_SIGNING_KEY: no checkpoints are signed)'}   (verifier key; ${origin}/-/audit-log/verifier-key)`);
      console.log(lines.filter((l, i) => l !== '' || i === 0 || lines[i - 1] !== '').join('\n'));
    });
}

const filter = wranglerDevFilter((line) => console.log(line), onReady);
eachLine(child.stdout, filter.line);
eachLine(child.stderr, filter.line);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('close', (code, signal) => {
  stopCrons();
  // wrangler stopped before it was ready: what it said is the explanation.
  for (const line of filter.pending()) console.error(line);
  process.exit(code ?? (signal ? 1 : 0));
});
