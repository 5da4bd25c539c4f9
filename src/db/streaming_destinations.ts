/**
 * Writes of GitLab 18's consolidated streaming API over the one destinations store: a destination
 * of any category (http keeps its URL, token and headers in the legacy API's columns and rows;
 * aws and gcp keep `config` as JSON and `secret_token`), and the headers of a destination being
 * created in the same transaction. Statements only: each commits with its audit event.
 */
import { nowIso } from './time';
import { DESTINATION_COLUMNS, type AwsConfig, type DestinationCategory, type DestinationScope, type GcpConfig } from './destinations';

/** A destination row as the consolidated API writes it. */
export interface StreamingDestinationValues {
  name: string;
  category: DestinationCategory;
  /** http: the URL; aws, gcp: empty (their config names where events go). */
  destinationUrl: string;
  /** http: the secret token (sent as X-Gitlab-Event-Streaming-Token); aws, gcp: an unused random token. */
  verificationToken: string;
  /** aws, gcp: their config; http: null. */
  cloudConfig: AwsConfig | GcpConfig | null;
  /** aws, gcp: their secret; http: null. */
  secretToken: string | null;
  active: boolean;
}

/** A new destination's owner, values and signing secret. */
export type NewStreamingDestination = StreamingDestinationValues & { scope: DestinationScope; namespaceId: number | null; signingSecret: string };

const configJson = (c: StreamingDestinationValues['cloudConfig']) => (c === null ? null : JSON.stringify(c));

/**
 * The statement that inserts a destination unless its owner has `limit` already (count and
 * insert are one statement); RETURNING the row (read it with insertedDestination).
 */
export function insertStreamingDestinationStatement(db: D1Database, d: NewStreamingDestination, limit: number): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO streaming_destinations (scope, namespace_id, name, destination_url, verification_token, signing_secret, active, category, config, secret_token, created_at, updated_at)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11
       WHERE (SELECT COUNT(*) FROM streaming_destinations WHERE scope = ?1 AND namespace_id IS ?2) < ?12
       RETURNING ${DESTINATION_COLUMNS}`,
    )
    .bind(d.scope, d.namespaceId, d.name, d.destinationUrl, d.verificationToken, d.signingSecret, d.active ? 1 : 0, d.category, configJson(d.cloudConfig), d.secretToken, nowIso(), limit);
}

/**
 * The statements that insert the headers of a destination inserted earlier in the same
 * transaction, found by its owner and (unique) name; they insert nothing when it was not.
 */
export function insertHeadersOfNewDestinationStatements(
  db: D1Database,
  owner: { scope: DestinationScope; namespaceId: number | null; name: string },
  headers: { key: string; value: string; active: boolean }[],
): D1PreparedStatement[] {
  const now = nowIso();
  return headers.map((h) =>
    db
      .prepare(
        `INSERT INTO streaming_headers (destination_id, key, value, active, created_at)
         SELECT id, ?4, ?5, ?6, ?7 FROM streaming_destinations WHERE scope = ?1 AND namespace_id IS ?2 AND name = ?3`,
      )
      .bind(owner.scope, owner.namespaceId, owner.name, h.key, h.value, h.active ? 1 : 0, now),
  );
}

/** The statement that writes every consolidated attribute of a destination. */
export function updateStreamingDestinationStatement(db: D1Database, id: number, d: StreamingDestinationValues): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE streaming_destinations SET name = ?2, category = ?3, destination_url = ?4, verification_token = ?5, config = ?6, secret_token = ?7, active = ?8, updated_at = ?9
       WHERE id = ?1`,
    )
    .bind(id, d.name, d.category, d.destinationUrl, d.verificationToken, configJson(d.cloudConfig), d.secretToken, d.active ? 1 : 0, nowIso());
}
