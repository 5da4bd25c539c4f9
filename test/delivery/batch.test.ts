/**
 * The batch handler (src/delivery/batch.ts): each message is settled as soon as its own attempt
 * is recorded, and a hanging destination can take neither the batch's connections nor its time.
 * Settlement times are read from a fake MessageBatch whose ack() and retry() record Date.now().
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { createExecutionContext } from 'cloudflare:test';
import { handleDeliveryBatch, PER_DESTINATION_IN_FLIGHT } from '../../src/delivery/batch';
import { createGroup, unique } from '../support/api';
import { receivedRequests, receiverOrigin } from '../support/receiver';
import { attemptRows, deliveryRow, fakeBatch, groupEntityOf, insertDestination, insertEventQuietly } from './support';

/** A group with one hanging destination (answers after 5 s; the test timeout is 2 s) and `healthy` healthy ones. */
async function setup(healthy: number, events: number) {
  const group = await createGroup();
  const run = unique('b');
  const hangPath = `/slow/5000/${run}`;
  const hang = await insertDestination({ namespaceId: group.id, url: `${receiverOrigin()}${hangPath}` });
  const ok = await Promise.all(Array.from({ length: healthy }, (_, k) => insertDestination({ namespaceId: group.id, url: `${receiverOrigin()}/ok/${run}-${k}` })));
  const evs = await Promise.all(Array.from({ length: events }, () => insertEventQuietly(groupEntityOf(group))));
  return { hang, hangPath, ok, evs };
}

describe('delivery batch', () => {
  it('settles each message when its own attempt is recorded: healthy ones before a hanging one times out', async () => {
    const { hang, ok, evs } = await setup(5, 1);
    const jobs = [{ eventId: evs[0].id, destinationId: hang.id }, ...ok.map((d) => ({ eventId: evs[0].id, destinationId: d.id }))];
    const { batch, settled, ids } = fakeBatch(jobs);
    const t0 = Date.now();
    await handleDeliveryBatch(batch, env, createExecutionContext());
    const [hung, ...healthy] = ids.map((id) => settled.get(id)!);
    for (const s of healthy) {
      expect(s.action).toBe('ack');
      expect(s.at - t0).toBeLessThan(1000);
    }
    expect(hung.action).toBe('retry');
    expect(hung.at - t0).toBeGreaterThanOrEqual(1900); // the 2 s timeout, then its attempt is recorded
    // Every attempt was logged before its message was settled.
    for (const d of ok) expect(await deliveryRow(evs[0].id, d.id)).toMatchObject({ status: 'delivered', attempts: 1 });
    const row = await deliveryRow(evs[0].id, hang.id);
    expect((await attemptRows(row!.id)).map((a) => a.error_class)).toEqual(['timeout']);
  });

  it('gives a hanging destination at most its share: its other messages come back later instead of queueing', async () => {
    const { hang, hangPath, ok, evs } = await setup(8, 8);
    const hangJobs = evs.map((e) => ({ eventId: e.id, destinationId: hang.id }));
    const okJobs = ok.flatMap((d) => evs.slice(0, 2).map((e) => ({ eventId: e.id, destinationId: d.id })));
    const first = fakeBatch([...hangJobs, ...okJobs]);
    const t0 = Date.now();
    await handleDeliveryBatch(first.batch, env, createExecutionContext());
    const hangSettled = first.ids.slice(0, hangJobs.length).map((id) => first.settled.get(id)!);
    const okSettled = first.ids.slice(hangJobs.length).map((id) => first.settled.get(id)!);
    // The healthy destinations' 16 messages: all delivered and acked before the hanging POSTs' timeout.
    expect(okSettled.every((s) => s.action === 'ack')).toBe(true);
    expect(Math.max(...okSettled.map((s) => s.at - t0))).toBeLessThan(1500);
    // The hanging destination got PER_DESTINATION_IN_FLIGHT requests; the rest of its lane was
    // retried with a short delay once it turned slow (half the timeout), without an attempt.
    expect(await receivedRequests(hangPath)).toHaveLength(PER_DESTINATION_IN_FLIGHT);
    const deferred = hangSettled.filter((s) => s.at - t0 < 1900);
    expect(deferred).toHaveLength(hangJobs.length - PER_DESTINATION_IN_FLIGHT);
    expect(deferred.every((s) => s.action === 'retry' && s.delaySeconds === 2)).toBe(true);
    expect((await deliveryRow(evs[7].id, hang.id))?.attempts ?? 0).toBe(0);

    // The next batch in this isolate remembers it is slow: one probe, the rest deferred at once.
    const second = fakeBatch([...hangJobs.slice(2, 6), { eventId: evs[2].id, destinationId: ok[0].id }]);
    const t1 = Date.now();
    await handleDeliveryBatch(second.batch, env, createExecutionContext());
    expect(await receivedRequests(hangPath)).toHaveLength(PER_DESTINATION_IN_FLIGHT + 1);
    const quick = second.ids.map((id) => second.settled.get(id)!).filter((s) => s.at - t1 < 500);
    expect(quick.filter((s) => s.action === 'retry')).toHaveLength(3);
    expect(quick.filter((s) => s.action === 'ack')).toHaveLength(1);
  });
});
