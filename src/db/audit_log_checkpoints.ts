/**
 * The SQL of the verifiable audit log's signed checkpoints and of its integrity state
 * (migration 0013): every checkpoint is kept; one state row holds the integrity check's cursor
 * and its last failure with who acknowledged it.
 */

/** A kept checkpoint. */
export interface StoredCheckpoint {
  treeSize: number;
  /** base64 of the root hash (also inside the signed note, which is what counts). */
  rootHash: string;
  /** The signed note: the C2SP tlog-checkpoint body and its signature lines. */
  note: string;
  createdAt: string;
}

interface CheckpointRow {
  tree_size: number;
  root_hash: string;
  note: string;
  created_at: string;
}

function toCheckpoint(r: CheckpointRow): StoredCheckpoint {
  return { treeSize: r.tree_size, rootHash: r.root_hash, note: r.note, createdAt: r.created_at };
}

/** The latest checkpoint, or null when none was issued yet. */
export async function latestCheckpoint(db: D1Database): Promise<StoredCheckpoint | null> {
  const row = await db.prepare('SELECT * FROM audit_log_checkpoints ORDER BY tree_size DESC LIMIT 1').first<CheckpointRow>();
  return row ? toCheckpoint(row) : null;
}

/** The kept checkpoint of this tree size, or null. */
export async function checkpointOfSize(db: D1Database, treeSize: number): Promise<StoredCheckpoint | null> {
  const row = await db.prepare('SELECT * FROM audit_log_checkpoints WHERE tree_size = ?1').bind(treeSize).first<CheckpointRow>();
  return row ? toCheckpoint(row) : null;
}

/** The insert of a new checkpoint (for the transaction that records its audit event). */
export function insertCheckpointStatement(db: D1Database, c: StoredCheckpoint): D1PreparedStatement {
  return db
    .prepare('INSERT INTO audit_log_checkpoints (tree_size, root_hash, note, created_at) VALUES (?1, ?2, ?3, ?4)')
    .bind(c.treeSize, c.rootHash, c.note, c.createdAt);
}

/** The integrity state. */
export interface LogIntegrityState {
  /** The next leaf index the rotating check re-hashes. */
  cursor: number;
  failedAt: string | null;
  failure: string | null;
  acknowledgedBy: number | null;
  acknowledgedAt: string | null;
}

/** True while a failure waits for an administrator: no checkpoint is signed meanwhile. */
export function integrityBlocked(s: LogIntegrityState): boolean {
  return s.failedAt !== null && s.acknowledgedAt === null;
}

export async function readIntegrityState(db: D1Database): Promise<LogIntegrityState> {
  const r = await db
    .prepare('SELECT check_cursor, failed_at, failure, acknowledged_by, acknowledged_at FROM audit_log_state WHERE id = 1')
    .first<{ check_cursor: number; failed_at: string | null; failure: string | null; acknowledged_by: number | null; acknowledged_at: string | null }>();
  if (!r) return { cursor: 0, failedAt: null, failure: null, acknowledgedBy: null, acknowledgedAt: null };
  return { cursor: r.check_cursor, failedAt: r.failed_at, failure: r.failure, acknowledgedBy: r.acknowledged_by, acknowledgedAt: r.acknowledged_at };
}

/** Move the rotating check's cursor. */
export async function saveIntegrityCursor(db: D1Database, cursor: number): Promise<void> {
  await db.prepare('UPDATE audit_log_state SET check_cursor = ?1 WHERE id = 1').bind(cursor).run();
}

/** Record a failure (for the transaction of its audit event): checkpoints stop until acknowledged. */
export function integrityFailureStatement(db: D1Database, failure: string, at: string): D1PreparedStatement {
  return db.prepare('UPDATE audit_log_state SET failed_at = ?2, failure = ?1, acknowledged_by = NULL, acknowledged_at = NULL WHERE id = 1').bind(failure, at);
}

/** Acknowledge the pending failure (for the transaction of its audit event); changes no row when none is pending. */
export function acknowledgeStatement(db: D1Database, userId: number, at: string): D1PreparedStatement {
  return db
    .prepare('UPDATE audit_log_state SET acknowledged_by = ?1, acknowledged_at = ?2 WHERE id = 1 AND failed_at IS NOT NULL AND acknowledged_at IS NULL')
    .bind(userId, at);
}
