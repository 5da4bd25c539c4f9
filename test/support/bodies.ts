/** Request bodies for the body-limit tests: streamed (no Content-Length), counted as the Worker pulls them. */

/** A body of `bytes` (default: `size` bytes of "a") streamed in `chunk`-byte pieces; `pulled()` says how many pieces were pulled. */
export function streamedBody(size: number, opts: { chunk?: number; bytes?: Uint8Array } = {}) {
  const chunk = opts.chunk ?? 64 * 1024;
  const bytes = opts.bytes;
  let sent = 0;
  let pulls = 0;
  let cancelled = false;
  const piece = new Uint8Array(chunk).fill(0x61);
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (sent >= size) {
          controller.close();
          return;
        }
        const n = Math.min(chunk, size - sent);
        pulls++;
        controller.enqueue(bytes ? bytes.slice(sent, sent + n) : n === chunk ? piece.slice() : piece.slice(0, n));
        sent += n;
      },
      cancel() {
        cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, pulled: () => pulls, pulledBytes: () => sent, cancelled: () => cancelled };
}

/** `json` serialized and padded with trailing spaces (still valid JSON) to exactly `size` bytes. */
export function paddedJson(json: unknown, size: number): Uint8Array {
  const text = JSON.stringify(json);
  const head = new TextEncoder().encode(text);
  if (head.byteLength > size) throw new Error(`paddedJson: ${head.byteLength} bytes already exceed ${size}`);
  const out = new Uint8Array(size).fill(0x20);
  out.set(head);
  return out;
}

export const MB = 1024 * 1024;
