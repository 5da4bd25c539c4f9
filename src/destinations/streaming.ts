/**
 * GitLab 18's consolidated streaming API over the one destinations store (GitLab's
 * Group/Instance AuditEventStreamingDestinations Create, Update and Delete mutations and the
 * ExternallyStreamable model): a destination has a `category` (http, aws, gcp), a `config` and a
 * `secretToken`. An http destination is the legacy API's destination: `config.url` is its URL,
 * `config.headers` its custom headers (the same rows, so legacy header GIDs keep working) and
 * `secretToken` its verification token. Every change commits with its audit event(s).
 */
import { recordAuditEvent, recordAuditEvents, recordChangesIfChanged, type AuditEventInput } from '../audit/record';
import { insertNewDestinationFiltersStatement } from '../db/new_destination_filters';
import type { Namespace } from '../db/namespaces';
import {
  countDestinations,
  deleteDestinationStatements,
  deleteHeaderStatement,
  destinationIdOf,
  findDestination,
  insertedDestination,
  insertHeaderStatement,
  isUniqueViolation,
  listHeaders,
  takenAttributes,
  updateHeaderStatement,
  type Destination,
  type DestinationCategory,
  type DestinationScope,
  type StreamingHeader,
} from '../db/destinations';
import {
  insertHeadersOfNewDestinationStatements,
  insertStreamingDestinationStatement,
  updateStreamingDestinationStatement,
  type StreamingDestinationValues,
} from '../db/streaming_destinations';
import type { Owned } from './access';
import { destinationEvent, type ChangeContext } from './audit';
import { categoryError, generateHttpSecretToken, secretTokenErrors, validateConfig, type CategoryConfig, type HttpConfig } from './config';
import { DestinationArgumentError } from './errors';
import {
  DESTINATION_LIMITS,
  EVENT_TYPE_FILTERS_MUST_BE_PRESENT,
  defaultDestinationName,
  eventTypeFilterErrors,
  generateSigningSecret,
  generateVerificationToken,
  maxDestinations,
  nameErrors,
} from './rules';
import type { DestinationResult } from './service';

/** GitLab's model names of the consolidated API (GIDs and audit event targets). */
export const STREAMING_MODELS = {
  group: 'AuditEvents::Group::ExternalStreamingDestination',
  instance: 'AuditEvents::Instance::ExternalStreamingDestination',
  groupNamespaceFilter: 'AuditEvents::Group::NamespaceFilter',
  instanceNamespaceFilter: 'AuditEvents::Instance::NamespaceFilter',
} as const;

/** GitLab's event types of the consolidated mutations: `<action>_<scope>_audit_event_streaming_destination`. */
export function streamingEventType(action: 'created' | 'updated' | 'deleted', scope: DestinationScope): string {
  return `${action}_${scope}_audit_event_streaming_destination`;
}

/** An audit event about a destination changed through the consolidated API (targets its new model). */
export function streamingEvent(c: ChangeContext, owned: Parameters<typeof destinationEvent>[1], eventType: string, message: string, extra: Record<string, unknown> = {}): AuditEventInput {
  const event = destinationEvent(c, owned, eventType, message, extra);
  return { ...event, target: { id: event.target?.id ?? null, details: event.target?.details ?? null, type: STREAMING_MODELS[owned.destination.scope] } };
}

/** How the consolidated API shows a destination's config and secret token. */
export function streamingView(d: Destination, headers: StreamingHeader[]): { config: HttpConfig | object; secretToken: string } {
  if (d.category !== 'http') return { config: d.cloudConfig ?? {}, secretToken: d.secretToken ?? '' };
  const config: HttpConfig = { url: d.destinationUrl };
  if (headers.length) config.headers = Object.fromEntries(headers.map((h) => [h.key, { value: h.value, active: h.active }]));
  return { config, secretToken: d.verificationToken };
}

/** The row values of a validated config and secret token. */
function rowValues(valid: CategoryConfig, secretToken: string, name: string, active: boolean, keepToken: string | null): StreamingDestinationValues {
  if (valid.category === 'http') {
    return { name, active, category: 'http', destinationUrl: valid.config.url, verificationToken: secretToken, cloudConfig: null, secretToken: null };
  }
  return { name, active, category: valid.category, destinationUrl: '', verificationToken: keepToken ?? generateVerificationToken(), cloudConfig: valid.config, secretToken };
}

const headerList = (valid: CategoryConfig) =>
  valid.category === 'http' ? Object.entries(valid.config.headers ?? {}).map(([key, h]) => ({ key, value: h.value, active: h.active })) : [];

/** The "already taken" errors of a destination's name, http URL and http secret token among its owner's others. */
async function takenErrors(c: ChangeContext, owner: { scope: DestinationScope; namespaceId: number | null }, v: StreamingDestinationValues, exceptId: number | null): Promise<string[]> {
  const http = v.category === 'http';
  const taken = await takenAttributes(
    c.env.DB,
    owner.scope,
    owner.namespaceId,
    { name: v.name, destinationUrl: http ? v.destinationUrl : undefined, verificationToken: http ? v.verificationToken : undefined },
    exceptId,
  );
  const errors: string[] = [];
  if (taken.name) errors.push('Name has already been taken');
  if (taken.destinationUrl) errors.push('Config url is already taken.');
  if (taken.verificationToken) errors.push('Secret token has already been taken');
  return errors;
}

/** GitLab's Limitable message, shared with the legacy API (the limit counts both). */
function limitError(scope: DestinationScope, limit: number): string {
  return `Maximum number of ${scope === 'group' ? 'external' : 'instance external'} audit event destinations (${limit}) exceeded`;
}

/**
 * Create a destination of any category (GitLab's validations and errors). `eventTypeFilters` is
 * ours (as on the legacy create, issue 15): written in the create's transaction before its
 * creation event, so a filtered destination never receives an event outside its filters.
 */
export async function createStreamingDestination(
  c: ChangeContext,
  scope: DestinationScope,
  group: Namespace | null,
  args: { category: string; config: unknown; name?: string | null; secretToken?: string | null; eventTypeFilters?: string[] | null },
): Promise<DestinationResult> {
  // GitLab's mutation checks the secret first, before the model validates anything.
  if (args.category !== 'http' && !args.secretToken) return { destination: null, errors: ['Secret token is required for category'] };
  const badCategory = categoryError(args.category);
  if (badCategory) return { destination: null, errors: [badCategory] };
  const category = args.category as DestinationCategory;
  const valid = validateConfig(category, args.config, c.env);
  const filters = args.eventTypeFilters ?? [];
  if (args.eventTypeFilters && filters.length === 0) throw new DestinationArgumentError(EVENT_TYPE_FILTERS_MUST_BE_PRESENT);
  const errors = 'errors' in valid ? [...valid.errors] : [];
  errors.push(...eventTypeFilterErrors(filters, []));
  const name = args.name ?? defaultDestinationName();
  errors.push(...nameErrors(name));
  const secretToken = args.secretToken ?? generateHttpSecretToken();
  errors.push(...secretTokenErrors(category, secretToken));
  const namespaceId = group?.id ?? null;
  const limit = maxDestinations(c.env);
  if ((await countDestinations(c.env.DB, scope, namespaceId)) >= limit) errors.push(limitError(scope, limit));
  if ('errors' in valid || errors.length) return { destination: null, errors };
  const values = rowValues(valid, secretToken, name, true, null);
  errors.push(...(await takenErrors(c, { scope, namespaceId }, values, null)));
  if (errors.length) return { destination: null, errors };
  const created = { ...values, scope, namespaceId, signingSecret: generateSigningSecret() };
  let destination: Destination | null;
  try {
    const { results } = await recordChangesIfChanged(
      c.env,
      c.ctx,
      [
        insertStreamingDestinationStatement(c.env.DB, created, limit),
        ...(filters.length ? [insertNewDestinationFiltersStatement(c.env.DB, created.verificationToken, filters)] : []),
      ],
      streamingEvent(c, { destination: { ...created, id: destinationIdOf(created) }, group }, streamingEventType('created', scope), `Created audit event streaming destination for ${category.toUpperCase()}`, {
        category,
        ...(filters.length ? { event_type_filters: [...new Set(filters)] } : {}),
      }),
      insertHeadersOfNewDestinationStatements(c.env.DB, created, headerList(valid)),
    );
    destination = insertedDestination(results[0]!);
  } catch (err) {
    if (isUniqueViolation(err)) return { destination: null, errors: ['Name, config url or secret token has already been taken'] };
    throw err;
  }
  // Another create took the last place between the count above and the insert.
  if (!destination) return { destination: null, errors: [limitError(scope, limit)] };
  return { destination, errors: [] };
}

/** The statements that make a destination's header rows those of its new http config (or none). */
function headerSyncStatements(c: ChangeContext, d: Destination, existing: StreamingHeader[], wanted: { key: string; value: string; active: boolean }[]): D1PreparedStatement[] {
  const db = c.env.DB;
  const byKey = new Map(wanted.map((h) => [h.key.toLowerCase(), h]));
  const kept = new Set<string>();
  const removals: D1PreparedStatement[] = [];
  const updates: D1PreparedStatement[] = [];
  for (const h of existing) {
    const w = byKey.get(h.key.toLowerCase());
    if (!w) removals.push(deleteHeaderStatement(db, h.id));
    else {
      kept.add(h.key.toLowerCase());
      if (w.key !== h.key || w.value !== h.value || w.active !== h.active) updates.push(updateHeaderStatement(db, { id: h.id, ...w }));
    }
  }
  const inserts = wanted
    .filter((w) => !kept.has(w.key.toLowerCase()))
    .map((w) => insertHeaderStatement(db, { destinationId: d.id, ...w }, DESTINATION_LIMITS.headersPerDestination));
  return [...removals, ...updates, ...inserts];
}

/** Change category, config, name, secret token or active flag; one audit event per changed attribute, as GitLab. */
export async function updateStreamingDestination(
  c: ChangeContext,
  owned: Owned,
  args: { category?: string | null; config?: unknown; name?: string | null; secretToken?: string | null; active?: boolean | null },
): Promise<DestinationResult> {
  const d = owned.destination;
  const badCategory = args.category ? categoryError(args.category) : null;
  if (badCategory) return { destination: null, errors: [badCategory] };
  const category = (args.category ?? d.category) as DestinationCategory;
  const headers = d.category === 'http' ? await listHeaders(c.env.DB, d.id) : [];
  const current = streamingView(d, headers);
  const configGiven = args.config !== undefined && args.config !== null;
  // A config left out stays as it is (a legacy header may hold what the new schema refuses);
  // a new category validates the config it is given, or the current one.
  const valid: CategoryConfig | { errors: string[] } =
    !configGiven && category === d.category ? ({ category, config: current.config } as CategoryConfig) : validateConfig(category, configGiven ? args.config : current.config, c.env);
  const errors = 'errors' in valid ? [...valid.errors] : [];
  const name = args.name ?? d.name;
  if (name !== d.name) errors.push(...nameErrors(name));
  const secretToken = args.secretToken ?? current.secretToken;
  if (args.secretToken != null || category !== d.category) errors.push(...secretTokenErrors(category, secretToken));
  if ('errors' in valid || errors.length) return { destination: null, errors };
  const next = rowValues(valid, secretToken, name, args.active ?? d.active, d.category === 'http' ? null : d.verificationToken);
  errors.push(...(await takenErrors(c, d, next, d.id)));
  if (errors.length) return { destination: null, errors };

  const type = streamingEventType('updated', d.scope);
  const renamed = { ...owned, destination: { ...d, name } };
  const events: AuditEventInput[] = [];
  const change = (column: string, from?: unknown, to?: unknown) =>
    events.push(
      from === undefined
        ? streamingEvent(c, renamed, type, `Changed ${column}`, { change: column })
        : streamingEvent(c, renamed, type, `Changed ${column} from ${from} to ${to}`, { change: column, from, to }),
    );
  // Config and secret token values stay out of events (header values and secrets never go into one).
  if (canonicalJson(streamingView({ ...d, ...next }, headerRowsOf(valid)).config) !== canonicalJson(current.config)) change('config');
  if (name !== d.name) change('name', d.name, name);
  if (category !== d.category) change('category', d.category, category);
  if (secretToken !== current.secretToken) change('secret_token');
  if (next.active !== d.active) change('active', d.active, next.active);
  if (events.length === 0) return { destination: d, errors: [] };
  try {
    await recordAuditEvents(c.env, c.ctx, events, [updateStreamingDestinationStatement(c.env.DB, d.id, next), ...headerSyncStatements(c, d, headers, headerList(valid))]);
  } catch (err) {
    if (isUniqueViolation(err)) return { destination: null, errors: ['Name, config url or secret token has already been taken'] };
    throw err;
  }
  return { destination: await findDestination(c.env.DB, d.scope, d.id), errors: [] };
}

/** JSON with object keys sorted (two configs that differ only in key order are the same config). */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Header rows as a validated config would have them (for comparing configs). */
function headerRowsOf(valid: CategoryConfig): StreamingHeader[] {
  return headerList(valid).map((h, i) => ({ id: i, destinationId: 0, createdAt: '', ...h }));
}

/** Delete a destination of any category and what hangs off it, with its audit event. */
export async function deleteStreamingDestination(c: ChangeContext, owned: Owned): Promise<void> {
  const d = owned.destination;
  await recordAuditEvent(
    c.env,
    c.ctx,
    streamingEvent(c, owned, streamingEventType('deleted', d.scope), `Deleted audit event streaming destination for ${d.category.toUpperCase()}`, { category: d.category }),
    deleteDestinationStatements(c.env.DB, d.id),
  );
}
