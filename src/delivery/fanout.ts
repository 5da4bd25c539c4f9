/**
 * Fan-out: from a stored event to one queue message per (event, destination). Runs right after
 * an event is recorded (in waitUntil) and from the scheduled sweep for events whose outbox row
 * is still there. The deliveries rows are created first (idempotent), then the messages are
 * sent, then the outbox row is removed; a failure anywhere leaves the outbox row for the sweep.
 */
import type { DeliveryJob, Env } from '../env';
import type { AuditEvent, AuditEventRow } from '../audit/record';
import { toAuditEvent } from '../audit/record';
import { nowIso } from '../db/time';

/** Queues accept at most 100 messages per sendBatch. */
const SEND_BATCH_LIMIT = 100;

/**
 * The destinations that should receive an event: the active destinations of the event's
 * top-level group plus the active instance destinations, narrowed by each destination's event
 * type filters and namespace filter. User-namespace events reach only instance destinations.
 */
export async function destinationsForEvent(db: D1Database, event: Pick<AuditEvent, 'event_type' | 'root_namespace_id' | 'scope_path'>): Promise<number[]> {
  const rows = await db
    .prepare(
      `SELECT d.id FROM streaming_destinations d
       LEFT JOIN streaming_namespace_filters nf ON nf.destination_id = d.id
       WHERE d.active = 1
         AND (d.scope = 'instance'
              OR (d.scope = 'group' AND d.namespace_id = ?1
                  AND EXISTS (SELECT 1 FROM namespaces n WHERE n.id = ?1 AND n.kind = 'group')))
         AND (NOT EXISTS (SELECT 1 FROM streaming_event_type_filters f WHERE f.destination_id = d.id)
              OR EXISTS (SELECT 1 FROM streaming_event_type_filters f WHERE f.destination_id = d.id AND f.audit_event_type = ?2))
         AND (nf.id IS NULL OR (?3 IS NOT NULL AND substr(?3, 1, length(nf.scope_path)) = nf.scope_path))
       ORDER BY d.id`,
    )
    .bind(event.root_namespace_id ?? -1, event.event_type, event.scope_path)
    .all<{ id: number }>();
  return rows.results.map((r) => r.id);
}

/** Create the pending deliveries of events and enqueue one message for each; clear their outbox rows. */
export async function dispatchEvents(env: Env, events: AuditEvent[]): Promise<void> {
  if (events.length === 0) return;
  const jobs: DeliveryJob[] = [];
  for (const e of events) {
    for (const destinationId of await destinationsForEvent(env.DB, e)) jobs.push({ eventId: e.id, destinationId });
  }
  const now = nowIso();
  if (jobs.length > 0) {
    await env.DB.batch(
      jobs.map((j) =>
        env.DB
          .prepare(
            `INSERT OR IGNORE INTO deliveries (event_id, destination_id, status, created_at, updated_at) VALUES (?1, ?2, 'pending', ?3, ?3)`,
          )
          .bind(j.eventId, j.destinationId, now),
      ),
    );
    for (let i = 0; i < jobs.length; i += SEND_BATCH_LIMIT) {
      await env.DELIVERIES.sendBatch(jobs.slice(i, i + SEND_BATCH_LIMIT).map((body) => ({ body, contentType: 'json' as const })));
    }
  }
  const ids = events.map((e) => e.id);
  for (let i = 0; i < ids.length; i += 90) {
    const chunk = ids.slice(i, i + 90);
    await env.DB
      .prepare(`DELETE FROM audit_event_outbox WHERE event_id IN (${chunk.map((_, k) => `?${k + 1}`).join(', ')})`)
      .bind(...chunk)
      .run();
  }
}

/**
 * The sweep: enqueue events whose outbox row is older than `minAgeMs` (their dispatch did not
 * finish). Runs from the Cron Trigger; returns how many events it dispatched.
 */
export async function sweepOutbox(env: Env, minAgeMs = 30_000, limit = 500): Promise<number> {
  const cutoff = new Date(Date.now() - minAgeMs).toISOString();
  const rows = await env.DB
    .prepare(
      `SELECT e.* FROM audit_event_outbox o JOIN audit_events e ON e.id = o.event_id
       WHERE o.created_at <= ?1 ORDER BY o.event_id LIMIT ?2`,
    )
    .bind(cutoff, limit)
    .all<AuditEventRow>();
  const events = rows.results.map(toAuditEvent);
  if (events.length === 0) return 0;
  await env.DB
    .prepare(`UPDATE audit_event_outbox SET attempts = attempts + 1 WHERE event_id IN (SELECT event_id FROM audit_event_outbox WHERE created_at <= ?1 ORDER BY event_id LIMIT ?2)`)
    .bind(cutoff, limit)
    .run();
  await dispatchEvents(env, events);
  return events.length;
}
