/** Helpers for the GraphQL destination tests. */
import { expect } from 'vitest';
import { env } from 'cloudflare:workers';
import { gql } from '../support/api';

export const NOT_AVAILABLE =
  "The resource that you are attempting to access does not exist or you don't have permission to perform this action";

/** Run an operation and return its data, failing on any top-level error. */
export async function ok<T = any>(query: string, token: string | null, variables?: Record<string, unknown>): Promise<T> {
  const r = await gql<T>(query, variables, token);
  expect(r.body.errors, JSON.stringify(r.body.errors)).toBeUndefined();
  expect(r.status).toBe(200);
  return r.body.data as T;
}

/** Run an operation and return the messages of its top-level errors (expects some). */
export async function topErrors(query: string, token: string | null, variables?: Record<string, unknown>): Promise<string[]> {
  const r = await gql(query, variables, token);
  expect(r.body.errors, `expected errors, got ${JSON.stringify(r.body)}`).toBeDefined();
  return r.body.errors!.map((e) => e.message);
}

/** Create a group destination and return its GID (fails on errors). */
export async function createDestination(token: string, groupPath: string, extra: Record<string, string> = {}): Promise<{ id: string; verificationToken: string; signingSecret: string; name: string }> {
  const url = extra.destinationUrl ?? `https://example.com/${crypto.randomUUID()}`;
  const data = await ok(
    `mutation($input: ExternalAuditEventDestinationCreateInput!) {
      externalAuditEventDestinationCreate(input: $input) { errors externalAuditEventDestination { id name verificationToken signingSecret } }
    }`,
    token,
    { input: { destinationUrl: url, groupPath, ...extra } },
  );
  expect(data.externalAuditEventDestinationCreate.errors).toEqual([]);
  return data.externalAuditEventDestinationCreate.externalAuditEventDestination;
}

/** The numeric id in a GID. */
export function idOf(gid: string): number {
  return Number(gid.split('/').pop());
}

/** Audit events recorded on an entity, newest first. */
export async function eventsOn(entityType: string, entityId: number): Promise<{ event_type: string; details: string; target_id: number | null; target_details: string | null }[]> {
  const rows = await env.DB.prepare('SELECT * FROM audit_events WHERE entity_type = ?1 AND entity_id = ?2 ORDER BY id DESC')
    .bind(entityType, entityId)
    .all<{ event_type: string; details: string; target_id: number | null; target_details: string | null }>();
  return rows.results;
}
