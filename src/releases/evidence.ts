/**
 * Release evidence (issue 18 section 5; GitLab's Releases evidence): a JSON document holding the
 * release as it is (name, tag, description, dates, author, links with their URLs), the ids of
 * its audit events, and a signed checkpoint of the audit log with those events' inclusion proofs
 * at its tree size. The document's exact text is stored and its SHA-256 (hex, GitLab's `sha`)
 * is recorded in a `release_evidence_collected` event in the same transaction, so the log
 * commits to the evidence.
 *
 * Collected by the scheduled job at the FIRST checkpoint covering the release's creation event
 * (once per release), and on request (POST .../evidence) at the LATEST checkpoint; the document
 * says which (`audit_log.collected_by`, `audit_log.checkpoint_rule`).
 */
import type { Env } from '../env';
import type { Project } from '../db/projects';
import { findProjectsByIds } from '../db/projects';
import { findRelease, type Release } from '../db/releases';
import { latestCheckpoint, type StoredCheckpoint } from '../db/audit_log_checkpoints';
import {
  evidencesOfReleases,
  firstCheckpointCovering,
  insertedEvidenceId,
  insertEvidenceStatement,
  isReleaseEvent,
  isScheduledEvidenceTaken,
  releaseCreatedEventId,
  releaseEventIds,
  releasesAwaitingEvidence,
  RELEASE_EVENT_TYPES,
  type EvidenceCollector,
  type ReleaseEvidence,
} from '../db/release_evidences';
import { nowIso } from '../db/time';
import { coldBoundary } from '../db/audit_archive';
import { sha256, toHex } from '../tlog/hash';
import { inclusionProofsAt } from '../audit/proofs';
import { listAuditEventsKeyset } from '../audit/listing';
import { coldEventLines, lineLeaf } from '../audit/archive_leaves';
import type { LogLeaf } from '../db/audit_log_tree';
import type { AuditScope } from '../db/audit_log';
import type { AuditEvent } from '../db/audit_events';
import { LOG_AUTHOR } from '../audit/log_signing';
import { projectEntity, recordChange } from '../audit/record';

/** The event that commits the log to an evidence. */
export const EVIDENCE_EVENT = 'release_evidence_collected';

/** At most this many of a release's events are listed (and proved) in one evidence (the proofs batch's limit). */
export const MAX_EVIDENCE_EVENTS = 100;

/** Releases the scheduled job collects evidence for in one run. */
const SCHEDULED_BATCH = 20;

const RULES: Record<EvidenceCollector, string> = {
  scheduled: 'the first checkpoint covering the release creation event',
  request: 'the latest checkpoint when the evidence was requested',
};

/** Who collects: a user (on request) or the log itself (the scheduled job). */
export interface EvidenceRequest {
  collectedBy: EvidenceCollector;
  author: { id: number; name: string };
  ipAddress: string | null;
}

/** The evidence document's text (what its sha hashes). */
async function evidenceDocument(env: Env, project: Project, release: Release, checkpoint: StoredCheckpoint, collectedBy: EvidenceCollector, collectedAt: string) {
  const found = await releaseEventIdsHotAndCold(env, project, release, checkpoint.treeSize, MAX_EVIDENCE_EVENTS + 1);
  if (found === null) {
    throw new EvidenceUnavailable(
      `The creation event of release ${release.tagName} was removed from the audit log by retention; evidence can no longer be collected`,
    );
  }
  const { ids, coldLeaves } = found;
  const listed = ids.slice(0, MAX_EVIDENCE_EVENTS);
  const proofs = await inclusionProofsAt(env, listed, checkpoint.treeSize, coldLeaves);
  const document = {
    release: {
      id: release.id,
      tag_name: release.tagName,
      name: release.name,
      description: release.description,
      created_at: release.createdAt,
      released_at: release.releasedAt,
      updated_at: release.updatedAt,
      author: release.author ? { id: release.author.id, username: release.author.username, name: release.author.name } : null,
      project: { id: project.id, name: project.name, full_path: project.fullPath, created_at: project.createdAt },
      links: release.links.map((l) => ({ id: l.id, name: l.name, url: l.url, direct_asset_path: l.filepath, link_type: l.linkType })),
    },
    audit_events: { ids: listed, truncated: ids.length > listed.length },
    audit_log: {
      collected_by: collectedBy,
      checkpoint_rule: RULES[collectedBy],
      tree_size: checkpoint.treeSize,
      root_hash: checkpoint.rootHash,
      checkpoint: checkpoint.note,
      inclusion_proofs: proofs.map((p) => ({ audit_event_id: p.id, leaf_index: p.leafIndex, leaf_hash: p.leafHash, hashes: p.hashes })),
    },
    collected_at: collectedAt,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

/**
 * The ids of the release's events in the tree below `treeSize`, hot or cold, oldest first, at
 * most `limit`, with the leaves of the cold ones (read from their archived lines, so the proofs
 * need not read them again); null when retention removed its creation event from the archive.
 * - Its creation event in D1: every later event is there too (the cold events are a prefix of
 *   the log), one query.
 * - Moved to the archive (issue 19): the project's events of each release event type are read
 *   through the one hot+cold listing (its counts skip the chunks without them), cold ones only,
 *   from the creation event on; then the hot ones from the cold boundary on. Should a move end
 *   meanwhile (the boundary changed), the reading starts over.
 */
async function releaseEventIdsHotAndCold(
  env: Env,
  project: Project,
  release: Release,
  treeSize: number,
  limit: number,
): Promise<{ ids: number[]; coldLeaves: Map<number, LogLeaf> } | null> {
  const createdHot = await releaseCreatedEventId(env.DB, release);
  if (createdHot !== null) return { ids: await releaseEventIds(env.DB, release, treeSize, limit, createdHot), coldLeaves: new Map() };
  for (let tries = 0; ; tries++) {
    const boundary = await coldBoundary(env.DB);
    // Never moved and not in D1: retention removed it while hot; nothing of the release is listed (as before issue 19).
    if (boundary.lastId === 0) return { ids: [], coldLeaves: new Map() };
    const scope: AuditScope = { kind: 'project', project };
    const coldOfType = async (eventType: string, afterId: number | undefined, wanted: (e: AuditEvent) => boolean, max: number): Promise<AuditEvent[]> => {
      const found: AuditEvent[] = [];
      for (let cursor = afterId, more = true; more && found.length < max; ) {
        const page = await listAuditEventsKeyset(env, scope, { eventType }, { sort: 'asc', afterId: cursor, maxId: boundary.lastId }, 100);
        for (const e of page.events) if (found.length < max && wanted(e)) found.push(e);
        more = page.hasMore;
        cursor = page.nextAfterId;
      }
      return found;
    };
    const [created] = await coldOfType('release_created', undefined, (e) => e.targetType === 'Release' && e.targetId === release.id, 1);
    if (!created) return null;
    const candidates: number[] = [];
    for (const type of RELEASE_EVENT_TYPES) {
      for (const e of await coldOfType(type, created.id - 1, (x) => isReleaseEvent(x, release), limit)) candidates.push(e.id);
    }
    const lines = await coldEventLines(env, candidates);
    const cold = candidates.filter((id) => (lines.get(id)?.leaf_index ?? Infinity) < treeSize).sort((a, b) => a - b);
    const hot = await releaseEventIds(env.DB, release, treeSize, limit, boundary.lastId + 1);
    if ((await coldBoundary(env.DB)).lastId === boundary.lastId || tries >= 2) {
      return { ids: [...cold, ...hot].slice(0, limit), coldLeaves: new Map(cold.map((id) => [id, lineLeaf(lines.get(id)!)])) };
    }
  }
}

/**
 * Collect an evidence of `release` at `checkpoint` and record its event, in one transaction.
 * Null when the scheduled job lost the race for the release's one scheduled evidence.
 */
export async function collectEvidence(
  env: Env,
  ctx: Pick<ExecutionContext, 'waitUntil'> | null,
  project: Project,
  release: Release,
  checkpoint: StoredCheckpoint,
  by: EvidenceRequest,
): Promise<ReleaseEvidence | null> {
  const collectedAt = nowIso();
  const text = await evidenceDocument(env, project, release, checkpoint, by.collectedBy, collectedAt);
  const sha = toHex(await sha256(new TextEncoder().encode(text)));
  const row = { releaseId: release.id, projectId: project.id, sha, treeSize: checkpoint.treeSize, collectedBy: by.collectedBy, evidence: text, collectedAt };
  try {
    await recordChange(
      env,
      ctx,
      [insertEvidenceStatement(env.DB, row)],
      [
        {
          eventType: EVIDENCE_EVENT,
          author: by.author,
          authorClass: by.collectedBy === 'scheduled' ? 'System' : 'User',
          entity: projectEntity(project),
          target: { id: release.id, type: 'Release', details: release.name },
          ipAddress: by.ipAddress,
          details: {
            custom_message: `Collected evidence of release ${release.tagName}`,
            tag_name: release.tagName,
            evidence_id: insertedEvidenceId(release.id, sha),
            sha,
            tree_size: checkpoint.treeSize,
            collected_by: by.collectedBy,
          },
        },
      ],
    );
  } catch (err) {
    if (by.collectedBy === 'scheduled' && isScheduledEvidenceTaken(err)) return null;
    throw err;
  }
  const list = (await evidencesOfReleases(env.DB, [release.id])).get(release.id) ?? [];
  return list.find((e) => e.sha === sha) ?? null;
}

/** Why an evidence cannot be collected on request: no checkpoint yet (REST 409). */
export class EvidenceUnavailable extends Error {}

/** POST .../evidence: collect at the latest checkpoint (the caller checked who may). */
export async function collectRequestedEvidence(
  env: Env,
  ctx: Pick<ExecutionContext, 'waitUntil'> | null,
  project: Project,
  release: Release,
  author: { id: number; name: string },
  ipAddress: string | null,
): Promise<ReleaseEvidence> {
  const checkpoint = await latestCheckpoint(env.DB);
  if (!checkpoint) throw new EvidenceUnavailable('No audit log checkpoint has been issued yet; evidence can be collected once one is');
  const evidence = await collectEvidence(env, ctx, project, release, checkpoint, { collectedBy: 'request', author, ipAddress });
  if (!evidence) throw new Error('collected evidence not found after its transaction');
  return evidence;
}

/**
 * The scheduled job's step (after the audit log's checkpoint): collect the evidence of every
 * release whose creation a checkpoint covers and that has no scheduled evidence yet, at the
 * first checkpoint covering its creation (bounded per run). The number collected.
 */
export async function collectScheduledEvidence(env: Env, ctx: Pick<ExecutionContext, 'waitUntil'> | null): Promise<number> {
  const latest = await latestCheckpoint(env.DB);
  if (!latest) return 0;
  const pending = await releasesAwaitingEvidence(env.DB, latest.treeSize, SCHEDULED_BATCH);
  if (pending.length === 0) return 0;
  const projects = await findProjectsByIds(env.DB, [...new Set(pending.map((p) => p.projectId))]);
  let collected = 0;
  const failed: string[] = [];
  // One release that fails does not keep the others from their evidence; the run fails after.
  for (const p of pending) {
    try {
      const project = projects.get(p.projectId);
      const release = project ? await findRelease(env.DB, project.id, p.tagName) : null;
      const checkpoint = await firstCheckpointCovering(env.DB, p.leafIndex);
      if (!project || !release || release.id !== p.releaseId || !checkpoint) continue;
      const evidence = await collectEvidence(env, ctx, project, release, checkpoint, { collectedBy: 'scheduled', author: { ...LOG_AUTHOR }, ipAddress: null });
      if (evidence) collected++;
    } catch (err) {
      failed.push(String(p.releaseId));
      console.error(`release evidence: release ${p.releaseId} failed`, err instanceof Error ? err.message : err);
    }
  }
  if (failed.length > 0) throw new Error(`release evidence failed for releases ${failed.join(', ')} (collected ${collected})`);
  return collected;
}
