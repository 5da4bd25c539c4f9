/**
 * Releases and their asset links: plain functions over D1. Reads return domain objects with
 * their links and author; writes are returned as prepared statements so that a change and the
 * audit event describing it commit in one batch (recordAuditEvent's `extra`).
 */
import { NAMESPACE_COLUMNS, toNamespace, type NamespaceRow } from './namespaces';
import { EVIDENCE_SUMMARY_COLUMNS, evidencesByRelease, type ReleaseEvidence } from './release_evidences';
import type { Project } from './projects';

/** The link types GitLab knows (Releases::Link `link_type`), the values of links.link_type. */
export const LINK_TYPES = ['other', 'runbook', 'package', 'image'] as const;
export type LinkType = (typeof LINK_TYPES)[number];

/** An asset link of a release. */
export interface ReleaseLink {
  id: number;
  releaseId: number;
  name: string;
  url: string;
  /** direct_asset_path, with its leading '/', or null. */
  filepath: string | null;
  linkType: LinkType;
  createdAt: string;
  updatedAt: string;
  /** Tracked downloads through this link (counted as their events are stored, migration 0011). */
  downloadCount: number;
}

/** The author of a release as the APIs show it (UserBasic). */
export interface ReleaseAuthor {
  id: number;
  username: string;
  name: string;
  state: 'active' | 'blocked';
}

/** A release with its links (newest first, as GitLab's `links.sorted`) and author. */
export interface Release {
  id: number;
  projectId: number;
  tagName: string;
  name: string;
  description: string;
  authorId: number | null;
  releasedAt: string;
  createdAt: string;
  updatedAt: string;
  author: ReleaseAuthor | null;
  links: ReleaseLink[];
}

interface ReleaseRow {
  id: number;
  project_id: number;
  tag_name: string;
  name: string;
  description: string;
  author_id: number | null;
  released_at: string;
  created_at: string;
  updated_at: string;
  author_username: string | null;
  author_name: string | null;
  author_state: 'active' | 'blocked' | null;
}

interface LinkRow {
  id: number;
  release_id: number;
  name: string;
  url: string;
  filepath: string | null;
  link_type: LinkType;
  created_at: string;
  updated_at: string;
  download_count: number;
}

const RELEASE_SELECT = `SELECT r.id, r.project_id, r.tag_name, r.name, r.description, r.author_id, r.released_at, r.created_at,
  r.updated_at, u.username AS author_username, u.name AS author_name, u.state AS author_state
  FROM releases r LEFT JOIN users u ON u.id = r.author_id`;
const LINK_COLUMNS = 'l.id, l.release_id, l.name, l.url, l.filepath, l.link_type, l.created_at, l.updated_at, l.download_count';
/** GitLab's Releases::Link.sorted: newest first. */
const LINK_ORDER = 'ORDER BY l.created_at DESC, l.id DESC';

/** Row to domain object. */
export function toReleaseLink(r: LinkRow): ReleaseLink {
  return {
    id: r.id,
    releaseId: r.release_id,
    name: r.name,
    url: r.url,
    filepath: r.filepath,
    linkType: r.link_type,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    downloadCount: r.download_count ?? 0,
  };
}

function toRelease(r: ReleaseRow, links: ReleaseLink[]): Release {
  return {
    id: r.id,
    projectId: r.project_id,
    tagName: r.tag_name,
    name: r.name,
    description: r.description,
    authorId: r.author_id,
    releasedAt: r.released_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    author:
      r.author_id !== null && r.author_username !== null
        ? { id: r.author_id, username: r.author_username, name: r.author_name ?? '', state: r.author_state ?? 'active' }
        : null,
    links,
  };
}

function attachLinks(rows: ReleaseRow[], linkRows: LinkRow[]): Release[] {
  const byRelease = new Map<number, ReleaseLink[]>();
  for (const l of linkRows) {
    const list = byRelease.get(l.release_id) ?? [];
    list.push(toReleaseLink(l));
    byRelease.set(l.release_id, list);
  }
  return rows.map((r) => toRelease(r, byRelease.get(r.id) ?? []));
}

/** The release of a project with this tag (case-sensitive, as git tags are), or null. One round trip. */
export async function findRelease(db: D1Database, projectId: number, tagName: string): Promise<Release | null> {
  const [rel, links] = await db.batch([
    db.prepare(`${RELEASE_SELECT} WHERE r.project_id = ?1 AND r.tag_name = ?2`).bind(projectId, tagName),
    db
      .prepare(
        `SELECT ${LINK_COLUMNS} FROM release_links l JOIN releases r ON r.id = l.release_id
         WHERE r.project_id = ?1 AND r.tag_name = ?2 ${LINK_ORDER}`,
      )
      .bind(projectId, tagName),
  ]);
  const rows = rel.results as ReleaseRow[];
  if (rows.length === 0) return null;
  return attachLinks(rows, links.results as LinkRow[])[0];
}

/** Sort keys of release lists: GitLab's `order_by` (released_at, created_at) and `sort`. */
export interface ReleaseOrder {
  orderBy: 'released_at' | 'created_at';
  sort: 'asc' | 'desc';
}

/** A page of a project's releases, with the total, in one round trip. */
export async function listReleases(
  db: D1Database,
  projectId: number,
  order: ReleaseOrder,
  limit: number,
  offset: number,
): Promise<{ total: number; items: Release[]; evidences: Map<number, ReleaseEvidence[]> }> {
  const dir = order.sort === 'asc' ? 'ASC' : 'DESC';
  const orderSql = `ORDER BY r.${order.orderBy} ${dir}, r.id ${dir}`;
  const page = `SELECT r.id FROM releases r WHERE r.project_id = ?1 ${orderSql} LIMIT ${limit} OFFSET ${offset}`;
  const [count, rel, links, evidences] = await db.batch([
    db.prepare('SELECT COUNT(*) AS n FROM releases WHERE project_id = ?1').bind(projectId),
    db.prepare(`${RELEASE_SELECT} WHERE r.id IN (${page}) ${orderSql}`).bind(projectId),
    db.prepare(`SELECT ${LINK_COLUMNS} FROM release_links l WHERE l.release_id IN (${page}) ${LINK_ORDER}`).bind(projectId),
    // The page's release evidences (migration 0015), in the same round trip.
    db.prepare(`SELECT ${EVIDENCE_SUMMARY_COLUMNS} FROM release_evidences v WHERE v.release_id IN (${page}) ORDER BY v.id`).bind(projectId),
  ]);
  const items = attachLinks(rel.results as ReleaseRow[], links.results as LinkRow[]);
  return {
    total: (count.results[0] as { n: number }).n,
    items,
    evidences: evidencesByRelease(items.map((r) => r.id), evidences.results),
  };
}

/** A link by id with the release it belongs to (and that release's project id), or null. */
export async function findLinkById(db: D1Database, linkId: number): Promise<{ link: ReleaseLink; release: Release } | null> {
  const row = await db
    .prepare('SELECT r.project_id, r.tag_name FROM release_links l JOIN releases r ON r.id = l.release_id WHERE l.id = ?1')
    .bind(linkId)
    .first<{ project_id: number; tag_name: string }>();
  if (!row) return null;
  const release = await findRelease(db, row.project_id, row.tag_name);
  const link = release?.links.find((l) => l.id === linkId);
  return release && link ? { link, release } : null;
}

/**
 * The next ids of releases and links. Ids are reserved before the batch that inserts the rows,
 * so the audit event written in the same transaction can name its target. AUTOINCREMENT never
 * reuses ids, so the sequence is read too (a deleted newest row keeps its id retired). Two
 * concurrent writers reserving the same id collide on the primary key: the loser's whole batch
 * rolls back and it retries (see isIdCollision).
 */
export async function nextIds(db: D1Database): Promise<{ release: number; link: number }> {
  const row = await db
    .prepare(
      `SELECT
         MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'releases'), 0), COALESCE((SELECT MAX(id) FROM releases), 0)) + 1 AS release,
         MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'release_links'), 0), COALESCE((SELECT MAX(id) FROM release_links), 0)) + 1 AS link`,
    )
    .first<{ release: number; link: number }>();
  return { release: row!.release, link: row!.link };
}

/** Whether a failed batch lost a race for a reserved id (retry with fresh ids). */
export function isIdCollision(err: unknown): boolean {
  const text = String(err instanceof Error ? err.message : err);
  return text.includes('UNIQUE constraint failed: releases.id') || text.includes('UNIQUE constraint failed: release_links.id');
}

/** Whether a failed batch hit the (project, tag) uniqueness of releases. */
export function isDuplicateTag(err: unknown): boolean {
  return String(err instanceof Error ? err.message : err).includes('UNIQUE constraint failed: releases.project_id');
}

/** INSERT of a release with a reserved id. */
export function insertReleaseStatement(
  db: D1Database,
  r: { id: number; projectId: number; tagName: string; name: string; description: string; authorId: number; releasedAt: string; now: string },
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO releases (id, project_id, tag_name, name, description, author_id, released_at, created_at, updated_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)`,
    )
    .bind(r.id, r.projectId, r.tagName, r.name, r.description, r.authorId, r.releasedAt, r.now);
}

/** UPDATE of a release's editable fields. */
export function updateReleaseStatement(
  db: D1Database,
  id: number,
  r: { name: string; description: string; releasedAt: string; now: string },
): D1PreparedStatement {
  return db
    .prepare('UPDATE releases SET name = ?2, description = ?3, released_at = ?4, updated_at = ?5 WHERE id = ?1')
    .bind(id, r.name, r.description, r.releasedAt, r.now);
}

/** DELETE of a release and its links. */
export function deleteReleaseStatements(db: D1Database, id: number): D1PreparedStatement[] {
  return [
    db.prepare('DELETE FROM release_links WHERE release_id = ?1').bind(id),
    db.prepare('DELETE FROM releases WHERE id = ?1').bind(id),
  ];
}

/** INSERT of a link with a reserved id. */
export function insertLinkStatement(
  db: D1Database,
  l: { id: number; releaseId: number; name: string; url: string; filepath: string | null; linkType: LinkType; now: string },
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO release_links (id, release_id, name, url, filepath, link_type, created_at, updated_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)`,
    )
    .bind(l.id, l.releaseId, l.name, l.url, l.filepath, l.linkType, l.now);
}

/** UPDATE of a link's attributes. */
export function updateLinkStatement(
  db: D1Database,
  id: number,
  l: { name: string; url: string; filepath: string | null; linkType: LinkType; now: string },
): D1PreparedStatement {
  return db
    .prepare('UPDATE release_links SET name = ?2, url = ?3, filepath = ?4, link_type = ?5, updated_at = ?6 WHERE id = ?1')
    .bind(id, l.name, l.url, l.filepath, l.linkType, l.now);
}

/** DELETE of a link. */
export function deleteLinkStatement(db: D1Database, id: number): D1PreparedStatement {
  return db.prepare('DELETE FROM release_links WHERE id = ?1').bind(id);
}

/** What the download redirect needs: the project (with namespace), the release and the link. */
export interface DownloadTarget {
  project: Project;
  releaseId: number;
  tagName: string;
  linkId: number;
  linkName: string;
  url: string;
  filepath: string | null;
}

/** How the download route names its link. */
export type DownloadSelector =
  | { kind: 'filepath'; tagName: string; filepath: string }
  | { kind: 'latest'; filepath: string; now: string }
  | { kind: 'link'; tagName: string; linkId: number };

const NS_COLUMNS = NAMESPACE_COLUMNS.split(', ')
  .map((c) => `n.${c} AS ns_${c}`)
  .join(', ');
const DOWNLOAD_SELECT = `SELECT p.id, p.namespace_id, p.name, p.path, p.full_path, p.description, p.visibility, p.creator_id,
  p.created_at, ${NS_COLUMNS}, r.id AS release_id, r.tag_name, l.id AS link_id, l.name AS link_name, l.url AS link_url,
  l.filepath AS link_filepath
  FROM projects p JOIN namespaces n ON n.id = p.namespace_id`;

/**
 * The hot path's single query: project (by full path), release (by tag, or the latest released
 * one) and link (by filepath or id), joined through their unique indexes; no row when any is
 * missing. Its parameters are ?1..?3.
 */
function downloadLookup(projectPath: string, sel: DownloadSelector): { sql: string; binds: unknown[] } {
  if (sel.kind === 'filepath') {
    return {
      sql: `${DOWNLOAD_SELECT}
         JOIN releases r ON r.project_id = p.id AND r.tag_name = ?2
         JOIN release_links l ON l.release_id = r.id AND l.filepath = ?3
         WHERE p.full_path = ?1`,
      binds: [projectPath, sel.tagName, sel.filepath],
    };
  }
  if (sel.kind === 'link') {
    return {
      sql: `${DOWNLOAD_SELECT}
         JOIN releases r ON r.project_id = p.id AND r.tag_name = ?2
         JOIN release_links l ON l.release_id = r.id AND l.id = ?3
         WHERE p.full_path = ?1`,
      binds: [projectPath, sel.tagName, sel.linkId],
    };
  }
  // GitLab's permalink/latest: the newest release by released_at, upcoming releases excluded.
  return {
    sql: `${DOWNLOAD_SELECT}
         JOIN releases r ON r.id = (SELECT r2.id FROM releases r2 WHERE r2.project_id = p.id AND r2.released_at <= ?3
                                    ORDER BY r2.released_at DESC, r2.id DESC LIMIT 1)
         JOIN release_links l ON l.release_id = r.id AND l.filepath = ?2
         WHERE p.full_path = ?1`,
    binds: [projectPath, sel.filepath, sel.now],
  };
}

/** findDownloadTarget's answer: the download lookup's row, mapped. */
export async function findDownloadTarget(db: D1Database, projectPath: string, sel: DownloadSelector): Promise<DownloadTarget | null> {
  const { sql, binds } = downloadLookup(projectPath, sel);
  const stmt = db.prepare(sql).bind(...binds);
  const row = await stmt.first<Record<string, unknown>>();
  if (!row) return null;
  const ns: Record<string, unknown> = {};
  for (const c of NAMESPACE_COLUMNS.split(', ')) ns[c] = row[`ns_${c}`];
  const project: Project = {
    id: row.id as number,
    namespaceId: row.namespace_id as number,
    name: row.name as string,
    path: row.path as string,
    fullPath: row.full_path as string,
    description: row.description as string,
    visibility: row.visibility as Project['visibility'],
    creatorId: row.creator_id as number | null,
    createdAt: row.created_at as string,
    namespace: toNamespace(ns as unknown as NamespaceRow),
  };
  return {
    project,
    releaseId: row.release_id as number,
    tagName: row.tag_name as string,
    linkId: row.link_id as number,
    linkName: row.link_name as string,
    url: row.link_url as string,
    filepath: row.link_filepath as string | null,
  };
}
