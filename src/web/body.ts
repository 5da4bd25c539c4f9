/**
 * Request bodies read with a bound: a Content-Length over the cap is refused before anything is
 * read, and a counting reader refuses as soon as more than the cap has arrived (a chunked body has
 * no Content-Length, and a Content-Length may lie). At most the cap is kept; the rest of the
 * stream is cancelled, never pulled.
 */
import { ApiError } from './errors';

/** Bodies of REST and GraphQL requests above this size are refused with 413 (smaller caps apply where set). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** 413 in the REST shape; the GraphQL handler answers it in its own. */
export const bodyTooLarge = () => new ApiError(413, { message: '413 Request Entity Too Large' });

/** True when the request declares a Content-Length above `limit`. */
export function declaresMoreThan(request: Request, limit: number): boolean {
  const declared = request.headers.get('Content-Length');
  if (declared === null || !/^\s*\d+\s*$/.test(declared)) return false;
  return Number(declared) > limit;
}

/**
 * The request body as bytes, refusing with 413 a declared or actual size over `limit` before
 * reading past it. Never holds more than `limit` bytes: the chunk that crosses the cap is dropped
 * and the stream cancelled.
 */
export async function readBoundedBody(request: Request, limit = MAX_BODY_BYTES): Promise<Uint8Array> {
  if (declaresMoreThan(request, limit)) throw bodyTooLarge();
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      // Stop the sender: nothing more is pulled from the client.
      await reader.cancel().catch(() => undefined);
      throw bodyTooLarge();
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return bytes;
}
