/**
 * Event type filters written together with their destination (issue 15: a destination created
 * with filters never receives an event outside them, its own creation event included).
 */
import { nowIso } from './time';

/**
 * The statement, right after insertDestinationStatement in the same transaction, that gives the
 * destination it just inserted these event type filters: nothing when that insert stored no row
 * (the limit was reached), so changes() after it is 0 exactly when the destination was not
 * created. The destination is read once, before any filter row moves last_insert_rowid().
 */
export function insertNewDestinationFiltersStatement(db: D1Database, verificationToken: string, types: string[]): D1PreparedStatement {
  return db
    .prepare(
      `WITH dst AS MATERIALIZED (SELECT id FROM streaming_destinations WHERE id = last_insert_rowid() AND changes() = 1 AND verification_token = ?1)
       INSERT INTO streaming_event_type_filters (destination_id, audit_event_type, created_at)
       SELECT dst.id, t.value, ?3 FROM dst, json_each(?2) t ORDER BY t.key`,
    )
    .bind(verificationToken, JSON.stringify([...new Set(types)]), nowIso());
}
