/**
 * Shared checks of the bad-input and authorization sweeps: what an answer must never contain,
 * what a REST or GraphQL error looks like, and generators of hostile values (fast-check).
 */
import { expect } from 'vitest';
import fc from 'fast-check';

/**
 * Internal text that must never reach a client: D1/SQLite error codes, JavaScript error class
 * names, stack frames, and graphql-js's masked-error text. Case-sensitive on purpose ("at least"
 * is a normal validation message, a stack frame is "\n    at fn (file:1:2)").
 */
export const INTERNAL_TEXT: RegExp[] = [
  /SQLITE_/,
  /D1_[A-Z]/,
  /\b(TypeError|RangeError|ReferenceError|SyntaxError|EvalError|URIError)\b/,
  /\bstack\b/i,
  /Internal server error/i,
  /Internal Server Error/,
  /\n\s+at \S/,
  /\bat \S+ \([^)]*:\d+:\d+\)/,
  /Cannot read propert|is not a function|undefined is not|is not defined/,
  /no such (table|column)|UNIQUE constraint|NOT NULL constraint|FOREIGN KEY constraint|CHECK constraint/i,
];

/** True when a generated value would look like internal text if an error message echoed it. */
export function looksInternal(value: unknown): boolean {
  let s: string;
  try {
    s = typeof value === 'string' ? value : JSON.stringify(value) ?? '';
  } catch {
    return false;
  }
  return INTERNAL_TEXT.some((re) => re.test(s));
}

/** Assert that an answer's text carries no internal text. */
export function expectNoInternalText(text: string, label: string): void {
  for (const re of INTERNAL_TEXT) expect(re.test(text), `${label}: body matches ${re}: ${text.slice(0, 300)}`).toBe(false);
}

/** What one request answered. */
export interface Answer {
  status: number;
  text: string;
  json: any;
}

/** Read a response fully (text and JSON when it parses). */
export async function answerOf(res: Response): Promise<Answer> {
  const text = await res.text();
  let json: any = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: res.status, text, json };
}

/** How a field treats a value: must be refused, must be accepted, or either is fine. */
export type Verdict = 'bad' | 'ok' | 'either';

/**
 * A REST answer: never 5xx; a 4xx is JSON with `message` or `error`; no internal text in an
 * error. `verdict` 'bad' requires a 4xx; 'ok' requires a 2xx (or 3xx for redirects).
 */
export function expectRestAnswer(a: Answer, verdict: Verdict, label: string): void {
  expect(a.status, `${label}: ${a.status} ${a.text.slice(0, 300)}`).toBeLessThan(500);
  if (a.status >= 400) {
    expect(a.json, `${label}: error body is not JSON: ${a.text.slice(0, 200)}`).toBeTypeOf('object');
    expect(a.json !== null && ('message' in a.json || 'error' in a.json), `${label}: error shape ${a.text.slice(0, 200)}`).toBe(true);
    expectNoInternalText(a.text, label);
  }
  if (verdict === 'bad') expect(a.status, `${label}: accepted a bad value: ${a.text.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
  if (verdict === 'ok') expect(a.status, `${label}: refused a valid value: ${a.text.slice(0, 300)}`).toBeLessThan(400);
}

/**
 * A GraphQL answer: a 4xx with top-level `errors`, or 200 with top-level `errors` or a payload
 * whose `errors` (errors-as-data) is not empty; a success is "200, no top-level errors, empty
 * payload errors". Never 5xx, never internal text in any error.
 */
export function expectGraphqlAnswer(a: Answer, verdict: Verdict, label: string, payloadField?: string): boolean {
  expect(a.status, `${label}: ${a.status} ${a.text.slice(0, 300)}`).toBeLessThan(500);
  expect(a.json, `${label}: body is not JSON: ${a.text.slice(0, 200)}`).toBeTypeOf('object');
  const top = a.json?.errors;
  if (a.status >= 400) expect(Array.isArray(top) && top.length > 0, `${label}: 4xx without errors: ${a.text.slice(0, 200)}`).toBe(true);
  if (Array.isArray(top)) {
    for (const e of top) expect(typeof e.message, `${label}: error without message`).toBe('string');
    expectNoInternalText(JSON.stringify(top), label);
  }
  const payload = payloadField ? a.json?.data?.[payloadField] : undefined;
  const dataErrors: unknown[] = Array.isArray(payload?.errors) ? payload.errors : [];
  if (dataErrors.length > 0) expectNoInternalText(JSON.stringify(dataErrors), label);
  const success = a.status === 200 && !(Array.isArray(top) && top.length > 0) && dataErrors.length === 0;
  if (verdict === 'bad') expect(success, `${label}: accepted a bad value: ${a.text.slice(0, 300)}`).toBe(false);
  if (verdict === 'ok') expect(success, `${label}: refused a valid value: ${a.text.slice(0, 300)}`).toBe(true);
  return success;
}

/**
 * A REST answer of an exact status: the status itself, and for a 4xx the error shape
 * (`{"message": ...}` or `{"error": ...}`) without internal text.
 */
export function expectRestStatus(a: Answer, status: number, label: string): void {
  expect(a.status, `${label}: expected ${status}, got ${a.status} ${a.text.slice(0, 300)}`).toBe(status);
  expectRestAnswer(a, status >= 400 ? 'bad' : 'ok', label);
}

/**
 * What a GraphQL request must answer: 'ok' (200, no top-level errors, no errors as data),
 * 'invalid' (400 with top-level errors: the document or a variable does not fit the schema) or
 * 'refused' (200 with top-level errors or errors as data: the value fits the type and is refused).
 */
export type GraphqlOutcome = 'ok' | 'invalid' | 'refused';

/** Assert a GraphQL answer's exact outcome (and everything `expectGraphqlAnswer` checks). */
export function expectGraphqlOutcome(a: Answer, outcome: GraphqlOutcome, label: string, payloadField?: string): void {
  const success = expectGraphqlAnswer(a, outcome === 'ok' ? 'ok' : 'bad', label, payloadField);
  expect(success, `${label}: expected ${outcome}: ${a.text.slice(0, 300)}`).toBe(outcome === 'ok');
  expect(a.status, `${label}: expected ${outcome}: ${a.text.slice(0, 300)}`).toBe(outcome === 'invalid' ? 400 : 200);
}

const SQL = [
  "' OR '1'='1",
  "'; DROP TABLE users; --",
  '" OR ""="',
  "1' UNION SELECT token_digest FROM personal_access_tokens --",
  '%',
  '_',
  '%_%',
  '\\',
  '?1',
  '$1',
  ':id',
  '1; DELETE FROM audit_events',
  "') OR 1=1 --",
];
const PATHISH = ['../../etc/passwd', '..', '.', '/', 'a/b', '%2e%2e%2f', 'a%00b', '~root', 'CON', '.git'];
const DATES = ['2024-02-30', '2024-13-01', 'yesterday', '9999-99-99T99:99', '0000-00-00', '1e10', '2024-01-01T25:00:00Z', 'NaN'];

/**
 * Hostile values for any field: wrong types, empty and blank, over-long, unicode (including a
 * lone surrogate), CRLF and NUL, SQL metacharacters, path tricks, broken dates, huge numbers.
 */
export function hostileValue(): fc.Arbitrary<unknown> {
  return fc
    .oneof(
      fc.constantFrom('', '   ', '\t', null, true, false, 0, -1, 1.5, 2 ** 53, -(2 ** 63), 1e308, '0', '-1', '1e3', '0x10', 'null', 'undefined', '[]', '{}'),
      fc.constantFrom(...SQL),
      fc.constantFrom(...PATHISH),
      fc.constantFrom(...DATES),
      fc.constantFrom('\ud800', 'a\udfffb', '\u202etxt.exe', '\ufeff', 'é'.repeat(300), '👩‍👩‍👧‍👦'.repeat(70), 'x'.repeat(256), 'x'.repeat(5000)),
      fc.integer(),
      fc.double(),
      fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
      fc.string({ unit: 'grapheme', maxLength: 30 }),
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.string({ maxLength: 20 }).map((s) => `a\r\nX-Injected: 1\r\n${s}`),
      fc.string({ maxLength: 20 }).map((s) => `a\u0000${s}`),
      fc.integer({ min: 256, max: 3000 }).map((n) => 'y'.repeat(n)),
    )
    .filter((v) => !looksInternal(v));
}

/** Token-like garbage: what a header can carry (visible ASCII and spaces). */
export function hostileToken(): fc.Arbitrary<string> {
  return fc
    .oneof(
      fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 60 }),
      fc.constantFrom('glpat-', 'glpat-' + 'a'.repeat(20), 'test-admin-token ', ' test-admin-token', 'TEST-ADMIN-TOKEN', 'x'.repeat(1025), "' OR 1=1 --", 'null'),
    )
    .map((s) => s.replace(/[^\x20-\x7e]/g, 'x'))
    .filter((s) => s.trim() !== '' && s.trim() !== 'test-admin-token');
}

/** Counts the cases (and the families they belong to) a sweep tried, for the report printed at the end. */
export class CaseCounter {
  private n = 0;
  private readonly names = new Set<string>();
  /** Count one case. */
  hit(): void {
    this.n++;
  }
  /** Count one family (a route or operation whose valid control request succeeded). */
  family(name: string): void {
    this.names.add(name);
  }
  /** Cases so far. */
  get count(): number {
    return this.n;
  }
  /** Families so far. */
  get families(): number {
    return this.names.size;
  }
}
