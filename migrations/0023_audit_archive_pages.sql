-- Pages of the cold audit log (issue 19: D1's cold residue bounded by a constant whatever the
-- history). Sealed segments (0022) still left one row, its summed count rows and one node per
-- 2^20 events. Once AUDIT_ARCHIVE_PAGE_SEGMENTS (1,024; smaller in tests only) consecutive aligned
-- units of one level are sealed, the cron (src/audit/archive_pages.ts) writes ONE index object to
-- R2 holding their rows, their count rows and their top nodes, checks it, then in ONE D1
-- transaction replaces them by ONE row of this table (level = their level + 10, `children` > 0),
-- its summed count rows (at most 1,024, coarser when needed) and its top node, deleting their
-- nodes of levels child level to level-1. Pages of pages form the same way, so D1 keeps at most
-- 1,023 units per level: with leaves below 2^53, levels 20, 30, 40 and 50.
--
-- While AUDIT_RETENTION_DAYS is set a page forms only from units retention has all deleted.
-- Retention unseals a live page (formed while retention was off) whose oldest event is past its
-- cutoff: the inverse transaction restores the child rows, their counts and nodes, and retention
-- then deletes the children one unit at a time.
ALTER TABLE audit_archive_segments ADD COLUMN children INTEGER NOT NULL DEFAULT 0;          -- units merged into this page (0: a segment of chunks)
ALTER TABLE audit_archive_segments ADD COLUMN deleted_children INTEGER NOT NULL DEFAULT 0;  -- of which retention had deleted

-- A page and its last child share last_id while the transaction runs: no longer unique.
DROP INDEX audit_archive_segments_last_id;
CREATE INDEX audit_archive_segments_last_id ON audit_archive_segments(last_id);

-- One row while a page's transaction runs (inserted first, deleted last; never left behind):
-- mode 'seal' checks that the child rows are still those the index holds, mode 'unseal' that the
-- page is still live; either lets the transaction delete and insert the rows it names.
CREATE TABLE audit_archive_page_guard (
  first_leaf INTEGER NOT NULL,
  last_leaf INTEGER NOT NULL,
  level INTEGER NOT NULL,
  child_level INTEGER NOT NULL,
  children INTEGER NOT NULL,
  deleted_children INTEGER NOT NULL,
  mode TEXT NOT NULL CHECK (mode IN ('seal', 'unseal'))
);

CREATE TRIGGER audit_archive_page_guard_check
BEFORE INSERT ON audit_archive_page_guard
BEGIN
  SELECT RAISE(ABORT, 'audit archive page changed while sealing')
  WHERE new.mode = 'seal' AND (
    (SELECT COUNT(*) FROM audit_archive_segments WHERE first_leaf BETWEEN new.first_leaf AND new.last_leaf) != new.children
    OR (SELECT COUNT(*) FROM audit_archive_segments WHERE first_leaf BETWEEN new.first_leaf AND new.last_leaf AND level = new.child_level) != new.children
    OR (SELECT COUNT(*) FROM audit_archive_segments WHERE first_leaf BETWEEN new.first_leaf AND new.last_leaf AND deleted_at IS NOT NULL) != new.deleted_children);
  SELECT RAISE(ABORT, 'audit archive page changed while unsealing')
  WHERE new.mode = 'unseal' AND (SELECT COUNT(*) FROM audit_archive_segments
    WHERE first_leaf = new.first_leaf AND level = new.level AND children = new.children AND deleted_at IS NULL) != 1;
END;

-- Segment rows: a segment of chunks is checked against its chunk rows unless an unsealing page
-- restores it; a page row is inserted only under its sealing guard (or restored by its parent's unsealing).
DROP TRIGGER audit_archive_segments_check_chunks;
CREATE TRIGGER audit_archive_segments_check_chunks
BEFORE INSERT ON audit_archive_segments
WHEN new.children = 0
  AND NOT EXISTS (SELECT 1 FROM audit_archive_page_guard g
    WHERE g.mode = 'unseal' AND new.first_leaf BETWEEN g.first_leaf AND g.last_leaf AND new.level < g.level)
  AND ((SELECT COUNT(*) FROM audit_archive_chunks WHERE first_leaf BETWEEN new.first_leaf AND new.last_leaf) != new.chunks
    OR (SELECT COUNT(*) FROM audit_archive_chunks WHERE first_leaf BETWEEN new.first_leaf AND new.last_leaf AND deleted_at IS NOT NULL) != new.deleted_chunks)
BEGIN
  SELECT RAISE(ABORT, 'audit archive segment changed while sealing');
END;

CREATE TRIGGER audit_archive_segments_check_page
BEFORE INSERT ON audit_archive_segments
WHEN new.children > 0
  AND NOT EXISTS (SELECT 1 FROM audit_archive_page_guard g WHERE
    (g.mode = 'seal' AND g.first_leaf = new.first_leaf AND g.last_leaf = new.last_leaf AND g.level = new.level
      AND g.children = new.children AND g.deleted_children = new.deleted_children)
    OR (g.mode = 'unseal' AND new.first_leaf BETWEEN g.first_leaf AND g.last_leaf AND new.level < g.level))
BEGIN
  SELECT RAISE(ABORT, 'audit archive page rows are written only by sealing a page');
END;

DROP TRIGGER audit_archive_segments_reject_update;
CREATE TRIGGER audit_archive_segments_reject_update
BEFORE UPDATE OF first_leaf, last_leaf, level, first_id, last_id, first_at, last_at, event_count, chunks, deleted_chunks, coarse,
  object_key, object_bytes, object_sha256, sealed_at, children, deleted_children ON audit_archive_segments
BEGIN
  SELECT RAISE(ABORT, 'audit archive segments are kept unchanged');
END;

-- Rows are deleted only under a page's guard: its children when it is sealed, itself when it is unsealed.
DROP TRIGGER audit_archive_segments_reject_delete;
CREATE TRIGGER audit_archive_segments_reject_delete
BEFORE DELETE ON audit_archive_segments
WHEN NOT EXISTS (SELECT 1 FROM audit_archive_page_guard g
  WHERE old.first_leaf BETWEEN g.first_leaf AND g.last_leaf
    AND ((g.mode = 'seal' AND old.level = g.child_level) OR (g.mode = 'unseal' AND old.level = g.level)))
BEGIN
  SELECT RAISE(ABORT, 'audit archive segments are kept unchanged');
END;
