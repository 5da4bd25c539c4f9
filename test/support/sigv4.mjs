/**
 * AWS Signature Version 4 verification of a received S3 request, written from the specification
 * (AWS "Create a signed AWS API request") with node:crypto only, so that the tests check the
 * signatures the Worker sends independently of the library that made them (aws4fetch).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

const hmac = (key, data) => createHmac('sha256', key).update(data, 'utf8').digest();
const sha256Hex = (data) => createHash('sha256').update(data).digest('hex');

/** RFC 3986 encoding of one path segment or query part, as SigV4 requires (unreserved characters kept). */
function uriEncode(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Verify a request. `req`: { method, path (as received, with query), headers (lower-case names →
 * values), body (Buffer) }; `secrets`: access key id → secret access key.
 * Returns { ok, error?, accessKeyId?, region?, service? }.
 */
export function verifySigV4(req, secrets, now = Date.now()) {
  const auth = req.headers['authorization'] ?? '';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return { ok: false, error: `malformed Authorization header: ${auth}` };
  const [, accessKeyId, date, region, service, signedHeaders, signature] = m;
  const secret = secrets[accessKeyId];
  if (!secret) return { ok: false, error: `unknown access key ${accessKeyId}` };
  const amzDate = req.headers['x-amz-date'] ?? '';
  if (!/^\d{8}T\d{6}Z$/.test(amzDate) || amzDate.slice(0, 8) !== date) return { ok: false, error: `bad x-amz-date ${amzDate}` };
  const signedAt = Date.UTC(+amzDate.slice(0, 4), +amzDate.slice(4, 6) - 1, +amzDate.slice(6, 8), +amzDate.slice(9, 11), +amzDate.slice(11, 13), +amzDate.slice(13, 15));
  if (Math.abs(now - signedAt) > 15 * 60 * 1000) return { ok: false, error: 'request time too skewed' };
  const names = signedHeaders.split(';');
  for (const required of ['host', 'x-amz-date', 'x-amz-content-sha256']) {
    if (!names.includes(required)) return { ok: false, error: `${required} is not signed` };
  }
  const payloadHash = req.headers['x-amz-content-sha256'];
  if (payloadHash !== sha256Hex(req.body)) return { ok: false, error: 'x-amz-content-sha256 is not the hash of the body' };
  const url = new URL(req.path, 'http://placeholder');
  // S3 canonical URI: each segment decoded once then encoded once (no double encoding for s3).
  const canonicalUri = url.pathname.split('/').map((seg) => uriEncode(decodeURIComponent(seg))).join('/');
  const canonicalQuery = [...url.searchParams]
    .map(([k, v]) => [uriEncode(k), uriEncode(v)])
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalHeaders = names.map((n) => `${n}:${String(req.headers[n] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonicalRequest = [req.method, canonicalUri, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
  const expected = createHmac('sha256', key).update(stringToSign, 'utf8').digest();
  const given = Buffer.from(signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, error: 'SignatureDoesNotMatch', accessKeyId, region, service };
  return { ok: true, accessKeyId, region, service };
}
