/**
 * Bench only (BENCH_ROUTES="true"; `npm run bench:archive`): fill the audit log with realistic
 * events in bulk and move them to the cold archive on demand, so that the archive's capacity can
 * be measured over a million events. Otherwise both paths are ordinary unknown paths.
 *
 *   POST /-/bench/audit_events/bulk {count, project_path, tag_name, filepath, from, to}
 *     Records `count` (1 to 20,000) events with created_at spread evenly from `from` to `to` (ISO
 *     8601, oldest first, so ids follow time as in production): of every 100, 97 downloads of the
 *     release link (`tag_name`, `filepath`) of the project `project_path`, built by the download
 *     route's own event builder, 2 `release_updated` of that release and 1 instance event. They
 *     go through the one writer's buffered path (recordBufferedAuditEvents, as the download
 *     buffer flushes them: bounds, uuids, download counters), in transactions of BULK_BATCH; an
 *     outbox row and deliveries are written only when a destination could receive them (the
 *     benchmark creates none, so there are none). Then their leaves are appended
 *     (appendPendingLeaves until nothing is pending). Answers {"first_id", "last_id", "leaves"}.
 *   POST /-/bench/audit_archive/move {older_than, setup_through_id?, max_chunks?}
 *     Moves chunks (moveNextChunk) until none is left or `max_chunks` (1 to 1000, default 100)
 *     moved. Eligible: created before `older_than`, or (the benchmark's setup: its group, project
 *     and release, created at the start of the run, come first in the log, where a real
 *     instance's setup would long be old) an id up to `setup_through_id` (default 0: none).
 *     Answers {"chunks", "events", "last_id"}.
 *   POST /-/bench/audit_archive/seal {max_segments?}
 *     Seals segments whose chunks are all cold (runArchiveSeal, as the cron after its move) until
 *     none is left or `max_segments` (1 to 1000, default 100) sealed, then as many pages of
 *     sealed units (archive_pages.ts); the sizes are the Worker's AUDIT_ARCHIVE_SEGMENT_CHUNKS and
 *     AUDIT_ARCHIVE_PAGE_SEGMENTS. Answers {"segments", "pages", "first_leaf", "last_leaf"} (the
 *     leaves of the segments sealed).
 */
import { uuidv7 } from 'uuidv7';
import { benchRoutesEnabled, type Env } from '../env';
import { findDownloadTarget, type DownloadTarget } from '../db/releases';
import { instanceEntity, projectEntity, recordBufferedAuditEvents, type AuditEventInput, type BufferedAuditEvent } from '../audit/record';
import { appendPendingLeaves } from '../audit/log_builder';
import { moveNextChunk, olderThan, type Eligible } from '../audit/archive_move';
import { runArchiveSeal } from '../audit/archive_seal';
import { readBoundedBody } from '../web/body';
import { json } from '../web/errors';
import { downloadEvent } from './downloads';

export const BENCH_BULK_PATH = '/-/bench/audit_events/bulk';
export const BENCH_MOVE_PATH = '/-/bench/audit_archive/move';
export const BENCH_SEAL_PATH = '/-/bench/audit_archive/seal';
/** Events per write transaction (one INSERT of a JSON array, as the download buffer's flush). */
const BULK_BATCH = 500;
const MAX_BULK = 20_000;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;
/** A browser's user agent: download events carry one (bounded to 512 characters by the writer). */
const USER_AGENT =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 audit-events-edge-bench/1.0';

class BadRequest extends Error {}

async function readJson(request: Request): Promise<Record<string, unknown>> {
  const bytes = await readBoundedBody(request);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new BadRequest('the body must be a JSON object');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new BadRequest('the body must be a JSON object');
  return parsed as Record<string, unknown>;
}

function text(body: Record<string, unknown>, key: string): string {
  const v = body[key];
  if (typeof v !== 'string' || v === '') throw new BadRequest(`${key} must be a non-empty string`);
  return v;
}

function time(body: Record<string, unknown>, key: string): number {
  const v = text(body, key);
  const t = Date.parse(v);
  if (!ISO.test(v) || Number.isNaN(t)) throw new BadRequest(`${key} must be an ISO 8601 UTC time (2026-01-31T12:00:00Z)`);
  return t;
}

function integer(body: Record<string, unknown>, key: string, min: number, max: number, fallback?: number): number {
  const v = body[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new BadRequest(`${key} must be an integer from ${min} to ${max}`);
  return v;
}

/** The i-th event of a bulk fill (see the module comment for the mix). */
function benchEvent(i: number, target: DownloadTarget, request: Request): AuditEventInput {
  if (i % 100 === 97 || i % 100 === 98) {
    return {
      eventType: 'release_updated',
      author: { id: 1, name: 'Administrator' },
      entity: projectEntity(target.project),
      target: { id: target.releaseId, type: 'Release', details: target.tagName },
      ipAddress: '203.0.113.7',
      details: {
        custom_message: `Updated release ${target.tagName}`,
        tag_name: target.tagName,
        changes: [{ change: 'description', from: `Release notes, revision ${i}`, to: `Release notes, revision ${i + 1}` }],
      },
    };
  }
  if (i % 100 === 99) {
    return {
      eventType: 'instance_bench_setting_updated',
      author: { id: 1, name: 'Administrator' },
      entity: instanceEntity(),
      target: { id: 1, type: 'ApplicationSetting', details: 'bench' },
      ipAddress: '203.0.113.7',
      details: { custom_message: 'Changed instance setting', change: 'bench_setting', from: String(i), to: String(i + 1) },
    };
  }
  return downloadEvent(request, { kind: 'filepath', tagName: target.tagName, filepath: target.filepath ?? '' }, null, target);
}

async function bulk(request: Request, env: Env): Promise<Response> {
  const body = await readJson(request);
  const count = integer(body, 'count', 1, MAX_BULK);
  const from = time(body, 'from');
  const to = time(body, 'to');
  if (to < from) throw new BadRequest('to must not be before from');
  const tagName = text(body, 'tag_name');
  const filepath = text(body, 'filepath');
  const target = await findDownloadTarget(env.DB, text(body, 'project_path'), { kind: 'filepath', tagName, filepath });
  if (!target) return json({ message: '404 Release link Not Found' }, 404);
  const ip = (i: number) => `198.51.${(i >> 8) & 255}.${i & 255}`;
  let firstId: number | null = null;
  let lastId: number | null = null;
  for (let start = 0; start < count; start += BULK_BATCH) {
    const batch: BufferedAuditEvent[] = [];
    for (let i = start; i < Math.min(count, start + BULK_BATCH); i++) {
      const click = new Request('http://bench.invalid/', { headers: { 'CF-Connecting-IP': ip(i), 'User-Agent': USER_AGENT } });
      const at = count === 1 ? from : from + Math.floor(((to - from) * i) / (count - 1));
      batch.push({ ...benchEvent(i, target, click), uuid: uuidv7(), createdAt: new Date(at).toISOString() });
    }
    const stored = await recordBufferedAuditEvents(env, batch, null);
    firstId ??= stored[0]?.id ?? null;
    lastId = stored[stored.length - 1]?.id ?? lastId;
  }
  let leaves = 0;
  for (;;) {
    const { appended, size } = await appendPendingLeaves(env);
    leaves = size;
    if (appended === 0) break;
  }
  return json({ first_id: firstId, last_id: lastId, leaves }, 201);
}

async function move(request: Request, env: Env): Promise<Response> {
  const body = await readJson(request);
  time(body, 'older_than');
  const olderThanTime = text(body, 'older_than');
  const maxChunks = integer(body, 'max_chunks', 1, 1000, 100);
  const setupThrough = integer(body, 'setup_through_id', 0, Number.MAX_SAFE_INTEGER, 0);
  const old = olderThan(olderThanTime);
  const eligible: Eligible = (leaf) => old(leaf) || (leaf.eventId <= setupThrough && !leaf.inOutbox);
  let chunks = 0;
  let events = 0;
  let lastId: number | null = null;
  while (chunks < maxChunks) {
    const chunk = await moveNextChunk(env, null, eligible);
    if (!chunk) break;
    chunks++;
    events += chunk.eventCount;
    lastId = chunk.lastId;
  }
  return json({ chunks, events, last_id: lastId });
}

async function seal(request: Request, env: Env): Promise<Response> {
  const body = await readJson(request);
  const sealed = await runArchiveSeal(env, null, new Date(), integer(body, 'max_segments', 1, 1000, 100));
  const segments = sealed.filter((u) => u.children === 0);
  return json({
    segments: segments.length,
    pages: sealed.length - segments.length,
    first_leaf: segments[0]?.firstLeaf ?? null,
    last_leaf: segments[segments.length - 1]?.lastLeaf ?? null,
  });
}

/** Answer the archive's bench routes (BENCH_ROUTES="true" only); null for every other request. */
export async function handleBenchArchive(request: Request, env: Env, pathname: string): Promise<Response | null> {
  if (request.method !== 'POST' || !benchRoutesEnabled(env)) return null;
  const handler = pathname === BENCH_BULK_PATH ? bulk : pathname === BENCH_MOVE_PATH ? move : pathname === BENCH_SEAL_PATH ? seal : null;
  if (!handler) return null;
  try {
    return await handler(request, env);
  } catch (err) {
    if (err instanceof BadRequest) return json({ message: `400 Bad request - ${err.message}` }, 400);
    throw err;
  }
}
