-- The audit log is append-only, enforced by the database itself so that a bug anywhere else
-- cannot rewrite or erase history. UPDATE is always rejected. DELETE is rejected unless the
-- retention job (src/audit/retention.ts) is running: it inserts the single row of
-- audit_retention_guard, deletes whole UTC days past AUDIT_RETENTION_DAYS, and removes the row
-- again, all inside ONE db.batch (one transaction), so the guard is never visible outside it.

CREATE TABLE audit_retention_guard (
  id INTEGER PRIMARY KEY CHECK (id = 1)
);

CREATE TRIGGER audit_events_reject_update
BEFORE UPDATE ON audit_events
BEGIN
  SELECT RAISE(ABORT, 'audit events are append-only');
END;

CREATE TRIGGER audit_events_reject_delete
BEFORE DELETE ON audit_events
WHEN NOT EXISTS (SELECT 1 FROM audit_retention_guard)
BEGIN
  SELECT RAISE(ABORT, 'audit events are append-only');
END;

-- "Only my own events" (developers and maintainers of a group, developers of a project) and
-- the author_id filter: walk one author's events in id order.
CREATE INDEX audit_events_author ON audit_events(author_id, id);
