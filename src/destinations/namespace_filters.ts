/**
 * Namespace filters of GitLab 18's consolidated streaming API (AuditEventsGroup/Instance
 * DestinationNamespaceFilterCreate and Delete): up to 5 per destination, each naming a group
 * (matching it, its subgroups and their projects) or a project (matching only it), once per
 * destination. The legacy API's single filter is the first of them (filters.ts). Each change
 * commits with its audit event.
 */
import { recordAuditEvent, recordChangeIfChanged } from '../audit/record';
import {
  countNamespaceFilters,
  deleteNamespaceFilterStatement,
  findNamespaceFilterByNamespace,
  insertedNamespaceFilter,
  insertNamespaceFilterUpToStatement,
  type NamespaceFilter,
} from '../db/namespace_filters';
import { isUniqueViolation } from '../db/destinations';
import type { FilterTarget, Owned } from './access';
import type { ChangeContext } from './audit';
import { streamingEvent } from './streaming';

/** GitLab's MAXIMUM_NAMESPACE_FILTER_COUNT. */
export const MAX_NAMESPACE_FILTERS = 5;

const TAKEN = 'Namespace has already been taken';
const LIMIT = `Namespace filters are limited to ${MAX_NAMESPACE_FILTERS} per destination`;

/** Add a namespace filter to a destination (`path`: the namespace as named, for the event). */
export async function createNamespaceFilter(
  c: ChangeContext,
  owned: Owned,
  target: FilterTarget,
  path: string,
): Promise<{ namespaceFilter: NamespaceFilter | null; errors: string[] }> {
  const d = owned.destination;
  if (await findNamespaceFilterByNamespace(c.env.DB, d.id, target.kind, target.id)) return { namespaceFilter: null, errors: [TAKEN] };
  if ((await countNamespaceFilters(c.env.DB, d.id)) >= MAX_NAMESPACE_FILTERS) return { namespaceFilter: null, errors: [LIMIT] };
  try {
    const { result, event } = await recordChangeIfChanged(
      c.env,
      c.ctx,
      insertNamespaceFilterUpToStatement(c.env.DB, { destinationId: d.id, namespaceKind: target.kind, namespaceId: target.id, scopePath: target.scopePath }, MAX_NAMESPACE_FILTERS),
      streamingEvent(c, owned, 'created_namespace_filter', `Create namespace filter for ${d.category} audit event streaming destination ${d.name} and namespace ${path}`),
    );
    // A racing create took the last place between the count above and the insert.
    if (!event) return { namespaceFilter: null, errors: [LIMIT] };
    return { namespaceFilter: insertedNamespaceFilter(result), errors: [] };
  } catch (err) {
    if (isUniqueViolation(err)) return { namespaceFilter: null, errors: [TAKEN] };
    throw err;
  }
}

/** Remove one of a destination's namespace filters. */
export async function removeNamespaceFilter(c: ChangeContext, owned: Owned, filter: NamespaceFilter): Promise<void> {
  await recordAuditEvent(
    c.env,
    c.ctx,
    streamingEvent(c, owned, 'deleted_namespace_filter', `Delete namespace filter for ${owned.destination.category} audit event streaming destination ${owned.destination.name}`),
    [deleteNamespaceFilterStatement(c.env.DB, filter.id)],
  );
}
