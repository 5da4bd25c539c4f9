/**
 * Local stand-ins for the cloud endpoints of `aws` and `gcp` destinations, all on 127.0.0.1,
 * started by the tests themselves (vitest globalSetup `cloud-setup.mjs`, and the e2e test):
 *
 * S3: a real S3-compatible server (s3rver: it keeps buckets and objects) behind a small proxy
 * that verifies every object PUT's AWS Signature V4 from its Authorization header with
 * ./sigv4.mjs (s3rver does not check V4 signatures) and answers 403 SignatureDoesNotMatch, as S3
 * does, when it is wrong.
 *   GET  /_s3/requests?bucket=B               the PUTs answered for bucket B: {method, path, contentType, signature, status}
 *   POST /_s3/fail?match=M&status=S&count=N   the next N PUTs whose path contains M are answered S
 *   anything else                             forwarded to s3rver (after the check, for PUTs)
 *
 * Google: an OAuth token endpoint that verifies the JWT assertion's RS256 signature with the
 * service account's public key (node:crypto) and its claims, and a Cloud Logging receiver that
 * checks the bearer token and the entries:write body.
 *   POST /token                     grant_type jwt-bearer → {access_token, expires_in, token_type}
 *   POST /v2/entries:write          Authorization: Bearer <issued token>
 *   GET  /_gcp/entries?logName=L    the entries written to L: {entry, token}
 *   GET  /_gcp/tokens               the token requests: {clientEmail, ok, error}
 *   POST /_gcp/fail?logName=L&status=S&count=N        the next N writes to L are answered S
 *   POST /_gcp/tokenfail?status=S&count=N             the next N token requests are answered S
 * Plain JavaScript: the project has no Node type declarations (tests are typed for workerd).
 */
import { createServer, request as httpRequest } from 'node:http';
import { generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { verifySigV4 } from './sigv4.mjs';

export const S3_BUCKET = 'audit-events-test';
// An access key id as GitLab's aws config accepts it (16 to 128 letters and digits); its secret is
// checked here, by verifySigV4, and s3rver gets the request without its Authorization header.
export const S3_ACCESS_KEY_ID = 'AKIAS3RVERLOCALTEST1';
export const GCP_CLIENT_EMAIL = 'audit-stream@audit-events-test.iam.gserviceaccount.com';
export const GCP_SCOPE = 'https://www.googleapis.com/auth/logging.write';

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

function sendJson(res, status, payload) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(payload));
}

function s3Error(res, status, code, message) {
  res.writeHead(status, { 'Content-Type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`);
}

/** The headers s3rver gets: the signature was checked here, so the request reaches it anonymous. */
function forwardedHeaders(headers, s3Port) {
  const { authorization: _authorization, ...rest } = headers;
  return { ...rest, host: `127.0.0.1:${s3Port}` };
}

/** s3rver on an ephemeral port, and the verifying proxy in front of it. */
async function startS3() {
  const directory = mkdtempSync(join(tmpdir(), 'audit-s3rver-'));
  const secretAccessKey = randomBytes(20).toString('base64');
  const s3 = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: S3_BUCKET }] });
  const { port: s3Port } = await s3.run();
  /** bucket → PUTs received */
  const received = new Map();
  /** { match, status, count } */
  const failures = [];
  const proxy = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const body = await readBody(req);
    if (url.pathname === '/_s3/requests') return sendJson(res, 200, received.get(url.searchParams.get('bucket')) ?? []);
    if (url.pathname === '/_s3/fail') {
      failures.push({ match: url.searchParams.get('match') ?? '', status: Number(url.searchParams.get('status')), count: Number(url.searchParams.get('count') ?? 1) });
      return sendJson(res, 200, { ok: true });
    }
    const bucket = decodeURIComponent(url.pathname.split('/')[1] ?? '');
    if (req.method === 'PUT') {
      const headers = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(',') : (v ?? '');
      const signature = verifySigV4({ method: req.method, path: req.url ?? '/', headers, body }, { [S3_ACCESS_KEY_ID]: secretAccessKey });
      // Recorded once answered (an object PUT only after s3rver stored it).
      res.on('finish', () => {
        const list = received.get(bucket) ?? [];
        list.push({ method: req.method, path: url.pathname, contentType: headers['content-type'] ?? null, signature, status: res.statusCode });
        received.set(bucket, list);
      });
      const failure = failures.find((f) => f.count > 0 && url.pathname.includes(f.match));
      if (failure && failure.count > 0) {
        failure.count -= 1;
        return s3Error(res, failure.status, failure.status >= 500 ? 'SlowDown' : 'AccessDenied', 'Failing on purpose');
      }
      if (!signature.ok) return s3Error(res, 403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
    }
    const forward = httpRequest(
      { host: '127.0.0.1', port: s3Port, method: req.method, path: req.url, headers: forwardedHeaders(req.headers, s3Port) },
      (upstream) => {
        res.writeHead(upstream.statusCode ?? 502, upstream.headers);
        upstream.pipe(res);
      },
    );
    forward.on('error', () => (res.headersSent ? res.destroy() : s3Error(res, 502, 'BadGateway', 's3rver is unreachable')));
    forward.end(body);
  });
  const port = await listen(proxy);
  return {
    config: { s3Endpoint: `http://127.0.0.1:${port}`, s3Bucket: S3_BUCKET, s3AccessKeyId: S3_ACCESS_KEY_ID, s3SecretAccessKey: secretAccessKey },
    close: async () => {
      await new Promise((r) => proxy.close(() => r()));
      await s3.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

function b64urlJson(part) {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

/** Why a JWT assertion is not acceptable for the token endpoint at `audience`, or null. */
export function assertionError(assertion, publicKey, audience, now = Date.now()) {
  const parts = String(assertion ?? '').split('.');
  if (parts.length !== 3) return 'assertion is not a JWT';
  let header;
  let claims;
  try {
    header = b64urlJson(parts[0]);
    claims = b64urlJson(parts[1]);
  } catch {
    return 'assertion is not a JWT';
  }
  if (header.alg !== 'RS256') return `alg ${header.alg} is not RS256`;
  if (!verify('RSA-SHA256', Buffer.from(`${parts[0]}.${parts[1]}`), publicKey, Buffer.from(parts[2], 'base64url'))) return 'invalid signature';
  if (claims.iss !== GCP_CLIENT_EMAIL) return `iss ${claims.iss} is not the service account`;
  if (claims.aud !== audience) return `aud ${claims.aud} is not ${audience}`;
  if (claims.scope !== GCP_SCOPE) return `scope ${claims.scope} is not logging.write`;
  const t = Math.floor(now / 1000);
  if (!(claims.iat <= t + 60 && claims.exp > t && claims.exp - claims.iat <= 3600)) return 'iat/exp out of range';
  return null;
}

/** Why an entries:write body is not what GitLab sends for one event, or null. */
export function entriesWriteError(body) {
  let parsed;
  try {
    parsed = JSON.parse(body);
  } catch {
    return 'body is not JSON';
  }
  const entries = parsed?.entries;
  if (!Array.isArray(entries) || entries.length !== 1) return 'entries must hold one entry';
  const [e] = entries;
  if (!/^projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/logs\/[^/]+$/.test(e.logName ?? '')) return `bad logName ${e.logName}`;
  if (e.resource?.type !== 'global') return 'resource.type must be global';
  if (e.severity !== 'INFO') return 'severity must be INFO';
  const p = e.jsonPayload;
  if (!p || typeof p !== 'object' || typeof p.id !== 'string' || typeof p.event_type !== 'string' || typeof p.created_at !== 'string') return 'jsonPayload is not an audit event';
  return null;
}

/** The token endpoint and Logging receiver, with a service account key pair (and a second, unknown key). */
async function startGcp() {
  const pair = () => generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  const account = pair();
  const stranger = pair();
  /** token → expiry (ms) */
  const issued = new Map();
  const tokenRequests = [];
  /** logName → [{entry, token}] */
  const written = new Map();
  /** logName → { status, count } */
  const failures = new Map();
  let tokenFailure = { status: 0, count: 0 };
  let port = 0;
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const body = (await readBody(req)).toString('utf8');
    if (url.pathname === '/_gcp/entries') return sendJson(res, 200, written.get(url.searchParams.get('logName')) ?? []);
    if (url.pathname === '/_gcp/tokens') return sendJson(res, 200, tokenRequests);
    if (url.pathname === '/_gcp/fail') {
      failures.set(url.searchParams.get('logName'), { status: Number(url.searchParams.get('status')), count: Number(url.searchParams.get('count') ?? 1) });
      return sendJson(res, 200, { ok: true });
    }
    if (url.pathname === '/_gcp/tokenfail') {
      tokenFailure = { status: Number(url.searchParams.get('status')), count: Number(url.searchParams.get('count') ?? 1) };
      return sendJson(res, 200, { ok: true });
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      if (tokenFailure.count > 0) {
        tokenFailure.count -= 1;
        tokenRequests.push({ clientEmail: null, ok: false, error: 'failing on purpose' });
        return sendJson(res, tokenFailure.status, { error: 'backend_error' });
      }
      const form = new URLSearchParams(body);
      const assertion = form.get('assertion');
      const claims = (() => {
        try {
          return b64urlJson(String(assertion).split('.')[1]);
        } catch {
          return {};
        }
      })();
      const error =
        req.headers['content-type'] !== 'application/x-www-form-urlencoded'
          ? 'content type is not a form'
          : form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer'
            ? 'unsupported grant_type'
            : assertionError(assertion, account.publicKey, `http://127.0.0.1:${port}/token`);
      tokenRequests.push({ clientEmail: claims.iss ?? null, ok: error === null, error });
      if (error) return sendJson(res, 400, { error: 'invalid_grant', error_description: error });
      const token = `ya29.${randomBytes(24).toString('base64url')}`;
      issued.set(token, Date.now() + 3600_000);
      return sendJson(res, 200, { access_token: token, expires_in: 3599, token_type: 'Bearer' });
    }
    if (url.pathname === '/v2/entries:write' && req.method === 'POST') {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
      if (!issued.has(token) || issued.get(token) < Date.now()) {
        return sendJson(res, 401, { error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' } });
      }
      const error = entriesWriteError(body);
      if (error) return sendJson(res, 400, { error: { code: 400, message: error, status: 'INVALID_ARGUMENT' } });
      const entry = JSON.parse(body).entries[0];
      const list = written.get(entry.logName) ?? [];
      list.push({ entry, token });
      written.set(entry.logName, list);
      const failure = failures.get(entry.logName);
      if (failure && failure.count > 0) {
        failure.count -= 1;
        return sendJson(res, failure.status, { error: { code: failure.status, message: 'Failing on purpose', status: failure.status === 403 ? 'PERMISSION_DENIED' : 'UNAVAILABLE' } });
      }
      return sendJson(res, 200, {});
    }
    return sendJson(res, 404, { error: 'not found' });
  });
  port = await listen(server);
  return {
    config: {
      gcpTokenUrl: `http://127.0.0.1:${port}/token`,
      gcpLoggingEndpoint: `http://127.0.0.1:${port}`,
      gcpClientEmail: GCP_CLIENT_EMAIL,
      gcpPrivateKey: account.privateKey,
      gcpStrangerPrivateKey: stranger.privateKey,
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** Start both; resolves to { config, close }. */
export async function startCloudServers() {
  const [s3, gcp] = await Promise.all([startS3(), startGcp()]);
  return { config: { ...s3.config, ...gcp.config }, close: async () => Promise.all([s3.close(), gcp.close()]) };
}
