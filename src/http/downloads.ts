/**
 * The audited edge download redirect, the hot path of the service:
 *   GET /:namespace/:project/-/releases/:tag/downloads/*filepath             (GitLab's route)
 *   GET /:namespace/:project/-/releases/permalink/latest/downloads/*filepath (GitLab's route)
 *   GET /:namespace/:project/-/releases/:tag/links/:link_id                  (ours: links without a filepath)
 * Namespaces may be nested (`a/b/c/project`); the tag is one URL-encoded segment.
 *
 * Work per request, with no D1 primary on the way in the common case:
 * - The link (with its project and visibility), a token's user and that user's access come
 *   from a per-isolate cache (src/downloads/cache.ts: at most DOWNLOAD_CACHE_SECONDS old). A
 *   miss reads a D1 replica through the Sessions API; only a replica's "not found" (or "not
 *   allowed") asks the primary, so that what was created a moment ago works at once. For a while
 *   after a write made in this isolate, misses read the primary (read-your-writes).
 * - `release_external_artifact_download` ("Repository External Resource Download Started") is
 *   appended to a Durable Object buffer near the click (src/downloads/buffer.ts), and the 302
 *   leaves only once that object's storage has it; if the append fails, the answer is 503. The
 *   buffer flushes to D1 in batches: the event's id is given there, its created_at is the click's.
 * - 302 to the stored link URL with `Cache-Control: no-store`, so every click reaches the edge.
 * HEAD answers the same without recording. The Location is only ever a stored link URL (never
 * an open redirect).
 *
 * Private and internal projects need a token (PRIVATE-TOKEN, Authorization: Bearer or
 * ?private_token=, scope api or read_api) of a user who may read releases, or a signed link
 * (`?expires=&user=&signature=`, src/auth/download_links.ts: what the releases page uses, so that
 * no token is ever in a URL), which stands for its user exactly as a token would, audit event
 * included. Anything refused or missing answers 404, never 401 or 403, so that neither the
 * existence of a project nor the validity of a token leaks (GitLab answers 401 for a bad token
 * on its API; this is a browser route, where 404 is GitLab's answer for what the caller may not
 * see). A signed link that has expired or does not verify answers 401 with the reason, whether
 * or not its path names a link (so that this answer leaks nothing either); a signed link with a
 * token too answers 400.
 */
import { benchRoutesEnabled, type Env } from '../env';
import { lookupToken, presentedToken, type Actor } from '../auth/authenticate';
import { sha256Hex } from '../auth/crypto';
import { can } from '../auth/policy';
import { findDownloadTarget, type DownloadSelector, type DownloadTarget } from '../db/releases';
import { readReplicaFirst } from '../db/replica';
import { authorOf, clientIp, projectEntity, type AuditEventInput } from '../audit/record';
import { boundedUserAgent } from '../audit/bounds';
import { FILEPATH_MAX, FILEPATH_REGEX } from '../releases/links';
import { cacheTtlMs, downloadCache, recentlyWritten, writeGeneration } from '../downloads/cache';
import { bufferAuditEvent } from '../downloads/buffer';
import { findUserById } from '../db/users';
import { downloadLinkSecret, readSignedLinkQuery, signedLinkExpiry, verifyDownloadLink, type SignedLinkQuery } from '../auth/download_links';

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

function errorAnswer(status: number, message: string): Response {
  return new Response(JSON.stringify({ message }), {
    status,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
  });
}

function notFoundResponse(): Response {
  return errorAnswer(404, '404 Not Found');
}

/** 401 for a signed link that has expired or does not verify. */
function signedLinkRefused(why: 'expired' | 'invalid'): Response {
  return errorAnswer(401, why === 'expired' ? '401 Unauthorized - the signed download link has expired' : '401 Unauthorized - the signed download link is invalid');
}

/** Links by route, and actors by token digest; "user may read releases of project" decisions. */
const targets = downloadCache<DownloadTarget>();
const actors = downloadCache<Actor>();
const readers = downloadCache<true>();

function targetKey(projectPath: string, sel: DownloadSelector): string {
  if (sel.kind === 'latest') return JSON.stringify([projectPath, 'latest', sel.filepath]);
  return JSON.stringify([projectPath, sel.kind, sel.tagName, sel.kind === 'link' ? sel.linkId : sel.filepath]);
}

/** The link a route names: cached, else a replica, else (only for "not found") the primary. */
async function resolveTarget(env: Env, route: DownloadRoute): Promise<DownloadTarget | null> {
  const key = targetKey(route.projectPath, route.selector);
  const cached = targets.get(key);
  if (cached) return cached;
  const readAt = writeGeneration();
  const target = await readReplicaFirst(
    env.DB,
    recentlyWritten(),
    (db) => findDownloadTarget(db, route.projectPath, route.selector),
    (found) => !found,
  );
  if (target) targets.set(key, target, cacheTtlMs(env), readAt);
  return target;
}

/** The caller of a token (scope api or read_api), or null when it stands for nobody here. */
async function resolveActor(env: Env, token: string): Promise<Actor | null> {
  const key = await sha256Hex(token);
  const cached = actors.get(key);
  if (cached) return cached;
  const readAt = writeGeneration();
  const found = await readReplicaFirst(
    env.DB,
    recentlyWritten(),
    (db) => lookupToken(env, token, db),
    (answer) => answer === 'unknown',
  );
  // use_api is decided from the token's own scopes: no read.
  if (typeof found === 'string' || !(await can(env.DB, found, 'use_api'))) return null;
  actors.set(key, found, cacheTtlMs(env), readAt);
  return found;
}

/**
 * The user a signed link stands for (as a read_api token of theirs would), or null when they do
 * not exist or are blocked. Cached like a token's user; the link's signature is checked apart.
 */
async function resolveSignedActor(env: Env, userId: number): Promise<Actor | null> {
  const key = `signed-link-user:${userId}`;
  const cached = actors.get(key);
  if (cached) return cached;
  const readAt = writeGeneration();
  const user = await readReplicaFirst(env.DB, recentlyWritten(), (db) => findUserById(db, userId), (found) => !found);
  if (!user || user.state !== 'active') return null;
  const actor: Actor = { user, scopes: ['read_api'], tokenId: null };
  actors.set(key, actor, cacheTtlMs(env), readAt);
  return actor;
}

/** can(read_release) on the link's project: cached when granted; a replica's "no" asks the primary. */
async function mayReadReleases(env: Env, actor: Actor | null, target: DownloadTarget): Promise<boolean> {
  const resource = { kind: 'project', project: target.project } as const;
  const key = actor ? `${actor.user.id}:${target.project.id}` : null;
  if (key && readers.get(key)) return true;
  const readAt = writeGeneration();
  // Public projects need no lookup: can() grants read_release from visibility alone. A replica's
  // "no" asks the primary with a fresh actor object (can() memoises access levels per actor).
  const allowed = await readReplicaFirst(
    env.DB,
    recentlyWritten(),
    (db, onPrimary) => can(db, onPrimary && actor ? { ...actor } : actor, 'read_release', resource),
    (granted) => !granted && actor !== null,
  );
  if (allowed && key) readers.set(key, true, cacheTtlMs(env), readAt);
  return allowed;
}

/**
 * Answer the download routes; null for every other path. See the module comment for the rules.
 */
export async function handleDownload(request: Request, env: Env, _ctx: ExecutionContext): Promise<Response | null> {
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

  const token = presentedToken(request, { queryParam: true });
  const signed = readSignedLinkQuery(url.searchParams);
  if (signed !== null && token !== null) return errorAnswer(400, '400 Bad request - a signed download link takes no token');
  if (signed === 'malformed') return signedLinkRefused('invalid');
  // Needs no lookup: an expired link is refused before anything is read.
  const expiry = signed === null ? 'valid' : signedLinkExpiry(signed, nowSeconds());
  if (expiry !== 'valid') return signedLinkRefused(expiry);

  // The link and the caller are independent lookups: on a miss their reads overlap.
  const [target, actor] = await Promise.all([
    resolveTarget(env, route),
    signed !== null ? resolveSignedActor(env, signed.userId) : token === null ? null : resolveActor(env, token),
  ]);
  if (signed !== null) {
    const refused = await signedLinkCheck(env, target, signed);
    if (refused) return refused;
  }
  if (!target || ((token !== null || signed !== null) && actor === null)) return notFoundResponse();
  if (!(await mayReadReleases(env, actor, target))) return notFoundResponse();
  const response = redirectTo(target.url);
  if (request.method !== 'GET' || response.status !== 302) return response;
  try {
    await bufferAuditEvent(env, request, downloadEvent(request, route.selector, actor, target));
  } catch (err) {
    // Not durable, so not answered: the click can be tried again.
    console.error('download buffer: append failed; answering 503', err instanceof Error ? err.message : err);
    return new Response(JSON.stringify({ message: '503 Service Unavailable' }), {
      status: 503,
      headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Retry-After': '1' },
    });
  }
  return response;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * A signed link's answer when it does not verify for the link its path names (401), or null. A
 * path that names no link answers the same 401 as a wrong signature, after the same work (link
 * id 0 is never a link's): only a valid signature, which only we issue, learns more than that.
 */
async function signedLinkCheck(env: Env, target: DownloadTarget | null, signed: SignedLinkQuery): Promise<Response | null> {
  const check = await verifyDownloadLink(downloadLinkSecret(env), target?.linkId ?? 0, signed, nowSeconds());
  return target && check === 'valid' ? null : signedLinkRefused(check === 'valid' ? 'invalid' : check);
}

/** The `release_external_artifact_download` event ("Repository External Resource Download Started"). */
export function downloadEvent(request: Request, selector: DownloadSelector, actor: Actor | null, t: DownloadTarget): AuditEventInput {
  return {
    eventType: 'release_external_artifact_download',
    author: authorOf(actor?.user ?? null),
    entity: projectEntity(t.project),
    target: { id: t.linkId, type: 'Releases::Link', details: t.linkName },
    ipAddress: clientIp(request),
    details: {
      custom_message: 'Repository External Resource Download Started',
      tag_name: t.tagName,
      ...(selector.kind === 'link' ? { link_id: t.linkId } : { filepath: t.filepath, link_id: t.linkId }),
      ...(selector.kind === 'latest' ? { permalink: 'latest' } : {}),
      url: t.url,
      // Bounded already here so the download buffer never holds more than the writer stores.
      user_agent: boundedUserAgent(request.headers.get('User-Agent')),
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
