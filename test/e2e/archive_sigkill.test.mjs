// The cold audit log across crashes (issue 19): the service runs as the README starts it
// (`npm start`, both Workers, its own --persist-to directory) with AUDIT_HOT_DAYS=0, so the cron's
// archive job moves every event; events come in through the ingest API; the cron is triggered
// and the whole process group (npm, wrangler, workerd) is SIGKILLed while a move runs, at three
// points: right after the run's first object (a chunk's events) appears in the local R2 state,
// right after its second (the manifest: the read-back check and the D1 transaction follow), and
// at a random delay within the window those two measured. After each kill the service restarts on the same directory; at the end the cron runs until
// every ingested event is cold, and D1 (its local SQLite file: d1Local) and the chunks' objects in
// R2 (its local files: r2Local) must hold every ingested event exactly once.
// Then the auditors' verifier (npm run verify-audit-log) checks a whole JSON export and a group
// CSV export of the log, its events nearly all cold.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { api, d1Local, killGroup, migratedState, r2Local, spawnNpmStart, verifyAuditLog, waitForVersion } from './harness.mjs';

/** This test's ports (wrangler and its inspector), fixed so as not to meet other runs' free-port picks. */
const PORT = 8814;
const INSPECTOR_PORT = 8815;
const BASE = `http://127.0.0.1:${PORT}`;
/** Events ingested before each kill (a chunk or two; quick enough to ingest within a minute). */
const EVENTS_PER_ROUND = 1200;
const INGEST_CONCURRENCY = 16;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('a SIGKILL in the middle of a move to the cold archive', { concurrency: false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'audit-archive-kill-'));
  const persist = migratedState(join(dir, 'state'));
  const token = `kill-admin-${randomBytes(12).toString('hex')}`;
  let child = null;
  let log = '';
  let groupPath;
  let groupId;

  async function start() {
    log = '';
    child = spawnNpmStart(
      [
        'start', '--', '--port', String(PORT), '--inspector-port', String(INSPECTOR_PORT), '--persist-to', persist, '--test-scheduled',
        '--var', `ADMIN_TOKEN:${token}`, '--var', 'ALLOW_LOCAL_DESTINATIONS:true', '--var', 'DELIVERY_LOOPBACK_ONLY:true',
        '--var', 'RATE_LIMITS:off', '--var', 'AUDIT_HOT_DAYS:0', '--show-interactive-dev-session=false',
      ],
      (d) => (log += d),
    );
    await waitForVersion(child, BASE, () => log.slice(-3000));
  }

  /** SIGKILL the whole process group at once, like a crash; wait until the port is free. */
  async function kill() {
    const c = child;
    child = null;
    if (c) await killGroup(c, BASE);
  }

  /** Ingest `n` events; returns their ids (every call must answer 201). */
  async function ingest(n, round) {
    const ids = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: INGEST_CONCURRENCY }, async () => {
        while (next < n) {
          const i = next++;
          const body = { event_type: 'archive_kill_test', entity_type: 'Group', entity_path: groupPath, details: { custom_message: `round ${round} event ${i}` } };
          const r = await api(BASE, 'POST', '/api/v4/audit_events', { token, body });
          assert.equal(r.status, 201, JSON.stringify(r.body));
          ids.push(r.body.id);
        }
      }),
    );
    return ids;
  }

  /** The cron once (the scheduled handler of the API Worker: tree, then the archive's move, ...); resolves when it ends or the worker dies. */
  function triggerCron() {
    return fetch(`${BASE}/__scheduled?cron=*+*+*+*+*`)
      .then((r) => r.text())
      .catch(() => null);
  }

  /** Files of objects in the local R2 state (each put writes one blob). */
  function r2Blobs() {
    const root = join(persist, 'v3', 'r2');
    let n = 0;
    const walk = (d) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else if (d.includes(`${'/'}blobs`)) n++;
      }
    };
    if (existsSync(root)) walk(root);
    return n;
  }

  const d1 = (sql) => d1Local(persist, sql);

  /**
   * Trigger the cron and SIGKILL once `when(newObjects, msSinceTrigger, runEnded)` says so; returns
   * the ms from the trigger to the kill, how many objects had appeared and whether the run had ended.
   */
  async function cronAndKill(when) {
    const blobs0 = r2Blobs();
    const t0 = Date.now();
    let ended = false;
    triggerCron().then(() => (ended = true));
    for (;;) {
      const fresh = r2Blobs() - blobs0;
      const ms = Date.now() - t0;
      const end = ended;
      if (when(fresh, ms, end)) {
        await kill();
        return { ms, fresh, ended: end };
      }
      assert.ok(!end, `the cron run ended (${fresh} new objects after ${ms} ms) before the kill point: nothing moved? Is the cron's archive job there?\n${log.slice(-2000)}`);
      assert.ok(ms < 120_000, 'no kill point within 120 s');
      await sleep(2);
    }
  }

  before(async () => {
    await start();
    const s = Date.now().toString(36);
    const g = await api(BASE, 'POST', '/api/v4/groups', { token, body: { name: `kill-${s}`, path: `kill-${s}` } });
    assert.equal(g.status, 201, JSON.stringify(g.body));
    groupPath = g.body.full_path;
    groupId = g.body.id;
  });

  after(async () => {
    await kill();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The longest ingest of a round so far (ms): how late in a minute the next one may start. */
  let longestIngestMs = 0;

  /**
   * Ingest `n` events inside one minute, so that the minute cron `npm start` fires on its own does
   * not move them before the trigger (they are eligible at once: AUDIT_HOT_DAYS=0); a batch that
   * saw objects appear anyway is kept (its events are checked like all) and another one ingested.
   * The first round starts by second 25 of a minute; later ones as late as the longest ingest so
   * far, taken one and a half times, plus 4 s for the trigger and the kill, allow (at most second 50).
   */
  async function ingestForKill(n, round, ingested) {
    const latestStart = longestIngestMs === 0 ? 25 : Math.max(25, Math.min(50, Math.floor(56 - (1.5 * longestIngestMs) / 1000)));
    for (let attempt = 0; attempt < 3; attempt++) {
      while (new Date().getUTCSeconds() < 2 || new Date().getUTCSeconds() > latestStart) await sleep(250);
      const blobs = r2Blobs();
      const t0 = Date.now();
      ingested.push(...(await ingest(n, round)));
      const ms = Date.now() - t0;
      longestIngestMs = Math.max(longestIngestMs, ms);
      console.log(`round ${round}: ${n} events ingested in ${ms} ms, from second ${new Date(t0).getUTCSeconds()} of a minute`);
      if (r2Blobs() === blobs) return;
      console.log(`round ${round}: the minute cron moved events during the ingest; ingesting again`);
    }
    assert.fail(`round ${round}: the minute cron kept moving the ingested events before the trigger`);
  }

  it('loses and duplicates no event across three kills, every event once in D1 or in a chunk', { timeout: 900_000 }, async () => {
    const ingested = [];
    const kills = [];
    // 1: right after the run's first object (a chunk's events object) is written: before its manifest and D1 transaction.
    await ingestForKill(EVENTS_PER_ROUND, 1, ingested);
    kills.push(await cronAndKill((fresh) => fresh >= 1));
    // 2: right after the second (its manifest): around the chunk's read-back check and D1 transaction.
    await start();
    await ingestForKill(EVENTS_PER_ROUND, 2, ingested);
    kills.push(await cronAndKill((fresh) => fresh >= 2));
    // 3: at a random instant of the window the first two measured (first object to after the manifest),
    // again until one lands before the run ends.
    for (let attempt = 0; ; attempt++) {
      const from = Math.max(0, Math.min(kills[0].ms, kills[1].ms) - 50);
      const to = Math.max(kills[0].ms, kills[1].ms) + 150;
      const delay = from + Math.floor(Math.random() * (to - from));
      await start();
      await ingestForKill(EVENTS_PER_ROUND, 3 + attempt, ingested);
      const k = await cronAndKill((_fresh, ms, ended) => ms >= delay || ended);
      if (!k.ended) {
        kills.push({ ...k, delay });
        break;
      }
      assert.ok(attempt < 4, `five runs ended before their random kill instant (window ${from} to ${to} ms)`);
      console.log(`random kill at ${delay} ms missed: the run ended after ${k.ms} ms; again`);
    }
    console.log(`kills: ${kills.map((k) => `${k.ms} ms after the trigger, ${k.fresh} new objects${k.delay ? ` (random delay ${k.delay} ms)` : ''}`).join('; ')}`);

    // Restart; the cron runs until every ingested event is cold (each run moves what the previous recorded).
    await start();
    const maxId = Math.max(...ingested);
    for (let run = 0; ; run++) {
      await triggerCron();
      const [b] = d1('SELECT COALESCE(MAX(last_id), 0) AS last_id FROM audit_archive_chunks');
      if (b.last_id >= maxId) break;
      assert.ok(run < 40, `events are still hot after 40 cron runs (cold up to ${b.last_id}, newest ingested ${maxId})`);
    }
    await kill();

    // Every ingested id, exactly once across D1 and the chunks' objects (their SHA-256 as recorded).
    const seen = new Map();
    const count = (id) => seen.set(id, (seen.get(id) ?? 0) + 1);
    for (const r of d1(`SELECT id FROM audit_events WHERE event_type = 'archive_kill_test'`)) count(r.id);
    const chunks = d1('SELECT first_id, last_id, object_key, object_sha256, event_count FROM audit_archive_chunks ORDER BY first_leaf');
    let previous = 0;
    for (const c of chunks) {
      assert.ok(c.first_id > previous, `chunk ${c.object_key} overlaps the one before it`);
      previous = c.last_id;
      const bytes = r2Local(persist, 'audit-archive', c.object_key);
      assert.equal(createHash('sha256').update(bytes).digest('hex'), c.object_sha256, c.object_key);
      const lines = gunzipSync(bytes).toString('utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
      assert.equal(lines.filter((l) => !l.removed).length, c.event_count, c.object_key);
      for (const l of lines) if (l.event_type === 'archive_kill_test') count(l.id);
    }
    const lost = ingested.filter((id) => !seen.has(id));
    const duplicated = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
    const known = new Set(ingested);
    const unknown = [...seen.keys()].filter((id) => !known.has(id));
    console.log(`${ingested.length} events ingested; ${chunks.length} chunks; lost ${lost.length}, duplicated ${duplicated.length}`);
    assert.deepEqual(lost, [], 'events lost');
    assert.deepEqual(duplicated, [], 'events duplicated');
    assert.deepEqual(unknown, [], 'events never ingested');
    assert.equal(d1(`SELECT COUNT(*) AS n FROM audit_events WHERE event_type = 'archive_kill_test'`)[0].n, 0, 'every ingested event moved');
  });

  it("the auditors' verifier checks the log over its cold events: the whole JSON export and a group CSV export", { timeout: 300_000 }, async () => {
    // After the kills, every event of the test is cold (the test above ends with all of them moved).
    await start();
    const verify = (...args) => verifyAuditLog(BASE, token, ...args);
    const download = async (path, name) => {
      const res = await fetch(`${BASE}${path}`, { headers: { 'PRIVATE-TOKEN': token } });
      assert.equal(res.status, 200, path);
      const file = join(dir, name);
      writeFileSync(file, await res.text());
      return file;
    };
    // Cold leaves first, then the checkpoint: a cron run in between (the restarted Worker's) may
    // move and leaf more events, but never cold leaves the checkpoint's tree does not hold.
    const [cold] = d1('SELECT COALESCE(MAX(last_leaf), -1) AS last_leaf, COUNT(*) AS chunks FROM audit_archive_chunks');
    const cp = await fetch(`${BASE}/api/v4/audit_events/checkpoint`, { method: 'POST', headers: { 'PRIVATE-TOKEN': token } });
    assert.ok([200, 201].includes(cp.status), `checkpoint: ${cp.status}`);
    assert.ok(cold.chunks >= 4, `the log is mostly cold (${cold.chunks} chunks)`);
    const key = (await (await fetch(`${BASE}/-/audit-log/verifier-key`)).text()).trim();
    const whole = await verify('--key', key, '--export', await download('/api/v4/audit_events.json', 'whole.json'));
    assert.equal(whole.code, 0, whole.stdout + whole.stderr);
    assert.match(whole.stdout, /signature verified/);
    const covered = Number(whole.stdout.match(/export: (?:the tree of its first|its) (\d+) events/)?.[1]);
    assert.ok(covered > cold.last_leaf, `the whole export's tree covers the cold events (${covered} events, cold up to leaf ${cold.last_leaf}):\n${whole.stdout}`);
    const group = await verify('--key', key, '--export', await download(`/api/v4/groups/${groupId}/audit_events.csv`, 'group.csv'));
    assert.equal(group.code, 0, group.stdout + group.stderr);
    assert.match(group.stdout, /export: \d+ events verified by inclusion proofs/);
    await kill();
  });
});
