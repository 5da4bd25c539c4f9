/**
 * The audited edge download redirect, the hot path of the service:
 *   GET /:namespace/:project/-/releases/:tag/downloads/*filepath             (GitLab's route)
 *   GET /:namespace/:project/-/releases/permalink/latest/downloads/*filepath (GitLab's route)
 *   GET /:namespace/:project/-/releases/:tag/links/:link_id                  (ours: links without a filepath)
 * Namespaces may be nested (`a/b/c/project`); the tag is one URL-encoded segment.
 *
 * Work per request: ONE query resolves project, release and link through unique indexes, and
 * `release_external_artifact_download` ("Repository External Resource Download Started") is
 * recorded; then 302 to the stored link URL with `Cache-Control: no-store` so every click
 * reaches the edge. Without a token (the common case) the lookup, the permission check and
 * the event are ONE statement, so ONE D1 round trip; with a token, the lookup, the token, the
 * membership (private projects) and the event are one round trip each. HEAD answers the same
 * without recording. The
 * Location is only ever a stored link URL (never an open redirect).
 *
 * Private and internal projects need a token (PRIVATE-TOKEN, Authorization: Bearer or
 * ?private_token=, scope api or read_api) of a user who may read releases. Anything refused or
 * missing answers 404, never 401 or 403, so that neither the existence of a project nor the
 * validity of a token leaks (GitLab answers 401 for a bad token on its API; this is a browser
 * route, where 404 is GitLab's answer for what the caller may not see).
 */
import { benchRoutesEnabled, type Env } from '../env';
import { actorForToken, presentedToken, type Actor } from '../auth/authenticate';
import { anonymousCanSql, can } from '../auth/policy';
import { DOWNLOAD_ROW, downloadLookup, findDownloadTarget, type DownloadSelector } from '../db/releases';
import {
  authorOf,
  clientIp,
  projectEntity,
  recordAuditEvent,
  recordAuditEventFromLookup,
  type AuditEventInput,
  type AuditEventTemplate,
  type Val,
} from '../audit/record';
import { FILEPATH_MAX, FILEPATH_REGEX } from '../releases/links';

const MARKER = '/-/releases/';
/** Bench-only bare redirect (BENCH_ROUTES="true"); otherwise an ordinary unknown path. */
export const BENCH_REDIRECT_PATH = '/-/bench/redirect';

/** A parsed download route: the project's full path and how the link is named. */
export interface DownloadRoute {
  projectPath: string;
  selector: DownloadSelector;
}

/** Why a path of ours cannot name a link (answered 404). */
const INVALID = 'invalid' as const;

function decodeSegment(raw: string): string | null {
  try {
    return decodeURIComponent(raw);
  } catch {
    return null;
  }
}

/**
 * A filepath from its raw URL segments, or null when it is unsafe or not a filepath GitLab
 * accepts: empty segments (double or trailing slashes), '.', '..' (also percent-encoded),
 * backslashes, encoded slashes and control characters are refused before any lookup.
 */
export function filepathFromSegments(segments: string[]): string | null {
  if (segments.length === 0) return null;
  const decoded: string[] = [];
  for (const raw of segments) {
    const s = decodeSegment(raw);
    if (s === null || s === '' || s === '.' || s === '..' || /[\\/\u0000-\u001f\u007f]/.test(s)) return null;
    decoded.push(s);
  }
  const filepath = `/${decoded.join('/')}`;
  if (filepath.length > FILEPATH_MAX || !FILEPATH_REGEX.test(filepath)) return null;
  return filepath;
}

/** Parse a path: a route of ours, INVALID (ours but unusable: 404), or null (not ours). */
export function parseDownloadPath(pathname: string, now: string): DownloadRoute | typeof INVALID | null {
  const at = pathname.indexOf(MARKER);
  if (at <= 0) return null;
  const segs = pathname.slice(at + MARKER.length).split('/');
  let selector: DownloadSelector | typeof INVALID;
  if (segs[0] === 'permalink' && segs[1] === 'latest' && segs[2] === 'downloads' && segs.length > 3) {
    const filepath = filepathFromSegments(segs.slice(3));
    selector = filepath ? { kind: 'latest', filepath, now } : INVALID;
  } else if (segs[1] === 'downloads' && segs.length > 2) {
    const tagName = decodeSegment(segs[0]);
    const filepath = filepathFromSegments(segs.slice(2));
    selector = tagName && filepath ? { kind: 'filepath', tagName, filepath } : INVALID;
  } else if (segs[1] === 'links' && segs.length === 3) {
    const tagName = decodeSegment(segs[0]);
    selector = tagName && /^\d{1,15}$/.test(segs[2]) ? { kind: 'link', tagName, linkId: Number(segs[2]) } : INVALID;
  } else {
    return null;
  }
  const projectSegs = pathname.slice(1, at).split('/');
  if (projectSegs.length < 2 || projectSegs.some((s) => s === '' || s === '.' || s === '..' || !/^[A-Za-z0-9_.-]+$/.test(s))) return INVALID;
  if (selector === INVALID || (selector.kind !== 'latest' && selector.tagName === '')) return INVALID;
  return { projectPath: projectSegs.join('/'), selector };
}

function notFoundResponse(): Response {
  return new Response(JSON.stringify({ message: '404 Not Found' }), {
    status: 404,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
  });
}

/** The caller, or undefined when a token was presented but stands for nobody (or lacks a read scope). */
async function downloadActor(request: Request, env: Env): Promise<Actor | null | undefined> {
  const token = presentedToken(request, { queryParam: true });
  if (token === null) return null;
  try {
    const actor = await actorForToken(env, token);
    return actor.scopes.includes('api') || actor.scopes.includes('read_api') ? actor : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Answer the download routes; null for every other path. See the module comment for the rules.
 */
export async function handleDownload(request: Request, env: Env, ctx: ExecutionContext): Promise<Response | null> {
  const url = new URL(request.url);
  // The baseline of `npm run bench:redirect`: the same Worker and routing, a 302 and nothing else.
  if (url.pathname === BENCH_REDIRECT_PATH && benchRoutesEnabled(env)) {
    return new Response(null, { status: 302, headers: { Location: 'https://example.com/bench', 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' } });
  }
  const route = parseDownloadPath(url.pathname, new Date().toISOString());
  if (route === null) return null;
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return new Response(JSON.stringify({ message: '405 Method Not Allowed' }), {
      status: 405,
      headers: { 'Content-Type': 'application/json', Allow: 'GET, HEAD' },
    });
  }
  if (route === INVALID) return notFoundResponse();

  // Anonymous GET (a public release page's link, the common case): lookup, permission check and
  // audit event in ONE D1 round trip; no row (missing, or not readable anonymously) is a 404.
  if (request.method === 'GET' && presentedToken(request, { queryParam: true }) === null) {
    const event = await recordAuditEventFromLookup(
      env,
      ctx,
      downloadEvent(request, route.selector, null, LOOKED_UP),
      downloadLookup(route.projectPath, route.selector),
      anonymousCanSql('read_release', 't.visibility'),
    );
    // A stored link URL always parses (links are validated when written); if one did not, the
    // event is already recorded and the answer is still a 404, never a redirect to it.
    return event ? redirectTo(String(event.details.url)) : notFoundResponse();
  }

  const target = await findDownloadTarget(env.DB, route.projectPath, route.selector);
  if (!target) return notFoundResponse();
  const actor = await downloadActor(request, env);
  if (actor === undefined) return notFoundResponse();
  // Public projects need no lookup: can() grants read_release from visibility alone.
  if (!(await can(env.DB, actor, 'read_release', { kind: 'project', project: target.project }))) return notFoundResponse();
  const response = redirectTo(target.url);
  if (request.method === 'GET' && response.status === 302) {
    const fields: DownloadFields = { ...target, project: projectEntity(target.project) };
    await recordAuditEvent(env, ctx, downloadEvent(request, route.selector, actor, fields) as AuditEventInput);
  }
  return response;
}

/** What the download event says about the link: known values, or SQL over the lookup's row. */
interface DownloadFields {
  project: AuditEventTemplate['entity'];
  tagName: Val<string>;
  linkId: Val<number>;
  linkName: Val<string>;
  url: Val<string>;
  filepath: Val<string | null>;
}

/** The download target's fields as the one-statement lookup supplies them. */
const LOOKED_UP: DownloadFields = {
  project: {
    type: 'Project',
    id: DOWNLOAD_ROW.projectId,
    path: DOWNLOAD_ROW.projectFullPath,
    rootNamespaceId: DOWNLOAD_ROW.rootNamespaceId,
    scopePath: DOWNLOAD_ROW.scopePath,
    projectId: DOWNLOAD_ROW.projectId,
  },
  tagName: DOWNLOAD_ROW.tagName,
  linkId: DOWNLOAD_ROW.linkId,
  linkName: DOWNLOAD_ROW.linkName,
  url: DOWNLOAD_ROW.url,
  filepath: DOWNLOAD_ROW.filepath,
};

/**
 * The `release_external_artifact_download` event ("Repository External Resource Download
 * Started"): one definition for both ways it is written.
 */
function downloadEvent(request: Request, selector: DownloadSelector, actor: Actor | null, f: DownloadFields): AuditEventTemplate {
  return {
    eventType: 'release_external_artifact_download',
    author: authorOf(actor?.user ?? null),
    entity: f.project,
    target: { id: f.linkId, type: 'Releases::Link', details: f.linkName },
    ipAddress: clientIp(request),
    details: {
      custom_message: 'Repository External Resource Download Started',
      tag_name: f.tagName,
      ...(selector.kind === 'link' ? { link_id: f.linkId } : { filepath: f.filepath, link_id: f.linkId }),
      ...(selector.kind === 'latest' ? { permalink: 'latest' } : {}),
      url: f.url,
      user_agent: request.headers.get('User-Agent'),
    },
  };
}

/** 302 to a stored link URL (404 if it does not parse). */
function redirectTo(url: string): Response {
  let location: string;
  try {
    location = new URL(url).href;
  } catch {
    return notFoundResponse();
  }
  return new Response(null, {
    status: 302,
    headers: { Location: location, 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' },
  });
}
