#!/usr/bin/env node
// `npm run bench:delivery`: events recorded and streamed to destinations on a local receiver,
// in three runs (`--runs throughput,isolation,far`, all by default; bench/README.md):
//  - throughput: events recorded (half through ingest POST /api/v4/audit_events, half through the
//    tracked download redirect) for a group with 1, 3 and 10 destinations: events/s recorded,
//    deliveries/s completed (first event sent to last delivery received) and the p50/p99 time
//    from an event's created_at to its arrival; each scenario its own group, one after another;
//  - isolation: two tenants (groups) with healthy destinations and a third whose one destination
//    answers at once in the first phase and hangs past the delivery timeout in the second, the
//    same paced ingest load in both: the healthy destinations' p50/p99 without and with it;
//  - far: EDGE_MODEL=far, receivers answering in 100 ms, one group with 10 destinations at a paced
//    ingest rate: every delivery arrived?, p50/p99.
// Every run also reports D1 write transactions and rows written per delivery (GET
// /-/bench/edge-stats, every label, the consumer Worker's included: reset before the load, read
// once the deliveries arrived) and deliveries/s. throughput and isolation share one `wrangler dev`
// (EDGE_MODEL=off, DELIVERY_TIMEOUT_MS=--timeout-ms); far has its own.
//
// Options: --runs throughput,isolation,far
//          throughput: --events 1000 (per scenario) --max-deliveries 5000 (caps events per scenario
//          at max-deliveries / destinations, so 10 destinations default to 500 events)
//          --destinations 1,3,10 --connections 10 --rate N (offer N events/s in all instead of as
//          many as the worker takes)
//          isolation: --isolation-rate 40 (events/s per tenant) --isolation-seconds 20 (per phase)
//          --isolation-destinations 2 (per healthy tenant) --isolation-connections 10 (per tenant)
//          --timeout-ms 2000 (DELIVERY_TIMEOUT_MS)
//          far: --far-rate 100 (events/s in all) --far-seconds 5 --far-destinations 10
//          --far-delay 100 (ms before the receivers answer) --far-connections N (default 2 × rate)
//          --far-lanes N (DELIVERY_LANES_PER_DESTINATION; default: the Worker's own, 1)
//          --overflow N (every run: DELIVERY_OVERFLOW_LANES; default: the Worker's own, 3; 0 turns overflow off)
//          --profile (throughput: CPU profile of every workerd isolate while the events are recorded and delivered,
//          the busiest functions printed per isolate; slows the Worker, so its figures are not comparable)
//          --drain-timeout 120 (seconds per scenario or phase) --tag NAME (sections
//          bench:delivery:NAME, bench:delivery-isolation:NAME, bench:delivery-far:NAME) --no-write
//          --json (every figure as one JSON object on the last line)
import autocannon from 'autocannon';
import { gql, must, seedPublicRelease, workerWarnings } from './lib/worker.mjs';
import { answered, countTotal, resetEdgeStats, settledEdgeStats, sleep, startWorkerUnder } from './lib/edge-stats.mjs';
import { startBenchReceiver } from './lib/receiver.mjs';
import { profileWhile, workerdInspector } from './lib/profile.mjs';
import { cpuBetween, splitPerEvent, workerdThreads } from './lib/cpu.mjs';
import { machineInfo, machineLines, options, percentile, table, warnIfBusy, writeSection } from './lib/results.mjs';

const opt = options({
  runs: 'throughput,isolation,far',
  events: 1000,
  maxDeliveries: 5000,
  destinations: '1,3,10',
  connections: 10,
  rate: 0,
  isolationRate: 40,
  isolationSeconds: 20,
  isolationDestinations: 2,
  isolationConnections: 10,
  timeoutMs: 2000,
  farRate: 100,
  farSeconds: 5,
  farDestinations: 10,
  farDelay: 100,
  farConnections: 0,
  farLanes: 0,
  overflow: -1,
  drainTimeout: 120,
  profile: false,
  tag: '',
  noWrite: false,
  json: false,
});
/** --overflow: DELIVERY_OVERFLOW_LANES for every Worker this bench starts. */
const overflowVars = opt.overflow >= 0 ? { DELIVERY_OVERFLOW_LANES: String(opt.overflow) } : {};
const overflowText = opt.overflow >= 0 ? String(opt.overflow) : '3 (default)';
const list = (s) => String(s).split(',').map((x) => x.trim()).filter(Boolean);
const runs = list(opt.runs);
for (const r of runs) if (!['throughput', 'isolation', 'far'].includes(r)) throw new Error(`unknown run ${r} (known: throughput, isolation, far)`);
const counts = list(opt.destinations).map(Number);
const info = machineInfo();
const busy = warnIfBusy(info);
const log = opt.json ? (...a) => console.error(...a) : (...a) => console.log(...a);
const command = `npm run bench:delivery -- ${process.argv.slice(2).join(' ')}`.trim();
const section = (name) => (opt.tag ? `${name}:${opt.tag}` : name);
const f0 = (n) => (Number.isFinite(n) ? n.toFixed(0) : 'n/a');
const f2 = (n) => (Number.isFinite(n) ? n.toFixed(2) : 'n/a');
const pct = (n) => (Number.isFinite(n) ? `${n >= 0 ? '+' : ''}${(100 * n).toFixed(1)}%` : 'n/a');

/**
 * One autocannon run; `rate` paces it (autocannon's overallRate, requests/s in all). `answerMs`:
 * each answered request's time from sending to its answer, sorted, as measured here. Paced,
 * autocannon's own latency figures read about half of that (a check at d26d974: p50 205 ms where
 * the requests took 403 ms; unpaced both agree), so the ingest latencies below use `answerMs`.
 */
function load({ rate = 0, connections, ...o }) {
  return new Promise((resolve, reject) => {
    const paced = rate > 0 ? { overallRate: Math.max(1, Math.round(rate)) } : {};
    const answerMs = [];
    const setupClient = (client) => {
      let sentAt = 0;
      client.on('request', () => (sentAt = performance.now()));
      client.on('response', () => answerMs.push(performance.now() - sentAt));
    };
    autocannon({ connections: Math.max(1, connections), timeout: 30, sampleInt: 20, setupClient, ...paced, ...o }, (err, res) =>
      err ? reject(err) : resolve({ ...res, answerMs: answerMs.sort((a, b) => a - b) }),
    );
  });
}

/** A group (with a project and a release) whose destinations are the receiver's `paths`; `ingest` is its autocannon ingest request. */
async function seedGroup(worker, receiver, suffix, paths) {
  const seeded = await seedPublicRelease(worker.base, worker.adminToken, suffix);
  for (const path of paths) {
    const data = await gql(
      worker.base,
      worker.adminToken,
      `mutation($url: String!, $path: ID!) { externalAuditEventDestinationCreate(input: { destinationUrl: $url, groupPath: $path }) { errors externalAuditEventDestination { id } } }`,
      { url: receiver.url(path), path: seeded.group.full_path },
    );
    if (data.externalAuditEventDestinationCreate.errors.length) throw new Error(JSON.stringify(data.externalAuditEventDestinationCreate.errors));
  }
  const body = { event_type: 'bench_ingested_event', entity_type: 'Project', entity_id: seeded.project.id, author_id: 1, details: { custom_message: 'bench' } };
  const ingest = { url: `${worker.base}/api/v4/audit_events`, method: 'POST', headers: { 'PRIVATE-TOKEN': worker.adminToken, 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
  const probe = () => must(worker.base, 201, 'POST', '/api/v4/audit_events', { token: worker.adminToken, body });
  return { ...seeded, ingest, probe };
}

/**
 * Deliveries a group's setup sends to its `d` destinations besides `probes` events per destination:
 * each destination receives its own creation event (create_event_streaming_destination) and
 * those of the destinations created after it, d(d+1)/2 in all.
 */
const setupDeliveries = (d, probes) => probes * d + (d * (d + 1)) / 2;

/**
 * Wait for `expected` unique deliveries (setupDeliveries), then until none came for a second, up
 * to 20 s. The count matters: a tracked download's event reaches D1 up to FLUSH_DELAY_MS (1 s) after
 * its redirect (src/downloads/buffer.ts), so "none for a second" alone can end before it arrives.
 */
async function quiet(receiver, expected) {
  const end = Date.now() + 20_000;
  while (receiver.state.unique < expected && Date.now() < end) await sleep(100);
  for (let last = -1; receiver.state.unique !== last && Date.now() < end; ) {
    last = receiver.state.unique;
    await sleep(1000);
  }
}

/** Wait until `done()` or `seconds` have passed. */
async function drain(done, seconds) {
  const deadline = Date.now() + seconds * 1000;
  while (!done() && Date.now() < deadline) await sleep(200);
}

/** D1 writes per delivery: every label (recording the events included) and the consumer Worker's alone (labels queue and lane). */
function costs(stats, deliveries) {
  const tx = countTotal(stats, 'd1WriteTransactions');
  const rows = countTotal(stats, 'rowsWritten');
  const queueTx = countTotal(stats, 'd1WriteTransactions', { labels: ['queue', 'lane'] });
  const queueRows = countTotal(stats, 'rowsWritten', { labels: ['queue', 'lane'] });
  // Where a delivery's time goes: the consumer's batches (queue invocations), the POSTs and D1 primary round trips of each.
  const batches = stats.requests.queue ?? 0;
  const perBatch = (key) => countTotal(stats, key, { labels: ['queue'] }) / batches;
  return {
    writeTransactions: tx,
    rowsWritten: rows,
    writeTxPerDelivery: tx / deliveries,
    rowsPerDelivery: rows / deliveries,
    consumerWriteTxPerDelivery: queueTx / deliveries,
    consumerRowsPerDelivery: queueRows / deliveries,
    // Rows D1 read (meta.rows_read: what it bills for reads, index rows included), every label and the consumer's.
    rowsReadPerDelivery: countTotal(stats, 'rowsRead') / deliveries,
    consumerRowsReadPerDelivery: countTotal(stats, 'rowsRead', { labels: ['queue', 'lane'] }) / deliveries,
    // Queue messages sent (the fan-out's, every label) per delivery: each one is a write, a read and a delete Queues bills.
    queueMessagesPerDelivery: countTotal(stats, 'queueMessages') / deliveries,
    consumerBatches: batches,
    postsPerBatch: perBatch('fetches'),
    d1PrimaryPerBatch: perBatch('d1Primary'),
    requests: stats.requests,
  };
}
const costText = (c) =>
  `D1 write tx ${f2(c.writeTxPerDelivery)}/delivery (consumer ${f2(c.consumerWriteTxPerDelivery)}), rows written ${f2(c.rowsPerDelivery)}/delivery (consumer ${f2(c.consumerRowsPerDelivery)}), rows read ${f2(c.rowsReadPerDelivery)}/delivery (consumer ${f2(c.consumerRowsReadPerDelivery)}); ` +
  `${f2(c.queueMessagesPerDelivery)} queue messages/delivery; ${c.consumerBatches} consumer batches, ${f2(c.postsPerBatch)} POSTs and ${f2(c.d1PrimaryPerBatch)} D1 primary round trips each`;
/** workerd's CPU over the load (bench/lib/cpu.mjs). */
const cpuText = (c) =>
  c ? `workerd event loop CPU ${c.busiestThreadSeconds.toFixed(2)} s (all workerd threads ${c.seconds.toFixed(2)} s) = ${f2(c.msPerDelivery)} ms/delivery, ${f2(c.msPerEvent)} ms/event` : 'workerd CPU n/a (no /proc)';
/** A note when the Worker recorded less than 90% of the offered rate: latencies then include queueing before the events exist. */
const keptUp = (recordedPerSecond, offered) => (recordedPerSecond >= 0.9 * offered ? '' : ` (the Worker recorded ${f0(recordedPerSecond)} of ${f0(offered)} events/s offered: saturated)`);

/**
 * Run `work` while every isolate of the worker's workerd is CPU-profiled (--profile); print each busy isolate's top
 * functions. The API Worker's isolate answers the profiler only through wrangler's own inspector (--inspector-port:
 * wrangler holds that isolate's session on workerd's), the others through workerd's.
 */
async function profiled(worker, work) {
  const raw = await workerdInspector(undefined, { under: worker.pid });
  const api = 'core:user:audit-events-edge';
  const outer = await profileWhile(raw, () => profileWhile(`127.0.0.1:${worker.inspectorPort}`, work, { top: 15 }), { top: 15, pick: (id) => id !== api });
  const { result, isolates: viaWrangler } = outer.result;
  const isolates = [...viaWrangler.map((i) => ({ ...i, id: `${api} (through wrangler's inspector)` })), ...outer.isolates];
  for (const i of isolates.filter((x) => x.busyMs > 0).sort((a, b) => b.busyMs - a.busyMs)) {
    log(`  profile ${i.id}: busy ${f0(i.busyMs)} ms`);
    for (const r of i.rows) log(`    ${r}`);
  }
  return result;
}

/** Throughput: 1, 3 and 10 destinations, half downloads and half ingest, as fast as the worker takes (or --rate). */
async function throughputRun(worker, receiver) {
  const rows = [];
  for (const d of counts) {
    const events = Math.min(opt.events, Math.floor(opt.maxDeliveries / d));
    const suffix = `d${d}-${Date.now().toString(36)}`;
    const seeded = await seedGroup(worker, receiver, suffix, Array.from({ length: d }, (_, k) => `/${suffix}/${k}`));
    await seeded.probe();
    const probe = await fetch(`${worker.base}${seeded.downloadPath}`, { redirect: 'manual' });
    if (probe.status !== 302) throw new Error(`download probe answered ${probe.status}`);
    // Let the probes' deliveries arrive, then count from zero.
    await quiet(receiver, setupDeliveries(d, 2));
    receiver.reset();
    await resetEdgeStats(worker);

    const half = Math.floor(events / 2);
    log(`throughput, ${d} destination(s): recording ${events} events (${half} downloads, ${events - half} ingested)`);
    // --rate: each of the two generators offers half of it.
    const each = { connections: Math.floor(opt.connections / 2), rate: opt.rate / 2 };
    const cpu0 = workerdThreads(worker.pid);
    const t0 = Date.now();
    let t1 = 0;
    const record = async () => {
      const res = await Promise.all([load({ ...each, url: `${worker.base}${seeded.downloadPath}`, amount: half }), load({ ...each, ...seeded.ingest, amount: events - half })]);
      t1 = Date.now();
      return res;
    };
    // Recorded, then every delivery arrived (--profile covers both).
    const recordAndDrain = async () => {
      const [dl, ing] = await record();
      const recorded = dl['3xx'] + ing['2xx'];
      await drain(() => receiver.state.unique >= recorded * d, opt.drainTimeout);
      return [dl, ing];
    };
    const [dl, ing] = opt.profile ? await profiled(worker, recordAndDrain) : await recordAndDrain();
    // workerd's CPU from the first event sent to the last delivery received (what recording and delivering cost).
    const cpu = cpuBetween(cpu0, workerdThreads(worker.pid));
    const recorded = dl['3xx'] + ing['2xx'];
    const failed = answered(dl) - dl['3xx'] + answered(ing) - ing['2xx'] + dl.errors + ing.errors;
    const expected = recorded * d;
    const s = receiver.state;
    const lat = [...s.latencies].sort((a, b) => a - b);
    const row = {
      d,
      events,
      recorded,
      failed,
      recordSeconds: (t1 - t0) / 1000,
      eventsPerSecond: recorded / ((t1 - t0) / 1000),
      delivered: s.unique,
      expected,
      duplicates: s.duplicates,
      deliverySeconds: ((s.lastAt || Date.now()) - t0) / 1000,
      p50: percentile(lat, 50),
      p99: percentile(lat, 99),
      max: lat[lat.length - 1],
    };
    row.deliveriesPerSecond = row.delivered / row.deliverySeconds;
    // Per event and per delivery: the busiest thread's (workerd's event loop, which bounds the rates).
    row.cpu = cpu && { ...cpu, msPerEvent: (1000 * cpu.busiestThreadSeconds) / recorded, msPerDelivery: (1000 * cpu.busiestThreadSeconds) / row.delivered };
    row.costs = costs(await settledEdgeStats(worker), row.delivered);
    rows.push(row);
    log(
      `  recorded ${recorded} (${failed} failed) in ${row.recordSeconds.toFixed(1)} s = ${f0(row.eventsPerSecond)} events/s; ` +
        `delivered ${row.delivered}/${expected} (+${row.duplicates} duplicates) in ${row.deliverySeconds.toFixed(1)} s = ${f0(row.deliveriesPerSecond)} deliveries/s; ` +
        `created_at→arrival p50 ${row.p50} ms p99 ${row.p99} ms max ${row.max} ms; ${costText(row.costs)}; ${cpuText(row.cpu)}`,
    );
    receiver.reset();
  }
  return rows;
}

/**
 * Isolation: tenants a and b (healthy destinations) and c (one destination), each offered
 * --isolation-rate events/s through ingest for --isolation-seconds, twice: c's receiver answering
 * at once ("without"), then hanging past the delivery timeout ("with").
 */
async function isolationRun(worker, receiver) {
  const base = `/iso-${Date.now().toString(36)}`;
  const n = opt.isolationDestinations;
  const tenants = { a: n, b: n, c: 1 };
  const groups = {};
  for (const [t, d] of Object.entries(tenants)) groups[t] = await seedGroup(worker, receiver, `${base.slice(1)}-${t}`, Array.from({ length: d }, (_, k) => `${base}/${t}/${k}`));
  for (const g of Object.values(groups)) await g.probe();
  await quiet(receiver, Object.values(tenants).reduce((sum, d) => sum + setupDeliveries(d, 1), 0));
  const healthy = () => receiver.deliveredUnder(`${base}/a/`) + receiver.deliveredUnder(`${base}/b/`);
  const phases = [];
  for (const phase of ['without', 'with']) {
    const hangs = phase === 'with';
    receiver.set({ hang: hangs ? (path) => path.startsWith(`${base}/c/`) : () => false });
    receiver.reset();
    await resetEdgeStats(worker);
    const amount = Math.round(opt.isolationRate * opt.isolationSeconds);
    log(`isolation, ${phase} the hanging destination: ${opt.isolationRate} events/s for ${opt.isolationSeconds} s to each of tenants a, b (${n} destinations each) and c (1 destination${hangs ? `, hanging past DELIVERY_TIMEOUT_MS=${opt.timeoutMs}` : ', answering at once'})`);
    const t0 = Date.now();
    const res = Object.fromEntries(
      await Promise.all(Object.keys(tenants).map(async (t) => [t, await load({ ...groups[t].ingest, amount, rate: opt.isolationRate, connections: opt.isolationConnections })])),
    );
    const t1 = Date.now();
    const recorded = Object.fromEntries(Object.entries(res).map(([t, r]) => [t, r['2xx']]));
    const failed = Object.values(res).reduce((f, r) => f + answered(r) - r['2xx'] + r.errors, 0);
    const healthyExpected = (recorded.a + recorded.b) * n;
    const cExpected = hangs ? 0 : recorded.c;
    await drain(() => healthy() >= healthyExpected && receiver.deliveredUnder(`${base}/c/`) >= cExpected, opt.drainTimeout);
    const lat = [...receiver.latenciesUnder(`${base}/a/`), ...receiver.latenciesUnder(`${base}/b/`)].sort((x, y) => x - y);
    const s = receiver.state;
    // With c hanging, its retries keep writing: read the counts once, without waiting for them to settle.
    const stats = await settledEdgeStats(worker, { maxMs: hangs ? 2000 : 10_000 });
    const row = {
      phase,
      offeredPerTenant: opt.isolationRate,
      seconds: opt.isolationSeconds,
      recorded,
      failed,
      recordSeconds: (t1 - t0) / 1000,
      eventsPerSecond: Object.values(recorded).reduce((a, b) => a + b, 0) / ((t1 - t0) / 1000),
      // The slowest tenant's ingest answer times (load's answerMs).
      ingestP50: Math.max(...Object.values(res).map((r) => Math.round(percentile(r.answerMs, 50)))),
      ingestP99: Math.max(...Object.values(res).map((r) => Math.round(percentile(r.answerMs, 99)))),
      healthyDelivered: healthy(),
      healthyExpected,
      cDelivered: receiver.deliveredUnder(`${base}/c/`),
      cHung: s.hung,
      delivered: s.unique,
      duplicates: s.duplicates,
      deliveriesPerSecond: s.unique / (((s.lastAt || Date.now()) - t0) / 1000),
      p50: percentile(lat, 50),
      p99: percentile(lat, 99),
      max: lat[lat.length - 1],
    };
    row.costs = costs(stats, row.delivered);
    row.saturated = keptUp(row.eventsPerSecond, 3 * opt.isolationRate);
    phases.push(row);
    log(
      `  recorded a ${recorded.a}, b ${recorded.b}, c ${recorded.c} (${failed} failed) in ${row.recordSeconds.toFixed(1)} s = ${f0(row.eventsPerSecond)} events/s (ingest p50 ${row.ingestP50} ms p99 ${row.ingestP99} ms); healthy delivered ${row.healthyDelivered}/${healthyExpected}, ` +
        `c delivered ${row.cDelivered}, c requests hung ${row.cHung}; ${f0(row.deliveriesPerSecond)} deliveries/s; healthy created_at→arrival p50 ${row.p50} ms p99 ${row.p99} ms max ${row.max} ms; ${costText(row.costs)}${row.saturated}`,
    );
  }
  receiver.set({ hang: () => false });
  receiver.reset();
  const [without, withHang] = phases;
  const p99Change = (withHang.p99 - without.p99) / without.p99;
  const p50Change = (withHang.p50 - without.p50) / without.p50;
  log(`  healthy p99 ${without.p99} → ${withHang.p99} ms (${pct(p99Change)}), p50 ${without.p50} → ${withHang.p50} ms (${pct(p50Change)}); goal: p99 change < 10% and p99 < 2000 ms: ${isolationMet(p99Change, withHang) ? 'met' : 'missed'}`);
  return { timeoutMs: opt.timeoutMs, destinationsPerHealthyTenant: n, phases, p99Change, p50Change };
}
const isolationMet = (change, withHang) => change < 0.1 && withHang.p99 < 2000 && withHang.healthyDelivered === withHang.healthyExpected;

/** far: EDGE_MODEL=far, receivers answering after --far-delay ms, --far-destinations destinations, --far-rate events/s for --far-seconds. */
async function farRun(receiver) {
  const d = opt.farDestinations;
  const lanes = {
    ...(opt.farLanes > 0 ? { DELIVERY_LANES_PER_DESTINATION: String(opt.farLanes) } : {}),
    ...overflowVars,
  };
  log(`far: starting the Worker with EDGE_MODEL=far${Object.entries(lanes).map(([k, v]) => `, ${k}=${v}`).join('')}`);
  const worker = await startWorkerUnder('far', { vars: { MAX_DESTINATIONS_PER_GROUP: String(Math.max(d, 5)), ...lanes } });
  try {
    const suffix = `far-${Date.now().toString(36)}`;
    const seeded = await seedGroup(worker, receiver, suffix, Array.from({ length: d }, (_, k) => `/${suffix}/${k}`));
    const seededAt = Date.now();
    receiver.set({ delayMs: opt.farDelay });
    await seeded.probe();
    await quiet(receiver, setupDeliveries(d, 1));
    // The setup's API writes opened the Worker's read-your-writes window (src/downloads/cache.ts:
    // reads go to the D1 primary for 10 s); a stream of ingested events meets a Worker past it.
    await sleep(Math.max(0, seededAt + 10_500 - Date.now()));
    receiver.reset();
    await resetEdgeStats(worker);
    const amount = Math.round(opt.farRate * opt.farSeconds);
    const connections = opt.farConnections || Math.max(10, Math.round(2 * opt.farRate));
    log(`far: ${opt.farRate} events/s for ${opt.farSeconds} s (${amount} events, ingest, ${connections} connections) to ${d} destinations answering in ${opt.farDelay} ms`);
    const t0 = Date.now();
    const res = await load({ ...seeded.ingest, amount, rate: opt.farRate, connections });
    const t1 = Date.now();
    const recorded = res['2xx'];
    const failed = answered(res) - recorded + res.errors;
    const expected = recorded * d;
    await drain(() => receiver.state.unique >= expected, opt.drainTimeout);
    const s = receiver.state;
    const lat = [...s.latencies].sort((a, b) => a - b);
    const row = {
      destinations: d,
      offered: opt.farRate,
      seconds: opt.farSeconds,
      receiverDelayMs: opt.farDelay,
      connections,
      recorded,
      failed,
      recordSeconds: (t1 - t0) / 1000,
      eventsPerSecond: recorded / ((t1 - t0) / 1000),
      ingestP50: Math.round(percentile(res.answerMs, 50)),
      ingestP99: Math.round(percentile(res.answerMs, 99)),
      delivered: s.unique,
      expected,
      duplicates: s.duplicates,
      deliveriesPerSecond: s.unique / (((s.lastAt || Date.now()) - t0) / 1000),
      p50: percentile(lat, 50),
      p99: percentile(lat, 99),
      max: lat[lat.length - 1],
    };
    row.costs = costs(await settledEdgeStats(worker), row.delivered);
    row.saturated = keptUp(row.eventsPerSecond, opt.farRate);
    row.allArrived = row.delivered === expected;
    log(
      `  recorded ${recorded} (${failed} failed) in ${row.recordSeconds.toFixed(1)} s = ${f0(row.eventsPerSecond)} events/s${row.saturated} (ingest p50 ${row.ingestP50} ms p99 ${row.ingestP99} ms); ` +
        `delivered ${row.delivered}/${expected} (+${row.duplicates} duplicates), ${f0(row.deliveriesPerSecond)} deliveries/s; created_at→arrival p50 ${row.p50} ms p99 ${row.p99} ms max ${row.max} ms${row.allArrived ? '' : ` (of those that arrived within --drain-timeout ${opt.drainTimeout} s)`}; ${costText(row.costs)}`,
    );
    return { row, warnings: workerWarnings(worker.log()) };
  } catch (err) {
    console.error(`far run failed; the Worker's log ends:\n${worker.log().slice(-4000)}`);
    throw err;
  } finally {
    receiver.set({ delayMs: 0 });
    receiver.reset();
    await worker.stop();
    worker.removeState();
  }
}

const warningText = (w) => `- Worker log lines mentioning warn/error: ${w.length}${w.length ? ` (first: \`${w[0].slice(0, 160)}\`)` : ''}`;
const batchCell = (c) => `${c.consumerBatches} (${f2(c.postsPerBatch)} / ${f2(c.d1PrimaryPerBatch)})`;
const batchNote = '- Consumer batches: the consumer Worker\'s queue invocations in the phase, with the POSTs (outbound fetches, failed ones included) and D1 primary round trips of each on average.';
/** What the CPU column means, and the split into recording and delivering when the run had two or more destination counts. */
const cpuNote = (split) =>
  "- workerd CPU: user + system CPU of the busiest thread of the `wrangler dev` workerd processes, from /proc, from the first event sent to the last delivery received, ÷ events recorded (÷ unique deliveries). That thread is workerd's event loop: every Worker, Durable Object, local D1 database and queue runs on it, so it bounds events/s and deliveries/s (wrangler's proxy in front of it runs in a second workerd process, on another core)." +
  (split ? ` A line through the destination counts: **${f2(split.eventMs)} ms to record an event + ${f2(split.deliveryMs)} ms per delivery**; at that cost one thread fills at ${f0(1000 / (split.eventMs / 10 + split.deliveryMs))} deliveries/s to 10 destinations.` : '');
const costNote = '- D1 write tx and rows written per delivery: from `GET /-/bench/edge-stats` (every label: recording the events, the outbox, the consumer Worker\'s batches; "consumer": labels `queue` and `lane`, the consumer Worker\'s queue batches and destination lanes), reset before the load and read once the deliveries arrived, ÷ unique deliveries received. Rows written are D1\'s `meta.rows_written` (journal and index writes included); rows read its `meta.rows_read` (table and index rows visited: what D1 bills for reads; statements read with `first()` or `raw()` carry no meta and are not in it).';

const receiver = await startBenchReceiver();
const out = { date: info.date, commit: info.commit, machine: { cores: info.nproc, cpu: info.cpu, load1: info.load1 }, options: opt };
const warnings = [];
try {
  if (runs.includes('throughput') || runs.includes('isolation')) {
    log(`starting the Worker with EDGE_MODEL=off, DELIVERY_TIMEOUT_MS=${opt.timeoutMs} (the isolation run's hanging receiver times out after ${opt.timeoutMs} ms)`);
    const worker = await startWorkerUnder('off', { inspector: opt.profile, vars: { MAX_DESTINATIONS_PER_GROUP: String(Math.max(...counts, opt.isolationDestinations, 5)), DELIVERY_TIMEOUT_MS: String(opt.timeoutMs), ...overflowVars } });
    try {
      if (runs.includes('throughput')) {
        out.throughput = await throughputRun(worker, receiver);
        out.cpuSplit = splitPerEvent(out.throughput.map((r) => ({ d: r.d, msPerEvent: r.cpu?.msPerEvent })));
        if (out.cpuSplit) log(`workerd CPU per event ≈ ${f2(out.cpuSplit.eventMs)} ms to record it + ${f2(out.cpuSplit.deliveryMs)} ms per delivery (a line through ${counts.join(', ')} destinations)`);
      }
      if (runs.includes('isolation')) out.isolation = await isolationRun(worker, receiver);
      warnings.push(...workerWarnings(worker.log()));
    } catch (err) {
      console.error(`the run failed; the Worker's log ends:\n${worker.log().slice(-4000)}`);
      throw err;
    } finally {
      await worker.stop();
      worker.removeState();
    }
  }
  if (runs.includes('far')) {
    const far = await farRun(receiver);
    out.far = far.row;
    warnings.push(...far.warnings.map((l) => `far: ${l}`));
  }
} finally {
  await receiver.close();
}
out.warnings = warnings.length;
if (warnings.length) log(`worker log lines with warn/error (${warnings.length}):\n${warnings.slice(0, 10).join('\n')}`);

if (!opt.noWrite) {
  const loadLine = `- Load: ${busy ? '**machine busy at start**; ' : ''}local receiver on 127.0.0.1; local queue and both Workers (API and consumer) in one \`wrangler dev\``;
  if (out.throughput) {
    const met = (r) => r.deliveriesPerSecond >= 1000 && r.p99 < 2000;
    writeSection(
      section('bench:delivery'),
      [
        `### Delivery${opt.tag ? ` (${opt.tag})` : ''}: events recorded and streamed to ${counts.join(', ')} destinations`,
        ...machineLines(info, command),
        `${loadLine}; autocannon, ${opt.connections} connections in all (half downloads, half ingest), ${opt.rate > 0 ? `paced at ${opt.rate} events/s offered` : 'as fast as the worker answers'}; receiver answering 200 at once; EDGE_MODEL=off, DELIVERY_TIMEOUT_MS=${opt.timeoutMs}; overflow lanes per lane: ${overflowText}`,
        '',
        table(
          ['destinations', 'events', 'events/s recorded', 'deliveries', 'duplicates', 'deliveries/s', 'p50 ms', 'p99 ms', 'max ms', 'D1 write tx /delivery (consumer)', 'rows written /delivery (consumer)', 'rows read /delivery (consumer)', 'queue messages /delivery', 'event loop CPU ms /event (/delivery)', 'target (≥ 1000/s, p99 < 2 s)'],
          out.throughput.map((r) => [r.d, `${r.recorded}${r.failed ? ` (${r.failed} failed)` : ''}`, f0(r.eventsPerSecond), `${r.delivered}/${r.expected}`, r.duplicates, f0(r.deliveriesPerSecond), r.p50, r.p99, r.max, `${f2(r.costs.writeTxPerDelivery)} (${f2(r.costs.consumerWriteTxPerDelivery)})`, `${f2(r.costs.rowsPerDelivery)} (${f2(r.costs.consumerRowsPerDelivery)})`, `${f2(r.costs.rowsReadPerDelivery)} (${f2(r.costs.consumerRowsReadPerDelivery)})`, f2(r.costs.queueMessagesPerDelivery), r.cpu ? `${f2(r.cpu.msPerEvent)} (${f2(r.cpu.msPerDelivery)})` : 'n/a', met(r) ? 'met' : 'missed']),
        ),
        '',
        cpuNote(out.cpuSplit),
        "- deliveries/s: unique deliveries received ÷ time from the first event sent to the last delivery received; latency: receiver arrival − the event's `created_at`.",
        costNote,
        warningText(warnings),
      ].join('\n'),
    );
  }
  if (out.isolation) {
    const iso = out.isolation;
    const [without, withHang] = iso.phases;
    writeSection(
      section('bench:delivery-isolation'),
      [
        `### Delivery isolation${opt.tag ? ` (${opt.tag})` : ''}: healthy destinations while another tenant's receiver hangs`,
        ...machineLines(info, command),
        `${loadLine}; ingest (POST /api/v4/audit_events) paced at ${opt.isolationRate} events/s per tenant for ${opt.isolationSeconds} s per phase (autocannon, ${opt.isolationConnections} connections per tenant); tenants a and b: ${iso.destinationsPerHealthyTenant} destinations each, answering 200 at once; tenant c: 1 destination, answering at once in phase "without", hanging (no answer) in phase "with"; EDGE_MODEL=off; **DELIVERY_TIMEOUT_MS=${iso.timeoutMs}** (production: 10000)`,
        '',
        table(
          ['phase', 'events a / b / c', 'events/s recorded', 'ingest p50/p99 ms', 'healthy deliveries', 'c delivered / hung', 'deliveries/s', 'healthy p50 ms', 'healthy p99 ms', 'healthy max ms', 'D1 write tx /delivery (consumer)', 'rows written /delivery (consumer)', 'consumer batches (POSTs / D1 primary each)'],
          iso.phases.map((r) => [r.phase, `${r.recorded.a} / ${r.recorded.b} / ${r.recorded.c}${r.failed ? ` (${r.failed} failed)` : ''}`, f0(r.eventsPerSecond), `${r.ingestP50} / ${r.ingestP99}`, `${r.healthyDelivered}/${r.healthyExpected}`, `${r.cDelivered} / ${r.cHung}`, f0(r.deliveriesPerSecond), r.p50, r.p99, r.max, `${f2(r.costs.writeTxPerDelivery)} (${f2(r.costs.consumerWriteTxPerDelivery)})`, `${f2(r.costs.rowsPerDelivery)} (${f2(r.costs.consumerRowsPerDelivery)})`, batchCell(r.costs)]),
        ),
        '',
        ...iso.phases.filter((r) => r.saturated).map((r) => `- Phase "${r.phase}"${r.saturated}: the latencies include the backlog.`),
        `- **Healthy p99 ${without.p99} → ${withHang.p99} ms (${pct(iso.p99Change)})**, p50 ${without.p50} → ${withHang.p50} ms (${pct(iso.p50Change)}). Goal (issue 13): p99 moves by less than 10% and stays under 2 s: **${isolationMet(iso.p99Change, withHang) ? 'met' : 'missed'}**.`,
        '- Healthy: the deliveries to tenants a and b; latency: receiver arrival − the event\'s `created_at`. "c hung": requests to c\'s receiver left unanswered (first attempts, deferrals and retries). deliveries/s: unique deliveries received ÷ time from the phase\'s first event to its last delivery (the phase is paced: about the offered rate).',
        costNote.replace('÷ unique deliveries received', '÷ unique deliveries received (phase "with": read about 2 s after the healthy deliveries arrived; c\'s failed attempts count, its deliveries do not)'),
        batchNote,
        warningText(warnings.filter((w) => !w.startsWith('far: '))),
      ].join('\n'),
    );
  }
  if (out.far) {
    const r = out.far;
    const met = r.delivered === r.expected && r.p99 < 2000;
    writeSection(
      section('bench:delivery-far'),
      [
        `### Delivery under EDGE_MODEL=far${opt.tag ? ` (${opt.tag})` : ''}: ${r.destinations} destinations, ${r.offered} events/s for ${r.seconds} s, receivers answering in ${r.receiverDelayMs} ms`,
        ...machineLines(info, command),
        `${loadLine}; ingest (POST /api/v4/audit_events) paced at ${r.offered} events/s for ${r.seconds} s (autocannon, ${r.connections} connections); EDGE_MODEL=far (bench/README.md: D1 primary 150 ms, queue send 60 ms, 6 outbound fetches per invocation); the issue's goal is 60 s, this run ${r.seconds} s; lanes per destination: ${opt.farLanes > 0 ? opt.farLanes : '1 (default)'}; overflow lanes per lane: ${overflowText}`,
        '',
        table(
          ['events', 'events/s recorded', 'ingest p50/p99 ms', 'deliveries', 'duplicates', 'deliveries/s', 'p50 ms', 'p99 ms', 'max ms', 'D1 write tx /delivery (consumer)', 'rows written /delivery (consumer)', 'consumer batches (POSTs / D1 primary each)', 'goal (all arrive, p99 < 2 s)'],
          [[`${r.recorded}${r.failed ? ` (${r.failed} failed)` : ''}`, f0(r.eventsPerSecond), `${r.ingestP50} / ${r.ingestP99}`, `${r.delivered}/${r.expected}`, r.duplicates, f0(r.deliveriesPerSecond), r.p50, r.p99, r.max, `${f2(r.costs.writeTxPerDelivery)} (${f2(r.costs.consumerWriteTxPerDelivery)})`, `${f2(r.costs.rowsPerDelivery)} (${f2(r.costs.consumerRowsPerDelivery)})`, batchCell(r.costs), met ? 'met' : 'missed']],
        ),
        '',
        ...(r.saturated ? [`- Recording${r.saturated}.`] : []),
        ...(r.allArrived ? [] : [`- **${r.expected - r.delivered} of ${r.expected} deliveries had not arrived after --drain-timeout ${opt.drainTimeout} s**; p50/p99/max are of those that arrived.`]),
        "- deliveries/s: unique deliveries received ÷ time from the first event sent to the last delivery received; latency: receiver arrival − the event's `created_at`.",
        costNote,
        batchNote,
        warningText(warnings.filter((w) => w.startsWith('far: '))),
      ].join('\n'),
    );
  }
}
if (opt.json) console.log(JSON.stringify(out));
