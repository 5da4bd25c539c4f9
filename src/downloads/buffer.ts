/**
 * The download redirect's durable buffer: a Durable Object with SQLite storage near the person
 * clicking, so that a tracked download never waits for the D1 primary.
 *
 * - The redirect appends its audit event here and answers 302 only once this object's storage
 *   has it (an RPC's reply leaves only after the write is durable: the output gate). If the
 *   append fails, the request fails (503); a 302 is never sent for an event that could be lost.
 * - Objects are sharded by region (`locationHint`, from where Cloudflare saw the request) and by
 *   a small random number (DOWNLOAD_BUFFER_SHARDS, default 4), so no single object takes more
 *   than a few hundred appends a second.
 * - An alarm flushes the buffer to D1 at most FLUSH_DELAY_MS after the first buffered event
 *   (at once past FLUSH_AT events): up to FLUSH_MAX events in ONE write transaction through
 *   recordBufferedAuditEvents (src/audit/record.ts, the one writer), exactly once by each
 *   event's UUIDv7, then deletes what D1 took. The same transaction adds the flushed downloads
 *   to their links' counters (download_count, per day, per month: src/db/download_counts.ts). A crash between D1's commit and the delete
 *   repeats the flush, and the unique uuid keeps it from storing anything twice. When D1 fails,
 *   the events stay and the flush is tried again with a growing delay (never given up).
 */
import { DurableObject } from 'cloudflare:workers';
import { uuidv7 } from 'uuidv7';
import type { Env } from '../env';
import { recordBufferedAuditEvents, type AuditEventInput, type BufferedAuditEvent } from '../audit/record';
import { nowIso } from '../db/time';
import { runTraced } from '../bench/stats';

/** How long an event may wait in the buffer before a flush starts (ms). */
export const FLUSH_DELAY_MS = 1000;
/** Buffered events that start a flush at once. */
const FLUSH_AT = 100;
/** Events written to D1 in one transaction (one bound JSON parameter of about 1 KB each). */
const FLUSH_MAX = 100;
/** Rounds one alarm flushes before it hands over to the next alarm. */
const FLUSH_ROUNDS = 20;
/** Longest wait before retrying a failed flush (ms). */
const MAX_RETRY_DELAY_MS = 60_000;
/** Default number of buffer objects per region. */
export const DEFAULT_SHARDS = 4;

/** The buffer of one (region, shard). */
export class DownloadBuffer extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** When this instance last set the alarm (null: not set by this instance, or already run). */
  private alarmAt: number | null = null;
  private pending: number;
  private failures = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec('CREATE TABLE IF NOT EXISTS buffered (seq INTEGER PRIMARY KEY AUTOINCREMENT, event TEXT NOT NULL)');
    this.pending = this.sql.exec<{ n: number }>('SELECT count(*) AS n FROM buffered').one().n;
  }

  /** Store events durably and schedule their flush; resolves once storage has them. */
  async append(events: BufferedAuditEvent[]): Promise<void> {
    for (const e of events) this.sql.exec('INSERT INTO buffered (event) VALUES (?)', JSON.stringify(e));
    this.pending += events.length;
    await this.scheduleFlush(this.pending >= FLUSH_AT ? 0 : FLUSH_DELAY_MS);
  }

  /** Events waiting in this buffer. */
  async size(): Promise<number> {
    return this.pending;
  }

  /**
   * Flush everything now (tests; a drain before a planned shutdown). Safe beside a running
   * alarm: a flush that overlaps another stores nothing twice (the uuids), and each deletes only
   * what D1 has.
   */
  async flush(): Promise<void> {
    while ((await this.flushOnce()) > 0);
  }

  private async scheduleFlush(delayMs: number): Promise<void> {
    const due = Date.now() + delayMs;
    if (this.alarmAt !== null && this.alarmAt <= due) return;
    await this.ctx.storage.setAlarm(due);
    this.alarmAt = due;
  }

  override async alarm(): Promise<void> {
    this.alarmAt = null;
    try {
      for (let round = 0; round < FLUSH_ROUNDS && (await this.flushOnce()) === FLUSH_MAX; round++);
      this.failures = 0;
    } catch (err) {
      this.failures++;
      const delay = Math.min(MAX_RETRY_DELAY_MS, 1000 * 2 ** Math.min(this.failures - 1, 6));
      console.error(`download buffer: flushing to D1 failed (${this.failures} in a row); retrying in ${delay} ms`, err instanceof Error ? err.message : err);
      await this.scheduleFlush(delay);
      return;
    }
    // Events that came during the flush wait for their own batch (their append set the alarm),
    // unless enough are waiting already: a slow D1 must not turn into many small flushes.
    if (this.pending > 0) await this.scheduleFlush(this.pending >= FLUSH_AT ? 0 : FLUSH_DELAY_MS);
  }

  /** Write the oldest buffered events to D1 and forget them; how many it took. */
  private async flushOnce(): Promise<number> {
    const rows = this.sql.exec<{ seq: number; event: string }>('SELECT seq, event FROM buffered ORDER BY seq LIMIT ?', FLUSH_MAX).toArray();
    if (rows.length === 0) return 0;
    const events = rows.map((r) => JSON.parse(r.event) as BufferedAuditEvent);
    // Under the benchmarks' edge model the flush pays D1's and the queue's costs (off: this.env as is).
    await runTraced(this.env, 'durable-object', (env) => recordBufferedAuditEvents(env, events, this.ctx));
    this.sql.exec('DELETE FROM buffered WHERE seq <= ?', rows[rows.length - 1].seq);
    this.pending = this.sql.exec<{ n: number }>('SELECT count(*) AS n FROM buffered').one().n;
    return rows.length;
  }
}

/** Every location hint regionOf gives. */
export const REGIONS: readonly DurableObjectLocationHint[] = ['wnam', 'enam', 'sam', 'weur', 'eeur', 'apac', 'oc', 'afr', 'me'];

/** Cloudflare's Durable Object location hints, by where the request came from. */
export function regionOf(request: Request): DurableObjectLocationHint {
  const cf = request.cf as { continent?: string; longitude?: string; country?: string } | undefined;
  const lon = Number(cf?.longitude);
  switch (cf?.continent) {
    case 'NA':
      return Number.isFinite(lon) && lon < -100 ? 'wnam' : 'enam';
    case 'SA':
      return 'sam';
    case 'EU':
      return Number.isFinite(lon) && lon > 20 ? 'eeur' : 'weur';
    case 'AF':
      return 'afr';
    case 'OC':
    case 'AN':
      return 'oc';
    case 'AS':
      return ['AE', 'SA', 'QA', 'BH', 'KW', 'OM', 'IL', 'JO', 'IQ', 'IR', 'TR', 'LB', 'YE'].includes(cf.country ?? '') ? 'me' : 'apac';
    default:
      return 'enam';
  }
}

/** DOWNLOAD_BUFFER_SHARDS (1–64; default 4). */
export function shardCount(env: Pick<Env, 'DOWNLOAD_BUFFER_SHARDS'>): number {
  const n = Number(env.DOWNLOAD_BUFFER_SHARDS ?? DEFAULT_SHARDS);
  return Number.isInteger(n) && n >= 1 && n <= 64 ? n : DEFAULT_SHARDS;
}

/** The buffer object of a region's shard. */
export function bufferAt(env: Env, region: DurableObjectLocationHint, shard: number): DurableObjectStub<DownloadBuffer> {
  return env.DOWNLOAD_BUFFER.get(env.DOWNLOAD_BUFFER.idFromName(`${region}/${shard}`), { locationHint: region });
}

/** The buffer object for a request: its region, and a random shard of it. */
export function bufferFor(env: Env, request: Request): DurableObjectStub<DownloadBuffer> {
  return bufferAt(env, regionOf(request), Math.floor(Math.random() * shardCount(env)));
}

/**
 * Make a download's audit event durable in the nearest buffer: it gets its UUIDv7 and the
 * click's time here. Rejects when the buffer did not store it (the caller must not redirect).
 */
export async function bufferAuditEvent(env: Env, request: Request, input: AuditEventInput): Promise<void> {
  await bufferFor(env, request).append([{ ...input, uuid: uuidv7(), createdAt: input.createdAt ?? nowIso() }]);
}
