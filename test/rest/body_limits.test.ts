/**
 * Request bodies are limited while they stream (issue 17): a 32 MB chunked body is refused with
 * 413 after at most the cap and one chunk have been pulled, not buffered whole first. The bodies
 * are ReadableStreams (no Content-Length) that count the chunks the Worker pulls from them.
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import worker from '../../src/index';
import type { Env } from '../../src/env';
import { MAX_BODY_BYTES } from '../../src/web/body';
import { MAX_BODY_BYTES as GRAPHQL_MAX_BODY_BYTES } from '../../src/graphql/handler';
import { ADMIN, BASE, unique } from '../support/api';
import { MB, paddedJson, streamedBody } from '../support/bodies';

const CHUNK = 64 * 1024;

/** POST `body` to `path` through the Worker's fetch handler, as the administrator. */
async function post(path: string, body: BodyInit, headers: Record<string, string> = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const request = new Request(`${BASE}${path}`, { method: 'POST', body, headers: { 'PRIVATE-TOKEN': ADMIN, 'Content-Type': 'application/json', ...headers } });
  const res = await worker.fetch(request, env as unknown as Env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe('request bodies are limited while they stream', () => {
  it('REST: a 32 MB chunked body is refused with 413 after about 1 MB was read', async () => {
    const body = streamedBody(32 * MB, { chunk: CHUNK });
    const res = await post('/api/v4/groups', body.stream);
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ message: '413 Request Entity Too Large' });
    // The cap and the chunk that crossed it; the rest was never pulled, and the stream was cancelled.
    expect(body.pulled()).toBe(MAX_BODY_BYTES / CHUNK + 1);
    expect(body.cancelled()).toBe(true);
  });

  it('GraphQL: a 32 MB chunked body is refused with 413 after its own 256 KB cap was read', async () => {
    const body = streamedBody(32 * MB, { chunk: CHUNK });
    const res = await post('/api/graphql', body.stream);
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ errors: [{ message: '413 Request Entity Too Large' }] });
    expect(body.pulled()).toBe(GRAPHQL_MAX_BODY_BYTES / CHUNK + 1);
    expect(body.cancelled()).toBe(true);
  });

  it('a declared Content-Length over the cap is refused before any byte is read', async () => {
    const body = streamedBody(MAX_BODY_BYTES + 1, { chunk: CHUNK });
    const res = await post('/api/v4/groups', body.stream, { 'Content-Length': String(MAX_BODY_BYTES + 1) });
    expect(res.status).toBe(413);
    expect(body.pulled()).toBe(0);
  });

  it('multipart bodies are bounded too (they were parsed whole by formData())', async () => {
    const boundary = 'XyZBoundary';
    const head = new TextEncoder().encode(`--${boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\n`);
    const bytes = new Uint8Array(2 * MB).fill(0x61);
    bytes.set(head);
    const body = streamedBody(bytes.byteLength, { chunk: CHUNK, bytes });
    const res = await post('/api/v4/groups', body.stream, { 'Content-Type': `multipart/form-data; boundary=${boundary}` });
    expect(res.status).toBe(413);
    expect(body.pulled()).toBe(MAX_BODY_BYTES / CHUNK + 1);
    // A small multipart body (boundary in mixed case) still works.
    const name = unique('mp');
    const form = `--${boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\n${name}\r\n--${boundary}\r\nContent-Disposition: form-data; name="path"\r\n\r\n${name}\r\n--${boundary}--\r\n`;
    const ok = await post('/api/v4/groups', form, { 'Content-Type': `multipart/form-data; boundary=${boundary}` });
    expect(ok.status).toBe(201);
    expect(((await ok.json()) as { full_path: string }).full_path).toBe(name);
  });

  it('a chunked body of exactly the cap is read whole and accepted', async () => {
    const name = unique('cap');
    const bytes = paddedJson({ name, path: name }, MAX_BODY_BYTES);
    const body = streamedBody(bytes.byteLength, { chunk: CHUNK, bytes });
    const res = await post('/api/v4/groups', body.stream);
    expect(res.status).toBe(201);
    expect(body.pulled()).toBe(MAX_BODY_BYTES / CHUNK);
  });
});
