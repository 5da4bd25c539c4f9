/**
 * Helpers of the mover's tests (test/archive/move_crash.test.ts): seed events of one's own at the
 * head of the cold prefix, look them up hot (D1) and cold (decoded chunks), and wrap the bucket
 * and the database to inject failures.
 */
import { env } from 'cloudflare:workers';
import type { Env } from '../../src/env';
import type { AuditEventInput } from '../../src/audit/record';
import { insertEvents } from '../audit_log/support';
import { appendPendingLeaves } from '../../src/audit/log_builder';
import { moveNextChunk, olderThan, type Eligible } from '../../src/audit/archive_move';
import { coldBoundary, toArchiveChunk, type ArchiveChunk, type ArchiveChunkRow } from '../../src/db/audit_archive';
import { readChunkLines } from '../../src/audit/archive_objects';

export const anyAge = olderThan('9999-01-01T00:00:00.000Z');

/** The test env with some vars replaced. */
export function envWith(vars: Partial<Env>): Env {
  return { ...(env as unknown as Env), ...vars };
}

/** Move chunks while `eligible` accepts the next leaves; the chunks moved. */
export async function drain(eligible: Eligible = anyAge, e: Env = env as unknown as Env): Promise<ArchiveChunk[]> {
  const moved: ArchiveChunk[] = [];
  for (let c = await moveNextChunk(e, null, eligible); c; c = await moveNextChunk(e, null, eligible)) moved.push(c);
  return moved;
}

/**
 * Insert events (ids contiguous per 250), give every pending event its leaf, and move every
 * older event, so that the first of these is the next leaf to move. Returns their ids.
 */
export async function seed(inputs: AuditEventInput[], outboxAt: ReadonlySet<number> = new Set()): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < inputs.length; ) {
    const withOutbox = outboxAt.has(i);
    let j = i + 1;
    while (j < inputs.length && outboxAt.has(j) === withOutbox) j++;
    ids.push(...(await insertEvents(inputs.slice(i, j), withOutbox)));
    i = j;
  }
  while ((await appendPendingLeaves(env)).appended > 0);
  await drain((leaf) => leaf.eventId < ids[0] && anyAge(leaf));
  const next = await coldBoundary(env.DB);
  if (next.lastId >= ids[0]) throw new Error('seed: another mover moved these events already');
  return ids;
}

/** Which of these ids are still rows of audit_events. */
export async function hotIds(ids: readonly number[]): Promise<number[]> {
  const rows = await env.DB.prepare('SELECT id FROM audit_events WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY id')
    .bind(JSON.stringify(ids))
    .all<{ id: number }>();
  return rows.results.map((r) => r.id);
}

/** The chunk rows whose id range meets [min, max]. */
export async function chunksBetween(min: number, max: number): Promise<ArchiveChunk[]> {
  const rows = await env.DB.prepare('SELECT * FROM audit_archive_chunks WHERE last_id >= ?1 AND first_id <= ?2 ORDER BY first_leaf')
    .bind(min, max)
    .all<ArchiveChunkRow>();
  return rows.results.map(toArchiveChunk);
}

/** How often each id appears across D1 (hot) and the decoded chunks (cold). */
export async function occurrences(ids: readonly number[]): Promise<Map<number, number>> {
  const seen = new Map<number, number>(ids.map((id) => [id, 0]));
  for (const id of await hotIds(ids)) seen.set(id, seen.get(id)! + 1);
  for (const chunk of await chunksBetween(Math.min(...ids), Math.max(...ids))) {
    for (const line of await readChunkLines(env.AUDIT_ARCHIVE, chunk)) if (seen.has(line.id)) seen.set(line.id, seen.get(line.id)! + 1);
  }
  return seen;
}

/** What a failing bucket does: its events or manifest put throws, or its get throws, finds nothing or returns other bytes. */
export type BucketFault = 'put-events' | 'put-manifest' | 'get-throws' | 'get-missing' | 'get-other-bytes';

/** The real bucket with one fault injected; `puts` records every put's key and bytes (attempted or not). */
export function faultyBucket(fault: BucketFault): { bucket: R2Bucket; puts: Map<string, Uint8Array> } {
  const real = env.AUDIT_ARCHIVE;
  const puts = new Map<string, Uint8Array>();
  const bucket = {
    async put(key: string, value: Uint8Array, options?: R2PutOptions) {
      puts.set(key, value);
      if ((fault === 'put-events' && key.startsWith('events/')) || (fault === 'put-manifest' && key.startsWith('manifests/'))) {
        throw new Error(`injected: put ${key} failed`);
      }
      return real.put(key, value, options);
    },
    async get(key: string) {
      if (fault === 'get-throws') throw new Error(`injected: get ${key} failed`);
      if (fault === 'get-missing') return null;
      const object = await real.get(key);
      if (fault !== 'get-other-bytes' || !object) return object;
      const bytes = new Uint8Array(await object.arrayBuffer());
      bytes[bytes.length - 1] ^= 0xff;
      return { arrayBuffer: async () => bytes.buffer };
    },
  };
  return { bucket: bucket as unknown as R2Bucket, puts };
}

/** The real database whose batches (transactions) throw: the move's one transaction fails. */
export function failingBatchDb(): D1Database {
  const real = env.DB;
  return new Proxy(real, {
    get(target, prop) {
      if (prop === 'batch') return async () => Promise.reject(new Error('injected: D1 transaction failed'));
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
