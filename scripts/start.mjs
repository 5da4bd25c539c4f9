#!/usr/bin/env node
// `npm start`: make sure .dev.vars exists (a random ADMIN_TOKEN, printed once), apply the D1
// migrations to the local database, then run `wrangler dev` on 127.0.0.1:8787 with local D1
// and local queues. Arguments after `--` reach `wrangler dev` (`npm start -- --port 8790`).
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const devVars = join(root, '.dev.vars');
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  console.error(`wrangler needs Node.js >= 22.12; this is ${process.version}. See README.md (Prerequisites).`);
  process.exit(1);
}

if (!existsSync(devVars)) {
  const token = `admin-${randomBytes(24).toString('base64url')}`;
  writeFileSync(devVars, `ADMIN_TOKEN=${token}\nALLOW_LOCAL_DESTINATIONS=true\n`, { mode: 0o600 });
  console.log(`Created .dev.vars with a new ADMIN_TOKEN (it authenticates as root):\n\n  ADMIN_TOKEN=${token}\n`);
} else if (!/^ADMIN_TOKEN=./m.test(readFileSync(devVars, 'utf8'))) {
  console.warn('.dev.vars has no ADMIN_TOKEN: nothing can authenticate as root until you add one.');
}

const env = { ...process.env, WRANGLER_SEND_METRICS: 'false' };
const wrangler = join(root, 'node_modules', '.bin', 'wrangler');
const extra = process.argv.slice(2);
// The same state directory for the migrations as for `wrangler dev` (`--persist-to DIR` or `--persist-to=DIR`).
const persistAt = extra.findIndex((a) => a === '--persist-to' || a.startsWith('--persist-to='));
const persist = persistAt < 0 ? [] : extra[persistAt].includes('=') ? [extra[persistAt]] : extra.slice(persistAt, persistAt + 2);
// CI=true: apply without the interactive "continue?" prompt.
const migrate = spawnSync(wrangler, ['d1', 'migrations', 'apply', 'DB', '--local', ...persist], { cwd: root, env: { ...env, CI: 'true' }, stdio: 'inherit' });
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

const args = ['dev', '--ip', '127.0.0.1', ...(extra.some((a) => a === '--port' || a.startsWith('--port=')) ? [] : ['--port', '8787']), ...extra];
const child = spawn(wrangler, args, { cwd: root, env, stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
