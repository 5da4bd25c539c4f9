/**
 * The size bounds of a stored audit event (issue 17), applied by the one writer
 * (src/audit/record.ts) to every event whichever surface produced it, so no writer can store more:
 * - `details.user_agent`: its first 512 characters;
 * - each value of a change diff (`details.from`/`details.to`, and `from`/`to` of each item of
 *   `details.changes`) over 1 KB of UTF-8: a TruncatedValue (its first 1 KB, its length and the
 *   SHA-256 of the whole value), so what changed stays provable against the original;
 * - every other stored text (author name, entity path, target type and details, IP address,
 *   every other string in `details`, nested ones included): its first 2 KB of UTF-8.
 * Truncation never splits a character. Ingested `details` are refused above 16 KB by the ingest
 * route (src/http/audit_ingest.ts), which is where that input arrives.
 */
import { isSqlValue } from '../db/sql';

/** Characters of `details.user_agent` kept. */
export const USER_AGENT_MAX_CHARS = 512;
/** UTF-8 bytes of one change diff value kept whole; longer ones become a TruncatedValue. */
export const DIFF_VALUE_MAX_BYTES = 1024;
/** UTF-8 bytes of every other stored text. */
export const TEXT_MAX_BYTES = 2048;
/** UTF-8 bytes of an ingested event's `details` as JSON (refused above, by the ingest route). */
export const INGESTED_DETAILS_MAX_BYTES = 16 * 1024;
/** Nesting levels of an ingested event's `details` (refused deeper, by the ingest route). */
export const INGESTED_DETAILS_MAX_DEPTH = 32;

/**
 * A change diff value too long to store whole: `prefix` is its first 1 KB (UTF-8, whole
 * characters), `length` its length in characters (Unicode code points), `sha256` the hex SHA-256
 * of its UTF-8 bytes. A value that is not a string is measured, cut and hashed as its JSON text
 * (`json: true`).
 */
export interface TruncatedValue {
  truncated: true;
  length: number;
  sha256: string;
  prefix: string;
  json?: true;
}

const encoder = new TextEncoder();

/** UTF-8 bytes of a string. */
export function utf8Length(s: string): number {
  return encoder.encode(s).length;
}

/** The longest prefix of `s` of at most `maxBytes` UTF-8 bytes that ends on a whole character. */
export function utf8Prefix(s: string, maxBytes: number): string {
  if (s.length * 3 <= maxBytes) return s; // every UTF-16 unit is at most 3 bytes: no need to measure
  let bytes = 0;
  let end = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    const size = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += ch.length;
  }
  return s.slice(0, end);
}

/** SHA-256's round constants (FIPS 180-4, 4.2.2). */
const K = Uint32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

const rotr = (x: number, n: number): number => (x >>> n) | (x << (32 - n));

/**
 * Hex SHA-256 of a string's UTF-8 bytes (FIPS 180-4), synchronous: the writer builds its
 * statements synchronously, WebCrypto's digest is asynchronous, and `node:crypto` is outside the
 * layers' allowed imports. Checked against `crypto.subtle.digest` by test/audit_log/bounds.test.ts.
 */
export function utf8Sha256(s: string): string {
  const data = encoder.encode(s);
  const blocks = Math.ceil((data.length + 9) / 64);
  const msg = new Uint8Array(blocks * 64);
  msg.set(data);
  msg[data.length] = 0x80;
  const view = new DataView(msg.buffer);
  view.setUint32(msg.length - 8, Math.floor(data.length / 0x20000000));
  view.setUint32(msg.length - 4, (data.length * 8) >>> 0);
  const h = Uint32Array.from([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const w = new Uint32Array(64);
  for (let off = 0; off < msg.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4);
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      [hh, g, f, e, d, c, b, a] = [g, f, e, (d + t1) >>> 0, c, b, a, (t1 + t2) >>> 0];
    }
    [a, b, c, d, e, f, g, hh].forEach((x, i) => (h[i] = (h[i] + x) >>> 0));
  }
  return [...h].map((x) => x.toString(16).padStart(8, '0')).join('');
}

const TRUNCATED_KEYS = new Set(['truncated', 'length', 'sha256', 'prefix', 'json']);

/** Whether a value is a TruncatedValue as this module makes them (its prefix within 1 KB, no other keys). */
export function isTruncatedValue(v: unknown): v is TruncatedValue {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const t = v as Record<string, unknown>;
  return (
    t.truncated === true && typeof t.length === 'number' && typeof t.sha256 === 'string' && /^[0-9a-f]{64}$/.test(t.sha256) &&
    typeof t.prefix === 'string' && utf8Length(t.prefix) <= DIFF_VALUE_MAX_BYTES && Object.keys(t).every((k) => TRUNCATED_KEYS.has(k))
  );
}

/** A value as readable text: a TruncatedValue as its prefix, "…", its length and its SHA-256. */
export function valueText(v: unknown): string {
  return isTruncatedValue(v) ? `${v.prefix}… (${v.length} characters, SHA-256 ${v.sha256})` : String(v);
}

/** The User-Agent as stored: its first 512 characters (code points). */
export function boundedUserAgent(ua: string | null): string | null {
  if (ua === null || ua.length <= USER_AGENT_MAX_CHARS) return ua;
  return [...ua].slice(0, USER_AGENT_MAX_CHARS).join('');
}

/** A stored text: its first 2 KB of UTF-8. */
export function boundedText<T>(v: T): T {
  return (typeof v === 'string' ? utf8Prefix(v, TEXT_MAX_BYTES) : v) as T;
}

/** A change diff value as stored: whole up to 1 KB, else a TruncatedValue. */
export function boundedDiffValue(v: unknown): unknown {
  if (v === null || v === undefined || typeof v === 'number' || typeof v === 'boolean' || isSqlValue(v) || isTruncatedValue(v)) return v;
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  if (text === undefined || utf8Length(text) <= DIFF_VALUE_MAX_BYTES) return v;
  const cut: TruncatedValue = { truncated: true, length: [...text].length, sha256: utf8Sha256(text), prefix: utf8Prefix(text, DIFF_VALUE_MAX_BYTES) };
  if (typeof v !== 'string') cut.json = true;
  return cut;
}

/** Every string in a value (arrays and objects walked) as a stored text. */
function boundedTexts(v: unknown): unknown {
  if (typeof v === 'string') return boundedText(v);
  if (typeof v !== 'object' || v === null || isSqlValue(v)) return v;
  if (Array.isArray(v)) return v.map(boundedTexts);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, boundedTexts(x)]));
}

/** One item of `details.changes`: its from/to as diff values, the rest as texts. */
function boundedChange(item: unknown): unknown {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return boundedTexts(item);
  return Object.fromEntries(Object.entries(item).map(([k, x]) => [k, k === 'from' || k === 'to' ? boundedDiffValue(x) : boundedTexts(x)]));
}

/** An event's `details` as stored (see the module comment). */
export function boundedDetails(details: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(details)) {
    if (k === 'user_agent' && typeof v === 'string') out[k] = boundedUserAgent(v);
    else if (k === 'from' || k === 'to') out[k] = boundedDiffValue(v);
    else if (k === 'changes' && Array.isArray(v)) out[k] = v.map(boundedChange);
    else out[k] = boundedTexts(v);
  }
  return out;
}

/** How deeply a JSON value nests (0 for a scalar), counted up to `limit + 1` at most. */
export function nestingDepth(v: unknown, limit: number): number {
  if (typeof v !== 'object' || v === null) return 0;
  if (limit < 0) return 1;
  let deepest = 0;
  for (const x of Object.values(v)) {
    deepest = Math.max(deepest, nestingDepth(x, limit - 1));
    if (deepest > limit) break;
  }
  return deepest + 1;
}
