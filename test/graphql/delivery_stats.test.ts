/**
 * `deliveryStats(hours:)` on both legacy destination types (ours, issue 15): attempts per UTC
 * hour from the D1 delivery log, written here through the lanes' own writer (writeAttemptLog),
 * so the destination of each attempt is recorded as the lanes record it.
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { writeAttemptLog, type LoggedAttempt } from '../../src/db/attempt_log';
import { addMember, createGroup, createUser, gql } from '../support/api';
import { groupEntityOf, insertDestination, insertEventQuietly } from '../delivery/support';

const HOUR = 3_600_000;
const STATS = `query($p: ID!, $h: Int) { group(fullPath: $p) { externalAuditEventDestinations { nodes { id deliveryStats(hours: $h) { bucketStart delivered failed p50LatencyMs p95LatencyMs } } } } }`;

/** A delivery row of a fresh event to a destination. */
async function deliveryTo(group: { id: number; full_path: string }, destinationId: number): Promise<number> {
  const event = await insertEventQuietly(groupEntityOf(group));
  const now = new Date().toISOString();
  const row = await env.DB.prepare(`INSERT INTO deliveries (event_id, destination_id, status, created_at, updated_at) VALUES (?1, ?2, 'pending', ?3, ?3) RETURNING id`)
    .bind(event.id, destinationId, now)
    .first<{ id: number }>();
  return row!.id;
}

function attempt(deliveryId: number, destinationId: number, status: 'delivered' | 'failed', durationMs: number, at: string): LoggedAttempt {
  return {
    deliveryId, destinationId, status, durationMs, at,
    httpStatus: status === 'delivered' ? 200 : 500, errorClass: status === 'delivered' ? null : 'http_error', responseExcerpt: null,
    error: status === 'delivered' ? null : 'HTTP 500', deliveryStatus: status === 'delivered' ? 'delivered' : 'pending', nextRetryAt: null,
    effect: { kind: 'none' },
  };
}

describe('deliveryStats', () => {
  it('per hour: delivered, failed and nearest-rank p50/p95 of the attempts; only this destination, only the window', async () => {
    const group = await createGroup();
    const dest = await insertDestination({ namespaceId: group.id, url: 'http://127.0.0.1:9/stats', active: false });
    const other = await insertDestination({ namespaceId: group.id, url: 'http://127.0.0.1:9/stats-other', active: false });
    const hourStart = Math.floor(Date.now() / HOUR) * HOUR;
    const iso = (ms: number) => new Date(ms).toISOString();
    const attempts: LoggedAttempt[] = [];
    // This hour: 20 attempts of 1..20 ms, 15 delivered and 5 failed.
    for (let i = 1; i <= 20; i++) attempts.push(attempt(await deliveryTo(group, dest.id), dest.id, i <= 15 ? 'delivered' : 'failed', i, iso(hourStart)));
    // Two hours earlier: two failures of 100 and 300 ms.
    const d = await deliveryTo(group, dest.id);
    attempts.push(attempt(d, dest.id, 'failed', 300, iso(hourStart - 2 * HOUR + 10)), attempt(d, dest.id, 'failed', 100, iso(hourStart - 2 * HOUR + 20)));
    // Outside the window, and another destination's attempt in this hour.
    attempts.push(attempt(await deliveryTo(group, dest.id), dest.id, 'delivered', 5, iso(hourStart - 5 * HOUR)));
    attempts.push(attempt(await deliveryTo(group, other.id), other.id, 'delivered', 999, iso(hourStart)));
    await writeAttemptLog(env.DB, attempts);

    const r = await gql(STATS, { p: group.full_path, h: 3 });
    expect(r.body.errors).toBeUndefined();
    const node = r.body.data.group.externalAuditEventDestinations.nodes.find((n: any) => n.id.endsWith(`/${dest.id}`));
    const buckets = node.deliveryStats as { bucketStart: string; delivered: number; failed: number; p50LatencyMs: number | null; p95LatencyMs: number | null }[];
    expect(buckets).toHaveLength(3);
    expect(buckets.map((b) => Date.parse(b.bucketStart) % HOUR)).toEqual([0, 0, 0]);
    expect(Date.parse(buckets[2].bucketStart) - Date.parse(buckets[0].bucketStart)).toBe(2 * HOUR);
    const at = (ms: number) => buckets.find((b) => b.bucketStart === iso(ms));
    expect(at(hourStart)).toEqual({ bucketStart: iso(hourStart), delivered: 15, failed: 5, p50LatencyMs: 10, p95LatencyMs: 19 });
    // (Unless the hour turned while the test ran, the window still holds the earlier hour.)
    if (Date.parse(buckets[0].bucketStart) === hourStart - 2 * HOUR) {
      expect(buckets[0]).toEqual({ bucketStart: iso(hourStart - 2 * HOUR), delivered: 0, failed: 2, p50LatencyMs: 100, p95LatencyMs: 300 });
      expect(buckets[1]).toEqual({ bucketStart: iso(hourStart - HOUR), delivered: 0, failed: 0, p50LatencyMs: null, p95LatencyMs: null });
    }
    // The default is 24 hours; the attempt 5 hours ago shows there.
    const day = await gql(STATS, { p: group.full_path });
    const all = day.body.data.group.externalAuditEventDestinations.nodes.find((n: any) => n.id.endsWith(`/${dest.id}`)).deliveryStats;
    expect(all).toHaveLength(24);
    expect(all.reduce((n: number, b: { delivered: number }) => n + b.delivered, 0)).toBe(16);
    // The lanes' writer names each attempt's destination (migration 0011's column).
    const named = await env.DB.prepare('SELECT COUNT(*) AS n FROM delivery_attempts WHERE destination_id = ?1').bind(dest.id).first<{ n: number }>();
    expect(named!.n).toBe(23);
  });

  it('hours from 1 to 168, else a GraphQL error; who may not read the delivery log gets the permission error', async () => {
    const group = await createGroup();
    await insertDestination({ namespaceId: group.id, url: 'http://127.0.0.1:9/stats-rules', active: false });
    for (const h of [0, 169, -1]) {
      const r = await gql(STATS, { p: group.full_path, h });
      expect(r.body.errors?.[0]?.message, String(h)).toBe("Argument 'hours' must be between 1 and 168");
    }
    expect((await gql(STATS, { p: group.full_path, h: 168 })).body.data.group.externalAuditEventDestinations.nodes[0].deliveryStats).toHaveLength(168);
    const maintainer = await createUser();
    await addMember('groups', group.id, maintainer.id, 40);
    const denied = await gql(
      `query($p: ID!) { group(fullPath: $p) { id externalAuditEventDestinations { nodes { deliveryStats { delivered } } } } }`,
      { p: group.full_path },
      maintainer.token,
    );
    expect(denied.body.errors?.[0]?.message).toMatch(/does not exist or you don't have permission/);
    const instance = await insertDestination({ namespaceId: null, url: 'http://127.0.0.1:9/stats-instance', active: false });
    const inst = await gql(`{ instanceExternalAuditEventDestinations { nodes { id deliveryStats(hours: 1) { delivered failed } } } }`);
    expect(inst.body.data.instanceExternalAuditEventDestinations.nodes.find((n: any) => n.id.endsWith(`/${instance.id}`)).deliveryStats).toEqual([
      { delivered: 0, failed: 0 },
    ]);
    await env.DB.prepare('DELETE FROM streaming_destinations WHERE id = ?1').bind(instance.id).run();
  });
});
