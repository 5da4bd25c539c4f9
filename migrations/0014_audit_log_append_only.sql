-- The tree's own rows are append-only, as the events are (migration 0006): a leaf's position,
-- event, version and hash never change (only retention's content_removed mark may be set), and
-- no leaf, node or checkpoint is ever deleted. Whoever drops these triggers can still edit the
-- rows: the signed checkpoints and the integrity check (src/audit/integrity.ts) catch that.
CREATE TRIGGER audit_log_leaves_reject_update
BEFORE UPDATE OF leaf_index, event_id, leaf_version, leaf_hash ON audit_log_leaves
BEGIN
  SELECT RAISE(ABORT, 'audit log leaves are append-only');
END;

CREATE TRIGGER audit_log_leaves_reject_delete
BEFORE DELETE ON audit_log_leaves
BEGIN
  SELECT RAISE(ABORT, 'audit log leaves are append-only');
END;

CREATE TRIGGER audit_log_nodes_reject_update
BEFORE UPDATE ON audit_log_nodes
BEGIN
  SELECT RAISE(ABORT, 'audit log nodes are append-only');
END;

CREATE TRIGGER audit_log_nodes_reject_delete
BEFORE DELETE ON audit_log_nodes
BEGIN
  SELECT RAISE(ABORT, 'audit log nodes are append-only');
END;

CREATE TRIGGER audit_log_checkpoints_reject_update
BEFORE UPDATE ON audit_log_checkpoints
BEGIN
  SELECT RAISE(ABORT, 'audit log checkpoints are kept unchanged');
END;

CREATE TRIGGER audit_log_checkpoints_reject_delete
BEFORE DELETE ON audit_log_checkpoints
BEGIN
  SELECT RAISE(ABORT, 'audit log checkpoints are kept unchanged');
END;
