-- The verifiable audit log (issue 18): a Merkle tree over the audit events in id order, RFC 9162
-- hashing, built by ONE builder (the scheduled job, src/audit/log_builder.ts). Hashes are stored
-- as standard base64 with padding (the form every output uses).

-- One leaf per event, in id order: leaf_index is the event's position in the log (0-based).
-- leaf_hash = SHA-256(0x00 || leaf), the leaf being the RFC 8785 form of the event's streaming
-- payload under leaf_version. Retention may remove an event's content: its leaf stays
-- (content_removed = 1, set in the retention's own transaction), so proofs keep working.
CREATE TABLE audit_log_leaves (
  leaf_index INTEGER PRIMARY KEY,
  event_id INTEGER NOT NULL UNIQUE,
  leaf_version INTEGER NOT NULL,
  leaf_hash TEXT NOT NULL,
  content_removed INTEGER NOT NULL DEFAULT 0 CHECK (content_removed IN (0, 1))
);

-- The hash of every complete subtree above the leaves: node (level, idx) covers leaves
-- [idx * 2^level, (idx + 1) * 2^level), level >= 1 (level 0 is audit_log_leaves.leaf_hash).
-- Appending a leaf adds at most one node per level; any proof reads O(log n) of them.
CREATE TABLE audit_log_nodes (
  level INTEGER NOT NULL CHECK (level >= 1),
  idx INTEGER NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (level, idx)
) WITHOUT ROWID;

-- Every signed checkpoint, kept: the C2SP tlog-checkpoint body signed as a C2SP signed note.
CREATE TABLE audit_log_checkpoints (
  tree_size INTEGER PRIMARY KEY,
  root_hash TEXT NOT NULL,
  note TEXT NOT NULL,
  created_at TEXT NOT NULL
);

-- The integrity check's state (one row): where its rotating re-hash continues, and the last
-- failure it found. While a failure is not acknowledged, no checkpoint is signed.
CREATE TABLE audit_log_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  check_cursor INTEGER NOT NULL DEFAULT 0,
  failed_at TEXT,
  failure TEXT,
  acknowledged_by INTEGER,
  acknowledged_at TEXT
);
INSERT INTO audit_log_state (id) VALUES (1);
