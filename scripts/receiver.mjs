#!/usr/bin/env node
// A tiny streaming destination for trying the service locally: listens on 127.0.0.1:<port>,
// prints each delivery (its headers of note and the audit event), checks its Standard Webhooks
// signature with the `standardwebhooks` package when given the destination's signing secret,
// and answers 200 (401 when the signature does not verify, so the delivery log shows it). Other
// methods get 200 and are not counted (a probe that it listens).
//
//   node scripts/receiver.mjs --port 8799 [--secret whsec_...] [--exit-after N] [--until TYPE[,TYPE...]]
//
// --exit-after N: exit (status 0) once N deliveries verified (or, without a secret, arrived),
// counted by webhook-id, so a repeated delivery does not count twice.
// --until TYPES: exit (status 0) once a delivery of each of these event types (comma-separated
// X-Gitlab-Audit-Event-Type values) verified (or arrived); deliveries of other types (such as
// the scheduled release_evidence_collected) are printed but do not end the wait. With both
// options, the receiver exits when either is met.
// Runs on any Node from 18 on (plain ESM), so also before npm ci brought a newer one.
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import standardwebhooks from 'standardwebhooks';

const usage = 'usage: node scripts/receiver.mjs --port <port> [--secret whsec_...] [--exit-after <n>] [--until <type>[,<type>...]]';
let options;
try {
  options = parseArgs({ options: { port: { type: 'string' }, secret: { type: 'string' }, 'exit-after': { type: 'string' }, until: { type: 'string' } } }).values;
} catch (e) {
  console.error(`${e.message}\n${usage}`);
  process.exit(2);
}
const port = Number(options.port);
const exitAfter = options['exit-after'] === undefined ? Infinity : Number(options['exit-after']);
const until = options.until === undefined ? null : new Set(options.until.split(',').map((t) => t.trim()));
if (!Number.isInteger(port) || port < 1 || port > 65535 || !(exitAfter >= 1) || (until && [...until].some((t) => !/^[a-z0-9_]+$/.test(t)))) {
  console.error(usage);
  process.exit(2);
}
let webhook = null;
if (options.secret !== undefined) {
  if (!/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(options.secret)) {
    console.error('--secret must be the destination\'s signingSecret (whsec_<base64>)');
    process.exit(2);
  }
  try {
    webhook = new standardwebhooks.Webhook(options.secret);
  } catch (e) {
    console.error(`--secret is not a Standard Webhooks secret (whsec_<base64>): ${e.message}`);
    process.exit(2);
  }
}

/** webhook-ids of the deliveries accepted: a repeat (delivery is at least once) is not counted again. */
const accepted = new Set();
/** The event types of --until still awaited. */
const awaited = new Set(until ?? []);
const server = createServer((req, res) => {
  // Anything but a POST (`curl http://127.0.0.1:<port>/` to see that it listens): 200, not counted.
  if (req.method !== 'POST') {
    req.resume();
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('receiver: POST deliveries here\n');
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const header = (name) => req.headers[name] ?? '-';
    let event = null;
    try {
      event = JSON.parse(body);
    } catch {
      /* printed raw below */
    }
    let verdict = 'signature not checked (no --secret)';
    let ok = true;
    if (webhook) {
      try {
        webhook.verify(body, { 'webhook-id': header('webhook-id'), 'webhook-timestamp': header('webhook-timestamp'), 'webhook-signature': header('webhook-signature') });
        verdict = 'signature verified (standardwebhooks)';
      } catch (e) {
        verdict = `signature NOT verified: ${e.message}`;
        ok = false;
      }
    }
    console.log(`receiver: ${req.method} ${req.url} webhook-id ${header('webhook-id')} X-Gitlab-Audit-Event-Type ${header('x-gitlab-audit-event-type')}: ${verdict}`);
    console.log(`  ${event ? JSON.stringify(event) : body.slice(0, 2000)}`);
    res.writeHead(ok ? 200 : 401, { 'Content-Type': 'text/plain' });
    if (ok && accepted.has(header('webhook-id'))) console.log('  (a repeat of an earlier delivery: same webhook-id)');
    if (ok) accepted.add(header('webhook-id'));
    if (ok) awaited.delete(header('x-gitlab-audit-event-type'));
    const done = ok && (accepted.size >= exitAfter || (until !== null && awaited.size === 0));
    res.end(ok ? 'ok' : 'bad signature', () => {
      if (!done) return;
      const why = until !== null && awaited.size === 0 ? ` (each of ${[...until].join(', ')})` : '';
      console.log(`receiver: ${accepted.size} deliveries ${webhook ? 'verified' : 'received'}${why}, exiting`);
      process.exit(0);
    });
  });
});
server.on('error', (e) => {
  console.error(`receiver: cannot listen on 127.0.0.1:${port}: ${e.message}`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => console.log(`receiver: listening on http://127.0.0.1:${port}/`));
