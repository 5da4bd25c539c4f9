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
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
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

/**
 * Hex SHA-256 of a string's UTF-8 bytes, synchronous (@noble/hashes): the writer builds its
 * statements synchronously and WebCrypto's digest is asynchronous. Checked against
 * `crypto.subtle.digest` by test/audit_log/bounds.test.ts.
 */
export function utf8Sha256(s: string): string {
  return bytesToHex(sha256(encoder.encode(s)));
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
