/** REST JSON of releases and links: GitLab's API::Entities::Release and API::Entities::Releases::Link. */
import type { Project } from '../db/projects';
import type { Release, ReleaseLink } from '../db/releases';
import type { ReleaseEvidence } from '../db/release_evidences';
import { userBasicJson } from '../web/serializers';
import { directAssetUrl, evidencePath, releasePath } from './urls';

/** Whether a release is still to come (released_at in the future), as GitLab's `upcoming_release`. */
export function isUpcoming(release: Pick<Release, 'releasedAt'>, now = new Date().toISOString()): boolean {
  return release.releasedAt > now;
}

/** Whether a release was released before it was created, as GitLab's `historical_release`. */
export function isHistorical(release: Pick<Release, 'releasedAt' | 'createdAt'>): boolean {
  return release.releasedAt < release.createdAt;
}

/** GitLab's API::Entities::Releases::Link (direct_asset_url always our tracked URL). */
export function linkJson(link: ReleaseLink, project: Project, tagName: string, origin: string) {
  return {
    id: link.id,
    name: link.name,
    url: link.url,
    direct_asset_url: directAssetUrl(origin, project.fullPath, tagName, link),
    link_type: link.linkType,
    // Ours (GitHub's release asset `download_count`; GitLab has none): tracked downloads through direct_asset_url.
    download_count: link.downloadCount,
  };
}

/** GitLab's API::Entities::Releases::Evidence: the document's SHA-256, its URL and when it was collected. */
export function evidenceJson(evidence: ReleaseEvidence, project: Project, tagName: string, origin: string) {
  return { sha: evidence.sha, filepath: `${origin}${evidencePath(project.fullPath, tagName, evidence.id)}`, collected_at: evidence.collectedAt };
}

/** GitLab's API::Entities::Release (no commit, tag or sources: this service holds no git repository). */
export function releaseJson(release: Release, project: Project, origin: string, evidences: readonly ReleaseEvidence[] = []) {
  const self = `${origin}${releasePath(project.fullPath, release.tagName)}`;
  return {
    name: release.name,
    tag_name: release.tagName,
    description: release.description,
    created_at: release.createdAt,
    released_at: release.releasedAt,
    upcoming_release: isUpcoming(release),
    historical_release: isHistorical(release),
    author: release.author ? userBasicJson(release.author, origin) : null,
    milestones: [],
    evidences: evidences.map((e) => evidenceJson(e, project, release.tagName, origin)),
    assets: {
      count: release.links.length,
      sources: [],
      links: release.links.map((l) => linkJson(l, project, release.tagName, origin)),
    },
    _links: {
      self,
      edit_url: `${self}/edit`,
    },
  };
}
