/**
 * Fan-out: from stored events to one queue message per (event, destination). Runs right after
 * events are recorded (in waitUntil) and from the
 * scheduled sweep for events whose outbox row is still there. The deliveries rows are created
 * first (idempotent), then the messages are sent, then the outbox rows are removed; a failure
 * anywhere leaves the outbox rows for the sweep.
 */
import type { DeliveryJob, Env } from '../env';
import type { AuditEvent, AuditEventRow } from '../audit/record';
import { toAuditEvent } from '../audit/record';
import { nowIso } from '../db/time';

/** Queues accept at most 100 messages per sendBatch. */
const SEND_BATCH_LIMIT = 100;

/** The fields of an event that decide where it goes. */
type Routable = Pick<AuditEvent, 'event_type' | 'root_namespace_id' | 'scope_path'>;

/**
 * The destinations that should receive an event: the active destinations of the event's
 * top-level group plus the active instance destinations, narrowed by each destination's event
 * type filters and namespace filter. User-namespace events reach only instance destinations.
 */
export async function destinationsForEvent(db: D1Database, event: Routable): Promise<number[]> {
  return (await destinationsForEvents(db, [event]))[0];
}

/**
 * destinationsForEvent for many events in ONE D1 round trip: the candidate destinations of all
 * their top-level groups (and the instance's) with their filters, matched here. Ascending ids.
 */
export async function destinationsForEvents(db: D1Database, events: Routable[]): Promise<number[][]> {
  if (events.length === 0) return [];
  const roots = JSON.stringify([...new Set(events.map((e) => e.root_namespace_id).filter((r): r is number => r !== null))]);
  // Active instance destinations, and active destinations of these roots when a root is a group.
  const where = `d.active = 1
       AND (d.scope = 'instance'
            OR (d.scope = 'group' AND d.namespace_id IN
                  (SELECT n.id FROM namespaces n WHERE n.kind = 'group' AND n.id IN (SELECT value FROM json_each(?1)))))`;
  const [dests, typeFilters, nsFilters] = await db.batch([
    db.prepare(`SELECT d.id, d.scope, d.namespace_id FROM streaming_destinations d WHERE ${where} ORDER BY d.id`).bind(roots),
    db
      .prepare(
        `SELECT f.destination_id, f.audit_event_type FROM streaming_event_type_filters f
         JOIN streaming_destinations d ON d.id = f.destination_id WHERE ${where}`,
      )
      .bind(roots),
    db
      .prepare(
        `SELECT f.destination_id, f.scope_path FROM streaming_namespace_filters f
         JOIN streaming_destinations d ON d.id = f.destination_id WHERE ${where}`,
      )
      .bind(roots),
  ]);
  const candidates = dests.results as { id: number; scope: string; namespace_id: number | null }[];
  const types = new Map<number, Set<string>>();
  for (const f of typeFilters.results as { destination_id: number; audit_event_type: string }[]) {
    let set = types.get(f.destination_id);
    if (!set) types.set(f.destination_id, (set = new Set()));
    set.add(f.audit_event_type);
  }
  const prefixes = new Map<number, string>();
  for (const f of nsFilters.results as { destination_id: number; scope_path: string }[]) prefixes.set(f.destination_id, f.scope_path);
  return events.map((e) =>
    candidates
      .filter((d) => {
        if (d.scope !== 'instance' && d.namespace_id !== e.root_namespace_id) return false;
        const t = types.get(d.id);
        if (t && !t.has(e.event_type)) return false;
        // The namespace filter: the event's position must lie under the filtered subgroup or project.
        const prefix = prefixes.get(d.id);
        return prefix === undefined || (e.scope_path !== null && e.scope_path.startsWith(prefix));
      })
      .map((d) => d.id),
  );
}

/**
 * Create the pending deliveries of events and enqueue one message for each; clear their outbox
 * rows. Set-based: one round trip finds the destinations of all the events, one statement
 * creates their deliveries (none when nothing matches), one removes the outbox rows.
 */
export async function dispatchEvents(env: Env, events: AuditEvent[]): Promise<void> {
  if (events.length === 0) return;
  const matches = await destinationsForEvents(env.DB, events);
  const jobs: DeliveryJob[] = [];
  events.forEach((e, i) => {
    for (const destinationId of matches[i]) jobs.push({ eventId: e.id, destinationId });
  });
  if (jobs.length > 0) {
    await env.DB
      .prepare(
        `INSERT OR IGNORE INTO deliveries (event_id, destination_id, status, created_at, updated_at)
         SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), 'pending', ?2, ?2 FROM json_each(?1)`,
      )
      .bind(JSON.stringify(jobs.map((j) => [j.eventId, j.destinationId])), nowIso())
      .run();
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < jobs.length; i += SEND_BATCH_LIMIT) {
      sends.push(env.DELIVERIES.sendBatch(jobs.slice(i, i + SEND_BATCH_LIMIT).map((body) => ({ body, contentType: 'json' as const }))));
    }
    await Promise.all(sends);
  }
  await env.DB
    .prepare(`DELETE FROM audit_event_outbox WHERE event_id IN (SELECT value FROM json_each(?1))`)
    .bind(JSON.stringify(events.map((e) => e.id)))
    .run();
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
