/** Helpers of the delivery tests: destinations and events written straight to D1. */
import { env } from 'cloudflare:workers';
import { auditEventStatements, type AuditEntity, type AuditEvent } from '../../src/audit/record';
import { toAuditEvents } from '../../src/db/audit_events';
import { unique } from '../support/api';
import type { DeliveryMessage } from '../../src/env';

/** A fresh Standard Webhooks secret. */
export function newSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `whsec_${btoa(String.fromCharCode(...bytes))}`;
}

export interface TestDestination {
  id: number;
  secret: string;
  token: string;
  url: string;
}

/** Insert a streaming destination (group scope unless namespaceId is null) with optional headers and filters. */
export async function insertDestination(opts: {
  namespaceId: number | null;
  url: string;
  active?: boolean;
  headers?: Record<string, string>;
  inactiveHeaders?: Record<string, string>;
  eventTypes?: string[];
  namespaceFilter?: { kind: 'group' | 'project'; id: number; scopePath: string };
  previousSecret?: { secret: string; expiresAt: string };
}): Promise<TestDestination> {
  const now = new Date().toISOString();
  const secret = newSecret();
  const token = unique('tok').slice(0, 24).padEnd(16, 'x');
  const row = await env.DB.prepare(
    `INSERT INTO streaming_destinations (scope, namespace_id, name, destination_url, verification_token, signing_secret,
       previous_signing_secret, previous_secret_expires_at, active, created_at, updated_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10) RETURNING id`,
  )
    .bind(
      opts.namespaceId === null ? 'instance' : 'group', opts.namespaceId, unique('dest'), opts.url, token, secret,
      opts.previousSecret?.secret ?? null, opts.previousSecret?.expiresAt ?? null, opts.active === false ? 0 : 1, now,
    )
    .first<{ id: number }>();
  const id = row!.id;
  const stmts: D1PreparedStatement[] = [];
  for (const [k, v] of Object.entries(opts.headers ?? {})) {
    stmts.push(env.DB.prepare(`INSERT INTO streaming_headers (destination_id, key, value, active, created_at) VALUES (?1, ?2, ?3, 1, ?4)`).bind(id, k, v, now));
  }
  for (const [k, v] of Object.entries(opts.inactiveHeaders ?? {})) {
    stmts.push(env.DB.prepare(`INSERT INTO streaming_headers (destination_id, key, value, active, created_at) VALUES (?1, ?2, ?3, 0, ?4)`).bind(id, k, v, now));
  }
  for (const t of opts.eventTypes ?? []) {
    stmts.push(env.DB.prepare(`INSERT INTO streaming_event_type_filters (destination_id, audit_event_type, created_at) VALUES (?1, ?2, ?3)`).bind(id, t, now));
  }
  if (opts.namespaceFilter) {
    const f = opts.namespaceFilter;
    stmts.push(
      env.DB.prepare(
        `INSERT INTO streaming_namespace_filters (destination_id, namespace_kind, namespace_id, scope_path, created_at) VALUES (?1, ?2, ?3, ?4, ?5)`,
      ).bind(id, f.kind, f.id, f.scopePath, now),
    );
  }
  if (stmts.length) await env.DB.batch(stmts);
  return { id, secret, token, url: opts.url };
}

/** A group entity for direct event inserts. */
export function groupEntityOf(group: { id: number; full_path: string }): AuditEntity {
  return { type: 'Group', id: group.id, path: group.full_path, rootNamespaceId: group.id, scopePath: `${group.id}/`, projectId: null };
}

/**
 * Store an event WITHOUT dispatching it (its outbox row and the deliveries rows recording gave it
 * are removed too), so a unit test decides which deliveries exist and which messages the consumer sees.
 */
export async function insertEventQuietly(entity: AuditEntity, eventType = 'audit_operation'): Promise<AuditEvent> {
  return (await insertEventsQuietly(entity, 1, eventType))[0];
}

/** `n` events stored in one D1 batch without being dispatched (their outbox rows and deliveries rows removed). */
export async function insertEventsQuietly(entity: AuditEntity, n: number, eventType = 'audit_operation'): Promise<AuditEvent[]> {
  const input = {
    eventType,
    author: { id: 1, name: 'Administrator' },
    entity,
    target: { id: 7, type: 'Thing', details: 'thing 7' },
    ipAddress: '203.0.113.9',
    details: { custom_message: 'delivery test' },
  };
  const per = auditEventStatements(env.DB, input).length;
  const results = await env.DB.batch(Array.from({ length: n }, () => auditEventStatements(env.DB, input)).flat());
  const events = results.filter((_, i) => i % per === 0).flatMap((r) => toAuditEvents(r));
  const ids = JSON.stringify(events.map((e) => e.id));
  await env.DB.batch([
    env.DB.prepare('DELETE FROM audit_event_outbox WHERE event_id IN (SELECT value FROM json_each(?1))').bind(ids),
    env.DB.prepare('DELETE FROM deliveries WHERE event_id IN (SELECT value FROM json_each(?1))').bind(ids),
  ]);
  return events;
}

/** The delivery row of (event, destination). */
export async function deliveryRow(eventId: number, destinationId: number) {
  return env.DB.prepare('SELECT * FROM deliveries WHERE event_id = ?1 AND destination_id = ?2').bind(eventId, destinationId).first<{
    id: number; status: string; attempts: number; run_attempts: number; last_http_status: number | null; last_error: string | null; delivered_at: string | null;
    next_retry_at: string | null; updated_at: string;
  }>();
}

/** The attempts of a delivery, oldest first. */
export async function attemptRows(deliveryId: number) {
  const r = await env.DB.prepare('SELECT * FROM delivery_attempts WHERE delivery_id = ?1 ORDER BY id').bind(deliveryId).all<{
    attempt: number; status: string; http_status: number | null; duration_ms: number; error_class: string | null; response_excerpt: string | null;
  }>();
  return r.results;
}

/** The destination row. */
export async function destinationRow(id: number) {
  return env.DB.prepare('SELECT active, consecutive_failures, breaker_open_until FROM streaming_destinations WHERE id = ?1').bind(id).first<{
    active: number; consecutive_failures: number; breaker_open_until: string | null;
  }>();
}

/** How and when a message of a fakeBatch was settled. */
export interface Settled {
  action: 'ack' | 'retry';
  at: number;
  delaySeconds?: number;
}

let fakeSeq = 0;
/** A MessageBatch of `jobs` whose messages record when and how they were settled. */
export function fakeBatch(jobs: DeliveryMessage[], attempts: number[] = []) {
  const settled = new Map<string, Settled>();
  const messages = jobs.map((body, k) => {
    const id = `fake-${++fakeSeq}`;
    return {
      id, timestamp: new Date(), body, attempts: attempts[k] ?? 1,
      ack: () => void settled.set(id, { action: 'ack', at: Date.now() }),
      retry: (o?: QueueRetryOptions) => void settled.set(id, { action: 'retry', at: Date.now(), delaySeconds: o?.delaySeconds }),
    };
  });
  const batch = { queue: 'deliveries', messages, ackAll: () => {}, retryAll: () => {} } as unknown as MessageBatch<DeliveryMessage>;
  return { batch, settled, ids: messages.map((m) => m.id) };
}

/** The jobs waiting in every lane of a destination, by event id. */
export async function laneJobs(destinationId: number) {
  const { lanesOf } = await import('../../src/delivery/lanes');
  const all = (await Promise.all(lanesOf(env, destinationId).map((lane) => lane.pending()))).flat();
  return all.sort((a, b) => a.eventId - b.eventId);
}

/** Poll `fn` until `ok` holds of its value (or `timeoutMs` pass); returns the last value. */
export async function waitFor<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}
