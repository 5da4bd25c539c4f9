/**
 * The outbox row of an event is written (in the event's own transaction) only when a
 * destination could receive it: an instance destination, or a destination of the event's
 * top-level group, active or paused (a paused destination keeps its events: src/delivery/pause.ts).
 * Without one, recordAuditEvent does no fan-out work at all.
 * Other test files may hold instance destinations at any moment, so every expectation
 * here reads that state in the same D1 batch (one transaction) as the insert it judges.
 */
import { describe, expect, it, vi } from 'vitest';
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { auditEventStatements, recordAuditEvent, type AuditEntity } from '../../src/audit/record';
import type { DeliveryJob, DeliveryMessage, Env } from '../../src/env';
import { deliveryJobsOf } from '../../src/delivery/consumer';
import { FAN_OUT_MAX, fanOutMessages, sweepOutbox } from '../../src/audit/outbox';
import { createGroup, unique } from '../support/api';
import { groupEntityOf, insertDestination } from './support';
import { countingEnv, tracingEnv } from '../support/d1';

const INSTANCE_ANY = `SELECT EXISTS (SELECT 1 FROM streaming_destinations WHERE scope = 'instance') AS any`;

/** Insert one event as recordAuditEvent does; report whether it got an outbox row and whether an instance destination (active or paused) existed. */
async function insertProbe(entity: AuditEntity): Promise<{ outbox: boolean; instanceAny: boolean }> {
  const input = { eventType: unique('outbox_probe_').toLowerCase(), author: { id: 1, name: 'Administrator' }, entity };
  const [, outbox, , instance] = await env.DB.batch([...auditEventStatements(env.DB, input), env.DB.prepare(INSTANCE_ANY)]);
  return { outbox: outbox.meta.changes === 1, instanceAny: (instance.results[0] as { any: number }).any === 1 };
}

describe('outbox rows only for events a destination could receive', () => {
  it('a group without destinations gets none unless an instance destination exists', async () => {
    const group = await createGroup();
    const { outbox, instanceAny } = await insertProbe(groupEntityOf(group));
    expect(outbox).toBe(instanceAny);
  });

  it('a destination of the top-level group, active or paused, gets a row for events anywhere under it; another group\'s does not count', async () => {
    const root = await createGroup();
    const sub = await createGroup({ parentId: root.id });
    const dest = await insertDestination({ namespaceId: root.id, url: 'http://127.0.0.1:9/outbox' });
    const subEntity: AuditEntity = { type: 'Group', id: sub.id, path: sub.full_path, rootNamespaceId: root.id, scopePath: `${root.id}/${sub.id}/`, projectId: null };
    expect((await insertProbe(subEntity)).outbox).toBe(true);
    expect((await insertProbe(groupEntityOf(root))).outbox).toBe(true);
    // Paused: its events are kept (delivered once it is active again).
    await env.DB.prepare('UPDATE streaming_destinations SET active = 0 WHERE id = ?1').bind(dest.id).run();
    const after = await insertProbe(subEntity);
    expect(after.outbox).toBe(true);
    // Another group's destination does not count.
    const other = await createGroup();
    const otherDest = await insertDestination({ namespaceId: other.id, url: 'http://127.0.0.1:9/outbox' });
    const mine = await insertProbe(groupEntityOf(await createGroup()));
    expect(mine.outbox).toBe(mine.instanceAny);
    await env.DB.prepare('UPDATE streaming_destinations SET active = 0 WHERE id = ?1').bind(otherDest.id).run();
  });

  it('sends one message per event naming its destinations, FAN_OUT_MAX at most per message', () => {
    const routed = (eventId: number, ids: number[]) => ids.map((destinationId) => ({ eventId, destinationId }));
    const many = Array.from({ length: 2 * FAN_OUT_MAX + 5 }, (_, k) => 1000 + k);
    const messages = fanOutMessages([...routed(7, [3, 1]), ...routed(8, many), ...routed(7, [2])]);
    expect(messages).toEqual([
      { eventId: 7, destinationIds: [3, 1, 2] },
      { eventId: 8, destinationIds: many.slice(0, FAN_OUT_MAX) },
      { eventId: 8, destinationIds: many.slice(FAN_OUT_MAX, 2 * FAN_OUT_MAX) },
      { eventId: 8, destinationIds: many.slice(2 * FAN_OUT_MAX) },
    ]);
    // Each message's jobs, as the consumer reads them, are the deliveries given.
    expect(messages.flatMap((m) => deliveryJobsOf(m)!)).toHaveLength(2 * FAN_OUT_MAX + 8);
    expect(fanOutMessages([])).toEqual([]);
  });

  it('recordAuditEvent skips fan-out when the event got no outbox row, and runs it when it did', async () => {
    const group = await createGroup();
    // Count D1 statements prepared through the Env and keep the event batch's results.
    const d1 = countingEnv();
    let sent = 0;
    const queue = { send: async () => void sent++, sendBatch: async () => void sent++ };
    const counting = { ...d1.env, DELIVERIES: queue } as unknown as Env;
    const record = async () => {
      d1.reset();
      sent = 0;
      const event = await recordAuditEvent(counting, null, { eventType: unique('outbox_skip_').toLowerCase(), author: { id: 1, name: 'Administrator' }, entity: groupEntityOf(group) });
      const outboxWritten = d1.counts.batches[0][1].meta.changes === 1;
      const left = await env.DB.prepare('SELECT 1 FROM audit_event_outbox WHERE event_id = ?1').bind(event.id).first();
      expect(left).toBeNull(); // never left behind: not written, or removed by the fan-out
      return outboxWritten;
    };
    // Without a group destination the row depends on whether another file holds an instance
    // destination at that moment (the first test checks that in one transaction). Either way the
    // fan-out's work (a lookup, the outbox delete: more than the event, outbox and deliveries
    // inserts) is there exactly when the row was written, and something is sent exactly when a
    // delivery was routed.
    const written = await record();
    // Exactly the three inserts (no lookup, no delete) without the row; more with it.
    expect(Math.min(d1.counts.prepared, 4)).toBe(written ? 4 : 3);
    expect(d1.counts.batches).toHaveLength(1);
    expect(sent > 0).toBe(d1.counts.batches[0][2].results.length > 0);
    expect(d1.counts.batches[0][2].results.length > 0 && !written).toBe(false);
    // With one (that takes no event type of this test, so nothing is enqueued for it): the fan-out runs.
    const dest = await insertDestination({ namespaceId: group.id, url: 'http://127.0.0.1:9/outbox', eventTypes: ['not_this_test'] });
    expect(await record()).toBe(true);
    expect(d1.counts.prepared).toBeGreaterThan(3);
    // No destinations lookup: the deliveries were routed in the event's own transaction (none for this filter).
    expect(d1.counts.batches).toHaveLength(1);
    expect(d1.counts.batches[0][2].results).toEqual([]);
    await env.DB.prepare('UPDATE streaming_destinations SET active = 0 WHERE id = ?1').bind(dest.id).run();
  });

  it('records an event with its deliveries in ONE write transaction; if the queue refuses, the sweep sends them later', async () => {
    const root = await createGroup();
    const sub = await createGroup({ parentId: root.id });
    const eventType = unique('outbox_tx_').toLowerCase();
    const all = await insertDestination({ namespaceId: root.id, url: 'http://127.0.0.1:9/outbox-all' });
    const typed = await insertDestination({ namespaceId: root.id, url: 'http://127.0.0.1:9/outbox-typed', eventTypes: [eventType] });
    const otherType = await insertDestination({ namespaceId: root.id, url: 'http://127.0.0.1:9/outbox-other', eventTypes: ['not_this_test'] });
    const subOnly = await insertDestination({
      namespaceId: root.id, url: 'http://127.0.0.1:9/outbox-sub', namespaceFilter: { kind: 'group', id: sub.id, scopePath: `${root.id}/${sub.id}/` },
    });
    const mine = [all.id, typed.id, otherType.id, subOnly.id];
    const rowsOf = async (eventId: number) =>
      (await env.DB.prepare('SELECT destination_id, status FROM deliveries WHERE event_id = ?1 ORDER BY destination_id').bind(eventId).all<{ destination_id: number; status: string }>())
        .results.filter((r) => mine.includes(r.destination_id));
    const outboxOf = (eventId: number) => env.DB.prepare('SELECT 1 FROM audit_event_outbox WHERE event_id = ?1').bind(eventId).first();

    // A queue that refuses: the event and its deliveries are stored in one transaction, the outbox row stays.
    const traced = tracingEnv();
    const refuse = () => Promise.reject(new Error('queue down'));
    const broken = { ...traced.env, DELIVERIES: { send: refuse, sendBatch: refuse } } as unknown as Env;
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    const event = await recordAuditEvent(broken, null, { eventType, author: { id: 1, name: 'Administrator' }, entity: groupEntityOf(root) });
    spy.mockRestore();
    expect(traced.trace.before.d1WriteTransactions).toBe(1);
    // Routed by type filter and namespace filter in SQL: the root-level event skips the other type and the subgroup-only destination.
    expect(await rowsOf(event.id)).toEqual([all.id, typed.id].map((id) => ({ destination_id: id, status: 'pending' })));
    expect(await outboxOf(event.id)).not.toBeNull();
    // An event in the subgroup reaches the subgroup-only destination too.
    const subEvent = await recordAuditEvent(broken, null, {
      eventType, author: { id: 1, name: 'Administrator' }, entity: { ...groupEntityOf(root), id: sub.id, path: sub.full_path, scopePath: `${root.id}/${sub.id}/` },
    });
    expect((await rowsOf(subEvent.id)).map((r) => r.destination_id)).toEqual([all.id, typed.id, subOnly.id]);

    // The sweep sends every pending delivery of overdue outbox rows, then removes the rows.
    const sent: DeliveryJob[] = [];
    const queue = { send: async () => {}, sendBatch: async (m: { body: DeliveryMessage }[]) => void sent.push(...m.flatMap((x) => deliveryJobsOf(x.body)!)) };
    await env.DB.prepare('UPDATE audit_event_outbox SET created_at = ?1 WHERE event_id IN (?2, ?3)').bind(new Date(Date.now() - 120_000).toISOString(), event.id, subEvent.id).run();
    expect(await sweepOutbox({ ...env, DELIVERIES: queue } as unknown as Env)).toBeGreaterThanOrEqual(2);
    expect(sent.filter((j) => j.eventId === event.id).map((j) => j.destinationId)).toEqual([all.id, typed.id]);
    expect(sent.filter((j) => j.eventId === subEvent.id).map((j) => j.destinationId)).toEqual([all.id, typed.id, subOnly.id]);
    expect(await outboxOf(event.id)).toBeNull();

    // With a working queue and a ctx: one transaction before the answer; the outbox row goes in waitUntil.
    const ok = tracingEnv();
    const ctx = createExecutionContext();
    // One message for the event, naming both destinations.
    const messages: DeliveryMessage[] = [];
    const working = { ...ok.env, DELIVERIES: { ...queue, sendBatch: async (m: { body: DeliveryMessage }[]) => void messages.push(...m.map((x) => x.body)) } } as unknown as Env;
    const third = await recordAuditEvent(working, ctx, { eventType, author: { id: 1, name: 'Administrator' }, entity: groupEntityOf(root) });
    expect(ok.trace.before.d1WriteTransactions).toBe(1);
    await waitOnExecutionContext(ctx);
    expect(messages).toEqual([{ eventId: third.id, destinationIds: [all.id, typed.id] }]);
    for (let i = 0; i < 40 && (await outboxOf(third.id)) !== null; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await outboxOf(third.id)).toBeNull();
    await env.DB.prepare(`UPDATE streaming_destinations SET active = 0 WHERE id IN (${mine.join(',')})`).run();
  });
});
