/**
 * vitest globalSetup (runs in Node, not in workerd): a real HTTP receiver for the delivery
 * tests on 127.0.0.1, its port provided to the tests as `inject('receiverPort')`.
 * It records every request per path and answers by path:
 *   /ok/...                  200
 *   /fail/N/...              500 the first N times, then 200
 *   /status/CODE/...         always CODE (e.g. 410, 302, 503)
 *   /retry-after/SECS/...    503 with `Retry-After: SECS`
 *   /slow/MS/...             waits MS milliseconds, then 200
 *   /switch/NAME/...         503 while the switch NAME is down, else 200
 *   /doh/...?name=&type=     a DNS-over-HTTPS JSON stand-in (doh-standin.mjs; records set by POST /_doh)
 * Inspection (from the tests, inside workerd):
 *   GET  /_requests?path=/ok/x   the requests received on that path, oldest first
 *   POST /_switch?name=NAME&down=1|0   turns a switch down (503) or up (200)
 *   POST /_doh                   {name, A?, AAAA?, httpStatus?}: the stand-in's records of a name
 *   POST /_verify                {secret, headers, body}: verifies with the official
 *                                `standardwebhooks` package; answers {ok, error?, payload?}
 * Plain JavaScript because the project has no Node type declarations (tests are typed for workerd).
 */
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { dohAnswer, setDohRecords } from './doh-standin.mjs';

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Start the receiver on an ephemeral port of 127.0.0.1; resolves to { server, port }. */
export async function startReceiver() {
  /** @type {Map<string, Array<{method: string, path: string, headers: Record<string, string>, body: string, at: number}>>} */
  const received = new Map();
  /** @type {Map<string, boolean>} switch name → down */
  const switches = new Map();
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const body = await readBody(req);
    const send = (status, payload = { ok: status < 300 }, headers = {}) => {
      res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
      res.end(JSON.stringify(payload));
    };
    if (url.pathname === '/_requests') return send(200, received.get(url.searchParams.get('path') ?? '') ?? []);
    if (url.pathname === '/_switch') {
      switches.set(url.searchParams.get('name') ?? '', url.searchParams.get('down') === '1');
      return send(200);
    }
    if (url.pathname === '/_doh') {
      setDohRecords(body);
      return send(200);
    }
    if (url.pathname === '/_verify') {
      const { secret, headers, body: signed } = JSON.parse(body);
      try {
        return send(200, { ok: true, payload: new Webhook(secret).verify(signed, headers) });
      } catch (err) {
        return send(200, { ok: false, error: err instanceof Error ? err.message : String(err) });
      }
    }
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : (v ?? '');
    const list = received.get(url.pathname) ?? [];
    list.push({ method: req.method ?? '', path: url.pathname, headers, body, at: Date.now() });
    received.set(url.pathname, list);
    const [, kind, arg] = url.pathname.split('/');
    const n = Number(arg);
    if (kind === 'fail') return list.length <= n ? send(500, { error: 'failing on purpose' }) : send(200);
    if (kind === 'status') return send(n, { status: n }, n >= 300 && n < 400 ? { Location: 'http://127.0.0.1:1/elsewhere' } : {});
    if (kind === 'retry-after') return send(503, { error: 'busy' }, { 'Retry-After': arg });
    if (kind === 'slow') return void setTimeout(() => send(200), n);
    if (kind === 'switch') return switches.get(arg) ? send(503, { error: 'down' }) : send(200);
    if (kind === 'doh') return send(...dohAnswer(url));
    return send(200);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('receiver: no port');
  return { server, port: address.port };
}

/** The globalSetup entry: start the receiver, provide its port, close it at the end. */
export default async function setup(project) {
  const { server, port } = await startReceiver();
  project.provide('receiverPort', port);
  return () => new Promise((resolve) => server.close(() => resolve()));
}
