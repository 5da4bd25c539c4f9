/**
 * Sweep family "bodies" (issue 17): oversized request bodies through the Worker as a client sends
 * them (exports.default.fetch), on every surface that reads a body, each with its own cap. Every
 * target gets the same cases: chunked bodies without Content-Length (32 MB, and one byte over the
 * cap), a Content-Length over the cap, a Content-Length that lies (says 100 bytes, sends twice the
 * cap), and the valid controls: a body of exactly the cap, chunked and with its Content-Length,
 * which must succeed. Refusals are 413 in the surface's error shape, with no internal text.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { exports } from 'cloudflare:workers';
import { MAX_BODY_BYTES } from '../../src/web/body';
import { MAX_BODY_BYTES as GRAPHQL_MAX_BODY_BYTES } from '../../src/graphql/handler';
import { MAX_INGEST_BODY_BYTES } from '../../src/http/audit_ingest';
import { ADMIN, BASE, createGroup, unique } from '../support/api';
import { MB, paddedJson, streamedBody } from '../support/bodies';
import { answerOf, expectNoInternalText } from './support';

const CHUNK = 64 * 1024;

interface Target {
  name: string;
  path: string;
  cap: number;
  contentType: string;
  /** A valid body for this target (a fresh one per call). */
  valid: () => unknown;
  /** The status of a valid request. */
  success: number;
  /** The 413 this surface answers. */
  tooLarge: unknown;
}

const REST_413 = { message: '413 Request Entity Too Large' };
let groupId = 0;

const TARGETS: Target[] = [
  {
    name: 'REST POST /api/v4/groups (JSON)',
    path: '/api/v4/groups',
    cap: MAX_BODY_BYTES,
    contentType: 'application/json',
    valid: () => {
      const name = unique('body');
      return { name, path: name };
    },
    success: 201,
    tooLarge: REST_413,
  },
  {
    name: 'REST POST /api/v4/audit_events (its own 64 KB cap)',
    path: '/api/v4/audit_events',
    cap: MAX_INGEST_BODY_BYTES,
    contentType: 'application/json',
    valid: () => ({ event_type: 'body_sweep', entity_type: 'Group', entity_id: groupId }),
    success: 201,
    tooLarge: REST_413,
  },
  {
    name: 'GraphQL POST /api/graphql (its own 256 KB cap)',
    path: '/api/graphql',
    cap: GRAPHQL_MAX_BODY_BYTES,
    contentType: 'application/json',
    valid: () => ({ query: '{ __typename }' }),
    success: 200,
    tooLarge: { errors: [{ message: '413 Request Entity Too Large' }] },
  },
];

interface Case {
  name: string;
  /** The body (its bytes streamed in chunks) and the Content-Length header to send, if any. */
  body: (t: Target) => { bytes?: Uint8Array; size: number; contentLength?: number };
  refused: boolean;
  /** Most chunks the Worker may pull: the cap and the chunk that crosses it (or none, for a declared size). */
  maxPulls?: (t: Target) => number;
}

const CASES: Case[] = [
  { name: 'chunked 32 MB, no Content-Length', body: () => ({ size: 32 * MB }), refused: true, maxPulls: (t) => Math.ceil(t.cap / CHUNK) + 1 },
  { name: 'chunked, one byte over the cap', body: (t) => ({ bytes: paddedJson(t.valid(), t.cap + 1), size: t.cap + 1 }), refused: true, maxPulls: (t) => Math.ceil(t.cap / CHUNK) + 1 },
  // The runtime's pipe to the Worker pulls one chunk ahead; the Worker itself reads none
  // (test/rest/body_limits.test.ts calls the handler directly: no chunk at all).
  { name: 'Content-Length over the cap', body: (t) => ({ size: t.cap + 1, contentLength: t.cap + 1 }), refused: true, maxPulls: () => 1 },
  { name: 'lying Content-Length (100) on twice the cap', body: (t) => ({ size: 2 * t.cap, contentLength: 100 }), refused: true, maxPulls: (t) => Math.ceil(t.cap / CHUNK) + 1 },
  { name: 'control: exactly the cap, chunked', body: (t) => ({ bytes: paddedJson(t.valid(), t.cap), size: t.cap }), refused: false },
  { name: 'control: exactly the cap, with its Content-Length', body: (t) => ({ bytes: paddedJson(t.valid(), t.cap), size: t.cap, contentLength: t.cap }), refused: false },
];

describe('sweep: request bodies over the cap', () => {
  beforeAll(async () => {
    groupId = (await createGroup()).id;
  });

  for (const target of TARGETS) {
    for (const c of CASES) {
      it(`${target.name}: ${c.name}`, async () => {
        const spec = c.body(target);
        const body = streamedBody(spec.size, { chunk: CHUNK, bytes: spec.bytes });
        const headers: Record<string, string> = { 'PRIVATE-TOKEN': ADMIN, 'Content-Type': target.contentType };
        if (spec.contentLength !== undefined) headers['Content-Length'] = String(spec.contentLength);
        const res = await exports.default.fetch(new Request(`${BASE}${target.path}`, { method: 'POST', body: body.stream, headers }));
        const answer = await answerOf(res);
        expectNoInternalText(answer.text, `${target.name}: ${c.name}`);
        if (c.refused) {
          expect(answer.status, answer.text).toBe(413);
          expect(answer.json).toEqual(target.tooLarge);
          expect(body.pulled()).toBeLessThanOrEqual(c.maxPulls!(target));
        } else {
          expect(answer.status, answer.text).toBe(target.success);
          expect(body.pulledBytes()).toBe(target.cap);
        }
      });
    }
  }
});
