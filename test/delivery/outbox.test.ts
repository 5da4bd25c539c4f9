/**
 * The outbox row of an event is written (in the event's own transaction) only when a
 * destination could receive it: an active instance destination, or an active destination of the
 * event's top-level group. Without one, recordAuditEvent does no fan-out work at all.
 * Other test files may hold active instance destinations at any moment, so every expectation
 * here reads that state in the same D1 batch (one transaction) as the insert it judges.
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { auditEventStatements, recordAuditEvent, type AuditEntity } from '../../src/audit/record';
import type { Env } from '../../src/env';
import { createGroup, unique } from '../support/api';
import { groupEntityOf, insertDestination } from './support';
import { countingEnv } from '../support/d1';

const INSTANCE_ACTIVE = `SELECT EXISTS (SELECT 1 FROM streaming_destinations WHERE scope = 'instance' AND active = 1) AS any`;

/** Insert one event as recordAuditEvent does; report whether it got an outbox row and whether an instance destination was active. */
async function insertProbe(entity: AuditEntity): Promise<{ outbox: boolean; instanceActive: boolean }> {
  const input = { eventType: unique('outbox_probe_').toLowerCase(), author: { id: 1, name: 'Administrator' }, entity };
  const [, outbox, instance] = await env.DB.batch([...auditEventStatements(env.DB, input), env.DB.prepare(INSTANCE_ACTIVE)]);
  return { outbox: outbox.meta.changes === 1, instanceActive: (instance.results[0] as { any: number }).any === 1 };
}

describe('outbox rows only for events a destination could receive', () => {
  it('a group without destinations gets none unless an instance destination is active', async () => {
    const group = await createGroup();
    const { outbox, instanceActive } = await insertProbe(groupEntityOf(group));
    expect(outbox).toBe(instanceActive);
  });

  it('an active destination of the top-level group gets a row for events anywhere under it; an inactive one does not', async () => {
    const root = await createGroup();
    const sub = await createGroup({ parentId: root.id });
    const dest = await insertDestination({ namespaceId: root.id, url: 'http://127.0.0.1:9/outbox' });
    const subEntity: AuditEntity = { type: 'Group', id: sub.id, path: sub.full_path, rootNamespaceId: root.id, scopePath: `${root.id}/${sub.id}/`, projectId: null };
    expect((await insertProbe(subEntity)).outbox).toBe(true);
    expect((await insertProbe(groupEntityOf(root))).outbox).toBe(true);
    await env.DB.prepare('UPDATE streaming_destinations SET active = 0 WHERE id = ?1').bind(dest.id).run();
    const after = await insertProbe(subEntity);
    expect(after.outbox).toBe(after.instanceActive);
    // Another group's destination does not count.
    const other = await createGroup();
    const otherDest = await insertDestination({ namespaceId: other.id, url: 'http://127.0.0.1:9/outbox' });
    const mine = await insertProbe(groupEntityOf(root));
    expect(mine.outbox).toBe(mine.instanceActive);
    await env.DB.prepare('UPDATE streaming_destinations SET active = 0 WHERE id = ?1').bind(otherDest.id).run();
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
    // Without a group destination: fan-out only if an instance destination happened to be active.
    if (!(await record())) {
      expect(d1.counts.prepared).toBe(2); // the event and its (empty) outbox insert: no lookup, no delete
      expect(d1.counts.batches).toHaveLength(1);
      expect(sent).toBe(0);
    }
    // With one (that takes no event type of this test, so nothing is enqueued for it): the fan-out runs.
    const dest = await insertDestination({ namespaceId: group.id, url: 'http://127.0.0.1:9/outbox', eventTypes: ['not_this_test'] });
    expect(await record()).toBe(true);
    expect(d1.counts.prepared).toBeGreaterThan(2);
    expect(d1.counts.batches.length).toBeGreaterThan(1); // the destinations lookup
    await env.DB.prepare('UPDATE streaming_destinations SET active = 0 WHERE id = ?1').bind(dest.id).run();
  });
});
