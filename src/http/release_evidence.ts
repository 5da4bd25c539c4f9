/**
 * Release evidence over HTTP (issue 18 section 5, src/releases/evidence.ts):
 *   POST /api/v4/projects/:id/releases/:tag_name/evidence   GitLab's "Collect release evidence":
 *     whoever may update the release (Developer and up); collected now, at the latest checkpoint
 *     (GitLab queues a job and answers 202; here it is done when we answer 201 with the
 *     evidence's `{sha, filepath, collected_at}`); 409 while no checkpoint exists.
 *   GET /:namespace/:project/-/releases/:tag/evidences/:id.json   the evidence document, the exact
 *     bytes its sha hashes, for whoever may read the release (404 for everyone else).
 */
import { authenticate } from '../auth/authenticate';
import { can } from '../auth/policy';
import { findProjectByPath } from '../db/projects';
import { findRelease } from '../db/releases';
import { findEvidence } from '../db/release_evidences';
import type { Env } from '../env';
import { authorOf, clientIp } from '../audit/record';
import { collectRequestedEvidence, EvidenceUnavailable } from '../releases/evidence';
import { evidenceJson } from '../releases/serializers';
import { ApiError, conflict, forbidden, json, notFound } from '../web/errors';
import { publicOrigin } from '../web/origin';
import { param, type ApiRouter } from './context';
import { loadReadableProject, requireActor } from './access';

/** `/<project full path>/-/releases/<encoded tag>/evidences/<id>.json` */
const EVIDENCE_PATH = /^\/(.+?)\/-\/releases\/([^/]+)\/evidences\/(\d{1,15})\.json$/;

export function registerReleaseEvidenceRoutes(router: ApiRouter): void {
  /** `POST /projects/:id/releases/:tag_name/evidence`. */
  router.post('/projects/:id/releases/:tag_name/evidence', async (request, app) => {
    const project = await loadReadableProject(app, param(request, 'id'));
    const actor = requireActor(app);
    if (!(await can(app.env.DB, actor, 'update_release', { kind: 'project', project }))) throw forbidden();
    const tagName = param(request, 'tag_name');
    const release = await findRelease(app.env.DB, project.id, tagName);
    if (!release) throw notFound('Release');
    try {
      const evidence = await collectRequestedEvidence(app.env, app.ctx, project, release, authorOf(actor.user), clientIp(request));
      return json(evidenceJson(evidence, project, release.tagName, publicOrigin(request, app.env)), 201);
    } catch (err) {
      if (err instanceof EvidenceUnavailable) throw conflict(err.message);
      throw err;
    }
  });
}

/** Answers the evidence document's path (null for every other path). */
export async function handleEvidenceFile(request: Request, env: Env, pathname: string): Promise<Response | null> {
  const m = EVIDENCE_PATH.exec(pathname);
  if (!m) return null;
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    throw new ApiError(405, { message: '405 Method Not Allowed' }, { Allow: 'GET, HEAD' });
  }
  const actor = await authenticate(request, env);
  let tagName: string;
  try {
    tagName = decodeURIComponent(m[2]);
  } catch {
    throw notFound();
  }
  const project = await findProjectByPath(env.DB, m[1]);
  if (!project || !(await can(env.DB, actor, 'read_release', { kind: 'project', project }))) throw notFound();
  const release = await findRelease(env.DB, project.id, tagName);
  const evidence = release ? await findEvidence(env.DB, release.id, Number(m[3])) : null;
  if (!evidence) throw notFound();
  return new Response(request.method === 'HEAD' ? null : evidence.evidence, {
    status: 200,
    headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'private, no-store', 'X-Content-Type-Options': 'nosniff' },
  });
}
