// The helpers of `npm start` (scripts/local-cron.mjs, scripts/quiet-wrangler.mjs), without wrangler:
// which minutes a cron matches, the trigger request it sends, and what of wrangler's output it shows.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { cronMatches, fireDueCrons } from '../../scripts/local-cron.mjs';
import { migrationsSummary, wranglerDevFilter } from '../../scripts/quiet-wrangler.mjs';

const at = (iso) => new Date(`${iso}Z`);

describe('cronMatches', () => {
  it('matches every minute for * * * * *', () => {
    for (const iso of ['2026-11-27T00:00', '2026-11-27T13:37', '2026-02-28T23:59']) assert.equal(cronMatches('* * * * *', at(iso)), true);
  });
  it('reads numbers, ranges, lists and steps, in UTC', () => {
    assert.equal(cronMatches('*/15 10 * * *', at('2026-11-27T10:30')), true);
    assert.equal(cronMatches('*/15 10 * * *', at('2026-11-27T10:31')), false);
    assert.equal(cronMatches('0 9-17 * * 1-5', at('2026-11-27T12:00')), true); // a Friday
    assert.equal(cronMatches('0 9-17 * * 1-5', at('2026-11-28T12:00')), false); // a Saturday
    assert.equal(cronMatches('5,10 0 1 1,7 *', at('2026-07-01T00:10')), true);
    assert.equal(cronMatches('0 0 * * 7', at('2026-11-29T00:00')), true); // 7 is Sunday too
  });
  it('takes a day matching either day field when both are restricted, as cron does', () => {
    assert.equal(cronMatches('0 0 1 * 5', at('2026-11-27T00:00')), true); // a Friday, not the 1st
    assert.equal(cronMatches('0 0 1 * 1', at('2026-11-27T00:00')), false);
  });
  it('refuses what it cannot read', () => {
    assert.throws(() => cronMatches('* * * *', new Date()), /five fields/);
    assert.throws(() => cronMatches('61 * * * *', new Date()), /out of range/);
    assert.throws(() => cronMatches('@hourly * * * *', new Date()), /not understood/);
  });
});

describe('fireDueCrons', () => {
  it("sends each due cron to wrangler dev's trigger route with the minute as its time, and reports a failure", async () => {
    const seen = [];
    const server = createServer((req, res) => {
      seen.push(req.url);
      res.writeHead(req.url.includes('cron=0+') ? 500 : 200).end('ok');
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const warnings = [];
    const minute = at('2026-11-27T10:00');
    const sent = await fireDueCrons(`http://127.0.0.1:${server.address().port}`, ['* * * * *', '0 * * * *', '30 * * * *'], minute, (w) => warnings.push(w));
    server.close();
    assert.deepEqual(sent, ['* * * * *', '0 * * * *']);
    assert.deepEqual(seen.sort(), [`/cdn-cgi/local/scheduled?cron=*+*+*+*+*&time=${minute.getTime()}`, `/cdn-cgi/local/scheduled?cron=0+*+*+*+*&time=${minute.getTime()}`]);
    assert.deepEqual(warnings, ['cron "0 * * * *": the scheduled handler answered 500']);
  });
});

describe("npm start's view of wrangler's output", () => {
  it('sums the applied migrations up in one line', () => {
    const out = '┌──────┐\n│ name │\n├──────┤\n│ 0001_init.sql │\n├──┤\n│ 0003_x.sql │\n└──┘\n│ 0001_init.sql │ ✅ │\n';
    assert.equal(migrationsSummary(out, '.wrangler/state'), 'D1 migrations: applied 2 to the local database (.wrangler/state): 0001_init.sql … 0003_x.sql');
    assert.equal(migrationsSummary('✅ No migrations to apply!', 'DIR'), 'D1 migrations: the local database (DIR) is up to date');
  });
  it('leaves out the banner, binding tables and cron warning, holds lines back until ready, passes errors at once', () => {
    const shown = [];
    const ready = [];
    const filter = wranglerDevFilter((l) => shown.push(l), (url) => ready.push(url));
    const lines = [
      ' ⛅️ wrangler 4.155.0 (update available 4.164.0)', '───────────', 'Using secrets defined in .dev.vars',
      'audit-events-edge has access to the following bindings:', 'Binding   Resource', 'env.DB (audit-events)   D1 Database', '',
      '▲ [WARNING] Scheduled Workers are not automatically triggered during local development.', '', '  To manually trigger...', '  For more details, see https://x', '',
      'held before ready', '✘ [ERROR] something broke',
      '[wrangler:info] Ready on http://127.0.0.1:8787', '[wrangler:info] - http://127.0.0.1:8787',
      '[wrangler:info] GET /api/v4/version 200 OK (3ms)', 'a console.log of the Worker',
    ];
    for (const l of lines) filter.line(l);
    assert.deepEqual(ready, ['http://127.0.0.1:8787']);
    assert.deepEqual(shown, ['✘ [ERROR] something broke', '[wrangler:info] GET /api/v4/version 200 OK (3ms)', 'a console.log of the Worker']);
    assert.deepEqual(filter.pending(), []);
    const early = wranglerDevFilter(() => {}, () => {});
    early.line('Using secrets defined in .dev.vars');
    early.line('why it stopped');
    assert.deepEqual(early.pending(), ['why it stopped']);
  });
});
