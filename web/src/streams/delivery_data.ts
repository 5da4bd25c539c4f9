/** The delivery log's data (ours; GitLab has none): one page of a destination's deliveries with their attempts, over GraphQL. */
import { gql } from '../api';
import type { StreamsContext } from './context';

export const PAGE_SIZE = 20;

export interface Attempt {
  attempt: number;
  status: string;
  httpStatus: number | null;
  durationMs: number;
  errorClass: string | null;
  responseExcerpt: string | null;
  createdAt: string;
}

export interface DeliveryEntry {
  id: string;
  eventId: string;
  eventType: string | null;
  status: string;
  attemptsCount: number;
  lastHttpStatus: number | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string | null;
  deliveredAt: string | null;
  nextRetryAt: string | null;
  attempts: Attempt[];
}

export interface Counts {
  pending: number;
  delivered: number;
  failed: number;
  total: number;
}

export interface DeliveryPage {
  nodes: DeliveryEntry[];
  count: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

const ENTRY_FIELDS =
  'id eventId eventType status attemptsCount lastHttpStatus lastError createdAt updatedAt deliveredAt nextRetryAt attempts { attempt status httpStatus durationMs errorClass responseExcerpt createdAt }';

/** A destination as the delivery log names it: its consolidated GID (any category) and its name. */
export interface DeliveryTarget {
  id: string;
  name: string;
}

/** The deliveries query of a scope (every destination's list is asked; the caller picks its own). */
function deliveriesQuery(kind: 'group' | 'instance', fields: string): string {
  const args = '$status: AuditEventStreamingDeliveryStatus, $after: String, $first: Int';
  const inner = `nodes { id deliveryCounts { pending delivered failed total } deliveries(first: $first, after: $after, status: $status) { count pageInfo { hasNextPage endCursor } nodes { ${fields} } } }`;
  return kind === 'group'
    ? `query ($fullPath: ID!, ${args}) { group(fullPath: $fullPath) { externalAuditEventStreamingDestinations(first: 100) { ${inner} } } }`
    : `query (${args}) { auditEventsInstanceStreamingDestinations(first: 100) { ${inner} } }`;
}

/** One page of a destination's deliveries (null when the destination is gone). */
export async function fetchDeliveries(
  ctx: StreamsContext,
  d: DeliveryTarget,
  opts: { status?: string; after?: string | null; first?: number; fields?: string },
): Promise<{ page: DeliveryPage; counts: Counts } | null> {
  const vars: Record<string, unknown> = { status: opts.status || null, after: opts.after ?? null, first: opts.first ?? PAGE_SIZE };
  if (ctx.scope.kind === 'group') vars.fullPath = ctx.scope.path;
  const data = await gql(deliveriesQuery(ctx.scope.kind, opts.fields ?? ENTRY_FIELDS), vars);
  type Node = { id: string; deliveryCounts: Counts; deliveries: DeliveryPage };
  const mine = (ctx.cfg.nodes<Node>(data) || []).find((x) => x.id === d.id);
  return mine ? { page: mine.deliveries, counts: mine.deliveryCounts } : null;
}
