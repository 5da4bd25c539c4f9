/**
 * The stale-delivery sweep (src/delivery/stale.ts): pending deliveries whose queue message was
 * lost (an in-memory local queue that died with `wrangler dev`) are re-sent from D1 by the cron.
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { createExecutionContext, createScheduledController } from 'cloudflare:test';
import type { DeliveryJob, DeliveryMessage, Env } from '../../src/env';
import { deliveryJobsOf } from '../../src/delivery/consumer';
import { staleAfterSeconds, sweepStaleDeliveries } from '../../src/delivery/stale';
import { handleScheduled } from '../../src/scheduled';
import { createGroup } from '../support/api';
import { receiverOrigin, waitForRequests } from '../support/receiver';
import { deliveryRow, groupEntityOf, insertDestination, insertEventQuietly } from './support';
import { unique } from '../support/api';

/** A pending delivery row as the fan-out writes it, `ageSeconds` old, whose message never reached the consumer. */
async function pendingDelivery(eventId: number, destinationId: number, ageSeconds: number, nextRetryInSeconds: number | null = null) {
  const at = new Date(Date.now() - ageSeconds * 1000).toISOString();
  const next = nextRetryInSeconds === null ? null : new Date(Date.now() + nextRetryInSeconds * 1000).toISOString();
  await env.DB
    .prepare(`INSERT INTO deliveries (event_id, destination_id, status, created_at, updated_at, next_retry_at) VALUES (?1, ?2, 'pending', ?3, ?3, ?4)`)
    .bind(eventId, destinationId, at, next)
    .run();
}

/** An Env whose queue records what is sent instead of delivering it. */
function capturingEnv(): { env: Env; sent: DeliveryJob[] } {
  const sent: DeliveryJob[] = [];
  const queue = {
    send: async (body: DeliveryMessage) => void sent.push(...deliveryJobsOf(body)!),
    sendBatch: async (msgs: { body: DeliveryMessage }[]) => void sent.push(...msgs.flatMap((m) => deliveryJobsOf(m.body)!)),
  };
  return { env: { ...env, DELIVERIES: queue } as unknown as Env, sent };
}

describe('stale delivery sweep', () => {
  it('derives its grace period from the delivery timeout (5 minutes by default, at least 30 s)', () => {
    expect(staleAfterSeconds({})).toBe(300);
    expect(staleAfterSeconds({ DELIVERY_TIMEOUT_MS: '1500' })).toBe(45);
    expect(staleAfterSeconds({ DELIVERY_TIMEOUT_MS: '100' })).toBe(30);
  });

  it('re-sends only overdue pending deliveries of healthy active destinations, once per grace period', async () => {
    const group = await createGroup();
    const url = `${receiverOrigin()}/${unique('stale')}`;
    const healthy = await insertDestination({ namespaceId: group.id, url: `${url}/a` });
    const inactive = await insertDestination({ namespaceId: group.id, url: `${url}/b`, active: false });
    const broken = await insertDestination({ namespaceId: group.id, url: `${url}/c` });
    await env.DB.prepare('UPDATE streaming_destinations SET consecutive_failures = 9, breaker_open_until = ?2 WHERE id = ?1')
      .bind(broken.id, new Date(Date.now() + 300_000).toISOString())
      .run();
    const grace = staleAfterSeconds(env);
    const e = await Promise.all(Array.from({ length: 6 }, () => insertEventQuietly(groupEntityOf(group))));
    await pendingDelivery(e[0].id, healthy.id, grace + 60); // lost before its first attempt
    await pendingDelivery(e[1].id, healthy.id, grace + 60, -(grace + 10)); // its retry was due long ago
    await pendingDelivery(e[2].id, healthy.id, 1); // just created: its message is on its way
    await pendingDelivery(e[3].id, healthy.id, grace + 60, 120); // retry not due yet
    await pendingDelivery(e[4].id, inactive.id, grace + 60);
    await pendingDelivery(e[5].id, broken.id, grace + 60); // waiting behind an open breaker on purpose
    await env.DB
      .prepare(`INSERT INTO deliveries (event_id, destination_id, status, created_at, updated_at) VALUES (?1, ?2, 'delivered', ?3, ?3)`)
      .bind(e[5].id, healthy.id, new Date(Date.now() - 3_600_000).toISOString())
      .run();

    const first = capturingEnv();
    const n = await sweepStaleDeliveries(first.env, Date.now(), 10_000);
    const mine = first.sent.filter((j) => e.some((x) => x.id === j.eventId));
    expect(mine).toEqual([
      { eventId: e[0].id, destinationId: healthy.id },
      { eventId: e[1].id, destinationId: healthy.id },
    ]);
    expect(n).toBeGreaterThanOrEqual(2);

    // Marked re-sent: the next sweep leaves them alone until another grace period passes.
    const second = capturingEnv();
    await sweepStaleDeliveries(second.env, Date.now(), 10_000);
    expect(second.sent.filter((j) => e.some((x) => x.id === j.eventId))).toEqual([]);
    // A grace period later (the rows are aged rather than the clock moved, so that other test
    // files' rows are not swept by this test).
    const ids = e.map((x) => x.id);
    await env.DB
      .prepare(
        `UPDATE deliveries SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', updated_at, ?1),
           next_retry_at = CASE WHEN next_retry_at IS NULL THEN NULL ELSE strftime('%Y-%m-%dT%H:%M:%fZ', next_retry_at, ?1) END
         WHERE event_id IN (${ids.map((_, k) => `?${k + 2}`).join(', ')})`,
      )
      .bind(`-${grace + 5} seconds`, ...ids)
      .run();
    const later = capturingEnv();
    await sweepStaleDeliveries(later.env, Date.now(), 10_000);
    expect(later.sent.filter((j) => e.some((x) => x.id === j.eventId)).map((j) => j.eventId)).toEqual([e[0].id, e[1].id, e[2].id]);
  });

  it('backs off: a delivery an hour old is re-sent again only half an hour after its last re-send', async () => {
    const group = await createGroup();
    const dest = await insertDestination({ namespaceId: group.id, url: `${receiverOrigin()}/${unique('stale-backoff')}` });
    const event = await insertEventQuietly(groupEntityOf(group));
    const grace = staleAfterSeconds(env);
    const iso = (secondsAgo: number) => new Date(Date.now() - secondsAgo * 1000).toISOString();
    await env.DB
      .prepare(`INSERT INTO deliveries (event_id, destination_id, status, created_at, updated_at, next_retry_at) VALUES (?1, ?2, 'pending', ?3, ?4, ?4)`)
      .bind(event.id, dest.id, iso(3600), iso(2 * grace))
      .run();
    const sentFor = async () => {
      const c = capturingEnv();
      await sweepStaleDeliveries(c.env, Date.now(), 10_000);
      return c.sent.filter((j) => j.eventId === event.id);
    };
    expect(await sentFor()).toEqual([]); // touched 2 grace periods ago, but it is an hour old
    await env.DB.prepare('UPDATE deliveries SET updated_at = ?2, next_retry_at = ?2 WHERE event_id = ?1').bind(event.id, iso(1801)).run();
    expect(await sentFor()).toEqual([{ eventId: event.id, destinationId: dest.id }]);
  });

  it('runs from the cron and the re-sent delivery reaches the receiver', async () => {
    const group = await createGroup();
    const path = `/${unique('stale-cron')}`;
    const dest = await insertDestination({ namespaceId: group.id, url: `${receiverOrigin()}${path}` });
    const event = await insertEventQuietly(groupEntityOf(group), 'stale_sweep_probe');
    await pendingDelivery(event.id, dest.id, staleAfterSeconds(env) + 60);

    await handleScheduled(createScheduledController({ cron: '* * * * *' }) as ScheduledController, env, createExecutionContext());
    const got = await waitForRequests(path, 1);
    expect(got).toHaveLength(1);
    expect(JSON.parse(got[0].body)).toMatchObject({ id: String(event.id), event_type: 'stale_sweep_probe' });
    for (let i = 0; i < 50 && (await deliveryRow(event.id, dest.id))?.status !== 'delivered'; i++) await new Promise((r) => setTimeout(r, 100));
    expect((await deliveryRow(event.id, dest.id))?.status).toBe('delivered');
  });
});
