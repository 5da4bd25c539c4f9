/**
 * Test-side helpers for the HTTP receiver started by receiver-setup.mjs (vitest globalSetup):
 * its URL, the requests it received on a path, signature verification with the official
 * `standardwebhooks` package (run in Node by the receiver), and waiting for deliveries.
 */
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    receiverPort: number;
  }
}

/** One request as the receiver recorded it (header names lower-cased). */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

/** The receiver's origin, `http://127.0.0.1:<port>`. */
export function receiverOrigin(): string {
  return `http://127.0.0.1:${inject('receiverPort')}`;
}

/** The requests received on a path, oldest first. */
export async function receivedRequests(path: string): Promise<ReceivedRequest[]> {
  const res = await fetch(`${receiverOrigin()}/_requests?path=${encodeURIComponent(path)}`);
  return (await res.json()) as ReceivedRequest[];
}

/** Poll until `count` requests arrived on `path` (or the timeout passes); returns what arrived. */
export async function waitForRequests(path: string, count: number, timeoutMs = 15_000): Promise<ReceivedRequest[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await receivedRequests(path);
    if (got.length >= count || Date.now() > deadline) return got;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Verify a received request with `new Webhook(secret).verify(body, headers)` (standardwebhooks 1.1.1). */
export async function verifyWithStandardWebhooks(secret: string, req: ReceivedRequest): Promise<{ ok: boolean; error?: string; payload?: unknown }> {
  const res = await fetch(`${receiverOrigin()}/_verify`, {
    method: 'POST',
    body: JSON.stringify({ secret, headers: req.headers, body: req.body }),
  });
  return (await res.json()) as { ok: boolean; error?: string; payload?: unknown };
}
