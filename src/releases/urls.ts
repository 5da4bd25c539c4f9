/**
 * The tracked URLs of asset links. `direct_asset_url` always points at this service, so every
 * download passes through the audited redirect (GitLab points it at the link's own URL when the
 * link has no filepath; we never serve a link untracked):
 *   - with a filepath: `<origin>/<project full path>/-/releases/<tag>/downloads<filepath>`
 *     (GitLab's own route);
 *   - without one: `<origin>/<project full path>/-/releases/<tag>/links/<link id>` (ours).
 * The tag is URL-encoded as one path segment (`release%2F1.0`).
 */
import type { ReleaseLink } from '../db/releases';

/** The path of a release under a project: `/<full path>/-/releases/<encoded tag>`. */
export function releasePath(projectFullPath: string, tagName: string): string {
  return `/${projectFullPath}/-/releases/${encodeURIComponent(tagName)}`;
}

/** The tracked download URL of a link. */
export function directAssetUrl(origin: string, projectFullPath: string, tagName: string, link: Pick<ReleaseLink, 'id' | 'filepath'>): string {
  const base = `${origin}${releasePath(projectFullPath, tagName)}`;
  return link.filepath !== null ? `${base}/downloads${link.filepath}` : `${base}/links/${link.id}`;
}
