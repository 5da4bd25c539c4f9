#!/usr/bin/env node
// `npm run bench:delivery`: record events (half through ingest POST /api/v4/audit_events, half
// through the tracked download redirect) for a group with 1, 3 and 10 streaming destinations
// on a local receiver, and measure events/s recorded, deliveries/s completed (first event sent
// to last delivery received) and the p50/p99 time from an event's created_at to its arrival.
// One `wrangler dev` for all scenarios (each its own group), run one after another.
//
// Options: --events 10000 (per scenario) --max-deliveries 30000 (caps events per scenario at
//          max-deliveries / destinations, so 10 destinations default to 3,000 events)
//          --destinations 1,3,10 --connections 10 --drain-timeout 300 (seconds per scenario)
//          --rate N (offer N events/s in all instead of as many as the worker takes: the latency
//          of a load it keeps up with) --tag NAME (writes section bench:delivery:NAME) --no-write
import autocannon from 'autocannon';
import { gql, must, seedPublicRelease, startWorker, workerWarnings } from './lib/worker.mjs';
import { startBenchReceiver } from './lib/receiver.mjs';
import { machineInfo, machineLines, options, percentile, table, warnIfBusy, writeSection } from './lib/results.mjs';

const opt = options({ events: 10000, maxDeliveries: 30000, destinations: '1,3,10', connections: 10, drainTimeout: 300, rate: 0, tag: '', noWrite: false });
const info = machineInfo();
const busy = warnIfBusy(info);
const counts = opt.destinations.split(',').map(Number);

function load(o) {
  return new Promise((resolve, reject) => {
    // --rate: each of the two generators offers half of it (autocannon's overallRate, requests/s).
    const paced = opt.rate > 0 ? { overallRate: Math.max(1, Math.round(opt.rate / 2)) } : {};
    autocannon({ connections: Math.max(1, Math.floor(opt.connections / 2)), timeout: 30, sampleInt: 20, ...paced, ...o }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}
const answered = (r) => r['1xx'] + r['2xx'] + r['3xx'] + r['4xx'] + r['5xx'];

const receiver = await startBenchReceiver();
const worker = await startWorker({ vars: { MAX_DESTINATIONS_PER_GROUP: String(Math.max(...counts, 5)) } });
const rows = [];
try {
  for (const d of counts) {
    const events = Math.min(opt.events, Math.floor(opt.maxDeliveries / d));
    const suffix = `d${d}-${Date.now().toString(36)}`;
    const seeded = await seedPublicRelease(worker.base, worker.adminToken, suffix);
    for (let k = 0; k < d; k++) {
      const data = await gql(
        worker.base,
        worker.adminToken,
        `mutation($url: String!, $path: ID!) { externalAuditEventDestinationCreate(input: { destinationUrl: $url, groupPath: $path }) { errors externalAuditEventDestination { id } } }`,
        { url: receiver.url(`/${suffix}/${k}`), path: seeded.group.full_path },
      );
      if (data.externalAuditEventDestinationCreate.errors.length) throw new Error(JSON.stringify(data.externalAuditEventDestinationCreate.errors));
    }
    const ingestBody = JSON.stringify({ event_type: 'bench_ingested_event', entity_type: 'Project', entity_id: seeded.project.id, author_id: 1, details: { custom_message: 'bench' } });
    const ingestHeaders = { 'PRIVATE-TOKEN': worker.adminToken, 'Content-Type': 'application/json' };
    await must(worker.base, 201, 'POST', '/api/v4/audit_events', { token: worker.adminToken, body: JSON.parse(ingestBody) });
    const probe = await fetch(`${worker.base}${seeded.downloadPath}`, { redirect: 'manual' });
    if (probe.status !== 302) throw new Error(`download probe answered ${probe.status}`);
    // Let the probes' deliveries arrive, then count from zero.
    const expectedProbe = 2 * d;
    for (let i = 0; i < 100 && receiver.state.unique < expectedProbe; i++) await new Promise((r) => setTimeout(r, 100));
    receiver.reset();

    const half = Math.floor(events / 2);
    console.log(`${d} destination(s): recording ${events} events (${half} downloads, ${events - half} ingested)`);
    const t0 = Date.now();
    const [dl, ing] = await Promise.all([
      load({ url: `${worker.base}${seeded.downloadPath}`, amount: half }),
      load({ url: `${worker.base}/api/v4/audit_events`, method: 'POST', headers: ingestHeaders, body: ingestBody, amount: events - half }),
    ]);
    const t1 = Date.now();
    const recorded = dl['3xx'] + ing['2xx'];
    const failed = answered(dl) - dl['3xx'] + answered(ing) - ing['2xx'] + dl.errors + ing.errors;
    const expected = recorded * d;
    const deadline = t1 + opt.drainTimeout * 1000;
    while (receiver.state.unique < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
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
    rows.push(row);
    console.log(
      `  recorded ${recorded} (${failed} failed) in ${row.recordSeconds.toFixed(1)} s = ${row.eventsPerSecond.toFixed(0)} events/s; ` +
        `delivered ${row.delivered}/${expected} (+${row.duplicates} duplicates) in ${row.deliverySeconds.toFixed(1)} s = ${row.deliveriesPerSecond.toFixed(0)} deliveries/s; ` +
        `created_at→arrival p50 ${row.p50} ms p99 ${row.p99} ms max ${row.max} ms`,
    );
    receiver.reset();
  }
  const warnings = workerWarnings(worker.log());
  if (warnings.length) console.log(`worker log lines with warn/error (${warnings.length}):\n${warnings.slice(0, 10).join('\n')}`);
  if (!opt.noWrite) {
    const f0 = (n) => (Number.isFinite(n) ? n.toFixed(0) : 'n/a');
    const met = (r) => r.deliveriesPerSecond >= 1000 && r.p99 < 2000;
    writeSection(
      opt.tag ? `bench:delivery:${opt.tag}` : 'bench:delivery',
      [
        `### Delivery${opt.tag ? ` (${opt.tag})` : ''}: events recorded and streamed to 1, 3 and 10 destinations`,
        ...machineLines(info, `npm run bench:delivery -- ${process.argv.slice(2).join(' ')}`.trim()),
        `- Load: autocannon, ${opt.connections} connections in all (half downloads, half ingest), ${opt.rate > 0 ? `paced at ${opt.rate} events/s offered` : 'as fast as the worker answers'}; local receiver answering 200 at once; local queue and consumer in the same \`wrangler dev\`${busy ? '; **machine busy at start**' : ''}`,
        '',
        table(
          ['destinations', 'events', 'events/s recorded', 'deliveries', 'duplicates', 'deliveries/s', 'p50 ms', 'p99 ms', 'max ms', 'target (≥ 1000/s, p99 < 2 s)'],
          rows.map((r) => [r.d, `${r.recorded}${r.failed ? ` (${r.failed} failed)` : ''}`, f0(r.eventsPerSecond), `${r.delivered}/${r.expected}`, r.duplicates, f0(r.deliveriesPerSecond), r.p50, r.p99, r.max, met(r) ? 'met' : 'missed']),
        ),
        '',
        '- deliveries/s: unique deliveries received ÷ time from the first event sent to the last delivery received; latency: receiver arrival − the event\'s `created_at`.',
        `- Worker log lines mentioning warn/error: ${warnings.length}${warnings.length ? ` (first: \`${warnings[0].slice(0, 160)}\`)` : ''}`,
      ].join('\n'),
    );
  }
} finally {
  await worker.stop();
  worker.removeState();
  await receiver.close();
}
