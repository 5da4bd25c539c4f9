-- The cold audit log (issue 19): events older than the hot window (AUDIT_HOT_DAYS) or past the
-- hot size (AUDIT_HOT_MAX_MB) move from D1 into R2 (binding AUDIT_ARCHIVE, bucket audit-archive)
-- as immutable gzip NDJSON chunks, oldest first. A chunk is a contiguous range of the verifiable
-- log's leaves (so of event ids, in id order) that never crosses a multiple of 1,024 leaves (a
-- "block": the level-10 subtree of the Merkle tree). Everything moved so far is a prefix of the
-- log: the events with an id at or below the highest last_id here are cold, the rest hot.
-- The chunk's object is written and verified first; then ONE D1 transaction inserts its row here
-- (with its counts and its `audit_events_archived` event) and deletes the moved rows from D1, so
-- a crash at any point leaves either nothing moved or the whole chunk moved.

-- One row per chunk moved to R2. first_leaf..last_leaf (inclusive) are leaf indexes of
-- audit_log_leaves; first_id..last_id the event ids of the first and last of its lines.
CREATE TABLE audit_archive_chunks (
  first_leaf INTEGER PRIMARY KEY,
  last_leaf INTEGER NOT NULL,
  first_id INTEGER NOT NULL,
  last_id INTEGER NOT NULL,
  first_at TEXT,                    -- created_at of its oldest and newest event with content
  last_at TEXT,                     -- (NULL when retention had removed every event's content)
  event_count INTEGER NOT NULL,     -- lines with an event (content-removed leaves not counted)
  object_key TEXT NOT NULL UNIQUE,  -- events/<first_id>-<last_id>.ndjson.gz (16 digits each)
  object_bytes INTEGER NOT NULL,
  object_sha256 TEXT NOT NULL,      -- hex SHA-256 of the object's bytes as stored
  manifest_key TEXT NOT NULL UNIQUE,-- manifests/<first_id>-<last_id>.json
  manifest_sha256 TEXT NOT NULL,
  moved_at TEXT NOT NULL,
  deleted_at TEXT                   -- retention deleted the object (the manifest, with the leaf hashes, stays)
);
CREATE UNIQUE INDEX audit_archive_chunks_last_id ON audit_archive_chunks(last_id);

-- How many of a chunk's events share each combination of the listings' filters other than time
-- (the scope columns, event type, author, entity): X-Total and offsets over cold data are sums
-- of these rows, never a scan of objects. Removed with their chunk by retention.
CREATE TABLE audit_archive_counts (
  first_leaf INTEGER NOT NULL,
  root_namespace_id INTEGER,
  scope_path TEXT,
  project_id INTEGER,
  event_type TEXT NOT NULL,
  author_id INTEGER NOT NULL,
  entity_type TEXT NOT NULL,
  entity_id INTEGER NOT NULL,
  n INTEGER NOT NULL
);
CREATE INDEX audit_archive_counts_chunk ON audit_archive_counts(first_leaf);
CREATE INDEX audit_archive_counts_root ON audit_archive_counts(root_namespace_id, first_leaf);
CREATE INDEX audit_archive_counts_scope ON audit_archive_counts(scope_path, first_leaf);
CREATE INDEX audit_archive_counts_project ON audit_archive_counts(project_id, first_leaf);

-- A chunk's row never changes except that retention sets deleted_at once; rows are never deleted.
CREATE TRIGGER audit_archive_chunks_reject_update
BEFORE UPDATE OF first_leaf, last_leaf, first_id, last_id, first_at, last_at, event_count, object_key,
  object_bytes, object_sha256, manifest_key, manifest_sha256, moved_at ON audit_archive_chunks
BEGIN
  SELECT RAISE(ABORT, 'audit archive chunks are kept unchanged');
END;

CREATE TRIGGER audit_archive_chunks_reject_delete
BEFORE DELETE ON audit_archive_chunks
BEGIN
  SELECT RAISE(ABORT, 'audit archive chunks are kept unchanged');
END;

-- The move deletes what it moved from D1 under the same guard as retention (migration 0006): the
-- single row of audit_retention_guard, inserted and removed inside the move's one transaction.
-- A moved block's leaves and its nodes below level 10 are deleted too (their hashes are in the
-- chunk's manifest; the level-10 node and everything above stay), so the leaves' and nodes'
-- delete triggers now allow a delete while the guard row exists.
DROP TRIGGER audit_log_leaves_reject_delete;
CREATE TRIGGER audit_log_leaves_reject_delete
BEFORE DELETE ON audit_log_leaves
WHEN NOT EXISTS (SELECT 1 FROM audit_retention_guard)
BEGIN
  SELECT RAISE(ABORT, 'audit log leaves are append-only');
END;

DROP TRIGGER audit_log_nodes_reject_delete;
CREATE TRIGGER audit_log_nodes_reject_delete
BEFORE DELETE ON audit_log_nodes
WHEN NOT EXISTS (SELECT 1 FROM audit_retention_guard) OR old.level >= 10
BEGIN
  SELECT RAISE(ABORT, 'audit log nodes are append-only');
END;
