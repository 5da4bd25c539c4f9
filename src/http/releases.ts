/**
 * GitLab's Releases API and Release links API:
 *   POST|GET /projects/:id/releases, GET|PUT|DELETE /projects/:id/releases/:tag_name,
 *   GET|POST /projects/:id/releases/:tag_name/assets/links,
 *   GET|PUT|DELETE /projects/:id/releases/:tag_name/assets/links/:link_id;
 * and ours: GET /projects/:id/releases/:tag_name/downloads/stats (downloads per day and link),
 * GET /projects/:id/releases/:tag_name/assets/links/:link_id/signed_url (a signed download URL).
 * There is no git repository behind a release here: no tag must exist and `ref` is accepted and
 * ignored. Milestones do not exist either, so naming any is GitLab's "Milestone(s) not found".
 */
import type { IRequest } from 'itty-router';
import { can, type Action } from '../auth/policy';
import type { Project } from '../db/projects';
import { findRelease, listReleases, type Release, type ReleaseLink } from '../db/releases';
import { evidencesOfReleases } from '../db/release_evidences';
import { clientIp } from '../audit/record';
import { param, type App, type ApiRouter } from './context';
import { publicOrigin } from '../web/origin';
import { ApiError, badRequest, badRequestMessage, forbidden, json, notFound } from '../web/errors';
import { isCalendarDate, optionalDateTime, optionalEnum, optionalString, parseIsoDateTime, readParams, requireString, type Params } from '../web/params';
import { pagedJson, readPage } from './pagination';
import { loadReadableProject, requireActor } from './access';
import { signedDirectAssetUrl } from '../releases/urls';
import { LINK_TYPES } from '../releases/links';
import { linkJson, releaseJson } from '../releases/serializers';
import { addDays, daysBetween, DEFAULT_WINDOW_DAYS, MAX_WINDOW_DAYS, releaseDownloadSeries } from '../releases/download_stats';
import {
  createLink,
  createRelease,
  deleteLink,
  deleteRelease,
  ReleaseServiceError,
  updateLink,
  updateRelease,
  type ChangeContext,
  type LinkInput,
} from '../releases/service';

/** The project if readable (else 404) and the caller may do `action` on its releases (else 403). */
async function projectFor(request: IRequest, app: App, action: Action): Promise<Project> {
  const project = await loadReadableProject(app, param(request, 'id'));
  if (!(await can(app.env.DB, app.actor, action, { kind: 'project', project }))) throw forbidden();
  return project;
}

async function releaseOf(request: IRequest, app: App, project: Project): Promise<Release> {
  const release = await findRelease(app.env.DB, project.id, param(request, 'tag_name'));
  if (!release) throw notFound();
  return release;
}

function linkOf(request: IRequest, release: Release): ReleaseLink {
  const raw = param(request, 'link_id');
  const link = /^\d{1,15}$/.test(raw) ? release.links.find((l) => l.id === Number(raw)) : undefined;
  if (!link) throw notFound();
  return link;
}

function changeContext(request: IRequest, app: App): ChangeContext {
  return { env: app.env, ctx: app.ctx, actor: requireActor(app), ip: clientIp(request) };
}

/** Run a service call, turning its refusals into GitLab's REST answers. */
async function service<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ReleaseServiceError) throw new ApiError(err.status, { message: err.restMessage });
    throw err;
  }
}

/** GitLab names no milestone that exists here: any given is "not found" (an empty list is fine). */
function refuseMilestones(p: Params): void {
  const m = p.milestones;
  if (m === undefined || m === null || m === '') return;
  const titles = Array.isArray(m) ? m : [m];
  if (titles.length === 0) return;
  if (!titles.every((t) => typeof t === 'string')) throw badRequest('milestones is invalid');
  throw new ApiError(400, { message: `Milestone(s) not found: ${titles.join(', ')}` });
}

/** Read one link's parameters (create: name and url required). `prefix` names it in errors. */
function readLinkParams(p: Params, prefix: (k: string) => string, create: boolean): LinkInput {
  const str = (key: string): string | undefined => {
    const v = p[key];
    if (v === undefined) return undefined;
    if (v === null) return '';
    if (typeof v !== 'string') throw badRequest(`${prefix(key)} is invalid`);
    return v;
  };
  if (create && (p.name === undefined || p.name === null)) throw badRequest(`${prefix('name')} is missing`);
  if (create && (p.url === undefined || p.url === null)) throw badRequest(`${prefix('url')} is missing`);
  const linkType = p.link_type;
  if (linkType !== undefined && (typeof linkType !== 'string' || !(LINK_TYPES as readonly string[]).includes(linkType))) {
    throw badRequest(`${prefix('link_type')} does not have a valid value`);
  }
  // `filepath` is GitLab's deprecated alias of `direct_asset_path`.
  const direct = str('direct_asset_path');
  const alias = str('filepath');
  return {
    name: str('name'),
    url: str('url'),
    filepath: direct !== undefined ? direct : alias,
    linkType: linkType as string | undefined,
  };
}

/** `assets: { links: [...] }` of a create request. */
function readAssetLinks(p: Params): LinkInput[] {
  const assets = p.assets;
  if (assets === undefined || assets === null) return [];
  if (typeof assets !== 'object' || Array.isArray(assets)) throw badRequest('assets is invalid');
  const links = (assets as Params).links;
  if (links === undefined || links === null) return [];
  if (!Array.isArray(links)) throw badRequest('assets[links] is invalid');
  if (links.length > 100) throw badRequest('assets[links] has too many links (maximum is 100)');
  return links.map((l, i) => {
    if (l === null || typeof l !== 'object' || Array.isArray(l)) throw badRequest(`assets[links][${i}] is invalid`);
    return readLinkParams(l as Params, (k) => `assets[links][${i}][${k}]`, true);
  });
}

/** A day parameter (YYYY-MM-DD, or an ISO 8601 datetime: its UTC day); 400 in REST's message shape. */
function dayParam(url: URL, key: string): string | undefined {
  const v = url.searchParams.get(key);
  if (v === null || v === '') return undefined;
  const iso = isCalendarDate(v.slice(0, 10)) ? parseIsoDateTime(v) : undefined;
  if (!iso) throw badRequestMessage(`${key} is invalid (expected YYYY-MM-DD)`);
  return iso.slice(0, 10);
}

/** The chart's window: `to` (default today, UTC) back to `from` (default 30 days), at most 90 days. */
function statsWindow(url: URL): { from: string; to: string } {
  const interval = url.searchParams.get('interval');
  if (interval !== null && interval !== 'day') throw badRequestMessage('interval does not have a valid value (day)');
  const to = dayParam(url, 'to') ?? new Date().toISOString().slice(0, 10);
  const from = dayParam(url, 'from') ?? addDays(to, 1 - DEFAULT_WINDOW_DAYS);
  if (from > to) throw badRequestMessage('from must not be after to');
  if (daysBetween(from, to) > MAX_WINDOW_DAYS) throw badRequestMessage(`from and to must be at most ${MAX_WINDOW_DAYS} days apart`);
  return { from, to };
}

export function registerReleaseRoutes(router: ApiRouter): void {
  /**
   * `GET /projects/:id/releases/:tag_name/downloads/stats?interval=day&from=&to=` (ours, not in
   * GitLab): tracked downloads per UTC day and link, from the daily counters (never the log).
   */
  router.get('/projects/:id/releases/:tag_name/downloads/stats', async (request, app) => {
    const project = await projectFor(request, app, 'read_release');
    const release = await releaseOf(request, app, project);
    const { from, to } = statsWindow(new URL(request.url));
    const links = await releaseDownloadSeries(app.env.DB, release, from, to);
    return json({
      interval: 'day',
      from,
      to,
      links: links.map((l) => ({ id: l.id, name: l.name, download_count: l.downloadCount, downloads: l.days })),
    });
  });


  /** `GET /projects/:id/releases`: newest first by released_at (`order_by`, `sort` as GitLab). */
  router.get('/projects/:id/releases', async (request, app) => {
    const project = await projectFor(request, app, 'read_release');
    const url = new URL(request.url);
    const page = readPage(url);
    const q = Object.fromEntries(url.searchParams) as Params;
    const orderBy = optionalEnum(q, 'order_by', ['released_at', 'created_at'] as const) ?? 'released_at';
    const sort = optionalEnum(q, 'sort', ['asc', 'desc'] as const) ?? 'desc';
    const { total, items, evidences } = await listReleases(app.env.DB, project.id, { orderBy, sort }, page.limit, page.offset);
    const origin = publicOrigin(request, app.env);
    return pagedJson(url, page, total, items.map((r) => releaseJson(r, project, origin, evidences.get(r.id))));
  });

  /** `POST /projects/:id/releases`. */
  router.post('/projects/:id/releases', async (request, app) => {
    const project = await projectFor(request, app, 'create_release');
    const p = await readParams(request);
    const tagName = requireString(p, 'tag_name');
    const name = optionalString(p, 'name', { allowBlank: true });
    const description = optionalString(p, 'description', { allowBlank: true, max: 1_000_000 });
    optionalString(p, 'ref', { allowBlank: true }); // accepted, ignored: there is no repository to tag
    const releasedAt = optionalDateTime(p, 'released_at');
    refuseMilestones(p);
    const links = readAssetLinks(p);
    const release = await service(() => createRelease(changeContext(request, app), project, { tagName, name, description, releasedAt, links }));
    return json(releaseJson(release, project, publicOrigin(request, app.env)), 201);
  });

  /** `GET /projects/:id/releases/:tag_name`. */
  router.get('/projects/:id/releases/:tag_name', async (request, app) => {
    const project = await projectFor(request, app, 'read_release');
    const release = await releaseOf(request, app, project);
    const evidences = await evidencesOfReleases(app.env.DB, [release.id]);
    return json(releaseJson(release, project, publicOrigin(request, app.env), evidences.get(release.id)));
  });

  /** `PUT /projects/:id/releases/:tag_name`: name, description, released_at. */
  router.put('/projects/:id/releases/:tag_name', async (request, app) => {
    const project = await projectFor(request, app, 'update_release');
    const release = await releaseOf(request, app, project);
    const p = await readParams(request);
    if (['name', 'description', 'released_at', 'milestones'].every((k) => p[k] === undefined)) {
      throw badRequest('name, description, released_at, milestones are missing, at least one parameter must be provided');
    }
    const name = optionalString(p, 'name', { allowBlank: true });
    const description = optionalString(p, 'description', { allowBlank: true, max: 1_000_000 });
    const releasedAt = optionalDateTime(p, 'released_at');
    refuseMilestones(p);
    const updated = await service(() => updateRelease(changeContext(request, app), project, release, { name, description, releasedAt }));
    const evidences = await evidencesOfReleases(app.env.DB, [updated.id]);
    return json(releaseJson(updated, project, publicOrigin(request, app.env), evidences.get(updated.id)));
  });

  /** `DELETE /projects/:id/releases/:tag_name`: answers the deleted release. */
  router.delete('/projects/:id/releases/:tag_name', async (request, app) => {
    const project = await projectFor(request, app, 'destroy_release');
    const release = await releaseOf(request, app, project);
    const evidences = await evidencesOfReleases(app.env.DB, [release.id]);
    await service(() => deleteRelease(changeContext(request, app), project, release));
    return json(releaseJson(release, project, publicOrigin(request, app.env), evidences.get(release.id)));
  });

  /** `GET /projects/:id/releases/:tag_name/assets/links`. */
  router.get('/projects/:id/releases/:tag_name/assets/links', async (request, app) => {
    const project = await projectFor(request, app, 'read_release');
    const release = await releaseOf(request, app, project);
    const url = new URL(request.url);
    const page = readPage(url);
    const origin = publicOrigin(request, app.env);
    const items = release.links.slice(page.offset, page.offset + page.limit).map((l) => linkJson(l, project, release.tagName, origin));
    return pagedJson(url, page, release.links.length, items);
  });

  /** `POST /projects/:id/releases/:tag_name/assets/links`. */
  router.post('/projects/:id/releases/:tag_name/assets/links', async (request, app) => {
    const project = await projectFor(request, app, 'create_release');
    const release = await releaseOf(request, app, project);
    const input = readLinkParams(await readParams(request), (k) => k, true);
    const link = await service(() => createLink(changeContext(request, app), project, release, input));
    return json(linkJson(link, project, release.tagName, publicOrigin(request, app.env)), 201);
  });

  /** `GET /projects/:id/releases/:tag_name/assets/links/:link_id`. */
  router.get('/projects/:id/releases/:tag_name/assets/links/:link_id', async (request, app) => {
    const project = await projectFor(request, app, 'read_release');
    const release = await releaseOf(request, app, project);
    return json(linkJson(linkOf(request, release), project, release.tagName, publicOrigin(request, app.env)));
  });

  /**
   * Ours: `GET /projects/:id/releases/:tag_name/assets/links/:link_id/signed_url`: the link's
   * tracked URL signed for the caller, valid 5 minutes (`{"url", "expires_at"}`), so that a page
   * never puts a token into a link. Who may read the project's releases may ask (scope read_api
   * is enough: a GET); 503 when DOWNLOAD_LINK_SECRET is not set.
   */
  router.get('/projects/:id/releases/:tag_name/assets/links/:link_id/signed_url', async (request, app) => {
    const actor = requireActor(app);
    const project = await projectFor(request, app, 'read_release');
    const release = await releaseOf(request, app, project);
    const link = linkOf(request, release);
    const signed = await signedDirectAssetUrl(app.env, publicOrigin(request, app.env), project.fullPath, release.tagName, link, actor.user.id);
    if (!signed) throw new ApiError(503, { message: '503 Service Unavailable - signed download links are off: DOWNLOAD_LINK_SECRET is not set' });
    return json({ url: signed.url, expires_at: signed.expiresAt }, 200, { 'Cache-Control': 'no-store' });
  });

  /** `PUT /projects/:id/releases/:tag_name/assets/links/:link_id`. */
  router.put('/projects/:id/releases/:tag_name/assets/links/:link_id', async (request, app) => {
    const project = await projectFor(request, app, 'update_release');
    const release = await releaseOf(request, app, project);
    const link = linkOf(request, release);
    const p = await readParams(request);
    if (['name', 'url', 'filepath', 'direct_asset_path', 'link_type'].every((k) => p[k] === undefined)) {
      throw badRequest('name, url, filepath, direct_asset_path, link_type are missing, at least one parameter must be provided');
    }
    const input = readLinkParams(p, (k) => k, false);
    const updated = await service(() => updateLink(changeContext(request, app), project, release, link, input));
    return json(linkJson(updated, project, release.tagName, publicOrigin(request, app.env)));
  });

  /** `DELETE /projects/:id/releases/:tag_name/assets/links/:link_id`: answers the deleted link. */
  router.delete('/projects/:id/releases/:tag_name/assets/links/:link_id', async (request, app) => {
    const project = await projectFor(request, app, 'destroy_release');
    const release = await releaseOf(request, app, project);
    const link = linkOf(request, release);
    await service(() => deleteLink(changeContext(request, app), project, release, link));
    return json(linkJson(link, project, release.tagName, publicOrigin(request, app.env)));
  });
}
