// The API Worker's Cron Triggers while `npm start` runs: `wrangler dev` never fires them on its
// own (it says "Scheduled Workers are not automatically triggered during local development"),
// but it serves Miniflare's trigger route, GET /cdn-cgi/local/scheduled?cron=<expression>, which
// runs the scheduled handler of the Worker that owns the port (the API Worker, the first config).
// At the start of every minute, each cron of wrangler.toml that matches that minute is sent there.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** The values one field of a cron expression allows (`*`, `5`, `1-5`, `*\/15`, `1,2,10-20/5`). */
function fieldValues(field, min, max) {
  const values = new Set();
  for (const part of field.split(',')) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!m) throw new Error(`cron field "${field}" is not understood`);
    const from = m[1] === '*' ? min : Number(m[2]);
    const to = m[1] === '*' ? max : m[3] !== undefined ? Number(m[3]) : m[4] ? max : from;
    const step = m[4] ? Number(m[4]) : 1;
    if (from < min || to > max || step < 1) throw new Error(`cron field "${field}" is out of range ${min}-${max}`);
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return values;
}

/**
 * Whether a five-field cron expression (minute hour day-of-month month day-of-week, numbers, as
 * Cloudflare's Cron Triggers take them, UTC) matches the minute of `date`. As in cron, when both
 * day fields are restricted a day matching either one matches.
 */
export function cronMatches(expression, date) {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) throw new Error(`cron "${expression}" does not have five fields`);
  const [minute, hour, dom, month, dow] = fields;
  const inField = (field, min, max, value) => fieldValues(field, min, max).has(value);
  const dayOfWeek = date.getUTCDay();
  const domOk = inField(dom, 1, 31, date.getUTCDate());
  const dowOk = inField(dow, 0, 7, dayOfWeek) || (dayOfWeek === 0 && inField(dow, 0, 7, 7));
  const dayOk = dom !== '*' && dow !== '*' ? domOk || dowOk : domOk && dowOk;
  return inField(minute, 0, 59, date.getUTCMinutes()) && inField(hour, 0, 23, date.getUTCHours()) && inField(month, 1, 12, date.getUTCMonth() + 1) && dayOk;
}

/** GET `url` (wrangler dev's own, possibly self-signed, local server); resolves to the status. */
function get(url) {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', rejectUnauthorized: false, timeout: 50_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 50 s')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Send each of `crons` that matches `minute` to the local server at `origin` (the trigger route,
 * with that minute as the scheduled time); a failure is reported on one line through `warn`.
 * Resolves once every request is answered, to the crons sent.
 */
export async function fireDueCrons(origin, crons, minute, warn) {
  const due = crons.filter((c) => cronMatches(c, minute));
  await Promise.all(due.map(async (cron) => {
    const url = new URL('/cdn-cgi/local/scheduled', origin);
    url.searchParams.set('cron', cron);
    url.searchParams.set('time', String(minute.getTime()));
    try {
      const status = await get(url);
      if (status !== 200) warn(`cron "${cron}": the scheduled handler answered ${status}`);
    } catch (e) {
      warn(`cron "${cron}": ${e.message}`);
    }
  }));
  return due;
}

/**
 * Fire `crons` against the local server at `origin` at the start of every minute, as Cloudflare
 * does. Returns a function that stops it.
 */
export function runCronsLocally(origin, crons, warn) {
  for (const cron of crons) cronMatches(cron, new Date()); // an expression this cannot read fails now, not in a minute
  let timer;
  const schedule = () => {
    timer = setTimeout(() => {
      fireDueCrons(origin, crons, new Date(Math.floor(Date.now() / 60_000) * 60_000), warn);
      schedule();
    }, 60_000 - (Date.now() % 60_000));
  };
  schedule();
  return () => clearTimeout(timer);
}
