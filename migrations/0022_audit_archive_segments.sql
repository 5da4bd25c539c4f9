-- Sealed segments of the cold audit log (issue 19: D1 bounded by the hot window plus a constant).
-- A segment is an aligned range of 2^level leaves (level 20 in production: 1,024 chunks of 1,024
-- leaves; AUDIT_ARCHIVE_SEGMENT_CHUNKS, for tests only, makes it smaller). Once every chunk of a
-- segment is cold, the cron (src/audit/archive_seal.ts) writes ONE index object to R2 holding the
-- segment's chunk rows, their count rows and the level-10 nodes of its blocks, reads it back and
-- checks it, then in ONE D1 transaction: inserts the segment's row here and its count rows summed
-- per combination, deletes the segment's chunk rows, their count rows and its tree nodes of levels
-- 10 to level-1 (the node at `level` stays: the check of the index), and records
-- `audit_archive_segment_sealed` with the object's SHA-256. What a segment leaves in D1 is one row
-- here, one node, and its summed count rows: at most SEGMENT_COUNT_ROWS (1,024) of them, coarser
-- when its events have more combinations (`coarse`; the index keeps every chunk's exact counts).
CREATE TABLE audit_archive_segments (
  first_leaf INTEGER PRIMARY KEY,
  last_leaf INTEGER NOT NULL,
  level INTEGER NOT NULL,           -- last_leaf - first_leaf + 1 = 2^level; node (level, first_leaf >> level) stays
  first_id INTEGER NOT NULL,
  last_id INTEGER NOT NULL,
  first_at TEXT,                    -- oldest and newest created_at of its chunks (NULL: no event left)
  last_at TEXT,
  event_count INTEGER NOT NULL,     -- events of its chunks not deleted by retention
  chunks INTEGER NOT NULL,          -- chunk rows sealed into it
  deleted_chunks INTEGER NOT NULL,  -- of which retention had deleted the events object
  coarse INTEGER NOT NULL,          -- its count rows: 0 per full combination; 1 per (root_namespace_id, scope_path,
                                    -- project_id, event_type), author_id 0, entity_type '', entity_id 0; 2 one row
                                    -- (scope columns NULL, event_type ''). A listing filtering on what they lack
                                    -- counts the segment from its index.
  object_key TEXT NOT NULL UNIQUE,  -- segments/<first_id>-<last_id>.json.gz (16 digits each)
  object_bytes INTEGER NOT NULL,
  object_sha256 TEXT NOT NULL,
  sealed_at TEXT NOT NULL,
  deleted_at TEXT                   -- retention deleted every events object of its chunks (the index stays)
);
CREATE UNIQUE INDEX audit_archive_segments_last_id ON audit_archive_segments(last_id);
CREATE INDEX audit_archive_segments_live_last_at ON audit_archive_segments(last_at) WHERE deleted_at IS NULL;

-- A sealed segment's count rows: its chunks' audit_archive_counts rows summed per combination (or coarser: `coarse`).
CREATE TABLE audit_archive_segment_counts (
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
CREATE INDEX audit_archive_segment_counts_segment ON audit_archive_segment_counts(first_leaf);
CREATE INDEX audit_archive_segment_counts_root ON audit_archive_segment_counts(root_namespace_id, first_leaf);
CREATE INDEX audit_archive_segment_counts_scope ON audit_archive_segment_counts(scope_path, first_leaf);
CREATE INDEX audit_archive_segment_counts_project ON audit_archive_segment_counts(project_id, first_leaf);

-- The seal's transaction inserts the segment row first: it fails unless the chunk rows are still
-- exactly those the index holds (none sealed by another run, none deleted by retention meanwhile).
CREATE TRIGGER audit_archive_segments_check_chunks
BEFORE INSERT ON audit_archive_segments
WHEN (SELECT COUNT(*) FROM audit_archive_chunks WHERE first_leaf BETWEEN new.first_leaf AND new.last_leaf) != new.chunks
  OR (SELECT COUNT(*) FROM audit_archive_chunks WHERE first_leaf BETWEEN new.first_leaf AND new.last_leaf AND deleted_at IS NOT NULL) != new.deleted_chunks
BEGIN
  SELECT RAISE(ABORT, 'audit archive segment changed while sealing');
END;

-- A segment's row never changes except that retention sets deleted_at once; rows are never deleted.
CREATE TRIGGER audit_archive_segments_reject_update
BEFORE UPDATE OF first_leaf, last_leaf, level, first_id, last_id, first_at, last_at, event_count, chunks, deleted_chunks, coarse,
  object_key, object_bytes, object_sha256, sealed_at ON audit_archive_segments
BEGIN
  SELECT RAISE(ABORT, 'audit archive segments are kept unchanged');
END;

CREATE TRIGGER audit_archive_segments_deleted_once
BEFORE UPDATE OF deleted_at ON audit_archive_segments
WHEN old.deleted_at IS NOT NULL
BEGIN
  SELECT RAISE(ABORT, 'audit archive chunk already deleted by retention');
END;

CREATE TRIGGER audit_archive_segments_reject_delete
BEFORE DELETE ON audit_archive_segments
BEGIN
  SELECT RAISE(ABORT, 'audit archive segments are kept unchanged');
END;

-- Chunk rows may now be deleted, only once a sealed segment covers them (its row is inserted
-- first in the seal's transaction).
DROP TRIGGER audit_archive_chunks_reject_delete;
CREATE TRIGGER audit_archive_chunks_reject_delete
BEFORE DELETE ON audit_archive_chunks
WHEN NOT EXISTS (SELECT 1 FROM audit_archive_segments s WHERE old.first_leaf BETWEEN s.first_leaf AND s.last_leaf)
BEGIN
  SELECT RAISE(ABORT, 'audit archive chunks are kept unchanged');
END;

-- Nodes of levels 10 and up may now be deleted, only below the level of a sealed segment that
-- covers them; nodes below 10 as before (under the guard row of the move).
DROP TRIGGER audit_log_nodes_reject_delete;
CREATE TRIGGER audit_log_nodes_reject_delete
BEFORE DELETE ON audit_log_nodes
WHEN NOT ((old.level < 10 AND EXISTS (SELECT 1 FROM audit_retention_guard))
  OR (old.level >= 10 AND EXISTS (SELECT 1 FROM audit_archive_segments s
        WHERE old.level < s.level AND (old.idx << old.level) BETWEEN s.first_leaf AND s.last_leaf)))
BEGIN
  SELECT RAISE(ABORT, 'audit log nodes are append-only');
END;

-- Assertions inside a transaction: inserting ok = 0 aborts it with the message, ok = 1 is ignored
-- (the table never holds a row). Retention's transaction over chunks asserts that they are all
-- still chunk rows (none sealed into a segment since it read them).
CREATE TABLE audit_archive_assertions (ok INTEGER NOT NULL);
CREATE TRIGGER audit_archive_assertions_check
BEFORE INSERT ON audit_archive_assertions
BEGIN
  SELECT RAISE(ABORT, 'audit archive chunks were sealed into a segment meanwhile') WHERE new.ok = 0;
  SELECT RAISE(IGNORE);
END;
