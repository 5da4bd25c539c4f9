// bench/RESULTS.md: each benchmark replaces only its own section (between its markers), headed
// by the machine, the load at the start, the versions and the date of the run.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './worker.mjs';

/** BENCH_RESULTS overrides the file (e.g. to measure an older checkout into this one's RESULTS.md). */
export const RESULTS = process.env.BENCH_RESULTS || join(ROOT, 'bench', 'RESULTS.md');

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } }).trim();
  } catch {
    return 'unknown';
  }
}

/** The machine, its load right now, and the versions in use. Call at the start of a run. */
export function machineInfo() {
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    const m = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m);
    if (m) model = m[1];
  } catch { /* not Linux */ }
  let workerd = 'unknown';
  try {
    workerd = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'workerd', 'package.json'), 'utf8')).version;
  } catch { /* not installed */ }
  const wrangler = sh(join(ROOT, 'node_modules', '.bin', 'wrangler'), ['--version']).split('\n').pop();
  return {
    date: new Date().toISOString(),
    nproc: sh('nproc', []),
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    cpu: model,
    uptime: sh('uptime', []),
    load1: loadavg()[0],
    node: process.version,
    wrangler,
    workerd,
    // "+changes" when src/ differs from the commit (a side-by-side run of uncommitted code says so).
    commit: sh('git', ['rev-parse', '--short', 'HEAD']) + (['', 'unknown'].includes(sh('git', ['status', '--porcelain', '--', 'src'])) ? '' : '+changes'),
  };
}

/** Warn when the machine is obviously busy (another soak or test run): the numbers would be disturbed. */
export function warnIfBusy(info) {
  const cores = Number(info.nproc) || 1;
  if (info.load1 > cores * 0.75) {
    console.warn(`WARNING: load average ${info.load1.toFixed(2)} on ${cores} cores at the start; the results may be disturbed (re-run when idle).`);
    return true;
  }
  return false;
}

/** The header lines of a section. */
export function machineLines(info, command) {
  return [
    `- Command: \`${command}\``,
    `- Date: ${info.date} (commit ${info.commit})`,
    `- Machine: ${info.nproc} cores, ${info.memory}, ${info.cpu}`,
    `- Load at start: \`${info.uptime}\``,
    `- Versions: node ${info.node}, wrangler ${info.wrangler}, workerd ${info.workerd}`,
  ];
}

/** Replace (or append) the section `name` of RESULTS.md with `body` (markdown, without markers). */
export function writeSection(name, body) {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  let text = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : '# Benchmark results\n\nWritten by `npm run bench:*` (see README.md, Benchmarks). Each script replaces its own section.\n';
  const block = `${start}\n${body.trim()}\n${end}`;
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a >= 0 && b > a) text = text.slice(0, a) + block + text.slice(b + end.length);
  else text = `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(RESULTS, text);
}

/** A markdown table. */
export function table(head, rows) {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** Command-line options `--name value` / `--name=value` / `--flag`. */
export function options(defaults) {
  const out = { ...defaults };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const m = argv[i].match(/^--([a-z-]+)(?:=(.*))?$/);
    if (!m) throw new Error(`unknown argument ${argv[i]}`);
    const key = m[1].replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(key in defaults)) throw new Error(`unknown option --${m[1]} (known: ${Object.keys(defaults).join(', ')})`);
    let value = m[2];
    if (value === undefined) value = typeof defaults[key] === 'boolean' ? 'true' : argv[++i];
    out[key] = typeof defaults[key] === 'number' ? Number(value) : typeof defaults[key] === 'boolean' ? value === 'true' : value;
  }
  return out;
}

/** Percentile of a sorted numeric array. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}
