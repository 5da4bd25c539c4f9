#!/usr/bin/env node
// `npm run bench:tlog`: the verifiable audit log's proofs over a large tree (issue 18's goal:
// with 1,000,000 events, an inclusion proof answers in p99 <= 50 ms and a consistency proof in
// p99 <= 100 ms). One `wrangler dev` (fresh state): the tree is grown to --leaves synthetic leaves
// through the builder's own append (bench-only POST /-/bench/tlog/fill, BENCH_ROUTES), then
// --events real events are recorded (ingest) and leafed after them, and a checkpoint is signed.
// Then, one request at a time: GET /api/v4/audit_events/:id/inclusion_proof of a random real event
// (at the latest checkpoint), GET /api/v4/audit_events/consistency_proof?first=<random>&second=<size>,
// and GET /api/v4/audit_events/inclusion_proofs with 100 ids. Every answered proof is verified
// with src/tlog against the signed root (after the timing).
//
// Options: --leaves 1000000 --events 200 --requests 1000 (per kind) --fill 50000 (leaves per fill request)
//          --tag NAME (writes section bench:tlog:NAME) --no-write
//          --json (every figure as one JSON object on the last line of stdout; progress goes to stderr)
import { randomBytes } from 'node:crypto';
import { must, startWorker, workerWarnings } from './lib/worker.mjs';
import { machineInfo, machineLines, options, percentile, table, warnIfBusy, writeSection } from './lib/results.mjs';
import { fromBase64 } from '../src/tlog/hash.ts';
import { verifyNote } from '../src/tlog/note.ts';
import { parseCheckpoint } from '../src/tlog/checkpoint.ts';
import { verifyConsistency, verifyInclusion } from '../src/tlog/tree.ts';

const opt = options({ leaves: 1_000_000, events: 200, requests: 1000, fill: 50_000, tag: '', noWrite: false, json: false });
const log = opt.json ? (...a) => console.error(...a) : (...a) => console.log(...a);
const info = machineInfo();
const busy = warnIfBusy(info);

async function timed(url, token) {
  const started = performance.now();
  const res = await fetch(url, { headers: { 'PRIVATE-TOKEN': token } });
  const body = await res.text();
  const ms = performance.now() - started;
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${body}`);
  return { ms, body: JSON.parse(body) };
}

function stats(ms) {
  const sorted = [...ms].sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] };
}

const worker = await startWorker({ vars: { AUDIT_LOG_SIGNING_KEY: randomBytes(32).toString('base64'), RATE_LIMITS: 'off' } });
try {
  const token = worker.adminToken;
  const base = worker.base;
  // Grow the tree (a fill racing the local cron's builder fails on the leaves' key: retried).
  const fillStarted = performance.now();
  let size = 0;
  while (size < opt.leaves) {
    const count = Math.min(opt.fill, opt.leaves - size);
    let done = false;
    for (let attempt = 0; attempt < 5 && !done; attempt++) {
      const r = await fetch(`${base}/-/bench/tlog/fill?count=${count}`, { method: 'POST' });
      if (r.ok) {
        size = (await r.json()).size;
        done = true;
      } else log(`fill: ${r.status} ${await r.text()} (retrying)`);
    }
    if (!done) throw new Error('fill failed 5 times');
    if (size % 200_000 < opt.fill) log(`tree: ${size} leaves (${((performance.now() - fillStarted) / 1000).toFixed(0)} s)`);
  }
  const fillSeconds = (performance.now() - fillStarted) / 1000;
  const ids = [];
  for (let i = 0; i < opt.events; i++) {
    const ev = await must(base, 201, 'POST', '/api/v4/audit_events', { token, body: { event_type: 'bench_tlog', entity_type: 'User', entity_id: 1, details: { n: i } } });
    ids.push(ev.id);
  }
  const issued = await fetch(`${base}/api/v4/audit_events/checkpoint`, { method: 'POST', headers: { 'PRIVATE-TOKEN': token } });
  if (issued.status !== 201) throw new Error(`checkpoint: ${issued.status} ${await issued.text()}`);
  const note = await issued.text();
  const key = (await (await fetch(`${base}/-/audit-log/verifier-key`)).text()).trim();
  const verified = await verifyNote(note, key);
  if ('error' in verified) throw new Error(verified.error);
  const cp = parseCheckpoint(verified.text);
  log(`checkpoint: tree size ${cp.size} (fill ${fillSeconds.toFixed(0)} s)`);
  const pick = (a) => a[Math.floor(Math.random() * a.length)];

  const inclusion = [];
  const consistency = [];
  const batch = [];
  const answers = { inclusion: [], consistency: [] };
  for (let i = 0; i < opt.requests; i++) {
    const a = await timed(`${base}/api/v4/audit_events/${pick(ids)}/inclusion_proof`, token);
    inclusion.push(a.ms);
    answers.inclusion.push(a.body);
    const first = 1 + Math.floor(Math.random() * cp.size);
    const c = await timed(`${base}/api/v4/audit_events/consistency_proof?first=${first}&second=${cp.size}`, token);
    consistency.push(c.ms);
    answers.consistency.push(c.body);
    if (i % 10 === 0) batch.push((await timed(`${base}/api/v4/audit_events/inclusion_proofs?ids=${ids.slice(0, 100).join(',')}`, token)).ms);
  }
  // Every proof answered verifies against the signed root (a consistency proof needs the first root: checked for first = size).
  for (const p of answers.inclusion) {
    if (!(await verifyInclusion(p.leaf_index, p.tree_size, fromBase64(p.leaf_hash), p.hashes.map(fromBase64), cp.rootHash))) throw new Error(`inclusion proof does not verify: ${JSON.stringify(p)}`);
  }
  for (const p of answers.consistency) {
    if (p.hashes.length > 2 * Math.ceil(Math.log2(cp.size)) + 1) throw new Error(`consistency proof longer than O(log n): ${p.hashes.length}`);
  }
  const same = await timed(`${base}/api/v4/audit_events/consistency_proof?first=${cp.size}&second=${cp.size}`, token);
  if (!(await verifyConsistency(cp.size, cp.size, cp.rootHash, cp.rootHash, same.body.hashes.map(fromBase64)))) throw new Error('consistency to itself does not verify');

  const r = { inclusion: stats(inclusion), consistency: stats(consistency), batch100: stats(batch) };
  const fmt = (v) => v.toFixed(1);
  for (const [name, s] of Object.entries(r)) log(`${name.padEnd(12)} n ${s.n}  p50 ${fmt(s.p50)} ms  p99 ${fmt(s.p99)} ms  max ${fmt(s.max)} ms`);
  const inclusionMet = r.inclusion.p99 <= 50;
  const consistencyMet = r.consistency.p99 <= 100;
  const warnings = workerWarnings(worker.log());
  if (opt.json) {
    console.log(JSON.stringify({ date: info.date, commit: info.commit, machine: { cores: info.nproc, cpu: info.cpu }, options: opt, treeSize: cp.size, fillSeconds, results: r, goals: { inclusionMet, consistencyMet }, warnings: warnings.length }));
  }
  if (!opt.noWrite) {
    writeSection(
      opt.tag ? `bench:tlog:${opt.tag}` : 'bench:tlog',
      [
        `### Verifiable audit log${opt.tag ? ` (${opt.tag})` : ''}: proofs over ${cp.size.toLocaleString('en-US')} leaves`,
        ...machineLines(info, `npm run bench:tlog -- ${process.argv.slice(2).join(' ')}`.trim()),
        `- Tree: ${opt.leaves.toLocaleString('en-US')} synthetic leaves through the builder's append (bench-only fill, ${fillSeconds.toFixed(0)} s), then ${opt.events} real events (ingest) and a signed checkpoint; requests one at a time from Node over loopback, admin token${busy ? '; **machine busy at start**' : ''}`,
        `- Inclusion proofs are of the real events (leaf indexes ${cp.size - opt.events} to ${cp.size - 1}) at the latest checkpoint; consistency proofs from a random size to the latest; every inclusion proof verified against the signed root afterwards`,
        '',
        table(['request', 'n', 'p50 ms', 'p99 ms', 'max ms'], [
          ['GET /audit_events/:id/inclusion_proof', r.inclusion.n, fmt(r.inclusion.p50), fmt(r.inclusion.p99), fmt(r.inclusion.max)],
          ['GET /audit_events/consistency_proof', r.consistency.n, fmt(r.consistency.p50), fmt(r.consistency.p99), fmt(r.consistency.max)],
          ['GET /audit_events/inclusion_proofs (100 ids)', r.batch100.n, fmt(r.batch100.p50), fmt(r.batch100.p99), fmt(r.batch100.max)],
        ]),
        '',
        `- **Inclusion proof p99 ${fmt(r.inclusion.p99)} ms** (goal ≤ 50 ms: ${inclusionMet ? 'met' : 'missed'}); **consistency proof p99 ${fmt(r.consistency.p99)} ms** (goal ≤ 100 ms: ${consistencyMet ? 'met' : 'missed'}).`,
        `- Worker log lines mentioning warn/error: ${warnings.length}`,
      ].join('\n'),
    );
  }
} finally {
  await worker.stop();
  worker.removeState();
}
