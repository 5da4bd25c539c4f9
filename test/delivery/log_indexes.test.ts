/**
 * The delivery log's indexes (migration 0024): what a delivery costs in D1 rows written, and that
 * no statement of the delivery log reads the whole of `deliveries` or `delivery_attempts` (both
 * grow with every event and destination: a full scan is a bill and a timeout on Cloudflare).
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import type { BindingTrace } from '../../src/bench/trace';
import { tracingEnv } from '../support/d1';
import { writeAttemptLog, type LoggedAttempt } from '../../src/db/attempt_log';
import {
  countDeliveries,
  deadLetterDelivery,
  ensureDelivery,
  listDeliveries,
  loadDeliveryContexts,
  pruneDeliveryAttempts,
  resetDeliveryForRedelivery,
  resetFailedDeliveriesSince,
} from '../../src/db/deliveries';
import { listAttemptsOfDeliveries } from '../../src/db/delivery_log';
import { deliveryHours } from '../../src/db/delivery_stats';
import { destinationHealth } from '../../src/db/destination_health';
import { failPausedDeliveries, markDeliveriesResent, overdueDeliveries } from '../../src/db/stale_deliveries';
import { pruneDeliveryLog } from '../../src/delivery/retention';
import { createGroup, unique } from '../support/api';
import { receiverOrigin } from '../support/receiver';
import { groupEntityOf, insertDestination, insertEventQuietly } from './support';

/** env.DB traced (test/support/d1.ts): every statement prepared, and the rows written. */
function traced(): { db: D1Database; sql: string[]; trace: BindingTrace } {
  const t = tracingEnv();
  return { db: t.env.DB, sql: t.counts.statements, trace: t.trace };
}

/** The EXPLAIN QUERY PLAN lines of a statement, its parameters bound to null. */
async function planOf(sql: string): Promise<string[]> {
  const params = Math.max(0, ...[...sql.matchAll(/\?(\d+)/g)].map((m) => Number(m[1])));
  const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
    .bind(...Array.from({ length: params }, () => null))
    .all<{ detail: string }>();
  return plan.results.map((r) => r.detail);
}

/** The names a statement gives `deliveries` and `delivery_attempts`: the tables and their aliases. */
function logNames(sql: string): Set<string> {
  const names = new Set<string>();
  for (const m of sql.matchAll(/\b(?:FROM|JOIN|UPDATE|INTO)\s+(deliveries|delivery_attempts)\b(?:\s+(?:AS\s+)?(?!WHERE|ON|JOIN|SET|INDEXED|USING|ORDER|GROUP|LIMIT|LEFT|CROSS|INNER)([a-z_]\w*))?/gi)) {
    names.add(m[1].toLowerCase());
    if (m[2]) names.add(m[2].toLowerCase());
  }
  return names;
}

/** The plan's lines that scan the delivery log (every row of one of its tables). */
async function fullScans(sql: string): Promise<string[]> {
  const names = logNames(sql);
  if (names.size === 0) return [];
  return (await planOf(sql)).filter((d) => {
    const m = /^SCAN (\w+)(?: |$)/.exec(d);
    return m !== null && names.has(m[1].toLowerCase());
  });
}

function attempt(deliveryId: number, destinationId: number, status: 'delivered' | 'failed'): LoggedAttempt {
  return {
    deliveryId,
    destinationId,
    status,
    httpStatus: status === 'delivered' ? 200 : 500,
    durationMs: 3,
    errorClass: status === 'delivered' ? null : 'http_5xx',
    responseExcerpt: null,
    error: status === 'delivered' ? null : 'HTTP 500',
    deliveryStatus: status === 'delivered' ? 'delivered' : 'pending',
    nextRetryAt: null,
    at: new Date().toISOString(),
    effect: { kind: 'none' },
  };
}

describe('the delivery log in D1', () => {
  it('costs 4 rows written to record a delivery, and 4 + 2 for an attempt that delivers it (migration 0024)', async () => {
    const group = await createGroup();
    const dest = await insertDestination({ namespaceId: group.id, url: `${receiverOrigin()}/${unique('rows')}` });
    const event = await insertEventQuietly(groupEntityOf(group));
    const { db, trace } = traced();

    const delivery = await ensureDelivery(db, event.id, dest.id);
    // The row, AUTOINCREMENT's sqlite_sequence, UNIQUE (event_id, destination_id) and deliveries_destination.
    expect(trace.before.rowsWritten).toBe(4);

    trace.reset();
    await writeAttemptLog(db, [attempt(delivery.id, dest.id, 'delivered')]);
    // The attempt: its row, sqlite_sequence, delivery_attempts_delivery and _destination_created;
    // the delivery: its row and deliveries_destination (a delivered row is in no partial index).
    expect(trace.before.rowsWritten).toBe(6);

    // A dead letter also enters deliveries_failed_created (the redelivery "since" reads it).
    const other = await insertEventQuietly(groupEntityOf(group));
    await ensureDelivery(env.DB, other.id, dest.id);
    trace.reset();
    await deadLetterDelivery(db, other.id, dest.id, 'gone');
    expect(trace.before.rowsWritten).toBe(3);
    expect(await resetFailedDeliveriesSince(env.DB, dest.id, '2000-01-01T00:00:00.000Z', 10)).toEqual([other.id]);
  });

  it('reads neither table whole in any statement of the delivery path, its log, its sweeps or its retention', async () => {
    const group = await createGroup();
    const dest = await insertDestination({ namespaceId: group.id, url: `${receiverOrigin()}/${unique('plans')}` });
    const event = await insertEventQuietly(groupEntityOf(group));
    const { db, sql } = traced();
    const now = new Date().toISOString();

    const delivery = await ensureDelivery(db, event.id, dest.id);
    await loadDeliveryContexts(db, [{ eventId: event.id, destinationId: dest.id }]);
    await writeAttemptLog(db, [attempt(delivery.id, dest.id, 'failed')]);
    await listAttemptsOfDeliveries(db, [delivery.id]);
    for (const status of [null, 'pending', 'delivered', 'failed'] as const) {
      await listDeliveries(db, dest.id, { status, beforeId: null, limit: 21 });
      await listDeliveries(db, dest.id, { status, beforeId: delivery.id + 1, limit: 21 });
      await countDeliveries(db, dest.id, status);
    }
    await destinationHealth(db, dest.id);
    await deliveryHours(db, dest.id, now);
    await overdueDeliveries(db, now, now, 100);
    await markDeliveriesResent(db, [delivery.id], now);
    await failPausedDeliveries(db, '2000-01-01T00:00:00.000Z', 'paused', now, 100);
    await deadLetterDelivery(db, event.id, dest.id, 'gone');
    await resetFailedDeliveriesSince(db, dest.id, '2000-01-01T00:00:00.000Z', 10);
    await resetDeliveryForRedelivery(db, event.id, dest.id);
    await pruneDeliveryAttempts(db, '2000-01-01T00:00:00.000Z', 10);

    const statements = [...new Set(sql)].filter((s) => logNames(s).size > 0);
    expect(statements.length).toBeGreaterThan(15);
    for (const s of statements) expect(await fullScans(s), s).toEqual([]);
    // A page of the log reads ranges of (destination, status) below its cursor, not a destination's whole log.
    const pages = statements.filter((s) => /^SELECT \* FROM \(SELECT \* FROM deliveries/.test(s));
    expect(pages.length).toBe(4);
    for (const s of pages) {
      const searches = (await planOf(s)).filter((d) => /^SEARCH deliveries/.test(d));
      expect(searches.length, s).toBeGreaterThan(0);
      for (const d of searches) expect(d, s).toMatch(/\(destination_id=\? AND status=\? AND id<\?\)$/);
    }
    // The check itself finds a full scan where there is one.
    expect(await fullScans('SELECT d.id FROM deliveries d WHERE d.last_error = ?1')).toEqual(['SCAN d']);
  });

  it('prunes attempts past retention destination by destination, including attempts without a destination', async () => {
    const group = await createGroup();
    const a = await insertDestination({ namespaceId: group.id, url: `${receiverOrigin()}/${unique('prune-a')}` });
    const b = await insertDestination({ namespaceId: group.id, url: `${receiverOrigin()}/${unique('prune-b')}` });
    const deliveryId = 910_000_000 + Math.floor(Math.random() * 1e6);
    const now = Date.now();
    const old = new Date(now - 40 * 86_400_000).toISOString();
    const recent = new Date(now - 86_400_000).toISOString();
    const insert = (destinationId: number | null, createdAt: string) =>
      env.DB.prepare(
        `INSERT INTO delivery_attempts (delivery_id, attempt, status, http_status, duration_ms, created_at, destination_id) VALUES (?1, 1, 'failed', 500, 5, ?2, ?3)`,
      ).bind(deliveryId, createdAt, destinationId);
    await env.DB.batch([insert(a.id, old), insert(a.id, recent), insert(b.id, old), insert(b.id, old), insert(null, old), insert(null, recent)]);

    // Bounded: at most `limit` per call, oldest destinations' first.
    expect(await pruneDeliveryAttempts(env.DB, new Date(now - 30 * 86_400_000).toISOString(), 2)).toBe(2);
    await pruneDeliveryLog(env, now);
    const left = await env.DB.prepare('SELECT destination_id, created_at FROM delivery_attempts WHERE delivery_id = ?1 ORDER BY destination_id')
      .bind(deliveryId)
      .all<{ destination_id: number | null; created_at: string }>();
    expect(left.results).toEqual([
      { destination_id: null, created_at: recent },
      { destination_id: a.id, created_at: recent },
    ]);
  });
});
