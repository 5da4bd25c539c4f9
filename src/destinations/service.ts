/**
 * Streaming destination changes, for every surface: GitLab's AuditEvents::Streaming create,
 * update and destroy services, and (ours) the signing secret's rotation. Each change commits in
 * one D1 transaction together with the audit event(s) describing it. Validation errors come back
 * as GitLab's texts in `errors`; loading and authorization are in access.ts.
 */
import type { Namespace } from '../db/namespaces';
import {
  countDestinations,
  deleteDestinationStatements,
  destinationIdOf,
  findDestination,
  insertDestinationStatement,
  insertedDestination,
  isUniqueViolation,
  rotateSecretStatement,
  takenAttributes,
  updateDestinationStatement,
  type Destination,
  type DestinationScope,
} from '../db/destinations';
import { recordAuditEvent, recordAuditEvents, recordChangesIfChanged, type AuditEventInput } from '../audit/record';
import { insertNewDestinationFiltersStatement } from '../db/new_destination_filters';
import { DestinationArgumentError } from './errors';
import type { Owned } from './access';
import { destinationEvent, EVENT_TYPES, type ChangeContext } from './audit';
import {
  DESTINATION_LIMITS,
  defaultDestinationName,
  destinationUrlErrors,
  EVENT_TYPE_FILTERS_MUST_BE_PRESENT,
  eventTypeFilterErrors,
  generateSigningSecret,
  generateVerificationToken,
  maxDestinations,
  nameErrors,
  verificationTokenErrors,
} from './rules';

/** A destination after a change (the unchanged one, or null, when refused), and why refused. */
export interface DestinationResult {
  destination: Destination | null;
  errors: string[];
}

/** The "has already been taken" errors of the attributes another destination holds. */
function takenErrors(taken: { destinationUrl?: boolean; name?: boolean; verificationToken?: boolean }): string[] {
  const errors: string[] = [];
  if (taken.destinationUrl) errors.push('Destination url has already been taken');
  if (taken.name) errors.push('Name has already been taken');
  if (taken.verificationToken) errors.push('Verification token has already been taken');
  return errors;
}

/** Validate and insert a destination; it and its creation event commit together. */
export async function createDestination(
  c: ChangeContext,
  scope: DestinationScope,
  group: Namespace | null,
  args: { destinationUrl: string; name?: string | null; verificationToken?: string | null; eventTypeFilters?: string[] | null },
): Promise<DestinationResult> {
  const db = c.env.DB;
  const namespaceId = group?.id ?? null;
  const filters = args.eventTypeFilters ?? [];
  // Ours (issue 15): filters given with the create are validated as auditEventsStreamingDestinationEventsAdd does.
  if (args.eventTypeFilters && filters.length === 0) throw new DestinationArgumentError(EVENT_TYPE_FILTERS_MUST_BE_PRESENT);
  const errors = [...destinationUrlErrors(args.destinationUrl, c.env), ...eventTypeFilterErrors(filters, [])];
  if (args.name !== undefined && args.name !== null) errors.push(...nameErrors(args.name));
  if (args.verificationToken !== undefined && args.verificationToken !== null) errors.push(...verificationTokenErrors(args.verificationToken));
  const limit = maxDestinations(c.env);
  // GitLab's Limitable message.
  const limitError = `Maximum number of ${scope === 'group' ? 'external' : 'instance external'} audit event destinations (${limit}) exceeded`;
  if ((await countDestinations(db, scope, namespaceId)) >= limit) errors.push(limitError);
  const name = args.name ?? defaultDestinationName();
  const verificationToken = args.verificationToken ?? generateVerificationToken();
  errors.push(...takenErrors(await takenAttributes(db, scope, namespaceId, { name, destinationUrl: args.destinationUrl, verificationToken }, null)));
  if (errors.length) return { destination: null, errors };
  const created = { scope, namespaceId, name, destinationUrl: args.destinationUrl, verificationToken, signingSecret: generateSigningSecret() };
  let destination: Destination | null;
  try {
    // With filters, they are written before the creation event in the same transaction, so the
    // event is routed through them (and the event is written only when the filters were).
    const { results } = await recordChangesIfChanged(
      c.env,
      c.ctx,
      [insertDestinationStatement(db, created, limit), ...(filters.length ? [insertNewDestinationFiltersStatement(db, verificationToken, filters)] : [])],
      destinationEvent(
        c,
        { destination: { ...created, id: destinationIdOf(created) }, group },
        EVENT_TYPES[scope].create,
        `Create event streaming destination ${created.destinationUrl}`,
        filters.length ? { event_type_filters: [...new Set(filters)] } : {},
      ),
    );
    destination = insertedDestination(results[0]);
  } catch (err) {
    if (isUniqueViolation(err)) return { destination: null, errors: ['Destination url, name or verification token has already been taken'] };
    throw err;
  }
  // Another create took the last place between the count above and the insert.
  if (!destination) return { destination: null, errors: [limitError] };
  return { destination, errors: [] };
}

/** Validate and apply name / URL / active changes; one audit event per changed attribute, as GitLab. */
export async function updateDestination(
  c: ChangeContext,
  owned: Owned,
  args: { destinationUrl?: string | null; name?: string | null; active?: boolean | null },
): Promise<DestinationResult> {
  const d = owned.destination;
  const next = {
    id: d.id,
    destinationUrl: args.destinationUrl ?? d.destinationUrl,
    name: args.name ?? d.name,
    active: args.active ?? d.active,
  };
  const errors: string[] = [];
  if (next.destinationUrl !== d.destinationUrl) errors.push(...destinationUrlErrors(next.destinationUrl, c.env));
  if (next.name !== d.name) errors.push(...nameErrors(next.name));
  errors.push(...takenErrors(await takenAttributes(c.env.DB, d.scope, d.namespaceId, { name: next.name, destinationUrl: next.destinationUrl }, d.id)));
  if (errors.length) return { destination: d, errors };
  const changes: AuditEventInput[] = [];
  const type = EVENT_TYPES[d.scope].update;
  const change = (column: string, from: unknown, to: unknown) =>
    changes.push(destinationEvent(c, { ...owned, destination: { ...d, name: next.name } }, type, `Changed ${column} from ${from} to ${to}`, { change: column, from, to }));
  if (next.destinationUrl !== d.destinationUrl) change('destination_url', d.destinationUrl, next.destinationUrl);
  if (next.name !== d.name) change('name', d.name, next.name);
  if (next.active !== d.active) change('active', d.active, next.active);
  if (changes.length === 0) return { destination: d, errors: [] };
  try {
    await recordAuditEvents(c.env, c.ctx, changes, [updateDestinationStatement(c.env.DB, next)]);
  } catch (err) {
    if (isUniqueViolation(err)) return { destination: d, errors: ['Destination url or name has already been taken'] };
    throw err;
  }
  return { destination: await findDestination(c.env.DB, d.scope, d.id), errors: [] };
}

/** Delete a destination and what hangs off it, with its audit event, in one transaction. */
export async function destroyDestination(c: ChangeContext, owned: Owned): Promise<void> {
  const d = owned.destination;
  await recordAuditEvent(
    c.env,
    c.ctx,
    destinationEvent(c, owned, EVENT_TYPES[d.scope].destroy, `Destroy event streaming destination ${d.destinationUrl}`),
    deleteDestinationStatements(c.env.DB, d.id),
  );
}

/** Replace a signing secret; the previous one keeps signing for a while (Standard Webhooks rotation). */
export async function rotateSigningSecret(c: ChangeContext, owned: Owned): Promise<Destination | null> {
  const d = owned.destination;
  const expiresAt = new Date(Date.now() + DESTINATION_LIMITS.previousSecretValidityMs).toISOString();
  await recordAuditEvent(
    c.env,
    c.ctx,
    destinationEvent(c, owned, 'streaming_destination_signing_secret_rotated', `Rotated the signing secret of event streaming destination ${d.destinationUrl}`, {
      previous_secret_expires_at: expiresAt,
    }),
    [rotateSecretStatement(c.env.DB, d.id, generateSigningSecret(), expiresAt)],
  );
  return findDestination(c.env.DB, d.scope, d.id);
}
