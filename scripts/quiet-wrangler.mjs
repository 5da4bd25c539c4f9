// What `npm start` shows of `wrangler d1 migrations apply` and `wrangler dev`: one line for the
// migrations instead of a table per migration, and wrangler dev's output without its banner,
// binding tables and the cron warning (npm start fires the crons itself), so that the admin token
// and the URLs npm start prints once the server is ready stay in view. Errors are always shown.

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

/** One line for the output of `wrangler d1 migrations apply --local` that succeeded. */
export function migrationsSummary(output, where) {
  const names = [...new Set([...output.replace(ANSI, '').matchAll(/│\s*(\d{4}_[^\s│]+\.sql)\s*│/g)].map((m) => m[1]))];
  if (names.length === 0) return `D1 migrations: the local database (${where}) is up to date`;
  const range = names.length === 1 ? names[0] : `${names[0]} … ${names.at(-1)}`;
  return `D1 migrations: applied ${names.length} to the local database (${where}): ${range}`;
}

/** Lines of `wrangler dev` that start a block npm start leaves out, and what ends that block. */
const BLOCKS = [
  { start: /has access to the following bindings:/, end: (line) => line.trim() === '' },
  { start: /Scheduled Workers are not automatically triggered/, end: (line) => /For more details/.test(line) },
];
/** Single lines npm start leaves out. */
const NOISE = [
  /^\s*⛅️ wrangler /,
  /^\s*─+\s*$/,
  /^Using (secrets|vars) defined in /,
  /^Service bindings, Durable Object bindings, and Tail consumers connect/,
  /^⎔ Starting local server/,
  // The addresses wrangler lists under "Ready on" for --ip 0.0.0.0: npm start prints its own.
  /^\[wrangler:info\] - https?:\/\//,
  /^\s*$/,
];

/**
 * A line filter for `wrangler dev`'s output. `onReady(url)` is called once, on wrangler's
 * "Ready on <url>" line (which is left out: npm start prints its own). Until then lines are kept
 * back (`pending()` returns them, for when wrangler exits before it is ready), except errors,
 * which pass at once.
 */
export function wranglerDevFilter(write, onReady) {
  let ready = false;
  let block = null;
  const held = [];
  return {
    line(raw) {
      const line = raw.replace(ANSI, '');
      if (block) {
        if (block.end(line)) block = null;
        return;
      }
      const opens = BLOCKS.find((b) => b.start.test(line));
      if (opens) {
        block = opens;
        return;
      }
      const url = /Ready on (\S+)/.exec(line)?.[1];
      if (url && !ready) {
        ready = true;
        held.length = 0;
        onReady(url);
        return;
      }
      if (/✘|\[ERROR\]/.test(line)) return write(raw);
      if (NOISE.some((n) => n.test(line)) || /update available/.test(line)) return;
      if (ready) write(raw);
      else held.push(raw);
    },
    pending: () => held,
  };
}

/** Call `onLine` with each whole line of a stream (the last one too, should it lack a newline). */
export function eachLine(stream, onLine) {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop();
    for (const l of lines) onLine(l.replace(/\r$/, ''));
  });
  stream.on('end', () => rest && onLine(rest));
}
