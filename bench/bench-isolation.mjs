#!/usr/bin/env node
// `npm run bench:isolation`: does another tenant's hanging receiver slow a healthy destination?
// One `wrangler dev` (npm start), one run, two phases: a group with `--destinations` healthy
// destinations receives `--events` ingested events paced at `--rate` events/s, first alone, then
// while a second group's destination hangs past the delivery timeout (the receiver never
// answers it) and that group records events at the same rate. Reports the healthy
// destinations' created_at→arrival p50/p99 in both phases (goal: p99 moves by less than 10%
// and stays under 2 s at 40 events/s per tenant).
//
// Options: --events 800 --rate 40 --destinations 3 --timeout-ms 10000 (DELIVERY_TIMEOUT_MS)
//          --drain-timeout 120 (seconds per phase) --no-write
import autocannon from 'autocannon';
import { gql, must, seedPublicRelease, startWorker, workerWarnings } from './lib/worker.mjs';
import { startBenchReceiver } from './lib/receiver.mjs';
import { machineInfo, machineLines, options, percentile, table, warnIfBusy, writeSection } from './lib/results.mjs';

const opt = options({ events: 800, rate: 40, destinations: 3, timeoutMs: 10000, drainTimeout: 120, noWrite: false });
const info = machineInfo();
const busy = warnIfBusy(info);

const receiver = await startBenchReceiver();
const worker = await startWorker({ vars: { DELIVERY_TIMEOUT_MS: String(opt.timeoutMs) } });
const createDestination = async (groupPath, url) => {
  const data = await gql(
    worker.base,
    worker.adminToken,
    `mutation($url: String!, $path: ID!) { externalAuditEventDestinationCreate(input: { destinationUrl: $url, groupPath: $path }) { errors } }`,
    { url, path: groupPath },
  );
  if (data.externalAuditEventDestinationCreate.errors.length) throw new Error(JSON.stringify(data.externalAuditEventDestinationCreate.errors));
};
/** Offer `amount` ingested events for `project` at `rate` events/s. */
const ingest = (project, amount, rate) =>
  new Promise((resolve, reject) =>
    autocannon(
      {
        url: `${worker.base}/api/v4/audit_events`,
        method: 'POST',
        headers: { 'PRIVATE-TOKEN': worker.adminToken, 'Content-Type': 'application/json' },
        body: JSON.stringify({ event_type: 'bench_isolation_event', entity_type: 'Project', entity_id: project.id, details: { custom_message: 'bench' } }),
        connections: 4,
        overallRate: rate,
        amount,
        timeout: 30,
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    ),
  );

const rows = [];
try {
  for (const hang of [false, true]) {
    const suffix = `iso-${hang ? 'hang' : 'alone'}-${Date.now().toString(36)}`;
    const healthy = await seedPublicRelease(worker.base, worker.adminToken, suffix);
    for (let k = 0; k < opt.destinations; k++) await createDestination(healthy.group.full_path, receiver.url(`/${suffix}/${k}`));
    const other = hang ? await seedPublicRelease(worker.base, worker.adminToken, `${suffix}-other`) : null;
    if (other) await createDestination(other.group.full_path, receiver.url(`/hang/${suffix}`));
    await new Promise((r) => setTimeout(r, 2000)); // the seeding's own events arrive first
    receiver.reset();
    console.log(`${hang ? 'with' : 'without'} a hanging destination of another group: ${opt.events} events at ${opt.rate}/s to ${opt.destinations} healthy destination(s)`);
    const t0 = Date.now();
    const [res] = await Promise.all([ingest(healthy.project, opt.events, opt.rate), other ? ingest(other.project, opt.events, opt.rate) : null]);
    const expected = res['2xx'] * opt.destinations;
    const deadline = Date.now() + opt.drainTimeout * 1000;
    while (receiver.state.unique < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const lat = [...receiver.state.latencies].sort((a, b) => a - b);
    const row = { hang, recorded: res['2xx'], delivered: receiver.state.unique, expected, hung: receiver.state.hung, p50: percentile(lat, 50), p99: percentile(lat, 99), max: lat[lat.length - 1], seconds: (Date.now() - t0) / 1000 };
    rows.push(row);
    console.log(`  delivered ${row.delivered}/${expected} to the healthy destinations; p50 ${row.p50} ms p99 ${row.p99} ms max ${row.max} ms; hanging requests held: ${row.hung}`);
  }
  const [alone, withHang] = rows;
  const moved = ((withHang.p99 - alone.p99) / alone.p99) * 100;
  console.log(`healthy p99 moved by ${moved.toFixed(1)}% with the hanging destination (goal < 10%, p99 < 2000 ms)`);
  const warnings = workerWarnings(worker.log());
  if (!opt.noWrite) {
    writeSection(
      'bench:isolation',
      [
        '### Isolation: a healthy destination while another group\'s destination hangs past the timeout',
        ...machineLines(info, `npm run bench:isolation -- ${process.argv.slice(2).join(' ')}`.trim()),
        `- Load: ${opt.events} ingested events at ${opt.rate}/s for a group with ${opt.destinations} healthy destination(s); in the second phase another group records the same at the same rate to one destination that never answers (DELIVERY_TIMEOUT_MS ${opt.timeoutMs}); one \`npm start\`${busy ? '; **machine busy at start**' : ''}`,
        '',
        table(
          ['phase', 'healthy deliveries', 'p50 ms', 'p99 ms', 'max ms', 'hanging requests held'],
          rows.map((r) => [r.hang ? 'with the hanging destination' : 'alone', `${r.delivered}/${r.expected}`, r.p50, r.p99, r.max, r.hang ? r.hung : '—']),
        ),
        '',
        `- Healthy p99 moved by ${moved.toFixed(1)}% (goal: < 10%, and p99 < 2 s). Worker log lines mentioning warn/error: ${warnings.length}`,
      ].join('\n'),
    );
  }
} finally {
  await worker.stop();
  worker.removeState();
  await receiver.close();
}
