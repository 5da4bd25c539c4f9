/**
 * Event type filters and namespace filters of streaming destinations (GitLab's
 * AuditEvents::Streaming::EventTypeFilters and HTTP::NamespaceFilters services). Each change
 * commits in one D1 transaction together with its audit event.
 */
import {
  deleteEventTypeFilterStatements,
  deleteNamespaceFilterStatement,
  findNamespaceFilterOfDestination,
  insertEventTypeFilterStatements,
  insertNamespaceFilterStatement,
  isUniqueViolation,
  listEventTypeFilters,
  namespaceFilterExistsFor,
  type NamespaceFilter,
} from '../db/destinations';
import { recordAuditEvent, recordAuditEventIfChanged } from '../audit/record';
import type { Owned, OwnedGroupDestination, FilterTarget } from './access';
import { destinationEvent, type ChangeContext } from './audit';
import { DestinationArgumentError } from './errors';
import { EVENT_TYPE_FILTERS_MUST_BE_PRESENT, eventTypeFilterErrors, missingEventTypeFiltersError } from './rules';

/** Add event type filters; GitLab answers with the destination's whole filter list. */
export async function addEventTypeFilters(c: ChangeContext, owned: Owned, filters: string[]): Promise<{ eventTypeFilters: string[]; errors: string[] }> {
  if (filters.length === 0) throw new DestinationArgumentError(EVENT_TYPE_FILTERS_MUST_BE_PRESENT);
  const d = owned.destination;
  const existing = await listEventTypeFilters(c.env.DB, d.id);
  const errors = eventTypeFilterErrors(filters, existing);
  if (errors.length) return { eventTypeFilters: existing, errors };
  try {
    await recordAuditEvent(
      c.env,
      c.ctx,
      destinationEvent(c, owned, 'event_type_filters_created', `Created audit event type filter(s): ${filters.join(', ')}`, { event_type_filters: filters }),
      insertEventTypeFilterStatements(c.env.DB, d.id, filters),
    );
  } catch (err) {
    if (isUniqueViolation(err)) return { eventTypeFilters: existing, errors: ['Audit event type has already been taken'] };
    throw err;
  }
  return { eventTypeFilters: await listEventTypeFilters(c.env.DB, d.id), errors: [] };
}

/** Remove event type filters; filters the destination does not have are reported, nothing removed. */
export async function removeEventTypeFilters(c: ChangeContext, owned: Owned, filters: string[]): Promise<{ errors: string[] }> {
  if (filters.length === 0) throw new DestinationArgumentError(EVENT_TYPE_FILTERS_MUST_BE_PRESENT);
  const d = owned.destination;
  const existing = new Set(await listEventTypeFilters(c.env.DB, d.id));
  const unique = [...new Set(filters)];
  const missing = unique.filter((f) => !existing.has(f));
  if (missing.length) return { errors: [missingEventTypeFiltersError(missing)] };
  await recordAuditEvent(
    c.env,
    c.ctx,
    destinationEvent(c, owned, 'event_type_filters_deleted', `Deleted audit event type filter(s): ${unique.join(', ')}`, { event_type_filters: unique }),
    deleteEventTypeFilterStatements(c.env.DB, d.id, unique),
  );
  return { errors: [] };
}

const NAMESPACE_TAKEN = 'Namespace has already been taken';

/** Restrict a group destination to one subgroup or project (`path`: the one named, for the event). */
export async function addNamespaceFilter(
  c: ChangeContext,
  owned: OwnedGroupDestination,
  target: FilterTarget,
  path: string | null | undefined,
): Promise<{ namespaceFilter: NamespaceFilter | null; errors: string[] }> {
  const d = owned.destination;
  const errors: string[] = [];
  if (await findNamespaceFilterOfDestination(c.env.DB, d.id)) errors.push('External audit event destination has already been taken');
  if (await namespaceFilterExistsFor(c.env.DB, target.kind, target.id)) errors.push(NAMESPACE_TAKEN);
  if (errors.length) return { namespaceFilter: null, errors };
  // The insert re-checks both rules itself: a racing add that took the place changes no row.
  const event = await recordAuditEventIfChanged(
    c.env,
    c.ctx,
    destinationEvent(c, owned, 'created_namespace_filter', `Create namespace filter for http audit event streaming destination ${d.name} and namespace ${path}`),
    insertNamespaceFilterStatement(c.env.DB, { destinationId: d.id, namespaceKind: target.kind, namespaceId: target.id, scopePath: target.scopePath }),
  );
  if (!event) return { namespaceFilter: null, errors: [NAMESPACE_TAKEN] };
  return { namespaceFilter: await findNamespaceFilterOfDestination(c.env.DB, d.id), errors: [] };
}

/** Remove a destination's namespace filter. */
export async function deleteNamespaceFilter(c: ChangeContext, owned: OwnedGroupDestination, filter: NamespaceFilter): Promise<void> {
  await recordAuditEvent(
    c.env,
    c.ctx,
    destinationEvent(c, owned, 'deleted_namespace_filter', `Delete namespace filter for http audit event streaming destination ${owned.destination.name}`),
    [deleteNamespaceFilterStatement(c.env.DB, filter.id)],
  );
}
