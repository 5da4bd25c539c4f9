/**
 * Streaming destinations and what hangs off them (custom headers, event type filters, the
 * namespace filter): plain functions over D1 with raw prepared statements. Group destinations
 * have scope 'group' and the top-level group's id; instance destinations scope 'instance' and
 * no namespace. Writes that must commit with their audit event are returned as statements.
 */
import { nowIso } from './time';
import { sqlValue, type SqlValue } from './sql';
import { NF_COLUMNS, toNamespaceFilter, type NamespaceFilter, type NamespaceFilterRow } from './namespace_filters';

export {
  deleteNamespaceFilterStatement,
  findNamespaceFilter,
  findNamespaceFilterOfDestination,
  insertNamespaceFilterStatement,
  namespaceFilterExistsFor,
  type NamespaceFilter,
} from './namespace_filters';

export type DestinationScope = 'group' | 'instance';

/** What a destination is (GitLab 18's `category`): an HTTP endpoint, an S3 bucket or a Cloud Logging log. */
export type DestinationCategory = 'http' | 'aws' | 'gcp';

/** `config` of an `aws` destination (GitLab's names); the secret access key is `secretToken`. */
export interface AwsConfig {
  accessKeyXid: string;
  bucketName: string;
  awsRegion: string;
}

/** `config` of a `gcp` destination (GitLab's names); the private key (PEM) is `secretToken`. */
export interface GcpConfig {
  googleProjectIdName: string;
  clientEmail: string;
  logIdName: string;
}

/** A streaming destination (secrets included: callers decide who sees them). */
export interface Destination {
  id: number;
  scope: DestinationScope;
  namespaceId: number | null;
  name: string;
  destinationUrl: string;
  verificationToken: string;
  signingSecret: string;
  previousSigningSecret: string | null;
  previousSecretExpiresAt: string | null;
  active: boolean;
  category: DestinationCategory;
  /** The cloud category's config (`aws` or `gcp`), null for `http` (url and headers have their own columns). */
  cloudConfig: AwsConfig | GcpConfig | null;
  /** The cloud category's secret (AWS secret access key, GCP private key PEM), null for `http`. */
  secretToken: string | null;
  createdAt: string;
  updatedAt: string;
}

/** A streaming_destinations row as D1 returns it (the columns of DESTINATION_COLUMNS). */
export interface DestinationRow {
  id: number;
  scope: DestinationScope;
  namespace_id: number | null;
  name: string;
  destination_url: string;
  verification_token: string;
  signing_secret: string;
  previous_signing_secret: string | null;
  previous_secret_expires_at: string | null;
  active: number;
  category: DestinationCategory;
  config: string | null;
  secret_token: string | null;
  created_at: string;
  updated_at: string;
}

export const DESTINATION_COLUMNS =
  'id, scope, namespace_id, name, destination_url, verification_token, signing_secret, previous_signing_secret, previous_secret_expires_at, active, category, config, secret_token, created_at, updated_at';

export function toDestination(r: DestinationRow): Destination {
  return {
    id: r.id,
    scope: r.scope,
    namespaceId: r.namespace_id,
    name: r.name,
    destinationUrl: r.destination_url,
    verificationToken: r.verification_token,
    signingSecret: r.signing_secret,
    previousSigningSecret: r.previous_signing_secret,
    previousSecretExpiresAt: r.previous_secret_expires_at,
    active: r.active === 1,
    category: r.category,
    cloudConfig: r.config === null ? null : (JSON.parse(r.config) as AwsConfig | GcpConfig),
    secretToken: r.secret_token,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** A custom HTTP header sent with every delivery to its destination. */
export interface StreamingHeader {
  id: number;
  destinationId: number;
  key: string;
  value: string;
  active: boolean;
  createdAt: string;
}

export interface HeaderRow {
  id: number;
  destination_id: number;
  key: string;
  value: string;
  active: number;
  created_at: string;
}

/** Row to domain object. */
export function toHeader(r: HeaderRow): StreamingHeader {
  return { id: r.id, destinationId: r.destination_id, key: r.key, value: r.value, active: r.active === 1, createdAt: r.created_at };
}

/** The destination with this id in this scope, or null. */
export async function findDestination(db: D1Database, scope: DestinationScope, id: number): Promise<Destination | null> {
  const row = await db
    .prepare(`SELECT ${DESTINATION_COLUMNS} FROM streaming_destinations WHERE id = ?1 AND scope = ?2`)
    .bind(id, scope)
    .first<DestinationRow>();
  return row ? toDestination(row) : null;
}

/** Destinations with their headers and event type filters, as listed in one D1 round trip. */
export interface DestinationListing {
  destinations: Destination[];
  /** Headers by destination id, oldest first (every listed destination has an entry). */
  headers: Map<number, StreamingHeader[]>;
  /** Event type filters by destination id, sorted by name (every listed destination has an entry). */
  filters: Map<number, string[]>;
  /** First namespace filter by destination id (the legacy API's one; null: none; every listed destination has an entry). */
  namespaceFilters: Map<number, NamespaceFilter | null>;
  /** Every namespace filter by destination id, oldest first (the consolidated API's list; every listed destination has an entry). */
  allNamespaceFilters: Map<number, NamespaceFilter[]>;
}

/**
 * The destinations of a group (namespaceId) or of the instance (null), oldest first, with all
 * their headers, event type filters and namespace filters: four statements in ONE D1 batch (one
 * round trip).
 */
export async function listDestinationsWithDetails(db: D1Database, scope: DestinationScope, namespaceId: number | null): Promise<DestinationListing> {
  const ids = 'SELECT id FROM streaming_destinations WHERE scope = ?1 AND namespace_id IS ?2';
  const [dests, headers, filters, namespaceFilters] = await db.batch([
    db.prepare(`SELECT ${DESTINATION_COLUMNS} FROM streaming_destinations WHERE scope = ?1 AND namespace_id IS ?2 ORDER BY id`).bind(scope, namespaceId),
    db
      .prepare(`SELECT id, destination_id, key, value, active, created_at FROM streaming_headers WHERE destination_id IN (${ids}) ORDER BY id`)
      .bind(scope, namespaceId),
    db
      .prepare(`SELECT destination_id, audit_event_type FROM streaming_event_type_filters WHERE destination_id IN (${ids}) ORDER BY audit_event_type`)
      .bind(scope, namespaceId),
    db.prepare(`SELECT ${NF_COLUMNS} FROM streaming_namespace_filters WHERE destination_id IN (${ids}) ORDER BY id`).bind(scope, namespaceId),
  ]);
  const listing: DestinationListing = {
    destinations: (dests.results as DestinationRow[]).map(toDestination),
    headers: new Map(),
    filters: new Map(),
    namespaceFilters: new Map(),
    allNamespaceFilters: new Map(),
  };
  for (const d of listing.destinations) {
    listing.headers.set(d.id, []);
    listing.filters.set(d.id, []);
    listing.namespaceFilters.set(d.id, null);
    listing.allNamespaceFilters.set(d.id, []);
  }
  for (const row of namespaceFilters.results as NamespaceFilterRow[]) {
    const filter = toNamespaceFilter(row);
    if (listing.namespaceFilters.get(row.destination_id) === null) listing.namespaceFilters.set(row.destination_id, filter);
    listing.allNamespaceFilters.get(row.destination_id)?.push(filter);
  }
  for (const row of headers.results as HeaderRow[]) listing.headers.get(row.destination_id)?.push(toHeader(row));
  for (const row of filters.results as { destination_id: number; audit_event_type: string }[]) listing.filters.get(row.destination_id)?.push(row.audit_event_type);
  return listing;
}

/** What a new destination is made of. */
export type NewDestination = Pick<Destination, 'scope' | 'namespaceId' | 'name' | 'destinationUrl' | 'verificationToken' | 'signingSecret'>;

/**
 * The statement that inserts a destination unless its owner has `limit` already (see
 * insertedDestination); it throws on a unique index conflict (see isUniqueViolation).
 */
export function insertDestinationStatement(db: D1Database, d: NewDestination, limit: number): D1PreparedStatement {
  const now = nowIso();
  // The count and the insert are one statement, so two racing creates cannot both pass the limit.
  return db
    .prepare(
      `INSERT INTO streaming_destinations (scope, namespace_id, name, destination_url, verification_token, signing_secret, active, created_at, updated_at)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?7
       WHERE (SELECT COUNT(*) FROM streaming_destinations WHERE scope = ?1 AND namespace_id IS ?2) < ?8
       RETURNING ${DESTINATION_COLUMNS}`,
    )
    .bind(d.scope, d.namespaceId, d.name, d.destinationUrl, d.verificationToken, d.signingSecret, now, limit);
}

/** The destination insertDestinationStatement stored, from its result; null when it stored none (the limit was reached). */
export function insertedDestination(result: D1Result): Destination | null {
  const row = (result.results as DestinationRow[])[0];
  return row ? toDestination(row) : null;
}

/** The id of a destination by its owner and (unique) verification token, as the database gives it (e.g. for an audit event written with the insert). */
export function destinationIdOf(d: Pick<NewDestination, 'scope' | 'namespaceId' | 'verificationToken'>): SqlValue {
  return sqlValue('SELECT id FROM streaming_destinations WHERE scope = ? AND IFNULL(namespace_id, 0) = ? AND verification_token = ?', d.scope, d.namespaceId ?? 0, d.verificationToken);
}

/** The statement that updates name, URL and active flag of a destination. */
export function updateDestinationStatement(db: D1Database, d: Pick<Destination, 'id' | 'name' | 'destinationUrl' | 'active'>): D1PreparedStatement {
  return db
    .prepare(`UPDATE streaming_destinations SET name = ?2, destination_url = ?3, active = ?4, updated_at = ?5 WHERE id = ?1`)
    .bind(d.id, d.name, d.destinationUrl, d.active ? 1 : 0, nowIso());
}

/**
 * The statements that delete a destination and everything below it. Delivery rows stay: the
 * delivery log outlives its destination.
 */
export function deleteDestinationStatements(db: D1Database, id: number): D1PreparedStatement[] {
  return [
    db.prepare('DELETE FROM streaming_headers WHERE destination_id = ?1').bind(id),
    db.prepare('DELETE FROM streaming_event_type_filters WHERE destination_id = ?1').bind(id),
    db.prepare('DELETE FROM streaming_namespace_filters WHERE destination_id = ?1').bind(id),
    db.prepare('DELETE FROM streaming_destinations WHERE id = ?1').bind(id),
  ];
}

/**
 * The statement that rotates a signing secret: the current one becomes the previous one and
 * keeps signing until `previousExpiresAt`.
 */
export function rotateSecretStatement(db: D1Database, id: number, newSecret: string, previousExpiresAt: string): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE streaming_destinations SET previous_signing_secret = signing_secret, previous_secret_expires_at = ?3,
         signing_secret = ?2, updated_at = ?4 WHERE id = ?1`,
    )
    .bind(id, newSecret, previousExpiresAt, nowIso());
}

/** How many destinations a group (or the instance) has. */
export async function countDestinations(db: D1Database, scope: DestinationScope, namespaceId: number | null): Promise<number> {
  const row = await db
    .prepare('SELECT COUNT(*) AS n FROM streaming_destinations WHERE scope = ?1 AND namespace_id IS ?2')
    .bind(scope, namespaceId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** Which of name / URL / token are already used by another destination of the same owner. */
export async function takenAttributes(
  db: D1Database,
  scope: DestinationScope,
  namespaceId: number | null,
  values: { name?: string; destinationUrl?: string; verificationToken?: string },
  exceptId: number | null,
): Promise<{ name: boolean; destinationUrl: boolean; verificationToken: boolean }> {
  const row = await db
    .prepare(
      `SELECT
         EXISTS(SELECT 1 FROM streaming_destinations WHERE scope = ?1 AND namespace_id IS ?2 AND id IS NOT ?3 AND name = ?4) AS name,
         EXISTS(SELECT 1 FROM streaming_destinations WHERE scope = ?1 AND namespace_id IS ?2 AND id IS NOT ?3 AND destination_url = ?5) AS url,
         EXISTS(SELECT 1 FROM streaming_destinations WHERE scope = ?1 AND namespace_id IS ?2 AND id IS NOT ?3 AND verification_token = ?6) AS token`,
    )
    .bind(scope, namespaceId, exceptId, values.name ?? null, values.destinationUrl ?? null, values.verificationToken ?? null)
    .first<{ name: number; url: number; token: number }>();
  return { name: !!row?.name, destinationUrl: !!row?.url, verificationToken: !!row?.token };
}

/** Whether a D1 error is a UNIQUE constraint violation (a concurrent duplicate). */
export function isUniqueViolation(err: unknown): boolean {
  return err instanceof Error && /UNIQUE constraint failed/i.test(err.message);
}

// Headers ------------------------------------------------------------------------------------

/** Headers of a destination, oldest first. */
export async function listHeaders(db: D1Database, destinationId: number): Promise<StreamingHeader[]> {
  const rows = await db
    .prepare('SELECT id, destination_id, key, value, active, created_at FROM streaming_headers WHERE destination_id = ?1 ORDER BY id')
    .bind(destinationId)
    .all<HeaderRow>();
  return rows.results.map(toHeader);
}

/** A header by id, or null. */
export async function findHeader(db: D1Database, id: number): Promise<StreamingHeader | null> {
  const row = await db
    .prepare('SELECT id, destination_id, key, value, active, created_at FROM streaming_headers WHERE id = ?1')
    .bind(id)
    .first<HeaderRow>();
  return row ? toHeader(row) : null;
}

/**
 * The statement that inserts a header while the destination has fewer than `limit` (the count
 * and the insert are one statement, so racing creates cannot pass the limit); it changes no
 * row at the limit. The id is read back with findHeaderByKey.
 */
export function insertHeaderStatement(
  db: D1Database,
  h: { destinationId: number; key: string; value: string; active: boolean },
  limit: number,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO streaming_headers (destination_id, key, value, active, created_at) SELECT ?1, ?2, ?3, ?4, ?5
       WHERE (SELECT COUNT(*) FROM streaming_headers WHERE destination_id = ?1) < ?6`,
    )
    .bind(h.destinationId, h.key, h.value, h.active ? 1 : 0, nowIso(), limit);
}

/** A destination's header by key (case-insensitive, as header names are), or null. */
export async function findHeaderByKey(db: D1Database, destinationId: number, key: string): Promise<StreamingHeader | null> {
  const row = await db
    .prepare('SELECT id, destination_id, key, value, active, created_at FROM streaming_headers WHERE destination_id = ?1 AND key = ?2 COLLATE NOCASE')
    .bind(destinationId, key)
    .first<HeaderRow>();
  return row ? toHeader(row) : null;
}

/** The statement that updates a header. */
export function updateHeaderStatement(db: D1Database, h: Pick<StreamingHeader, 'id' | 'key' | 'value' | 'active'>): D1PreparedStatement {
  return db.prepare('UPDATE streaming_headers SET key = ?2, value = ?3, active = ?4 WHERE id = ?1').bind(h.id, h.key, h.value, h.active ? 1 : 0);
}

/** The statement that deletes a header. */
export function deleteHeaderStatement(db: D1Database, id: number): D1PreparedStatement {
  return db.prepare('DELETE FROM streaming_headers WHERE id = ?1').bind(id);
}

/** How many headers a destination has. */
export async function countHeaders(db: D1Database, destinationId: number): Promise<number> {
  const row = await db.prepare('SELECT COUNT(*) AS n FROM streaming_headers WHERE destination_id = ?1').bind(destinationId).first<{ n: number }>();
  return row?.n ?? 0;
}

// Event type filters -------------------------------------------------------------------------

/** A destination's event type filters, sorted by name. */
export async function listEventTypeFilters(db: D1Database, destinationId: number): Promise<string[]> {
  const rows = await db
    .prepare('SELECT audit_event_type FROM streaming_event_type_filters WHERE destination_id = ?1 ORDER BY audit_event_type')
    .bind(destinationId)
    .all<{ audit_event_type: string }>();
  return rows.results.map((r) => r.audit_event_type);
}

/** The statements that add event type filters. */
export function insertEventTypeFilterStatements(db: D1Database, destinationId: number, types: string[]): D1PreparedStatement[] {
  const now = nowIso();
  return types.map((t) =>
    db.prepare('INSERT INTO streaming_event_type_filters (destination_id, audit_event_type, created_at) VALUES (?1, ?2, ?3)').bind(destinationId, t, now),
  );
}

/** The statements that remove event type filters. */
export function deleteEventTypeFilterStatements(db: D1Database, destinationId: number, types: string[]): D1PreparedStatement[] {
  return types.map((t) => db.prepare('DELETE FROM streaming_event_type_filters WHERE destination_id = ?1 AND audit_event_type = ?2').bind(destinationId, t));
}
