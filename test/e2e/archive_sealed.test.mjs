// Sealed segments and pages of the cold audit log (issue 19), end to end: the service runs as the
// README starts it (`npm start`, both Workers, its own --persist-to directory) with
// AUDIT_HOT_DAYS=0 (the cron's archive job moves every event), AUDIT_ARCHIVE_SEGMENT_CHUNKS=2 (a
// segment is 2 chunks, 2,048 leaves, instead of 2^20) and AUDIT_ARCHIVE_PAGE_SEGMENTS=2 (a page is
// 2 segments, 4,096 leaves, instead of 1,024 units), so that a few thousand events seal two
// segments and merge them into one page. Events come in through the ingest API; the cron (GET
// /__scheduled) runs until the page is sealed. Then D1 (its local SQLite file: d1Local) must keep
// only the page's row for its leaves (no segment or chunk row, no node of level 10 or 11; its
// level-12 node stays), the group's listing must give every ingested event exactly once, offset
// and keyset, with the same X-Total as before the move, and the auditors' verifier (npm run
// verify-audit-log) must check the whole JSON export and a group CSV export over the paged events.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, d1Local, killGroup, migratedState, spawnNpmStart, verifyAuditLog, waitForVersion } from './harness.mjs';

/** This test's ports (wrangler and its inspector), fixed so as not to meet other runs' free-port picks. */
const PORT = 8818;
const INSPECTOR_PORT = 8819;
const BASE = `http://127.0.0.1:${PORT}`;
/** More than one page of 2 segments of 2 chunks (4,096 leaves), so that the first is wholly cold and sealed. */
const EVENTS = 4400;
const INGEST_CONCURRENCY = 16;

describe('sealed segments of the cold audit log, through npm start', { concurrency: false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'audit-archive-sealed-'));
  const persist = migratedState(join(dir, 'state'));
  const token = `sealed-admin-${randomBytes(12).toString('hex')}`;
  let child = null;
  let log = '';
  let groupId;
  let groupPath;

  const d1 = (sql) => d1Local(persist, sql);

  /**
   * A GET, tried again when the connection drops (a kept-alive socket that the local server closed
   * as it was reused: undici's "other side closed"); a GET changes nothing, so a retry is safe.
   */
  async function retrying(request) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await request();
      } catch (err) {
        if (attempt >= 3) throw err;
      }
    }
  }
  const get = (path) => retrying(() => api(BASE, 'GET', path, { token }));

  /** Every event of the group's listing, page by page: offset (page=N) or keyset (Link rel=next); with the first page's X-Total. */
  async function listAll(keyset) {
    const ids = [];
    let path = `/api/v4/groups/${groupId}/audit_events?per_page=100${keyset ? '&pagination=keyset&order_by=id&sort=desc' : '&page=1'}`;
    let total = null;
    for (let page = 1; path; page++) {
      assert.ok(page < 100, 'too many pages');
      const r = await get(path);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      if (total === null) total = r.headers.get('x-total');
      for (const e of r.body) ids.push(e.id);
      if (keyset) {
        const next = /<([^>]+)>;\s*rel="next"/.exec(r.headers.get('link') ?? '')?.[1];
        path = next ? next.replace(/^https?:\/\/[^/]+/, '') : null;
      } else {
        path = r.body.length === 100 ? `/api/v4/groups/${groupId}/audit_events?per_page=100&page=${page + 1}` : null;
      }
    }
    return { ids, total };
  }

  before(async () => {
    child = spawnNpmStart(
      [
        'start', '--', '--port', String(PORT), '--inspector-port', String(INSPECTOR_PORT), '--persist-to', persist, '--test-scheduled',
        '--var', `ADMIN_TOKEN:${token}`, '--var', 'RATE_LIMITS:off', '--var', 'AUDIT_HOT_DAYS:0', '--var', 'AUDIT_ARCHIVE_SEGMENT_CHUNKS:2',
        '--var', 'AUDIT_ARCHIVE_PAGE_SEGMENTS:2', '--show-interactive-dev-session=false',
      ],
      (d) => (log += d),
    );
    await waitForVersion(child, BASE, () => log.slice(-3000));
    const s = Date.now().toString(36);
    // Another group's event first, so that the test group's events are not the log's first leaves
    // and the verifier checks its export by inclusion proofs (not one consistency proof).
    const other = await api(BASE, 'POST', '/api/v4/groups', { token, body: { name: `other-${s}`, path: `other-${s}` } });
    assert.equal(other.status, 201, JSON.stringify(other.body));
    const g = await api(BASE, 'POST', '/api/v4/groups', { token, body: { name: `sealed-${s}`, path: `sealed-${s}` } });
    assert.equal(g.status, 201, JSON.stringify(g.body));
    groupId = g.body.id;
    groupPath = g.body.full_path;
  });

  after(async () => {
    const c = child;
    child = null;
    if (c) await killGroup(c, BASE);
    rmSync(dir, { recursive: true, force: true });
  });

  it('seals two segments into a page; the listings, X-Total and the verifier answer over it as over hot events', { timeout: 600_000 }, async () => {
    const ingested = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: INGEST_CONCURRENCY }, async () => {
        while (next < EVENTS) {
          const i = next++;
          const body = { event_type: 'archive_seal_test', entity_type: 'Group', entity_path: groupPath, details: { custom_message: `event ${i}` } };
          const r = await api(BASE, 'POST', '/api/v4/audit_events', { token, body });
          assert.equal(r.status, 201, JSON.stringify(r.body));
          ingested.push(r.body.id);
        }
      }),
    );
    // Before the move (the minute cron of `npm start` may have moved some already: the listing is one log either way).
    const before = await listAll(false);
    assert.equal(Number(before.total), before.ids.length);

    for (let run = 0; d1('SELECT COUNT(*) AS n FROM audit_archive_segments WHERE children > 0')[0].n === 0; run++) {
      assert.ok(run < 40, `no page sealed after 40 cron runs:\n${log.slice(-2000)}`);
      await fetch(`${BASE}/__scheduled?cron=*+*+*+*+*`)
        .then((r) => r.text())
        .catch(() => null); // a dropped connection: the loop looks at D1 and triggers again
    }
    const [page] = d1('SELECT first_leaf, last_leaf, level, chunks, children, object_sha256 FROM audit_archive_segments WHERE first_leaf <= 4095 ORDER BY first_leaf');
    assert.equal(d1('SELECT COUNT(*) AS n FROM audit_archive_segments WHERE first_leaf <= 4095')[0].n, 1, 'one row for leaves 0 to 4095: the page');
    assert.deepEqual({ first: page.first_leaf, last: page.last_leaf, level: page.level, children: page.children }, { first: 0, last: 4095, level: 12, children: 2 });
    // At least the 4 blocks' chunks (more when the minute cron of `npm start` moved a partly recorded block first).
    assert.ok(page.chunks >= 4, `${page.chunks} chunks`);
    assert.equal(d1('SELECT COUNT(*) AS n FROM audit_archive_chunks WHERE first_leaf <= 4095')[0].n, 0, "the page's chunk rows left D1");
    assert.equal(d1('SELECT COUNT(*) AS n FROM audit_log_nodes WHERE (level = 10 AND idx < 4) OR (level = 11 AND idx < 2)')[0].n, 0, "the page's nodes of levels 10 and 11 left D1");
    assert.equal(d1('SELECT COUNT(*) AS n FROM audit_log_nodes WHERE level = 12 AND idx = 0')[0].n, 1, "the page's level-12 node stays");

    // The same log, offset and keyset: every event once, newest first, the same X-Total.
    const offset = await listAll(false);
    const keyset = await listAll(true);
    assert.deepEqual(offset.ids, before.ids);
    assert.deepEqual(keyset.ids, before.ids);
    assert.equal(offset.total, before.total);
    const listed = new Set(offset.ids);
    assert.deepEqual(ingested.filter((id) => !listed.has(id)), [], 'ingested events missing from the listing');
    assert.ok(Math.min(...ingested) < 2048, 'some ingested events are in the page');

    // The auditors' verifier over the sealed events.
    const verify = (...args) => verifyAuditLog(BASE, token, ...args);
    const download = async (path, name) => {
      const text = await retrying(async () => {
        const res = await fetch(`${BASE}${path}`, { headers: { 'PRIVATE-TOKEN': token } });
        assert.equal(res.status, 200, path);
        return res.text();
      });
      const file = join(dir, name);
      writeFileSync(file, text);
      return file;
    };
    // A checkpoint POSTed twice is two checkpoints: harmless here.
    const cp = await retrying(() => fetch(`${BASE}/api/v4/audit_events/checkpoint`, { method: 'POST', headers: { 'PRIVATE-TOKEN': token } }));
    assert.ok([200, 201].includes(cp.status), `checkpoint: ${cp.status}`);
    const key = (await retrying(async () => (await fetch(`${BASE}/-/audit-log/verifier-key`)).text())).trim();
    const wholeFile = await download('/api/v4/audit_events.json', 'whole.json');
    // The seals are in the log (hot, or moved by a later run meanwhile), the page's naming its index's SHA-256.
    const exported = readFileSync(wholeFile, 'utf8');
    assert.ok((exported.match(/"audit_archive_segment_sealed"/g) ?? []).length >= 2, 'the two segments were sealed');
    assert.equal((exported.match(/"audit_archive_page_sealed"/g) ?? []).length, 1, 'one audit_archive_page_sealed event');
    assert.ok(exported.includes(page.object_sha256), "the page's event names its index object's SHA-256");
    const whole = await verify('--key', key, '--export', wholeFile);
    assert.equal(whole.code, 0, whole.stdout + whole.stderr);
    assert.match(whole.stdout, /signature verified/);
    const covered = Number(whole.stdout.match(/export: (?:the tree of its first|its) (\d+) events/)?.[1]);
    assert.ok(covered > 4095, `the whole export's tree covers the page (${covered} events):\n${whole.stdout}`);
    const group = await verify('--key', key, '--export', await download(`/api/v4/groups/${groupId}/audit_events.csv`, 'group.csv'));
    assert.equal(group.code, 0, group.stdout + group.stderr);
    assert.match(group.stdout, /export: \d+ events verified by inclusion proofs/);
  });
});
