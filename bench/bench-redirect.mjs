#!/usr/bin/env node
// `npm run bench:redirect`: the tracked download redirect (one audit event recorded durably per
// request, then 302) against a bare 302 route of the same `wrangler dev` (GET /-/bench/redirect,
// BENCH_ROUTES=true), in alternating rounds of the same run so machine noise cancels. Then
// checks that every tracked request produced exactly one stored event (wrangler d1 execute on
// the stopped Worker's state). Writes its section of bench/RESULTS.md.
//
// Options: --connections 10 --rounds 4 --requests 2000 (per target per round) --warmup 300
//          --tag NAME (writes section bench:redirect:NAME instead, e.g. "before") --no-write
import autocannon from 'autocannon';
import { d1Query, seedPublicRelease, startWorker, workerWarnings } from './lib/worker.mjs';
import { machineInfo, machineLines, options, table, warnIfBusy, writeSection } from './lib/results.mjs';

const opt = options({ connections: 10, rounds: 4, requests: 2000, warmup: 300, tag: '', noWrite: false });
const info = machineInfo();
const busy = warnIfBusy(info);

/** Responses received (any status). */
const answered = (r) => r['1xx'] + r['2xx'] + r['3xx'] + r['4xx'] + r['5xx'];

function run(url, amount) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    // sampleInt: autocannon ends an `amount` run on its sampling tick (1 s by default), too coarse to time rounds.
    autocannon({ url, connections: opt.connections, amount, timeout: 20, followRedirect: false, sampleInt: 20 }, (err, res) => {
      if (err) return reject(err);
      res.wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      resolve(res);
    });
  });
}

const worker = await startWorker();
let summary;
try {
  const seeded = await seedPublicRelease(worker.base, worker.adminToken, `r${Date.now().toString(36)}`);
  const targets = {
    bare: `${worker.base}/-/bench/redirect`,
    tracked: `${worker.base}${seeded.downloadPath}`,
  };
  for (const [name, url] of Object.entries(targets)) {
    const r = await fetch(url, { redirect: 'manual' });
    if (r.status !== 302) throw new Error(`${name} ${url} answered ${r.status}, expected 302`);
  }
  let trackedSent = 1; // the probe above
  const totals = { bare: { ok: 0, other: 0, errors: 0, seconds: 0, p50: [], p99: [], rps: [] }, tracked: { ok: 0, other: 0, errors: 0, seconds: 0, p50: [], p99: [], rps: [] } };
  console.log(`warm-up: ${opt.warmup} requests each`);
  for (const name of ['bare', 'tracked']) {
    const w = await run(targets[name], opt.warmup);
    if (name === 'tracked') trackedSent += answered(w);
  }
  for (let round = 0; round < opt.rounds; round++) {
    const order = round % 2 === 0 ? ['bare', 'tracked'] : ['tracked', 'bare'];
    for (const name of order) {
      const res = await run(targets[name], opt.requests);
      const t = totals[name];
      const ok = res['3xx'];
      t.ok += ok;
      t.other += res['2xx'] + res['4xx'] + res['5xx'] + res['1xx'];
      t.errors += res.errors + res.timeouts;
      t.seconds += res.wallSeconds;
      t.p50.push(res.latency.p50);
      t.p99.push(res.latency.p99);
      t.rps.push(ok / res.wallSeconds);
      if (name === 'tracked') trackedSent += answered(res);
      console.log(`round ${round + 1} ${name.padEnd(7)} ${(ok / res.wallSeconds).toFixed(0)} req/s  p50 ${res.latency.p50} ms  p99 ${res.latency.p99} ms  3xx ${ok}  other ${answered(res) - ok}  errors ${res.errors}  timeouts ${res.timeouts}`);
    }
  }
  // Let waitUntil fan-out finish before stopping (not needed for the count: events are durable before the 302).
  await new Promise((r) => setTimeout(r, 3000));
  const log = worker.log();
  await worker.stop();
  const [{ n: stored }] = d1Query(worker.persist, `SELECT COUNT(*) AS n FROM audit_events WHERE event_type = 'release_external_artifact_download' AND project_id = ${seeded.project.id}`);
  const [{ n: outbox }] = d1Query(worker.persist, 'SELECT COUNT(*) AS n FROM audit_event_outbox');
  const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const row = (name) => {
    const t = totals[name];
    return { rps: t.ok / t.seconds, p50: median(t.p50), p99: median(t.p99), ok: t.ok, other: t.other, errors: t.errors };
  };
  const bare = row('bare');
  const tracked = row('tracked');
  const ratio = tracked.rps / bare.rps;
  const warnings = workerWarnings(log);
  summary = { bare, tracked, ratio, trackedSent, stored, outbox, warnings };
  console.log(`\nbare ${bare.rps.toFixed(0)} req/s, tracked ${tracked.rps.toFixed(0)} req/s, ratio ${ratio.toFixed(2)} (target >= 0.9)`);
  console.log(`tracked requests answered ${trackedSent}, events stored ${stored}: ${stored === trackedSent ? 'exactly one each' : 'MISMATCH'}; outbox rows left ${outbox}`);
  if (warnings.length) console.log(`worker log lines with warn/error (${warnings.length}):\n${warnings.slice(0, 10).join('\n')}`);

  if (!opt.noWrite) {
    const name = opt.tag ? `bench:redirect:${opt.tag}` : 'bench:redirect';
    const f = (n) => n.toFixed(0);
    const body = [
      `### Redirect${opt.tag ? ` (${opt.tag})` : ''}: tracked download vs bare 302`,
      ...machineLines(info, `npm run bench:redirect -- ${process.argv.slice(2).join(' ')}`.trim()),
      `- Load: autocannon, ${opt.connections} connections, ${opt.rounds} alternating rounds of ${opt.requests} requests per target (after ${opt.warmup} warm-up each), same \`wrangler dev\`${busy ? '; **machine busy at start**' : ''}`,
      '',
      table(
        ['route', 'req/s', 'p50 ms', 'p99 ms', '3xx', 'other', 'errors'],
        [
          ['bare `GET /-/bench/redirect`', f(bare.rps), bare.p50, bare.p99, bare.ok, bare.other, bare.errors],
          ['tracked `…/-/releases/v1.0.0/downloads/bin/app.tar.gz`', f(tracked.rps), tracked.p50, tracked.p99, tracked.ok, tracked.other, tracked.errors],
        ],
      ),
      '',
      `- **Ratio tracked / bare: ${ratio.toFixed(2)}** (target ≥ 0.9: ${ratio >= 0.9 ? 'met' : 'missed'})`,
      `- Durability check: ${trackedSent} tracked requests answered (warm-up and probe included), ${stored} \`release_external_artifact_download\` events stored: ${stored === trackedSent ? '**exactly one per request**' : '**MISMATCH**'}; outbox rows left ${outbox}.`,
      `- Worker log lines mentioning warn/error: ${warnings.length}${warnings.length ? ` (first: \`${warnings[0].slice(0, 160)}\`)` : ''}`,
    ].join('\n');
    writeSection(name, body);
  }
} finally {
  await worker.stop();
  worker.removeState();
}
if (summary && summary.stored !== summary.trackedSent) process.exitCode = 1;
