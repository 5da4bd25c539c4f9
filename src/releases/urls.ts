/**
 * The tracked URLs of asset links. `direct_asset_url` always points at this service, so every
 * download passes through the audited redirect (GitLab points it at the link's own URL when the
 * link has no filepath; we never serve a link untracked):
 *   - with a filepath: `<origin>/<project full path>/-/releases/<tag>/downloads<filepath>`
 *     (GitLab's own route);
 *   - without one: `<origin>/<project full path>/-/releases/<tag>/links/<link id>` (ours).
 * The tag is URL-encoded as one path segment (`release%2F1.0`).
 * A signed URL (signedDirectAssetUrl) is the tracked URL with a signed link's query, which the
 * download route accepts instead of a token (src/auth/download_links.ts).
 */
import type { Env } from '../env';
import type { ReleaseLink } from '../db/releases';
import { downloadLinkSecret, signDownloadLink, SIGNED_LINK_PARAMS } from '../auth/download_links';

/** The path of a release under a project: `/<full path>/-/releases/<encoded tag>`. */
export function releasePath(projectFullPath: string, tagName: string): string {
  return `/${projectFullPath}/-/releases/${encodeURIComponent(tagName)}`;
}

/** The path of a release evidence's JSON (GitLab's route): `<release path>/evidences/<id>.json`. */
export function evidencePath(projectFullPath: string, tagName: string, evidenceId: number): string {
  return `${releasePath(projectFullPath, tagName)}/evidences/${evidenceId}.json`;
}

/** The tracked download URL of a link. */
export function directAssetUrl(origin: string, projectFullPath: string, tagName: string, link: Pick<ReleaseLink, 'id' | 'filepath'>): string {
  const base = `${origin}${releasePath(projectFullPath, tagName)}`;
  return link.filepath !== null ? `${base}/downloads${link.filepath}` : `${base}/links/${link.id}`;
}

/** A tracked URL signed for one user, and when it expires (ISO 8601). */
export interface SignedDownloadUrl {
  url: string;
  expiresAt: string;
}

/**
 * The tracked download URL of a link signed for `userId`, valid for 5 minutes from `nowMs`:
 * `<direct_asset_url>?expires=<unix s>&user=<id>&signature=<base64url HMAC-SHA256>`. Null when
 * DOWNLOAD_LINK_SECRET is not set (signed links are off).
 */
export async function signedDirectAssetUrl(
  env: Pick<Env, 'DOWNLOAD_LINK_SECRET'>,
  origin: string,
  projectFullPath: string,
  tagName: string,
  link: Pick<ReleaseLink, 'id' | 'filepath'>,
  userId: number,
  nowMs = Date.now(),
): Promise<SignedDownloadUrl | null> {
  const secret = downloadLinkSecret(env);
  if (secret === null) return null;
  const signed = await signDownloadLink(secret, link.id, userId, Math.floor(nowMs / 1000));
  const query = new URLSearchParams({
    [SIGNED_LINK_PARAMS.expires]: String(signed.expires),
    [SIGNED_LINK_PARAMS.user]: String(signed.userId),
    [SIGNED_LINK_PARAMS.signature]: signed.signature,
  });
  return { url: `${directAssetUrl(origin, projectFullPath, tagName, link)}?${query}`, expiresAt: new Date(signed.expires * 1000).toISOString() };
}
