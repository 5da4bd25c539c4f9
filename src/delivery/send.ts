/**
 * One outbound request of a delivery attempt and its outcome, the same for every destination
 * category (an HTTP POST, an S3 PUT, a Cloud Logging `entries:write`, the OAuth token request
 * before it): redirects are not followed, the attempt is aborted after DELIVERY_TIMEOUT_MS, and
 * the answer is classified once here (2xx delivered; 3xx redirect, 410 gone, 4xx, 5xx, timeout,
 * network error failed), so retries, the breaker and the delivery log treat all categories alike.
 */
import { outboundFetch } from '../bench/edge_model';
import { parseRetryAfter } from './retry';

/** Characters of a receiver's response kept in the log. */
export const RESPONSE_EXCERPT_CHARS = 200;

/** The outcome of one attempt's request(s). */
export interface SendResult {
  ok: boolean;
  httpStatus: number | null;
  /** http_4xx, http_5xx, redirect, gone, timeout, network_error, invalid_response (a token endpoint's 2xx without a token); or, before any request, url_blocked or config_invalid. */
  errorClass: string | null;
  error: string | null;
  excerpt: string | null;
  retryAfter: number | null;
  durationMs: number;
  /** A configuration problem found before any request (blocked URL, unusable key): no retries, no breaker. */
  permanent?: boolean;
  /** Whether a request left (false for permanent failures found before sending). */
  sent: boolean;
}

/** A failure found before any request was made: a configuration problem, not a transient one. */
export function notSent(errorClass: 'url_blocked' | 'config_invalid', error: string): SendResult {
  return { ok: false, httpStatus: null, errorClass, error, excerpt: null, retryAfter: null, durationMs: 0, permanent: true, sent: false };
}

/** The first characters of a response body, control characters removed (null: nothing left). */
export function excerptOf(text: string | null): string | null {
  const clean = text === null ? '' : text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return clean === '' ? null : [...clean].slice(0, RESPONSE_EXCERPT_CHARS).join('');
}

/** A response body as text, reading at most about `limit` bytes (null: no body). */
export async function readBounded(res: Response, limit: number): Promise<string | null> {
  if (!res.body) return null;
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    /* a broken body leaves what was read */
  } finally {
    reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    bytes.set(c, off);
    off += c.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

/**
 * Send a request through the invocation's outbound fetch (under the bench's edge model: at most 6
 * open at once). `what` prefixes the error (e.g. "OAuth token request: "); `readLimit` bounds how
 * much of the answer is read (the excerpt needs little; a token answer is parsed whole).
 */
export async function sendRequest(
  env: object,
  request: Request,
  timeoutMs: number,
  what = '',
  readLimit = 4096,
): Promise<{ result: SendResult; body: string | null }> {
  const started = Date.now();
  let res: Response;
  try {
    res = await outboundFetch(env)(request, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const name = err instanceof Error ? err.name : '';
    const timeout = name === 'TimeoutError' || name === 'AbortError';
    const result: SendResult = {
      ok: false,
      httpStatus: null,
      errorClass: timeout ? 'timeout' : 'network_error',
      error: `${what}${timeout ? `Timed out after ${timeoutMs} ms` : 'Network error: the destination could not be reached'}`,
      excerpt: null,
      retryAfter: null,
      durationMs: Date.now() - started,
      sent: true,
    };
    return { result, body: null };
  }
  const body = await readBounded(res, readLimit);
  const durationMs = Date.now() - started;
  const excerpt = excerptOf(body);
  const s = res.status;
  if (s >= 200 && s < 300) {
    return { result: { ok: true, httpStatus: s, errorClass: null, error: null, excerpt, retryAfter: null, durationMs, sent: true }, body };
  }
  const errorClass = s >= 300 && s < 400 ? 'redirect' : s === 410 ? 'gone' : s >= 500 ? 'http_5xx' : 'http_4xx';
  const error = `${what}${s >= 300 && s < 400 ? `HTTP ${s}: redirects are not followed` : `HTTP ${s}`}`;
  const result: SendResult = { ok: false, httpStatus: s, errorClass, error, excerpt, retryAfter: parseRetryAfter(res.headers.get('Retry-After')), durationMs, sent: true };
  return { result, body };
}
