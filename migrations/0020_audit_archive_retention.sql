-- Retention of the cold audit log (issue 19; src/audit/archive_retention.ts): AUDIT_RETENTION_DAYS
-- deletes a chunk's events object from R2 once the chunk's newest event (last_at) is past the
-- cutoff, then sets the chunk's deleted_at in ONE D1 transaction with the removal of its counts
-- rows and its `audit_events_retention_applied` event. The manifest (with the leaf hashes) stays.

-- deleted_at is set once and never changed again: a second retention run racing the first (both
-- found the chunk still live) fails its whole transaction here instead of recording the removal twice.
CREATE TRIGGER audit_archive_chunks_deleted_once
BEFORE UPDATE OF deleted_at ON audit_archive_chunks
WHEN old.deleted_at IS NOT NULL
BEGIN
  SELECT RAISE(ABORT, 'audit archive chunk already deleted by retention');
END;

-- The chunks retention may still delete, by the age of their newest event: each run reads the
-- oldest few through this index, whatever the number of chunks already deleted.
CREATE INDEX audit_archive_chunks_live_last_at ON audit_archive_chunks(last_at) WHERE deleted_at IS NULL;
