#!/usr/bin/env node
// Fault soak (issue 8): proves that no accepted audit event is lost on its way to the group's
// streaming destinations while the receiver misbehaves and `wrangler dev` is killed mid-run.
//
//   npm run soak          N = 5,000 events, a 10 s receiver outage
//   npm run soak:short    N = 200 events, a 3 s outage (what .ci/run runs; about 6 minutes)
//
// What it does:
//  1. Starts the worker as the README does (`npm start -- --port <free> --persist-to <tmp>
//     --var ADMIN_TOKEN:<random> --var ALLOW_LOCAL_DESTINATIONS:true --var DELIVERY_TIMEOUT_MS:1000
//     --var DELIVERY_RETRY_SCHEDULE:<short> --var DELIVERY_BREAKER_COOLDOWN_SECONDS:5 --var RATE_LIMITS:off
//     --var AUDIT_HOT_DAYS:0 --test-scheduled`), with a fresh state directory: each cron run moves the
//     dispatched events to the cold archive (issue 19), so moves run across the kill.
//  2. Runs a receiver on 127.0.0.1 that fails on purpose: 30% 500, 5% hangs past the delivery
//     timeout, 5% 429 with Retry-After: 1, 5% slow 2xx close to the timeout (duplicate-prone),
//     one outage (connections dropped), and one path that always answers 500.
//  3. Creates three destinations on the faulty receiver and one permanently failing one
//     (GraphQL externalAuditEventDestinationCreate), then records N events through
//     POST /api/v4/audit_events, half before and half after killing (SIGKILL) and restarting
//     `wrangler dev` on the same --persist-to directory.
//  4. Triggers the cron (`/__scheduled`: the outbox sweep, the stale delivery sweep, the archive's
//     move) every few seconds from the first event to the kill and while draining, and waits
//     until every healthy delivery arrived and the permanently failing destination's deliveries
//     are dead-lettered (within a budget); reads the delivery log
//     (GraphQL deliveryCounts) for what D1 says; prints the report and writes the "Fault soak"
//     section of bench/RESULTS.md. Exits non-zero when anything was lost, or when the events
//     listed at the end (hot and cold) are not exactly those recorded.
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir, cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { freePort, killGroup, spawnNpmStart, waitForVersion } from '../test/e2e/harness.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SHORT = process.argv.includes('--short');
// The short drain budget covers a flaky destination whose half-open probes fail several times in a
// row (its receiver fails 35% of requests): the cool-downs 5, 10, 20, 40, 50, 50 s alone take 175 s.
// One run in three of 300 s ended with one delivery still pending (not lost) at the budget.
// Once the healthy destinations drained, the short run gives the permanently failing one 60 s (its
// cool-downs 5, 10 and 20 s: three rounds of probes, none of which may be delivered). It gave 240 s,
// four minutes of CI (then 29 min in all) that the verdict does not need.
const CONFIG = SHORT
  ? { mode: 'short', events: 200, outageMs: 3_000, drainBudgetMs: 480_000, deadGraceMs: 60_000 }
  : { mode: 'full', events: 5_000, outageMs: 10_000, drainBudgetMs: 3_600_000, deadGraceMs: 900_000 };
/** Shortened for the soak only (never the production defaults): documented in README and RESULTS. */
const DELIVERY_TIMEOUT_MS = 1000;
/** 13 attempts over about a minute: at a 40% failure rate, 0.4^13 ≈ 7e-6 per delivery. */
const DELIVERY_RETRY_SCHEDULE = '1,1,2,2,3,3,5,5,8,8,13,13';
/**
 * First circuit-breaker cool-down (production: 60 s), doubling per trip up to ten times it.
 * `--default-breaker` keeps the production default instead (issue 13's goal: the flaky-but-alive
 * destinations get every event with the short retry schedule and the default breaker).
 */
const DEFAULT_BREAKER = process.argv.includes('--default-breaker');
/** The first cool-down the soak sets without --default-breaker. */
const SOAK_COOLDOWN_SECONDS = 5;
const BREAKER_COOLDOWN_SECONDS = DEFAULT_BREAKER ? 60 : SOAK_COOLDOWN_SECONDS;
const INGEST_CONCURRENCY = 8;
const HEALTHY = ['/soak/a', '/soak/b', '/soak/c'];
const DEAD = '/soak/dead';
const EVENT_TYPE = 'soak_event';

const log = (...a) => console.log(`[soak ${((Date.now() - T0) / 1000).toFixed(1)}s]`, ...a);
const T0 = Date.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- the misbehaving receiver
const received = new Map(); // path -> Map(webhook-id -> 2xx answers sent)
const tally = { requests: 0, s500: 0, hang: 0, s429: 0, slow2xx: 0, outageDropped: 0, dead500: 0, ok: 0 };
let outageUntil = 0;
let dropAll = false; // while the worker is down nothing arrives anyway

function answered2xx(path, id) {
  if (!id) return;
  const m = received.get(path) ?? new Map();
  received.set(path, m);
  m.set(id, (m.get(id) ?? 0) + 1);
}

const receiver = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    tally.requests++;
    const path = req.url.split('?')[0];
    // Only the soak's events count (the group's own admin events may reach a destination too).
    const id = req.headers['x-gitlab-audit-event-type'] === EVENT_TYPE ? req.headers['webhook-id'] : null;
    if (Date.now() < outageUntil || dropAll) {
      tally.outageDropped++;
      req.socket.destroy();
      return;
    }
    if (path === DEAD) {
      tally.dead500++;
      res.writeHead(500).end('permanently failing');
      return;
    }
    const r = Math.random();
    if (r < 0.3) {
      tally.s500++;
      res.writeHead(500).end('random failure');
    } else if (r < 0.35) {
      // Hangs past the delivery timeout, then answers 200, normally to nobody (the worker has given
      // up and closed the connection). A worker whose timer fired late (a busy machine) still reads
      // it and records the delivery: then it counts as received here too, as the slow 2xx below do.
      tally.hang++;
      setTimeout(() => {
        if (!res.destroyed) {
          answered2xx(path, id);
          res.writeHead(200).end('too late');
        }
      }, DELIVERY_TIMEOUT_MS + 1500);
    } else if (r < 0.4) {
      tally.s429++;
      res.writeHead(429, { 'Retry-After': '1' }).end('slow down');
    } else if (r < 0.45) {
      // Slow 2xx close to the timeout: processed here, but the worker may time out first and retry.
      tally.slow2xx++;
      setTimeout(() => {
        if (!res.destroyed) {
          answered2xx(path, id);
          res.writeHead(200).end('ok (slow)');
        }
      }, DELIVERY_TIMEOUT_MS - 150 + Math.floor(Math.random() * 300));
    } else {
      tally.ok++;
      answered2xx(path, id);
      res.writeHead(200).end('ok');
    }
  });
});

// ---------------------------------------------------------------- the worker
const dir = mkdtempSync(join(tmpdir(), 'audit-soak-'));
const persist = join(dir, 'state');
const adminToken = `soak-admin-${randomBytes(12).toString('hex')}`;
let worker = null;
let workerLog = '';

let port;
let base;
async function startWorker() {
  port ??= await freePort();
  base = `http://127.0.0.1:${port}`;
  const inspector = await freePort();
  const args = [
    'start', '--', '--port', String(port), '--inspector-port', String(inspector), '--persist-to', persist,
    '--var', `ADMIN_TOKEN:${adminToken}`, '--var', 'ALLOW_LOCAL_DESTINATIONS:true', '--var', 'DELIVERY_LOOPBACK_ONLY:true',
    '--var', `DELIVERY_TIMEOUT_MS:${DELIVERY_TIMEOUT_MS}`, '--var', `DELIVERY_RETRY_SCHEDULE:${DELIVERY_RETRY_SCHEDULE}`,
    ...(DEFAULT_BREAKER ? [] : ['--var', `DELIVERY_BREAKER_COOLDOWN_SECONDS:${BREAKER_COOLDOWN_SECONDS}`]), '--test-scheduled', '--show-interactive-dev-session=false',
    // The soak measures the service, not the limiter.
    '--var', 'RATE_LIMITS:off',
    // Every cron run also moves the events whose deliveries were dispatched to the cold archive
    // (issue 19), so moves run before, across and after the kill, and deliveries read moved events.
    '--var', 'AUDIT_HOT_DAYS:0',
  ];
  worker = spawnNpmStart(args, (d) => (workerLog += d));
  await waitForVersion(worker, base, () => workerLog.slice(-3000));
}

/** Kill the whole process group (npm, start.mjs, wrangler, workerd) at once, like a crash. */
async function killWorker(signal = 'SIGKILL') {
  if (!worker) return;
  const child = worker;
  worker = null;
  await killGroup(child, base, signal);
}

async function api(method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'PRIVATE-TOKEN': adminToken, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, body: json, headers: res.headers };
}

async function gql(query, variables) {
  const r = await api('POST', '/api/graphql', { query, variables });
  if (r.status !== 200 || r.body.errors) throw new Error(`GraphQL: ${r.status} ${JSON.stringify(r.body).slice(0, 500)}`);
  return r.body.data;
}

/** Chunks moved to the cold archive so far (its `audit_events_archived` events, one per chunk). */
async function archivedChunks() {
  const r = await api('GET', '/api/v4/audit_events?event_type=audit_events_archived&per_page=1');
  return Number(r.headers.get('x-total') ?? 0);
}

async function triggerCron() {
  try {
    const res = await fetch(`${base}/__scheduled?cron=*+*+*+*+*`);
    await res.text();
  } catch {
    /* worker restarting */
  }
}


let groupPath;
let groupId;
async function deliveryCounts() {
  const d = await gql(
    `query($p: ID!) { group(fullPath: $p) { externalAuditEventDestinations { nodes { id destinationUrl deliveryCounts { pending delivered failed total } } } } }`,
    { p: groupPath },
  );
  const out = {};
  for (const n of d.group.externalAuditEventDestinations.nodes) out[new URL(n.destinationUrl).pathname] = { ...n.deliveryCounts, id: n.id };
  return out;
}

/** Record events [from, to) through the ingest API; returns the ids stored (201). */
async function recordEvents(from, to) {
  const ids = [];
  let next = from;
  let failures = 0;
  const workers = Array.from({ length: INGEST_CONCURRENCY }, async () => {
    while (next < to) {
      const i = next++;
      const r = await api('POST', '/api/v4/audit_events', {
        event_type: EVENT_TYPE,
        entity_type: 'Group',
        entity_path: groupPath,
        target_details: `soak #${i}`,
        details: { custom_message: `soak event ${i}`, seq: i },
      });
      if (r.status === 201) ids.push(r.body.id);
      else failures++;
    }
  });
  await Promise.all(workers);
  if (failures > 0) log(`${failures} ingest calls were refused (not counted as recorded)`);
  return ids;
}

// ---------------------------------------------------------------- tracked downloads
// Clicks on a public release's tracked download URL run beside the ingest, up to the SIGKILL
// and after the restart. Every click answered 302 must end as exactly one stored event: the
// redirect answers only once a Durable Object buffer has the event, and the buffer flushes to D1
// later (its alarm survives the restart). A click whose 302 was lost in the kill may still be
// stored (counted as "stored without a 302 seen", not as lost).
const downloads = { path: null, projectId: null, answered302: 0, refused: 0, clicking: false };
const DOWNLOAD_CONCURRENCY = 2;

async function seedDownload() {
  const p = await api('POST', '/api/v4/projects', { name: 'Downloads', path: 'downloads', namespace_id: Number(groupId), visibility: 'public' });
  if (p.status !== 201) throw new Error(`project: ${p.status} ${JSON.stringify(p.body)}`);
  const rel = await api('POST', `/api/v4/projects/${p.body.id}/releases`, {
    tag_name: 'v1.0',
    assets: { links: [{ name: 'app', url: 'https://downloads.example.com/app-1.0.tgz', direct_asset_path: '/bin/app.tgz' }] },
  });
  if (rel.status !== 201) throw new Error(`release: ${rel.status} ${JSON.stringify(rel.body)}`);
  downloads.projectId = p.body.id;
  downloads.path = `/${p.body.path_with_namespace}/-/releases/v1.0/downloads/bin/app.tgz`;
}

/** Click until clicking stops; the worker may be down meanwhile (those clicks are not answered). */
function startClicking() {
  downloads.clicking = true;
  return Promise.all(Array.from({ length: DOWNLOAD_CONCURRENCY }, async () => {
    while (downloads.clicking) {
      try {
        const r = await fetch(`${base}${downloads.path}`, { redirect: 'manual', headers: { 'User-Agent': 'soak' } });
        await r.arrayBuffer();
        if (r.status === 302) downloads.answered302++;
        else downloads.refused++;
        await sleep(20);
      } catch {
        await sleep(50); // the worker is down (the kill) or restarting
      }
    }
  }));
}

/** Download events stored in D1, waiting (up to 30 s) for the buffers to flush. */
async function storedDownloads() {
  let n = 0;
  for (let i = 0; i < 60; i++) {
    const r = await api('GET', `/api/v4/projects/${downloads.projectId}/audit_events?event_type=release_external_artifact_download&per_page=1`);
    n = Number(r.headers.get('x-total'));
    if (n >= downloads.answered302) break;
    await sleep(500);
  }
  return n;
}

function uniqueDelivered(path) {
  return received.get(path)?.size ?? 0;
}
function duplicates(path) {
  let d = 0;
  for (const n of (received.get(path) ?? new Map()).values()) d += n - 1;
  return d;
}

// ---------------------------------------------------------------- the run
async function main() {
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  const sink = `http://127.0.0.1:${receiver.address().port}`;
  log(`mode ${CONFIG.mode}: ${CONFIG.events} events, outage ${CONFIG.outageMs} ms; receiver ${sink}; state ${persist}`);
  await startWorker();
  log(`worker up on ${base}`);

  const g = await api('POST', '/api/v4/groups', { name: 'Soak', path: `soak-${randomBytes(4).toString('hex')}`, visibility: 'public' });
  if (g.status !== 201) throw new Error(`group: ${g.status} ${JSON.stringify(g.body)}`);
  groupPath = g.body.full_path;
  groupId = g.body.id;
  await seedDownload();
  for (const p of [DEAD, ...HEALTHY]) {
    const d = await gql(
      `mutation($i: ExternalAuditEventDestinationCreateInput!) { externalAuditEventDestinationCreate(input: $i) { errors externalAuditEventDestination { id } } }`,
      { i: { destinationUrl: `${sink}${p}`, groupPath, name: p } },
    );
    if (d.externalAuditEventDestinationCreate.errors.length) throw new Error(JSON.stringify(d));
    // Only the soak's events: the destination-creation audit events are not part of the count.
    await gql(
      `mutation($i: AuditEventsStreamingDestinationEventsAddInput!) { auditEventsStreamingDestinationEventsAdd(input: $i) { errors } }`,
      { i: { destinationId: d.externalAuditEventDestinationCreate.externalAuditEventDestination.id, eventTypeFilters: [EVENT_TYPE] } },
    );
  }

  const half = Math.floor(CONFIG.events / 2);
  const tRecord = Date.now();
  // The outage starts while the first half is being delivered.
  setTimeout(() => {
    outageUntil = Date.now() + CONFIG.outageMs;
    log(`receiver outage for ${CONFIG.outageMs} ms`);
  }, SHORT ? 1_500 : 8_000);
  const clicks = startClicking();
  // The cron (sweeps and the archive's move) runs through the first half and up to the kill.
  let cronBeforeKill = true;
  const cronLoop = (async () => {
    while (cronBeforeKill) {
      await triggerCron();
      await sleep(2_500);
    }
  })();
  const first = await recordEvents(0, half);
  log(`recorded ${first.length} events (first half)`);
  await sleep(SHORT ? 2_000 : 5_000);

  // --- restart: SIGKILL the whole worker while deliveries are in flight.
  const before = await deliveryCounts();
  const pendingAtKill = HEALTHY.reduce((s, p) => s + before[p].pending, 0) + before[DEAD].pending;
  const deliveredAtKill = HEALTHY.reduce((s, p) => s + uniqueDelivered(p), 0);
  log(`killing wrangler dev: D1 says ${pendingAtKill} deliveries pending, ${deliveredAtKill} arrived so far`);
  const tKill = Date.now();
  const movedBeforeKill = await archivedChunks();
  await killWorker('SIGKILL');
  cronBeforeKill = false;
  await cronLoop;
  await startWorker();
  const restartMs = Date.now() - tKill;
  const after = await deliveryCounts();
  const eventsAfterRestart = Number((await api('GET', `/api/v4/audit_events?event_type=${EVENT_TYPE}&per_page=1`)).headers.get('x-total'));
  log(`restarted in ${(restartMs / 1000).toFixed(1)} s: ${eventsAfterRestart} events in D1, ${HEALTHY.reduce((s, p) => s + after[p].pending, 0) + after[DEAD].pending} deliveries pending`);
  const logMark = workerLog.length;

  const second = await recordEvents(half, CONFIG.events);
  log(`recorded ${second.length} events (second half)`);
  downloads.clicking = false;
  await clicks;
  log(`downloads: ${downloads.answered302} clicks answered 302 (across the kill)`);
  const recorded = first.length + second.length;
  const tRecorded = Date.now();

  // --- drain: cron every 2.5 s (outbox sweep + stale delivery sweep), until every healthy delivery
  // arrived and the failing destination's deliveries are settled (they wait behind its breaker
  // until DELIVERY_MAX_WAIT_DAYS, so the grace below usually ends the wait with them pending).
  const deadline = Date.now() + CONFIG.drainBudgetMs;
  let counts = await deliveryCounts();
  let drainedAt = null;
  let lastReport = 0;
  for (;;) {
    await triggerCron();
    counts = await deliveryCounts();
    const healthyDone = HEALTHY.every((p) => uniqueDelivered(p) >= recorded && counts[p].pending === 0);
    const deadSettled = counts[DEAD].pending === 0;
    if (healthyDone && drainedAt === null) drainedAt = Date.now();
    if ((healthyDone && deadSettled) || Date.now() > deadline) break;
    // Healthy destinations drained: give the failing one a few cool-downs, not the whole budget.
    if (healthyDone && Date.now() - drainedAt > CONFIG.deadGraceMs) break;
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      log(`draining: ${HEALTHY.map((p) => `${p} ${uniqueDelivered(p)}/${recorded} (D1 pending ${counts[p].pending})`).join(', ')}; dead: failed ${counts[DEAD].failed}, pending ${counts[DEAD].pending}`);
    }
    await sleep(2_500);
  }

  const failedRows = await gql(
    `query($p: ID!) { group(fullPath: $p) { externalAuditEventDestinations { nodes { destinationUrl deliveries(status: FAILED, first: 100) { nodes { eventId } } } } } }`,
    { p: groupPath },
  );
  const failedElsewhere = failedRows.group.externalAuditEventDestinations.nodes
    .filter((n) => new URL(n.destinationUrl).pathname !== DEAD)
    .reduce((s, n) => s + n.deliveries.nodes.length, 0);
  const restartLog = workerLog.slice(logMark);
  const staleResent = [...restartLog.matchAll(/stale delivery sweep: re-sent (\d+)/g)].reduce((s, m) => s + Number(m[1]), 0);
  const outboxDispatched = [...restartLog.matchAll(/outbox sweep: dispatched (\d+)/g)].reduce((s, m) => s + Number(m[1]), 0);

  const downloadsStored = await storedDownloads();
  // Every event recorded is listed once (hot or cold): none lost or duplicated by the moves.
  const eventsAtEnd = Number((await api('GET', `/api/v4/audit_events?event_type=${EVENT_TYPE}&per_page=1`)).headers.get('x-total'));
  const archive = { chunksMovedBeforeKill: movedBeforeKill, chunksMoved: await archivedChunks(), eventsListed: eventsAtEnd };
  log(`archive: ${archive.chunksMoved} chunks moved (${movedBeforeKill} before the kill); ${eventsAtEnd} events listed for ${recorded} recorded`);
  const downloadsLost = Math.max(0, downloads.answered302 - downloadsStored);
  log(`downloads: ${downloadsStored} events stored for ${downloads.answered302} clicks answered 302; lost ${downloadsLost}`);

  const expected = recorded * (HEALTHY.length + 1);
  const delivered = HEALTHY.reduce((s, p) => s + uniqueDelivered(p), 0);
  const dups = HEALTHY.reduce((s, p) => s + duplicates(p), 0);
  const deadFailed = counts[DEAD].failed;
  const deadPending = counts[DEAD].pending;
  const deadDelivered = uniqueDelivered(DEAD) + counts[DEAD].delivered;
  // Lost: a healthy delivery that never arrived and that D1 no longer tracks as pending, or a
  // delivery of the failing destination that D1 does not track at all (neither failed nor still
  // pending). A healthy delivery still pending when the budget ended is not lost (it waits, most
  // likely behind its destination's breaker): reported apart, and the run does not pass.
  const healthyPendingAtEnd = HEALTHY.reduce((s, p) => s + Math.min(counts[p].pending, Math.max(0, recorded - uniqueDelivered(p))), 0);
  const lost =
    HEALTHY.reduce((s, p) => s + Math.max(0, recorded - uniqueDelivered(p)), 0) - healthyPendingAtEnd + Math.max(0, recorded - (deadFailed + deadPending));
  const drainS = drainedAt ? ((drainedAt - tRecord) / 1000).toFixed(1) : `not drained within ${CONFIG.drainBudgetMs / 1000}`;

  const report = {
    mode: CONFIG.mode,
    eventsRecorded: recorded,
    deliveriesExpected: expected,
    deliveredUnique: delivered,
    duplicatesAtReceiver: dups,
    deadLettered: deadFailed,
    deadStillPendingBehindBreaker: deadPending,
    failedOnHealthyDestinations: failedElsewhere,
    deliveredToDeadDestination: deadDelivered,
    lost,
    healthyPendingAtEnd,
    downloads: { answered302: downloads.answered302, stored: downloadsStored, lost: downloadsLost, storedWithoutA302Seen: Math.max(0, downloadsStored - downloads.answered302), refused: downloads.refused },
    timeToDrainSeconds: drainS,
    recordingSeconds: ((tRecorded - tRecord) / 1000).toFixed(1),
    restart: { restartSeconds: (restartMs / 1000).toFixed(1), pendingAtKill, deliveredAtKill, eventsInD1AfterRestart: eventsAfterRestart, eventsRecordedBeforeKill: first.length, staleResent, outboxDispatched },
    receiver: tally,
    archive,
  };
  console.log(JSON.stringify(report, null, 2));
  writeResults(report);
  const ok =
    lost === 0 && healthyPendingAtEnd === 0 && downloadsLost === 0 && failedElsewhere === 0 && deadDelivered === 0 && eventsAfterRestart >= first.length && eventsAtEnd === recorded;
  log(ok ? 'PASS: nothing lost' : lost === 0 && healthyPendingAtEnd > 0 ? `FAIL: nothing lost, but ${healthyPendingAtEnd} healthy deliveries were still pending when the drain budget ended` : 'FAIL: see the report above');
  return ok;
}

// ---------------------------------------------------------------- RESULTS.md
function writeResults(r) {
  const file = join(ROOT, 'bench', 'RESULTS.md');
  const date = new Date().toISOString().slice(0, 16).replace('T', ' ');
  const versions = (() => {
    try {
      const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));
      return `wrangler ${lock.packages['node_modules/wrangler']?.version}, Node ${process.version}`;
    } catch {
      return `Node ${process.version}`;
    }
  })();
  const command = `npm run ${r.mode === 'short' ? 'soak:short' : 'soak'}${DEFAULT_BREAKER ? ' -- --default-breaker' : ''}`;
  const sub = `### ${r.mode === 'short' ? 'Short mode' : 'Full run'} (\`${command}\`)`;
  const body = [
    sub,
    '',
    `${date} UTC; ${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'}), ${Math.round(totalmem() / 2 ** 30)} GB; ${versions}; \`wrangler dev\` with local D1 and local queues.`,
    '',
    DEFAULT_BREAKER
      ? `Circuit breaker: **the production default** (first cool-down ${BREAKER_COOLDOWN_SECONDS} s, no DELIVERY_BREAKER_COOLDOWN_SECONDS), with the short retry schedule above.`
      : `Circuit breaker: first cool-down shortened to ${BREAKER_COOLDOWN_SECONDS} s (DELIVERY_BREAKER_COOLDOWN_SECONDS).`,
    '',
    '| measure | value |',
    '| --- | --- |',
    `| events recorded (201 from POST /api/v4/audit_events) | ${r.eventsRecorded} |`,
    `| deliveries expected (events × 4 destinations) | ${r.deliveriesExpected} |`,
    `| delivered to the 3 faulty-but-alive destinations (unique \`webhook-id\`) | ${r.deliveredUnique} of ${r.eventsRecorded * 3} |`,
    `| duplicates at the receiver (same \`webhook-id\` answered 2xx again) | ${r.duplicatesAtReceiver} |`,
    `| dead-lettered (FAILED in the delivery log), permanently failing destination | ${r.deadLettered} |`,
    `| still pending on the permanently failing destination (waiting behind its open circuit breaker) | ${r.deadStillPendingBehindBreaker} |`,
    `| FAILED on the other destinations | ${r.failedOnHealthyDestinations} |`,
    `| **lost** | **${r.lost}** |`,
    `| healthy deliveries not arrived when the drain budget ended, still pending in D1 (not lost; the run does not pass) | ${r.healthyPendingAtEnd} |`,
    `| tracked downloads answered 302 (before and after the kill) / their events stored in D1 | ${r.downloads.answered302} / ${r.downloads.stored} |`,
    `| **downloads lost** (answered 302, no event) / stored although the client saw no 302 (the kill) / not 302 | **${r.downloads.lost}** / ${r.downloads.storedWithoutA302Seen} / ${r.downloads.refused} |`,
    `| time to drain (first event recorded → last healthy delivery arrived) | ${r.timeToDrainSeconds} s |`,
    `| recording time (both halves, ingest concurrency ${INGEST_CONCURRENCY}) | ${r.recordingSeconds} s |`,
    `| restart: SIGKILL + \`npm start\` again on the same --persist-to | ${r.restart.restartSeconds} s |`,
    `| at the kill: deliveries pending in D1 / arrived | ${r.restart.pendingAtKill} / ${r.restart.deliveredAtKill} |`,
    `| after the restart: events in D1 / recorded before the kill | ${r.restart.eventsInD1AfterRestart} / ${r.restart.eventsRecordedBeforeKill} |`,
    `| after the restart: stale delivery sweep re-sent / outbox sweep dispatched | ${r.restart.staleResent} / ${r.restart.outboxDispatched} |`,
    `| receiver answers: 200 / 500 / hang / 429 / slow 2xx / dropped (outage or restart) / dead 500 | ${r.receiver.ok} / ${r.receiver.s500} / ${r.receiver.hang} / ${r.receiver.s429} / ${r.receiver.slow2xx} / ${r.receiver.outageDropped} / ${r.receiver.dead500} |`,
    `| cold archive (AUDIT_HOT_DAYS=0): chunks moved in all / before the kill; events listed at the end / recorded | ${r.archive.chunksMoved} / ${r.archive.chunksMovedBeforeKill}; ${r.archive.eventsListed} / ${r.eventsRecorded} |`,
    '',
  ].join('\n');
  const intro = [
    '## Fault soak',
    '',
    '`npm run soak` (N = 5,000) and `npm run soak:short` (N = 200; `.ci/run` runs it). `bench/soak.mjs` starts the worker with',
    `\`npm start -- --persist-to <tmp> --var DELIVERY_TIMEOUT_MS:${DELIVERY_TIMEOUT_MS} --var DELIVERY_RETRY_SCHEDULE:${DELIVERY_RETRY_SCHEDULE} --var DELIVERY_BREAKER_COOLDOWN_SECONDS:5 --var RATE_LIMITS:off --var AUDIT_HOT_DAYS:0 --test-scheduled\``
      + ' (`--default-breaker`: without the cool-down, so the production 60 s applies)',
    '(shortened for the soak only; production keeps 10000 ms, 5,300,1800,7200,18000,36000,36000 and 60 s). The receiver answers',
    '30% 500, 5% hangs past the timeout, 5% 429 with `Retry-After: 1`, 5% slow 2xx close to the timeout, drops every',
    'connection during one outage (10 s full, 3 s short), and one destination always answers 500. Half the events are recorded,',
    '`wrangler dev` is killed with SIGKILL and started again on the same state directory, then the other half is recorded; the',
    'cron (`/__scheduled`: outbox sweep, stale delivery sweep and, with `AUDIT_HOT_DAYS:0`, the move of dispatched events to',
    'the cold archive) is triggered every 2.5 s from the first event to the kill and while draining; every event recorded must be',
    'listed exactly once at the end, hot or cold. Beside the ingest,',
    'two clients click a public release\'s tracked download URL from the first event until the last, through the kill: every',
    'click answered 302 must be one stored `release_external_artifact_download` event afterwards (the download buffer\'s',
    'Durable Object storage and its alarm survive the SIGKILL).',
    '',
    '**Circuit breaker.** The first soak found that the breaker (then: 5 consecutive failures, cool-down doubling per',
    'failed attempt) tripped again and again at this receiver\'s 40% failure rate, and that attempts in flight when it opened',
    'pushed the cool-down to 10 minutes at once: three healthy destinations stalled for the whole 150 s budget after a 3 s',
    'outage. It now opens after 10 consecutive failures and doubles per trip (`src/delivery/breaker.ts`). The first run with',
    'the production cool-down (60 s) found that two timeouts in a row opened it every few hundred attempts and that one failed',
    'half-open probe doubled the wait: since then a timeout counts for 2 failures (not 5) and only 3 failed probes in a row',
    're-open it.',
    `Without \`--default-breaker\` the soak shortens the first cool-down to ${SOAK_COOLDOWN_SECONDS} s (\`DELIVERY_BREAKER_COOLDOWN_SECONDS\`; doubling up to`,
    'ten times it) as it shortens the retry schedule; with it, the production 60 s applies: each run below says which.',
    'It never touches the database: the three faulty-but-alive destinations recover from their breakers on their',
    'own and get every event (waits behind a breaker spend no attempt). The permanently failing destination\'s deliveries wait behind',
    'it (pending in D1, three probes per cool-down) and are dead-lettered when their 13 attempts are really spent or after',
    '`DELIVERY_MAX_WAIT_DAYS` (7 days) of waiting: waiting behind a breaker spends no attempt (issue 13; before, a retry window',
    'that counted the waits dead-lettered them after 77 s, and could do so to a destination that had recovered). The soak',
    'waits a few cool-downs after the healthy destinations drained; the table reports how many are dead-lettered and how many',
    'still wait; none is lost (every one has its row, none delivered).',
    '',
    '**Duplicate messages spent retries.** A full run made with the short retry schedule above ended with one delivery of',
    'a healthy destination dead-lettered (it had reached the receiver, so nothing was lost, but it must not fail). During',
    'the backlog the stale delivery sweep re-sent 38,571 messages, and every message made its own attempt, so a delivery',
    'with two messages spent its 13 attempts twice as fast. The consumer now drops a message that comes more than 1 s before',
    'its delivery\'s scheduled retry (`next_retry_at`): the scheduled message carries the delivery.',
    '',
    '**What survives a restart.** D1 is persisted (`--persist-to`): every event answered 201, every delivery row and its',
    'attempts survive. The local queue of `wrangler dev` lives in memory: the messages in it at the kill (including delayed',
    'retries) are gone. Nothing re-sent them before this soak found the gap: deliveries already enqueued have no outbox row',
    'any more, so the outbox sweep does not see them. `src/delivery/stale.ts` (cron job "stale delivery sweep") now re-sends',
    'every pending delivery that nothing touched for 30 delivery timeouts (at least 30 s; 5 minutes in production) after it',
    'was due, except those waiting behind an open circuit breaker; the table shows how many it re-sent after the restart.',
    '',
  ].join('\n');
  // Re-read right before writing: the benchmarks write their own sections of the same file.
  // This section lives between its own markers; the other mode's subsection is kept.
  const START = '<!-- soak:start -->';
  const END = '<!-- soak:end -->';
  let text = existsSync(file) ? readFileSync(file, 'utf8') : '# Results\n';
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  const old = a >= 0 && b > a ? text.slice(a + START.length, b) : '';
  const other = r.mode === 'short' ? '### Full run' : '### Short mode';
  const otherAt = old.indexOf(other);
  const otherText = otherAt >= 0 ? old.slice(otherAt).split(/\n(?=### )/)[0].replace(/\s*$/, '\n') : '';
  const parts = r.mode === 'short' ? [otherText, body] : [body, otherText];
  const section = `${START}\n${intro}\n${parts.filter(Boolean).join('\n').replace(/\s*$/, '\n')}${END}`;
  if (a >= 0 && b > a) text = `${text.slice(0, a)}${section}${text.slice(b + END.length)}`;
  else text = `${text.replace(/\s*$/, '\n')}\n${section}\n`;
  writeFileSync(file, text);
  log(`wrote the Fault soak section of ${file}`);
}

// Interrupted (Ctrl-C, CI timeout): stop the worker's process group and remove the state first.
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    await killWorker('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  });
}

let exitCode = 1;
try {
  exitCode = (await main()) ? 0 : 1;
} catch (err) {
  console.error(err instanceof Error ? err.stack : err);
  console.error(workerLog.slice(-4000));
} finally {
  await killWorker('SIGTERM');
  receiver.closeAllConnections?.();
  receiver.close();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(exitCode);
