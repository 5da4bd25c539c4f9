/**
 * The lanes' writer of the delivery log (src/db/attempt_log.ts): a group of attempts, several per
 * delivery in any order, leaves each delivery as its last attempt says, counted once per attempt;
 * and the update reads each attempt of the group once, so that a full group (LOG_FLUSH_MAX) costs
 * D1 as much per attempt as a small one.
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { attemptLogStatements, writeAttemptLog, type LoggedAttempt } from '../../src/db/attempt_log';
import { ensureDelivery } from '../../src/db/deliveries';
import { LOG_FLUSH_MAX } from '../../src/delivery/lane';
import { createGroup, unique } from '../support/api';
import { receiverOrigin } from '../support/receiver';
import { attemptRows, deliveryRow, groupEntityOf, insertDestination, insertEventsQuietly } from './support';

type Outcome = 'delivered' | 'retry' | 'failed';

/** One attempt of delivery `deliveryId`, made at `at`: delivered, failed with a retry due, or failed for good. */
function attempt(deliveryId: number, destinationId: number, outcome: Outcome, at: string, httpStatus = outcome === 'delivered' ? 200 : 503): LoggedAttempt {
  return {
    deliveryId,
    destinationId,
    status: outcome === 'delivered' ? 'delivered' : 'failed',
    httpStatus,
    durationMs: 4,
    errorClass: outcome === 'delivered' ? null : 'http_5xx',
    responseExcerpt: outcome === 'delivered' ? 'ok' : 'busy',
    error: outcome === 'delivered' ? null : `HTTP ${httpStatus}`,
    deliveryStatus: outcome === 'delivered' ? 'delivered' : outcome === 'retry' ? 'pending' : 'failed',
    nextRetryAt: outcome === 'retry' ? new Date(Date.parse(at) + 60_000).toISOString() : null,
    at,
    effect: { kind: 'none' },
  };
}

/** `n` pending deliveries of one new destination. */
async function pendingDeliveries(n: number) {
  const group = await createGroup();
  const dest = await insertDestination({ namespaceId: group.id, url: `${receiverOrigin()}/${unique('log')}` });
  const events = await insertEventsQuietly(groupEntityOf(group), n);
  const deliveries = await Promise.all(events.map((e) => ensureDelivery(env.DB, e.id, dest.id)));
  return { dest, events, deliveries };
}

const at = (s: number) => new Date(Date.UTC(2026, 10, 29, 5, 0, s)).toISOString();

describe('the attempt log written to D1', () => {
  it('leaves each delivery as its last attempt of the group says, its counters raised by all of them, its attempts numbered in order', async () => {
    const { dest, events, deliveries } = await pendingDeliveries(3);
    const [a, b, c] = deliveries;
    // Interleaved as lanes finish them: a fails then delivers, b fails once (retry due), c fails twice, the second for good.
    await writeAttemptLog(env.DB, [
      attempt(a.id, dest.id, 'retry', at(1), 502),
      attempt(c.id, dest.id, 'retry', at(2)),
      attempt(b.id, dest.id, 'retry', at(3), 504),
      attempt(a.id, dest.id, 'delivered', at(4)),
      attempt(c.id, dest.id, 'failed', at(5), 500),
    ]);

    const rowA = await deliveryRow(events[0].id, dest.id);
    expect(rowA).toMatchObject({ status: 'delivered', attempts: 2, run_attempts: 2, last_http_status: 200, last_error: null, delivered_at: at(4) });
    expect((await attemptRows(a.id)).map((r) => [r.attempt, r.status, r.http_status])).toEqual([[1, 'failed', 502], [2, 'delivered', 200]]);

    const rowB = await deliveryRow(events[1].id, dest.id);
    expect(rowB).toMatchObject({ status: 'pending', attempts: 1, run_attempts: 1, last_http_status: 504, last_error: 'HTTP 504', delivered_at: null, updated_at: at(3) });
    expect(rowB!.next_retry_at).toBe(new Date(Date.parse(at(3)) + 60_000).toISOString());

    const rowC = await deliveryRow(events[2].id, dest.id);
    expect(rowC).toMatchObject({ status: 'failed', attempts: 2, run_attempts: 2, last_http_status: 500, last_error: 'HTTP 500', next_retry_at: null, updated_at: at(5) });
    expect((await attemptRows(c.id)).map((r) => [r.attempt, r.http_status])).toEqual([[1, 503], [2, 500]]);

    // A later group continues each delivery's numbering and counters.
    await writeAttemptLog(env.DB, [attempt(b.id, dest.id, 'delivered', at(9))]);
    expect(await deliveryRow(events[1].id, dest.id)).toMatchObject({ status: 'delivered', attempts: 2, run_attempts: 2, delivered_at: at(9) });
    expect((await attemptRows(b.id)).map((r) => r.attempt)).toEqual([1, 2]);
  });

  it('reads each attempt of a full group a bounded number of times (no work per pair of attempts)', async () => {
    const { dest, deliveries } = await pendingDeliveries(LOG_FLUSH_MAX + 1);
    // Rows read by the delivery update per attempt, for a group of one and a full group.
    const readPerAttempt = async (group: typeof deliveries, second: number) => {
      const results = await env.DB.batch(attemptLogStatements(env.DB, group.map((d) => attempt(d.id, dest.id, 'delivered', at(second)))));
      return results[1].meta.rows_read / group.length;
    };
    const one = await readPerAttempt(deliveries.slice(0, 1), 10);
    const full = await readPerAttempt(deliveries.slice(1), 11);
    // 15 and 13 here; before the window functions, 8 and 305 (a correlated subquery per attempt).
    expect(full, `rows read per attempt: group of 1 ${one}, group of ${LOG_FLUSH_MAX} ${full}`).toBeLessThanOrEqual(one);
    const delivered = await env.DB.prepare(`SELECT count(*) AS n FROM deliveries WHERE destination_id = ? AND status = 'delivered' AND attempts = 1`).bind(dest.id).first<{ n: number }>();
    expect(delivered!.n).toBe(LOG_FLUSH_MAX + 1);
  });
});
