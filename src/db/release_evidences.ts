/**
 * The SQL of release evidence (migration 0015): the stored evidence documents (append-only), the
 * releases whose evidence the scheduled job still has to collect, and a release's audit events.
 */
import { sqlValue, type SqlValue } from './sql';
import type { StoredCheckpoint } from './audit_log_checkpoints';
import type { AuditEvent } from './audit_events';

/** How an evidence was collected: by the scheduled job, or on request (POST .../evidence). */
export type EvidenceCollector = 'scheduled' | 'request';

/** A stored evidence (the document is `evidence`, the exact text its sha hashes). */
export interface ReleaseEvidence {
  id: number;
  releaseId: number;
  projectId: number;
  sha: string;
  treeSize: number;
  collectedBy: EvidenceCollector;
  evidence: string;
  collectedAt: string;
}

interface EvidenceRow {
  id: number;
  release_id: number;
  project_id: number;
  sha: string;
  tree_size: number;
  collected_by: EvidenceCollector;
  evidence: string;
  collected_at: string;
}

function toEvidence(r: EvidenceRow): ReleaseEvidence {
  return {
    id: r.id,
    releaseId: r.release_id,
    projectId: r.project_id,
    sha: r.sha,
    treeSize: r.tree_size,
    collectedBy: r.collected_by,
    evidence: r.evidence,
    collectedAt: r.collected_at,
  };
}

/** The insert of an evidence (for the transaction that records its audit event). */
export function insertEvidenceStatement(db: D1Database, e: Omit<ReleaseEvidence, 'id'>): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO release_evidences (release_id, project_id, sha, tree_size, collected_by, evidence, collected_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)`,
    )
    .bind(e.releaseId, e.projectId, e.sha, e.treeSize, e.collectedBy, e.evidence, e.collectedAt);
}

/** The id of the evidence inserted earlier in the same transaction (for its event's details). */
export function insertedEvidenceId(releaseId: number, sha: string): SqlValue {
  return sqlValue('SELECT MAX(id) FROM release_evidences WHERE release_id = ? AND sha = ?', releaseId, sha);
}

/** Whether a failed insert lost the race for a release's one scheduled evidence. */
export function isScheduledEvidenceTaken(err: unknown): boolean {
  const text = err instanceof Error ? err.message : String(err);
  return /UNIQUE constraint failed: release_evidences\.release_id/.test(text);
}

/** The columns of an evidence's summary (its document left out: listings do not need it). */
export const EVIDENCE_SUMMARY_COLUMNS = "v.id, v.release_id, v.project_id, v.sha, v.tree_size, v.collected_by, '' AS evidence, v.collected_at";

/** Summary rows (EVIDENCE_SUMMARY_COLUMNS, oldest first) grouped by release id; every id in `releaseIds` present. */
export function evidencesByRelease(releaseIds: readonly number[], rows: unknown[]): Map<number, ReleaseEvidence[]> {
  const out = new Map<number, ReleaseEvidence[]>(releaseIds.map((id) => [id, []]));
  for (const r of rows as EvidenceRow[]) out.get(r.release_id)?.push(toEvidence(r));
  return out;
}

/** The evidences of these releases, oldest first, by release id (without their documents). */
export async function evidencesOfReleases(db: D1Database, releaseIds: readonly number[]): Promise<Map<number, ReleaseEvidence[]>> {
  if (releaseIds.length === 0) return new Map();
  const rows = await db
    .prepare(`SELECT ${EVIDENCE_SUMMARY_COLUMNS} FROM json_each(?1) j JOIN release_evidences v ON v.release_id = j.value ORDER BY v.id`)
    .bind(JSON.stringify(releaseIds))
    .all<EvidenceRow>();
  return evidencesByRelease(releaseIds, rows.results);
}

/** One evidence of a release, with its document, or null. */
export async function findEvidence(db: D1Database, releaseId: number, id: number): Promise<ReleaseEvidence | null> {
  const row = await db.prepare('SELECT * FROM release_evidences WHERE id = ?1 AND release_id = ?2').bind(id, releaseId).first<EvidenceRow>();
  return row ? toEvidence(row) : null;
}

/** A release whose creation event is in the tree, and that event's leaf index. */
export interface ReleaseInLog {
  releaseId: number;
  projectId: number;
  tagName: string;
  createdEventId: number;
  leafIndex: number;
}

/**
 * Releases without a scheduled evidence whose `release_created` event has a leaf below
 * `treeSize` (a checkpoint covers their creation), oldest first, at most `limit`.
 */
export async function releasesAwaitingEvidence(db: D1Database, treeSize: number, limit: number): Promise<ReleaseInLog[]> {
  const rows = await db
    .prepare(
      `SELECT r.id AS release_id, r.project_id, r.tag_name, e.id AS event_id, l.leaf_index
       FROM releases r
       JOIN audit_events e ON e.project_id = r.project_id AND e.event_type = 'release_created'
         AND e.target_type = 'Release' AND e.target_id = r.id
       JOIN audit_log_leaves l ON l.event_id = e.id
       WHERE l.leaf_index < ?1
         AND NOT EXISTS (SELECT 1 FROM release_evidences v WHERE v.release_id = r.id AND v.collected_by = 'scheduled')
       ORDER BY r.id LIMIT ?2`,
    )
    .bind(treeSize, limit)
    .all<{ release_id: number; project_id: number; tag_name: string; event_id: number; leaf_index: number }>();
  return rows.results.map((r) => ({ releaseId: r.release_id, projectId: r.project_id, tagName: r.tag_name, createdEventId: r.event_id, leafIndex: r.leaf_index }));
}

/** The event types that describe a release (its downloads excepted: those are about use, not the release). */
export const RELEASE_EVENT_TYPES = [
  'release_created',
  'release_updated',
  'release_asset_link_created',
  'release_asset_link_updated',
  'release_asset_link_deleted',
  'release_evidence_collected',
] as const;

/** Whether an event is about this release: its target is the release, or one of its links (a link event names the release's tag in its details). */
export function isReleaseEvent(e: Pick<AuditEvent, 'targetType' | 'targetId' | 'details'>, release: { id: number; tagName: string }): boolean {
  return (e.targetType === 'Release' && e.targetId === release.id) || (e.targetType === 'Releases::Link' && e.details.tag_name === release.tagName);
}

/**
 * The ids of a release's events that D1 holds and that are in the tree below `treeSize`, oldest
 * first, at most `limit`: events of its project from `sinceId` (its creation event's) on, of the
 * RELEASE_EVENT_TYPES, about the release (isReleaseEvent, in SQL).
 */
export async function releaseEventIds(
  db: D1Database,
  release: { id: number; projectId: number; tagName: string },
  treeSize: number,
  limit: number,
  sinceId: number,
): Promise<number[]> {
  const rows = await db
    .prepare(
      `SELECT e.id FROM json_each(?1) t
       JOIN audit_events e ON e.project_id = ?2 AND e.event_type = t.value
       JOIN audit_log_leaves l ON l.event_id = e.id AND l.leaf_index < ?5
       WHERE e.id >= ?7
         AND ((e.target_type = 'Release' AND e.target_id = ?3)
              OR (e.target_type = 'Releases::Link' AND json_extract(e.details, '$.tag_name') = ?4))
       ORDER BY e.id LIMIT ?6`,
    )
    .bind(JSON.stringify(RELEASE_EVENT_TYPES), release.projectId, release.id, release.tagName, treeSize, limit, sinceId)
    .all<{ id: number }>();
  return rows.results.map((r) => r.id);
}

/**
 * The id of the release's `release_created` event as D1 holds it, or null: moved to the cold
 * archive (issue 19) or removed by retention (then the release's events cannot be listed).
 */
export async function releaseCreatedEventId(db: D1Database, release: { id: number; projectId: number }): Promise<number | null> {
  const row = await db
    .prepare(
      `SELECT MIN(id) AS id FROM audit_events WHERE project_id = ?1 AND event_type = 'release_created' AND target_type = 'Release' AND target_id = ?2`,
    )
    .bind(release.projectId, release.id)
    .first<{ id: number | null }>();
  return row?.id ?? null;
}

/** The first kept checkpoint whose tree covers the leaf at `leafIndex`, or null. */
export async function firstCheckpointCovering(db: D1Database, leafIndex: number): Promise<StoredCheckpoint | null> {
  const row = await db
    .prepare('SELECT tree_size, root_hash, note, created_at FROM audit_log_checkpoints WHERE tree_size > ?1 ORDER BY tree_size LIMIT 1')
    .bind(leafIndex)
    .first<{ tree_size: number; root_hash: string; note: string; created_at: string }>();
  return row ? { treeSize: row.tree_size, rootHash: row.root_hash, note: row.note, createdAt: row.created_at } : null;
}
