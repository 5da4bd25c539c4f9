#!/usr/bin/env node
// `npm run bench:graphql`: the destinations list query of the streaming reference document
// (group(fullPath:) { id externalAuditEventDestinations { nodes { ... headers ... } } }) against
// `{ __typename }`, in alternating rounds of the same `wrangler dev`, each with the document
// cache (default) and without it (header X-Bench-No-Document-Cache, honoured only with
// BENCH_ROUTES=true). The group has 5 destinations with 3 headers and 2 event type filters each.
//
// Options: --connections 10 --rounds 3 --requests 2000 (per variant per round) --warmup 300
//          --tag NAME (writes section bench:graphql:NAME) --no-write
//          --json (every figure as one JSON object on the last line of stdout; progress goes to stderr)
import autocannon from 'autocannon';
import { gql, must, startWorker, workerWarnings } from './lib/worker.mjs';
import { machineInfo, machineLines, options, table, warnIfBusy, writeSection } from './lib/results.mjs';
import referenceExamples from '../test/fixtures/reference_graphql.json' with { type: 'json' };

const opt = options({ connections: 10, rounds: 3, requests: 2000, warmup: 300, tag: '', noWrite: false, json: false });
const log = opt.json ? (...a) => console.error(...a) : (...a) => console.log(...a);
const info = machineInfo();
const busy = warnIfBusy(info);

// The reference document's list query (test/fixtures/reference_graphql.json, verbatim from 004),
// with the group path of this run.
const listQuery = (path) => {
  const query = referenceExamples.list.replace('group(fullPath: "my-group")', `group(fullPath: ${JSON.stringify(path)})`);
  if (query === referenceExamples.list) throw new Error('the reference list query no longer names group(fullPath: "my-group")');
  return query;
};

function run(o, amount) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    autocannon({ connections: opt.connections, amount, timeout: 20, sampleInt: 20, method: 'POST', ...o }, (err, res) => {
      if (err) return reject(err);
      res.wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      resolve(res);
    });
  });
}

const worker = await startWorker();
try {
  const token = worker.adminToken;
  const suffix = Date.now().toString(36);
  const group = await must(worker.base, 201, 'POST', '/api/v4/groups', { token, body: { name: `GQL ${suffix}`, path: `gql-${suffix}` } });
  for (let k = 0; k < 5; k++) {
    const d = await gql(worker.base, token, `mutation($p: ID!, $u: String!) { externalAuditEventDestinationCreate(input: { destinationUrl: $u, groupPath: $p }) { errors externalAuditEventDestination { id } } }`, {
      p: group.full_path,
      u: `https://siem-${k}.example.com/ingest`,
    });
    const id = d.externalAuditEventDestinationCreate.externalAuditEventDestination.id;
    for (let h = 0; h < 3; h++) {
      await gql(worker.base, token, `mutation($id: AuditEventsExternalAuditEventDestinationID!, $k: String!) { auditEventsStreamingHeadersCreate(input: { destinationId: $id, key: $k, value: "v" }) { errors } }`, { id, k: `X-Bench-${h}` });
    }
    await gql(worker.base, token, `mutation($id: AuditEventsExternalAuditEventDestinationID!) { auditEventsStreamingDestinationEventsAdd(input: { destinationId: $id, eventTypeFilters: ["release_created", "release_updated"] }) { errors } }`, { id });
  }
  const check = await gql(worker.base, token, listQuery(group.full_path));
  const nodes = check.group.externalAuditEventDestinations.nodes;
  if (nodes.length !== 5 || nodes.some((n) => n.headers.nodes.length !== 3 || n.eventTypeFilters.length !== 2)) throw new Error(`unexpected seed: ${JSON.stringify(check)}`);

  const headers = { 'Content-Type': 'application/json', 'PRIVATE-TOKEN': token };
  const noCache = { ...headers, 'X-Bench-No-Document-Cache': 'true' };
  const url = `${worker.base}/api/graphql`;
  const variants = {
    'typename (cache)': { url, headers, body: JSON.stringify({ query: '{ __typename }' }) },
    'destinations (cache)': { url, headers, body: JSON.stringify({ query: listQuery(group.full_path) }) },
    'typename (no cache)': { url, headers: noCache, body: JSON.stringify({ query: '{ __typename }' }) },
    'destinations (no cache)': { url, headers: noCache, body: JSON.stringify({ query: listQuery(group.full_path) }) },
  };
  for (const v of Object.values(variants)) await run(v, opt.warmup);
  const totals = Object.fromEntries(Object.keys(variants).map((k) => [k, { ok: 0, bad: 0, seconds: 0, p50: [], p99: [] }]));
  const names = Object.keys(variants);
  for (let round = 0; round < opt.rounds; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      const res = await run(variants[name], opt.requests);
      const t = totals[name];
      t.ok += res['2xx'];
      t.bad += res.non2xx + res.errors + res.timeouts;
      t.seconds += res.wallSeconds;
      t.p50.push(res.latency.p50);
      t.p99.push(res.latency.p99);
      log(`round ${round + 1} ${name.padEnd(24)} ${(res['2xx'] / res.wallSeconds).toFixed(0)} req/s  p50 ${res.latency.p50} ms  p99 ${res.latency.p99} ms  non-2xx ${res.non2xx} errors ${res.errors}`);
    }
  }
  const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const r = Object.fromEntries(names.map((n) => [n, { rps: totals[n].ok / totals[n].seconds, p50: median(totals[n].p50), p99: median(totals[n].p99), ok: totals[n].ok, bad: totals[n].bad }]));
  const ratio = r['destinations (cache)'].rps / r['typename (cache)'].rps;
  const ratioNoCache = r['destinations (no cache)'].rps / r['typename (no cache)'].rps;
  const cacheGain = r['destinations (cache)'].rps / r['destinations (no cache)'].rps;
  log(`\nratio destinations/typename with cache ${ratio.toFixed(2)} (target >= 0.8); without cache ${ratioNoCache.toFixed(2)}; cache speeds the destinations query up ${cacheGain.toFixed(2)}x`);
  const warnings = workerWarnings(worker.log());
  if (opt.json) {
    console.log(JSON.stringify({ date: info.date, commit: info.commit, machine: { cores: info.nproc, cpu: info.cpu }, options: opt, variants: r, ratio, ratioNoCache, cacheGain, warnings: warnings.length }));
  }
  if (!opt.noWrite) {
    writeSection(
      opt.tag ? `bench:graphql:${opt.tag}` : 'bench:graphql',
      [
        `### GraphQL${opt.tag ? ` (${opt.tag})` : ''}: the reference document's destinations list vs \`{ __typename }\``,
        ...machineLines(info, `npm run bench:graphql -- ${process.argv.slice(2).join(' ')}`.trim()),
        `- Load: autocannon POST /api/graphql, ${opt.connections} connections, ${opt.rounds} alternating rounds of ${opt.requests} requests per variant (after ${opt.warmup} warm-up each); admin token; the group has 5 destinations × (3 headers, 2 event type filters)${busy ? '; **machine busy at start**' : ''}`,
        '',
        table(['query', 'req/s', 'p50 ms', 'p99 ms', '2xx', 'other'], names.map((n) => [n, r[n].rps.toFixed(0), r[n].p50, r[n].p99, r[n].ok, r[n].bad])),
        '',
        `- **Ratio destinations / typename (document cache on, as deployed): ${ratio.toFixed(2)}** (target ≥ 0.8: ${ratio >= 0.8 ? 'met' : 'missed'}); without the cache: ${ratioNoCache.toFixed(2)}.`,
        `- Effect of the parse/validate cache on the destinations query: ${cacheGain.toFixed(2)}× the throughput (${r['destinations (no cache)'].rps.toFixed(0)} → ${r['destinations (cache)'].rps.toFixed(0)} req/s).`,
        `- Worker log lines mentioning warn/error: ${warnings.length}`,
      ].join('\n'),
    );
  }
} finally {
  await worker.stop();
  worker.removeState();
}
