#!/usr/bin/env node
// `npm run bench:redirect`: the tracked download redirect (one audit event recorded durably per
// request, then 302) against a bare 302 route of the same `wrangler dev` (GET /-/bench/redirect,
// BENCH_ROUTES=true), in alternating rounds so machine noise cancels, under each edge latency
// model profile (EDGE_MODEL, bench/README.md; one Worker start per profile) and each number of
// connections. Per (profile × connections) it reports requests/s and p50/p99 of both routes,
// the latency the tracking adds, the D1 primary round trips per tracked request before its
// response, the D1 write transactions per tracked request (all invocations, including what
// runs after the response: read once the run has drained), and the events stored per tracked
// request. Writes its section of bench/RESULTS.md.
//
// Options: --profiles off,far --connections 4,16 --rounds 2 --requests 400 (per target per round)
//          --warmup 50 --tag NAME (writes section bench:redirect:NAME, e.g. "before") --no-write
//          --json (the summary as one JSON object on the last line)
import autocannon from 'autocannon';
import { api, seedPublicRelease, workerWarnings } from './lib/worker.mjs';
import { answered, countTotal, edgeStats, resetEdgeStats, sleep, startWorkerUnder } from './lib/edge-stats.mjs';
import { machineInfo, machineLines, options, table, warnIfBusy, writeSection } from './lib/results.mjs';

const opt = options({ profiles: 'off,far', connections: '4,16', rounds: 2, requests: 400, warmup: 50, tag: '', noWrite: false, json: false });
const list = (s) => String(s).split(',').map((x) => x.trim()).filter(Boolean);
const profiles = list(opt.profiles);
const connectionCounts = list(opt.connections).map(Number);
const info = machineInfo();
const busy = warnIfBusy(info);
const log = opt.json ? (...a) => console.error(...a) : (...a) => console.log(...a);

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

function load(url, amount, connections) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    // sampleInt: autocannon ends an `amount` run on its sampling tick (1 s by default), too coarse to time rounds.
    autocannon({ url, connections, amount: Math.max(amount, connections), timeout: 20, followRedirect: false, sampleInt: 20 }, (err, res) => {
      if (err) return reject(err);
      res.wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      resolve(res);
    });
  });
}

/** Download events of the seeded project, as the API counts them (X-Total). */
async function storedEvents(worker, projectId) {
  const r = await api(worker.base, 'GET', `/api/v4/projects/${projectId}/audit_events?event_type=release_external_artifact_download&per_page=1`, { token: worker.adminToken });
  if (r.status !== 200) throw new Error(`audit events listing answered ${r.status}`);
  return Number(r.headers.get('x-total'));
}

/** The count once it stops rising (the download path may buffer events before D1), up to ~10 s. */
async function settledEvents(worker, projectId) {
  let last = await storedEvents(worker, projectId);
  for (let i = 0; i < 10; i++) {
    await sleep(1000);
    const now = await storedEvents(worker, projectId);
    if (now === last) return now;
    last = now;
  }
  return last;
}

/** One (profile × connections) measurement on a running Worker. */
async function measure(worker, seeded, targets, connections) {
  // Settled first: the probe (and an earlier measurement) may still be in the download buffer.
  const eventsBefore = await settledEvents(worker, seeded.project.id);
  await resetEdgeStats(worker);
  let trackedSent = 0;
  const totals = Object.fromEntries(['bare', 'tracked'].map((n) => [n, { ok: 0, other: 0, errors: 0, seconds: 0, p50: [], p99: [] }]));
  for (const name of ['bare', 'tracked']) {
    const w = await load(targets[name], opt.warmup, connections);
    if (name === 'tracked') trackedSent += answered(w);
  }
  for (let round = 0; round < opt.rounds; round++) {
    for (const name of round % 2 === 0 ? ['bare', 'tracked'] : ['tracked', 'bare']) {
      const res = await load(targets[name], opt.requests, connections);
      const t = totals[name];
      t.ok += res['3xx'];
      t.other += answered(res) - res['3xx'];
      t.errors += res.errors + res.timeouts;
      t.seconds += res.wallSeconds;
      t.p50.push(res.latency.p50);
      t.p99.push(res.latency.p99);
      if (name === 'tracked') trackedSent += answered(res);
      log(`  ${connections} conn round ${round + 1} ${name.padEnd(7)} ${(res['3xx'] / res.wallSeconds).toFixed(0)} req/s  p50 ${res.latency.p50} ms  p99 ${res.latency.p99} ms  other ${answered(res) - res['3xx']}  errors ${res.errors}  timeouts ${res.timeouts}`);
    }
  }
  const stored = (await settledEvents(worker, seeded.project.id)) - eventsBefore;
  const stats = await edgeStats(worker);
  const row = (t) => ({ rps: t.ok / t.seconds, p50: median(t.p50), p99: median(t.p99), ok: t.ok, other: t.other, errors: t.errors });
  const bare = row(totals.bare);
  const tracked = row(totals.tracked);
  return {
    connections,
    bare,
    tracked,
    addedP50: tracked.p50 - bare.p50,
    addedP99: tracked.p99 - bare.p99,
    trackedSent,
    stored,
    d1PrimaryBeforePerRequest: (stats.before.download?.d1Primary ?? 0) / trackedSent,
    writeTransactionsPerRequest: countTotal(stats, 'd1WriteTransactions') / trackedSent,
    eventsPerRequest: stored / trackedSent,
    requests: stats.requests,
  };
}

const runs = [];
const warnings = [];
for (const profile of profiles) {
  log(`profile ${profile}: starting the Worker with EDGE_MODEL=${profile}`);
  const worker = await startWorkerUnder(profile);
  try {
    const seeded = await seedPublicRelease(worker.base, worker.adminToken, `r${Date.now().toString(36)}`);
    const targets = { bare: `${worker.base}/-/bench/redirect`, tracked: `${worker.base}${seeded.downloadPath}` };
    for (const [name, url] of Object.entries(targets)) {
      const r = await fetch(url, { redirect: 'manual' });
      if (r.status !== 302) throw new Error(`${name} ${url} answered ${r.status}, expected 302`);
    }
    for (const connections of connectionCounts) runs.push({ profile, ...(await measure(worker, seeded, targets, connections)) });
    warnings.push(...workerWarnings(worker.log()).map((l) => `${profile}: ${l}`));
  } catch (err) {
    console.error(`profile ${profile} failed; the Worker's log ends:\n${worker.log().slice(-4000)}`);
    throw err;
  } finally {
    await worker.stop();
    worker.removeState();
  }
}

const f0 = (n) => n.toFixed(0);
const f2 = (n) => n.toFixed(2);
log('');
for (const r of runs) {
  log(`${r.profile.padEnd(4)} ${String(r.connections).padStart(2)} conn: bare ${f0(r.bare.rps)} req/s p50 ${r.bare.p50} p99 ${r.bare.p99}; tracked ${f0(r.tracked.rps)} req/s p50 ${r.tracked.p50} p99 ${r.tracked.p99}; added p50 ${r.addedP50} p99 ${r.addedP99} ms; D1 primary before response ${f2(r.d1PrimaryBeforePerRequest)}/req, write transactions ${f2(r.writeTransactionsPerRequest)}/req, events stored ${f2(r.eventsPerRequest)}/req (${r.stored}/${r.trackedSent})`);
}
if (warnings.length) log(`worker log lines with warn/error (${warnings.length}):\n${warnings.slice(0, 10).join('\n')}`);

if (!opt.noWrite) {
  const name = opt.tag ? `bench:redirect:${opt.tag}` : 'bench:redirect';
  const body = [
    `### Redirect${opt.tag ? ` (${opt.tag})` : ''}: tracked download vs bare 302, under the edge latency model`,
    ...machineLines(info, `npm run bench:redirect -- ${process.argv.slice(2).join(' ')}`.trim()),
    `- Load: autocannon, ${opt.rounds} alternating rounds of ${opt.requests} requests per target (after ${opt.warmup} warm-up each), per profile and connection count; one \`wrangler dev\` per profile (\`EDGE_MODEL\`, bench/README.md)${busy ? '; **machine busy at start**' : ''}`,
    '',
    table(
      ['profile', 'conn', 'bare req/s', 'bare p50/p99 ms', 'tracked req/s', 'tracked p50/p99 ms', 'added p50/p99 ms', 'D1 primary before 302 /req', 'D1 write tx /req', 'events stored /req'],
      runs.map((r) => [r.profile, r.connections, f0(r.bare.rps), `${r.bare.p50} / ${r.bare.p99}`, f0(r.tracked.rps), `${r.tracked.p50} / ${r.tracked.p99}`, `${r.addedP50} / ${r.addedP99}`, f2(r.d1PrimaryBeforePerRequest), f2(r.writeTransactionsPerRequest), `${f2(r.eventsPerRequest)} (${r.stored}/${r.trackedSent})`]),
    ),
    '',
    '- Per request: of the tracked requests answered (warm-up included); write transactions count every invocation (the requests, and what ran after them: queue batches, Durable Object flushes), read from `GET /-/bench/edge-stats` once the stored events stopped rising.',
    `- Non-3xx answers or errors: ${runs.map((r) => `${r.profile}/${r.connections}: ${r.bare.other + r.tracked.other} other, ${r.bare.errors + r.tracked.errors} errors`).join('; ')}`,
    `- Worker log lines mentioning warn/error: ${warnings.length}${warnings.length ? ` (first: \`${warnings[0].slice(0, 160)}\`)` : ''}`,
  ].join('\n');
  writeSection(name, body);
}
const exact = runs.every((r) => r.stored === r.trackedSent);
if (!exact) process.exitCode = 1;
if (opt.json) console.log(JSON.stringify({ date: info.date, commit: info.commit, machine: { cores: info.nproc, cpu: info.cpu }, options: opt, runs, warnings: warnings.length }));
