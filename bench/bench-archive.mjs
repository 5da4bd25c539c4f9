#!/usr/bin/env node
// `npm run bench:archive`: the cold audit log's capacity figures (issue 19). One `wrangler dev`
// (both Workers, fresh state, RATE_LIMITS=off, BENCH_ROUTES=true, AUDIT_HOT_DAYS=7):
// 1. records --events events spread over the last --days days through the bench-only bulk route
//    (POST /-/bench/audit_events/bulk: the one writer's buffered path, ~1 KB download events with
//    some release and instance events, no destinations so no outbox or deliveries rows) and
//    builds their leaves;
// 2. measures D1 (the local SQLite file of the D1 database: pages, free pages, bytes per table
//    with its indexes from dbstat, rows per table; and the size VACUUM would leave);
// 3. moves every event older than the hot window (bench-only POST /-/bench/audit_archive/move,
//    the mover's moveNextChunk until nothing is left), timing each request; the run's setup
//    events (its group, project and release, the log's first events) count as old; or, with
//    --via scheduled, through the cron's own mover (GET /__scheduled, `--test-scheduled`) run
//    after run until a run moves nothing (the first chunk, with the setup events, by the route);
// 4. measures D1 again and the R2 bytes (the chunk rows' object_bytes, and the local R2 store's
//    files under the persist directory);
// 4b. seals every segment whose chunks are all cold (bench-only POST /-/bench/audit_archive/seal,
//    the cron's runArchiveSeal; --segment-chunks sets AUDIT_ARCHIVE_SEGMENT_CHUNKS, default 1024,
//    i.e. 2^20 leaves: a run of fewer cold events seals nothing unless it is smaller) and measures
//    D1 once more: the residue of cold data (chunk, count, segment and segment count rows, nodes of
//    level 10 and up) before and after sealing; with --via scheduled the cron seals as it moves;
// 5. times the REST listing: a hot page, a cold offset page deep in the cold range, a cold keyset
//    page, and the CSV of one cold month (first byte, last byte, bytes, the workerd processes'
//    peak RSS during it). A cold page counts as cold only when it answers 100 events that are all
//    in the moved range; otherwise it is reported as "not served from the archive".
//
// Options: --events 1000000 --days 90 --quick (50,000 events) --requests 200 (per listing kind)
//          --batch 20000 (events per bulk request) --port 8816 --via route|scheduled --tag NAME --no-write
//          --segment-chunks 1024 (chunks per sealed segment; a power of two from 1 to 1024)
//          --page-segments 1024 (sealed units per page; a power of two from 2 to 1024)
//          --json (every figure as one JSON object on the last line of stdout; progress to stderr)
import { DatabaseSync } from 'node:sqlite';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, seedPublicRelease, startWorker, workerWarnings } from './lib/worker.mjs';
import { countTotal, edgeStats, resetEdgeStats } from './lib/edge-stats.mjs';
import { machineInfo, machineLines, options, percentile, table, warnIfBusy, writeSection } from './lib/results.mjs';

const opt = options({ events: 1_000_000, days: 90, quick: false, requests: 200, batch: 20_000, port: 8816, via: 'route', tag: '', noWrite: false, json: false, segmentChunks: 1024, pageSegments: 1024 });
if (opt.quick) opt.events = Math.min(opt.events, 50_000);
if (!['route', 'scheduled'].includes(opt.via)) throw new Error('--via must be route or scheduled');
const log = opt.json ? (...a) => console.error(...a) : (...a) => console.log(...a);
const info = machineInfo();
const busy = warnIfBusy(info);
const DAY = 86_400_000;
const HOT_DAYS = 7;

/** Every file under a directory (recursively). */
function files(dir) {
  let out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out = out.concat(files(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** The local D1 database's SQLite file (the one with an audit_events table). */
function d1File(persist) {
  for (const f of files(join(persist, 'v3', 'd1')).filter((p) => p.endsWith('.sqlite'))) {
    const db = new DatabaseSync(f, { readOnly: true });
    const has = db.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'audit_events'").get();
    db.close();
    if (has) return f;
  }
  throw new Error(`no D1 database with audit_events under ${persist}`);
}

const TABLES = ['audit_events', 'audit_log_leaves', 'audit_log_nodes', 'deliveries', 'audit_event_outbox', 'audit_archive_chunks', 'audit_archive_counts', 'audit_archive_segments', 'audit_archive_segment_counts', 'release_download_counts'];
/** The tables whose rows cold data leaves in D1 (besides the nodes of level 10 and up). */
const RESIDUE_TABLES = ['audit_archive_chunks', 'audit_archive_counts', 'audit_archive_segments', 'audit_archive_segment_counts'];

/**
 * D1 bytes cold data leaves: its tables' filled bytes (pages less their unused space, indexes
 * included) and the nodes of level 10 and up at the nodes table's filled bytes per row.
 */
function residueBytes(size) {
  const tables = RESIDUE_TABLES.reduce((s, t) => s + (size.filled[t] ?? 0), 0);
  const perNode = size.rows.audit_log_nodes > 0 ? (size.filled.audit_log_nodes ?? 0) / size.rows.audit_log_nodes : 0;
  return Math.round(tables + size.rows.audit_log_nodes_level_10_up * perNode);
}

/** D1's size: pages, free pages, bytes per table (its indexes included), rows per table. */
function d1Size(file, vacuumTo) {
  const db = new DatabaseSync(file, { readOnly: true });
  const one = (sql) => Object.values(db.prepare(sql).get())[0];
  const pageSize = one('PRAGMA page_size');
  const pages = one('PRAGMA page_count');
  const free = one('PRAGMA freelist_count');
  const owner = new Map(db.prepare('SELECT name, tbl_name FROM sqlite_schema').all().map((r) => [r.name, r.tbl_name]));
  const bytes = {};
  // Bytes of pages less their unused space: a small table's residue is not rounded up to whole pages.
  const filled = {};
  for (const r of db.prepare('SELECT name, SUM(pgsize) AS b, SUM(pgsize - unused) AS f FROM dbstat GROUP BY name').all()) {
    const t = owner.get(r.name) ?? r.name;
    bytes[t] = (bytes[t] ?? 0) + r.b;
    filled[t] = (filled[t] ?? 0) + r.f;
  }
  const rows = {};
  const present = new Set(owner.values());
  for (const t of TABLES) if (present.has(t)) rows[t] = one(`SELECT COUNT(*) FROM ${t}`);
  rows.audit_log_nodes_level_10_up = one('SELECT COUNT(*) FROM audit_log_nodes WHERE level >= 10');
  let vacuumed = null;
  if (vacuumTo) {
    rmSync(vacuumTo, { force: true });
    db.exec(`VACUUM INTO '${vacuumTo}'`);
    vacuumed = statSync(vacuumTo).size;
    rmSync(vacuumTo, { force: true });
  }
  db.close();
  const wal = (() => { try { return statSync(`${file}-wal`).size; } catch { return 0; } })();
  return { fileBytes: statSync(file).size, walBytes: wal, pageSize, pages, freePages: free, usedBytes: (pages - free) * pageSize, vacuumedBytes: vacuumed, bytes, filled, rows };
}

/**
 * Bytes per delivered delivery in D1 (its deliveries row and one delivery_attempts row, indexes
 * included): the benchmark's events have no destination, so these rows are measured apart, on
 * the schema the migrations make (an in-memory SQLite database), with rows as a delivered
 * delivery leaves them (200, one attempt, a short response excerpt).
 */
function deliveryBytes(n = 100_000) {
  const db = new DatabaseSync(':memory:');
  const dir = join(ROOT, 'migrations');
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.sql')).sort()) db.exec(readFileSync(join(dir, f), 'utf8'));
  const at = (i) => new Date(Date.UTC(2026, 0, 1) + i * 86).toISOString();
  db.exec('BEGIN');
  const d = db.prepare(`INSERT INTO deliveries (event_id, destination_id, status, attempts, last_http_status, created_at, updated_at, delivered_at, run_attempts, run_started_at)
    VALUES (?, 1, 'delivered', 1, 200, ?, ?, ?, 1, ?)`);
  const a = db.prepare(`INSERT INTO delivery_attempts (delivery_id, attempt, status, http_status, duration_ms, response_excerpt, created_at, destination_id)
    VALUES (?, 1, 'delivered', 200, ?, '{"status":"ok"}', ?, 1)`);
  for (let i = 1; i <= n; i++) {
    d.run(1_000_000 + i, at(i), at(i + 3), at(i + 3), at(i));
    a.run(i, 20 + (i % 200), at(i + 3));
  }
  db.exec('COMMIT');
  const owner = new Map(db.prepare('SELECT name, tbl_name FROM sqlite_schema').all().map((r) => [r.name, r.tbl_name]));
  const bytes = { deliveries: 0, delivery_attempts: 0 };
  for (const r of db.prepare('SELECT name, SUM(pgsize) AS b FROM dbstat GROUP BY name').all()) {
    const t = owner.get(r.name) ?? r.name;
    if (t in bytes) bytes[t] += r.b;
  }
  db.close();
  return { deliveryRow: bytes.deliveries / n, attemptRow: bytes.delivery_attempts / n };
}

/** The moved chunks so far, from the D1 file: their events and the last id moved. */
function coldChunks(file) {
  const db = new DatabaseSync(file, { readOnly: true });
  // Chunk rows and sealed segments (whose chunk rows left D1).
  const row = db
    .prepare(
      `SELECT COALESCE(SUM(events), 0) AS events, MAX(last_id) AS lastId FROM (
         SELECT SUM(event_count) AS events, MAX(last_id) AS last_id FROM audit_archive_chunks
         UNION ALL SELECT SUM(event_count), MAX(last_id) FROM audit_archive_segments)`,
    )
    .get();
  db.close();
  return row;
}

async function post(base, path, body) {
  const started = performance.now();
  const r = await fetch(`${base}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const text = await r.text();
  if (!r.ok) throw new Error(`POST ${path}: ${r.status} ${text}`);
  return { ms: performance.now() - started, body: JSON.parse(text) };
}

async function timedGet(url, token) {
  const started = performance.now();
  const res = await fetch(url, { headers: { 'PRIVATE-TOKEN': token } });
  const body = await res.text();
  const ms = performance.now() - started;
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${body.slice(0, 300)}`);
  return { ms, body: JSON.parse(body), total: Number(res.headers.get('X-Total') ?? NaN) };
}

function stats(ms) {
  const sorted = [...ms].sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] };
}

/** The workerd processes of the Worker's process group (to sample their memory). */
function workerdPids(pgid) {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && stat.includes('(workerd)')) out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}

function rssBytes(pids) {
  let sum = 0;
  for (const p of pids) {
    try { sum += Number(readFileSync(`/proc/${p}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m)[1]) * 1024; } catch { /* gone */ }
  }
  return sum;
}

/** The CSV export, read to its end: first byte, last byte, bytes, rows, peak RSS of workerd meanwhile. */
async function timedCsv(url, token, pids) {
  const base = rssBytes(pids);
  let peak = base;
  const sampler = setInterval(() => { peak = Math.max(peak, rssBytes(pids)); }, 20);
  const started = performance.now();
  const res = await fetch(url, { headers: { 'PRIVATE-TOKEN': token } });
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  let first = null;
  let bytes = 0;
  let rows = 0;
  for await (const chunk of res.body) {
    first ??= performance.now() - started;
    bytes += chunk.byteLength;
    for (const b of chunk) if (b === 10) rows++;
  }
  const last = performance.now() - started;
  clearInterval(sampler);
  return { firstByteMs: first ?? last, lastByteMs: last, bytes, rows: Math.max(0, rows - 1), rssBeforeBytes: base, rssPeakBytes: peak };
}

const worker = await startWorker({ vars: { AUDIT_HOT_DAYS: String(HOT_DAYS), RATE_LIMITS: 'off', AUDIT_ARCHIVE_SEGMENT_CHUNKS: String(opt.segmentChunks), AUDIT_ARCHIVE_PAGE_SEGMENTS: String(opt.pageSegments) }, port: opt.port, args: opt.via === 'scheduled' ? ['--test-scheduled'] : [] });
try {
  const { base, adminToken: token, persist } = worker;
  const seeded = await seedPublicRelease(base, token, 'archive');
  const projectPath = `${seeded.group.full_path}/app`;

  // 1. Record the events, oldest first, evenly over --days days ending now.
  const now = Date.now();
  const start = now - opt.days * DAY;
  const step = (opt.days * DAY) / opt.events;
  await resetEdgeStats(worker);
  const fillStarted = performance.now();
  let firstId = null;
  let lastId = null;
  for (let done = 0; done < opt.events; ) {
    const count = Math.min(opt.batch, opt.events - done);
    const from = new Date(start + done * step).toISOString();
    const to = new Date(start + (done + count - 1) * step).toISOString();
    const r = await post(base, '/-/bench/audit_events/bulk', { count, project_path: projectPath, tag_name: 'v1.0.0', filepath: '/bin/app.tar.gz', from, to });
    firstId ??= r.body.first_id;
    lastId = r.body.last_id;
    done += count;
    if (done % 100_000 < opt.batch || done === opt.events) log(`recorded ${done} events (${((performance.now() - fillStarted) / 1000).toFixed(0)} s)`);
  }
  const fillSeconds = (performance.now() - fillStarted) / 1000;
  // D1's meta.rows_written (index writes included: what D1 bills) of recording and leafing, then of moving.
  const fillRowsWritten = countTotal(await edgeStats(worker), 'rowsWritten');
  const file = d1File(persist);
  const before = d1Size(file, null);
  log(`D1 before the move: ${(before.usedBytes / 2 ** 20).toFixed(1)} MiB used (${JSON.stringify(before.rows)})`);

  // 2. Move everything older than the hot window.
  const cutoff = new Date(now - HOT_DAYS * DAY).toISOString();
  const runs = [];
  await resetEdgeStats(worker);
  const moveStarted = performance.now();
  let moved = 0;
  let coldLastId = null;
  const moveRequest = async (maxChunks) => {
    const r = await post(base, '/-/bench/audit_archive/move', { older_than: cutoff, setup_through_id: firstId - 1, max_chunks: maxChunks });
    return { ms: r.ms, events: r.body.events, lastId: r.body.last_id };
  };
  // --via scheduled: the cron's own mover (GET /__scheduled, wrangler dev --test-scheduled), after
  // the first chunk (the run's setup events, which the cron would not take as old) is moved by the route.
  const scheduledRun = async () => {
    const started = performance.now();
    const res = await fetch(`${base}/__scheduled?cron=*+*+*+*+*`);
    const text = await res.text();
    if (!res.ok) throw new Error(`/__scheduled: ${res.status} ${text}`);
    const ms = performance.now() - started;
    const c = coldChunks(file);
    return { ms, events: c.events - moved, lastId: c.lastId };
  };
  if (opt.via === 'scheduled') {
    const first = await moveRequest(1);
    moved += first.events;
    coldLastId = first.lastId;
  }
  for (;;) {
    const r = opt.via === 'scheduled' ? await scheduledRun() : await moveRequest(10);
    if (r.events === 0) break;
    runs.push({ ms: r.ms, events: r.events });
    moved += r.events;
    coldLastId = r.lastId;
    if (runs.length % 20 === 0) log(`moved ${moved} events (${((performance.now() - moveStarted) / 1000).toFixed(0)} s)`);
  }
  const moveSeconds = (performance.now() - moveStarted) / 1000;
  const moveRowsWritten = countTotal(await edgeStats(worker), 'rowsWritten');
  const after = d1Size(file, join(persist, '..', 'vacuumed.sqlite'));
  const r2Files = files(join(persist, 'v3', 'r2'));
  const r2StoreBytes = r2Files.reduce((s, f) => s + statSync(f).size, 0);
  // The local R2 store keeps each object's bytes in a blob file (events objects and manifests) and its metadata in SQLite.
  const r2BlobBytes = r2Files.filter((f) => f.includes('/blobs/')).reduce((s, f) => s + statSync(f).size, 0);
  const db = new DatabaseSync(file, { readOnly: true });
  // (With --via scheduled the cron has sealed segments already: their chunks are not counted here.)
  const chunkRow = db.prepare('SELECT COUNT(*) AS chunks, SUM(object_bytes) AS bytes, SUM(event_count) AS events FROM audit_archive_chunks').get();
  db.close();
  log(`moved ${moved} events in ${moveSeconds.toFixed(0)} s; D1 after: ${(after.usedBytes / 2 ** 20).toFixed(1)} MiB used; R2 objects ${chunkRow.bytes} bytes`);

  // 2b. Seal every segment whose chunks are all cold, then measure D1 again.
  const sealStarted = performance.now();
  const sealReply = await post(base, '/-/bench/audit_archive/seal', { max_segments: 1000 });
  const sealSeconds = (performance.now() - sealStarted) / 1000;
  const sealedSize = d1Size(file, join(persist, '..', 'vacuumed.sqlite'));
  const db2 = new DatabaseSync(file, { readOnly: true });
  const segmentRow = db2
    .prepare('SELECT COUNT(*) AS segments, COALESCE(SUM(children > 0), 0) AS pages, COALESCE(SUM(event_count), 0) AS events, COALESCE(SUM(object_bytes), 0) AS bytes FROM audit_archive_segments')
    .get();
  db2.close();
  const residue = { moved: residueBytes(after), sealed: residueBytes(sealedSize), segments: segmentRow.segments, pages: segmentRow.pages, sealedEvents: segmentRow.events, indexBytes: segmentRow.bytes, sealSeconds, sealedThisRequest: sealReply.body.segments, pagesThisRequest: sealReply.body.pages };
  log(`residue rows after the move ${JSON.stringify(Object.fromEntries([...RESIDUE_TABLES, 'audit_log_nodes_level_10_up'].map((t) => [t, after.rows[t]])))}, after sealing ${JSON.stringify(Object.fromEntries([...RESIDUE_TABLES, 'audit_log_nodes_level_10_up'].map((t) => [t, sealedSize.rows[t]])))}`);
  log(`sealed ${residue.sealedThisRequest} segments and ${residue.pagesThisRequest} pages in ${sealSeconds.toFixed(1)} s (D1 names ${residue.segments} units, ${residue.pages} of them pages, ${residue.sealedEvents} events); D1 residue of cold data ${residue.moved} -> ${residue.sealed} bytes (${(residue.moved / moved).toFixed(2)} -> ${(residue.sealed / moved).toFixed(2)} bytes per cold event)`);

  // 3. Listings: hot page, cold offset page, cold keyset page, CSV of one cold month.
  const hot = [];
  const coldOffset = [];
  const coldKeyset = [];
  let coldServed = { offset: true, keyset: true };
  const first = await timedGet(`${base}/api/v4/audit_events?per_page=100`, token);
  const total = first.total;
  const deepPage = Math.max(1, Math.floor((total * 0.9) / 100));
  const isCold = (events) => events.length === 100 && coldLastId !== null && events.every((e) => e.id <= coldLastId);
  const cursor = (id) => Buffer.from(JSON.stringify({ id: String(id), _kd: 'n' })).toString('base64url');
  for (let i = 0; i < opt.requests; i++) {
    hot.push((await timedGet(`${base}/api/v4/audit_events?per_page=100`, token)).ms);
    const o = await timedGet(`${base}/api/v4/audit_events?per_page=100&page=${deepPage}`, token);
    coldOffset.push(o.ms);
    if (!isCold(o.body)) coldServed.offset = false;
    const below = firstId + 1000 + Math.floor(Math.random() * Math.max(1, (coldLastId ?? firstId) - firstId - 2000));
    const k = await timedGet(`${base}/api/v4/audit_events?pagination=keyset&order_by=id&sort=desc&per_page=100&cursor=${cursor(below)}`, token);
    coldKeyset.push(k.ms);
    if (!isCold(k.body)) coldServed.keyset = false;
  }
  // The oldest whole calendar month... of the range: the 30 days starting 10 days after the first event.
  const monthFrom = new Date(start + 10 * DAY).toISOString();
  const monthTo = new Date(start + 40 * DAY).toISOString();
  const pids = workerdPids(worker.pid);
  const csvRuns = [];
  for (let i = 0; i < 3; i++) csvRuns.push(await timedCsv(`${base}/api/v4/audit_events.csv?created_after=${monthFrom}&created_before=${monthTo}`, token, pids));
  const expectedMonthRows = Math.round((30 * DAY) / step);

  const r = { hot: stats(hot), coldOffset: stats(coldOffset), coldKeyset: stats(coldKeyset) };
  const mib = (b) => (b / 2 ** 20).toFixed(1);
  const fmt = (v) => v.toFixed(1);
  const perRun = stats(runs.map((x) => x.ms));
  const throughput = moved / moveSeconds;
  const csv = csvRuns[csvRuns.length - 1];
  const csvServed = csv.rows >= expectedMonthRows * 0.95;
  for (const [name, s] of Object.entries(r)) log(`${name.padEnd(11)} n ${s.n}  p50 ${fmt(s.p50)} ms  p99 ${fmt(s.p99)} ms  max ${fmt(s.max)} ms`);
  log(`csv: ${csv.rows} rows ${csv.bytes} bytes, first byte ${fmt(csv.firstByteMs)} ms, last ${fmt(csv.lastByteMs)} ms, rss ${mib(csv.rssBeforeBytes)} -> ${mib(csv.rssPeakBytes)} MiB`);
  const warnings = workerWarnings(worker.log());
  const result = {
    date: info.date, commit: info.commit, machine: { cores: info.nproc, cpu: info.cpu }, options: opt,
    fill: { events: opt.events, seconds: fillSeconds, perSecond: opt.events / fillSeconds, rowsWrittenPerEvent: fillRowsWritten / opt.events },
    d1Before: before, d1After: after, d1Sealed: sealedSize, residue,
    move: { events: moved, rowsWrittenPerEvent: moveRowsWritten / moved, seconds: moveSeconds, perSecond: throughput, requests: runs.length, perRequest: perRun },
    r2: { chunks: chunkRow.chunks, objectBytes: chunkRow.bytes, bytesPerEvent: chunkRow.bytes / chunkRow.events, storeBytes: r2StoreBytes, blobBytes: r2BlobBytes, blobBytesPerEvent: r2BlobBytes / chunkRow.events, storeFiles: r2Files.length },
    deliveries: deliveryBytes(),
    listings: r, coldServed, csv: { ...csv, expectedRows: expectedMonthRows, servedFromArchive: csvServed },
    warnings: warnings.length,
  };
  if (opt.json) console.log(JSON.stringify(result));
  if (!opt.noWrite) {
    const perEvent = (t) => (before.rows[t] ? (before.bytes[t] ?? 0) / before.rows.audit_events : 0);
    const notServed = ' (not served from the archive in this build: see below)';
    writeSection(
      opt.tag ? `bench:archive:${opt.tag}` : 'bench:archive',
      [
        `### Cold audit log${opt.tag ? ` (${opt.tag})` : ''}: ${opt.events.toLocaleString('en-US')} events, ${HOT_DAYS}-day hot window`,
        ...machineLines(info, `npm run bench:archive -- ${process.argv.slice(2).join(' ')}`.trim()),
        `- Events: ${opt.events.toLocaleString('en-US')} over ${opt.days} days (97 % downloads, 2 % release_updated, 1 % instance), bench-only bulk route through the one writer's buffered path, no destinations (no outbox or deliveries rows); recorded and leafed in ${fillSeconds.toFixed(0)} s (${Math.round(opt.events / fillSeconds)} events/s), D1 rows written ${result.fill.rowsWrittenPerEvent.toFixed(1)} per event (meta.rows_written, index writes included)${busy ? '; **machine busy at start**' : ''}`,
        '',
        table(['D1 (local SQLite file)', 'before the move', 'after the move', 'after sealing'], [
          ['pages in use × page size', `${mib(before.usedBytes)} MiB`, `${mib(after.usedBytes)} MiB`, `${mib(sealedSize.usedBytes)} MiB`],
          ['file (free pages included)', `${mib(before.fileBytes)} MiB`, `${mib(after.fileBytes)} MiB`, `${mib(sealedSize.fileBytes)} MiB`],
          ['after VACUUM', '', `${mib(after.vacuumedBytes)} MiB`, `${mib(sealedSize.vacuumedBytes)} MiB`],
          ...TABLES.filter((t) => t in before.rows).map((t) => [`${t} rows (bytes with indexes)`, `${before.rows[t]} (${mib(before.bytes[t] ?? 0)} MiB)`, `${after.rows[t]} (${mib(after.bytes[t] ?? 0)} MiB)`, `${sealedSize.rows[t]} (${mib(sealedSize.bytes[t] ?? 0)} MiB)`]),
          ['audit_log_nodes of level 10 and above (rows)', before.rows.audit_log_nodes_level_10_up, after.rows.audit_log_nodes_level_10_up, sealedSize.rows.audit_log_nodes_level_10_up],
        ]),
        '',
        `- D1 bytes per event at the hot window (tables with their indexes, before the move): audit_events ${perEvent('audit_events').toFixed(0)}, audit_log_leaves ${perEvent('audit_log_leaves').toFixed(0)}, audit_log_nodes ${perEvent('audit_log_nodes').toFixed(0)}`,
        `- A delivered delivery (measured apart on the migrations' schema, 100,000 synthetic rows: the benchmark's events have no destination): deliveries row ${result.deliveries.deliveryRow.toFixed(0)} bytes, one delivery_attempts row ${result.deliveries.attemptRow.toFixed(0)} bytes (indexes included), per event and destination`,
        `- Move: ${moved.toLocaleString('en-US')} events in ${result.r2.chunks} chunks, ${moveSeconds.toFixed(0)} s: **${Math.round(throughput)} events/s**; ${runs.length} ${opt.via === 'scheduled' ? 'cron runs (GET /__scheduled; the first chunk, with the setup events, by the bench route)' : 'requests of up to 10 chunks (bench route)'}, p50 ${fmt(perRun.p50)} ms, p99 ${fmt(perRun.p99)} ms; D1 rows written ${result.move.rowsWrittenPerEvent.toFixed(1)} per moved event`,
        `- Residue of cold data in D1 (filled bytes of ${RESIDUE_TABLES.join(', ')} and nodes of level 10 and up): ${residue.moved} bytes after the move (**${(residue.moved / moved).toFixed(2)} bytes per cold event**), ${residue.sealed} bytes after sealing ${residue.sealedThisRequest} segments of ${opt.segmentChunks} chunks and ${residue.pagesThisRequest} pages of ${opt.pageSegments} units: D1 names ${residue.segments} sealed units (${residue.pages} of them pages) holding ${residue.sealedEvents.toLocaleString('en-US')} events; **${(residue.sealed / moved).toFixed(2)} bytes per cold event**; their index objects ${mib(residue.indexBytes)} MiB in R2; sealed in ${residue.sealSeconds.toFixed(1)} s)`,
        `- R2: ${mib(chunkRow.bytes)} MiB of events objects, **${result.r2.bytesPerEvent.toFixed(0)} bytes per event** (gzip NDJSON); with the manifests (every leaf hash) ${mib(r2BlobBytes)} MiB, **${result.r2.blobBytesPerEvent.toFixed(0)} bytes per event**; the local R2 store with its metadata ${mib(r2StoreBytes)} MiB in ${r2Files.length} files`,
        '',
        table(['request (100 events)', 'n', 'p50 ms', 'p99 ms', 'max ms'], [
          ['hot page (GET /audit_events, newest)', r.hot.n, fmt(r.hot.p50), fmt(r.hot.p99), fmt(r.hot.max)],
          [`cold offset page (page ${deepPage})${coldServed.offset ? '' : notServed}`, r.coldOffset.n, fmt(r.coldOffset.p50), fmt(r.coldOffset.p99), fmt(r.coldOffset.max)],
          [`cold keyset page (random cursor in the moved range)${coldServed.keyset ? '' : notServed}`, r.coldKeyset.n, fmt(r.coldKeyset.p50), fmt(r.coldKeyset.p99), fmt(r.coldKeyset.max)],
        ]),
        '',
        `- CSV of 30 cold days (${monthFrom.slice(0, 10)} to ${monthTo.slice(0, 10)}, ${expectedMonthRows} events expected): ${csv.rows} rows, ${mib(csv.bytes)} MiB, first byte ${fmt(csv.firstByteMs)} ms, last byte ${fmt(csv.lastByteMs)} ms; workerd RSS ${mib(csv.rssBeforeBytes)} MiB before, ${mib(csv.rssPeakBytes)} MiB peak${csvServed ? '' : notServed}`,
        ...(coldServed.offset && coldServed.keyset && csvServed ? [] : ['- Cold reads not served from the archive by this build (they come with the transparent reads): those rows time what D1 answers alone; re-run after they are merged.']),
        `- Worker log lines mentioning warn/error: ${warnings.length}`,
      ].join('\n'),
    );
  }
} finally {
  await worker.stop();
  worker.removeState();
}
