/**
 * The audit log, read-only (GitLab's Audit Events API):
 *   GET /audit_events[/:id]                                   administrators
 *   GET /groups/:id/audit_events[/:audit_event_id]            owners all; developers, maintainers their own
 *   GET /projects/:id/audit_events[/:audit_event_id]          maintainers, owners all; developers their own
 * Offset pagination (page, per_page) or keyset (pagination=keyset, order_by=id, sort, cursor).
 * The three listings also answer text/csv (Accept: text/csv or the .csv suffix) and, for the
 * auditors' verifier (issue 18), a JSON export of each event's exact streaming payload (the .json
 * suffix), both streamed with the listing's permissions and filters; each download is itself
 * recorded as `audit_events_exported`. No route changes an event:
 * PUT, PATCH, DELETE (and POST, except ingest's POST /audit_events) answer 405.
 */
import type { IRequest } from 'itty-router';
import { can, type Resource } from '../auth/policy';
import type { Namespace } from '../db/namespaces';
import type { Project } from '../db/projects';
import {
  authorOf,
  clientIp,
  groupEntity,
  instanceEntity,
  projectEntity,
  recordAuditEvent,
  type AuditEntity,
  type AuditEvent,
} from '../audit/record';
import type { AuditFilters, AuditScope } from '../audit/query';
import { exportPageReader, findAuditEvent, listAuditEventsKeyset, listAuditEventsPage } from '../audit/listing';
import { auditCsvStream } from '../audit/csv';
import { auditJsonStream } from '../audit/export_json';
import { param, type App, type ApiRouter } from './context';
import { ApiError, badRequest, forbidden, json, notFound, unauthorized } from '../web/errors';
import { optionalDateTime, optionalEnum, optionalInteger, optionalString, readParams, type Params } from '../web/params';
import { pagedJson, readPage } from './pagination';
import { loadReadableGroup, loadReadableProject, requireAllowed } from './access';

/** GitLab's AuditEventFinder::VALID_ENTITY_TYPES (instance listing `entity_type`). */
export const ENTITY_TYPES = ['User', 'Group', 'Project', 'Gitlab::Audit::InstanceScope'] as const;

/** Events read per page (one D1 query, archive chunks one at a time) while streaming a download. */
export const CSV_PAGE_SIZE = 500;

/** GitLab's API::Entities::AuditEvent, plus event_type (GitLab shows it on streamed and newer events). */
export function auditEventJson(e: AuditEvent): Record<string, unknown> {
  return {
    id: e.id,
    author_id: e.authorId,
    entity_id: e.entityId,
    entity_type: e.entityType,
    event_type: e.eventType,
    details: e.details,
    created_at: e.createdAt,
  };
}

/** What a caller may read in a listing, and on whose behalf an export is recorded. */
interface Access {
  scope: AuditScope;
  resource: Resource;
  entity: AuditEntity;
  /** Set when the caller sees only the events they authored (GitLab: developers). */
  onlyAuthorId?: number;
  /** File name stem of a CSV download. */
  fileStem: string;
}

/** The instance log: administrators only (401 anonymous, 403 others). */
async function instanceAccess(app: App): Promise<Access> {
  await requireAllowed(app, 'read_instance_audit_events');
  return { scope: { kind: 'instance' }, resource: { kind: 'instance' }, entity: instanceEntity(), fileStem: 'audit_events_instance' };
}

/**
 * A group's log. 404 when the caller cannot read the group at all; 401 anonymous; owners see
 * everything, developers and maintainers their own events; reporters and guests 403.
 */
async function groupAccess(app: App, raw: string): Promise<Access & { group: Namespace; all: boolean }> {
  const group = await loadReadableGroup(app, raw);
  if (!app.actor) throw unauthorized();
  const resource: Resource = { kind: 'group', group };
  const base = { group, resource, scope: { kind: 'group', group } as AuditScope, entity: groupEntity(group), fileStem: `audit_events_group_${group.id}` };
  if (await can(app.env.DB, app.actor, 'read_all_group_audit_events', resource)) return { ...base, all: true };
  if (await can(app.env.DB, app.actor, 'read_group_audit_events', resource)) return { ...base, all: false, onlyAuthorId: app.actor.user.id };
  throw forbidden();
}

/**
 * A project's log. 404 when the caller cannot read the project; 401 anonymous; maintainers and
 * owners see everything, developers their own events; reporters and guests 403.
 */
async function projectAccess(app: App, raw: string): Promise<Access & { project: Project; all: boolean }> {
  const project = await loadReadableProject(app, raw);
  if (!app.actor) throw unauthorized();
  const resource: Resource = { kind: 'project', project };
  const base = { project, resource, scope: { kind: 'project', project } as AuditScope, entity: projectEntity(project), fileStem: `audit_events_project_${project.id}` };
  if (await can(app.env.DB, app.actor, 'read_all_project_audit_events', resource)) return { ...base, all: true };
  if (await can(app.env.DB, app.actor, 'read_project_audit_events', resource)) return { ...base, all: false, onlyAuthorId: app.actor.user.id };
  throw forbidden();
}

/** created_after, created_before (GitLab), entity_type and entity_id (instance, GitLab), event_type and author_id (ours). */
function readFilters(p: Params, instance: boolean): AuditFilters {
  const filters: AuditFilters = {
    createdAfter: optionalDateTime(p, 'created_after'),
    createdBefore: optionalDateTime(p, 'created_before'),
    eventType: optionalString(p, 'event_type', { max: 255 }),
    authorId: optionalInteger(p, 'author_id'),
  };
  if (instance) {
    filters.entityType = optionalEnum(p, 'entity_type', ENTITY_TYPES);
    filters.entityId = optionalInteger(p, 'entity_id');
    // Grape's `given :entity_id do requires :entity_type end`.
    if (filters.entityId !== undefined && filters.entityType === undefined) throw badRequest('entity_type is missing');
  }
  return filters;
}

/** The filters a caller chose, as recorded in the details of an export event. */
function filtersUsed(f: AuditFilters, sort: string): Record<string, unknown> {
  const used: Record<string, unknown> = {};
  if (f.createdAfter !== undefined) used.created_after = f.createdAfter;
  if (f.createdBefore !== undefined) used.created_before = f.createdBefore;
  if (f.entityType !== undefined) used.entity_type = f.entityType;
  if (f.entityId !== undefined) used.entity_id = f.entityId;
  if (f.eventType !== undefined) used.event_type = f.eventType;
  if (f.authorId !== undefined) used.author_id = f.authorId;
  used.sort = sort;
  return used;
}

/**
 * GitLab's keyset cursor: URL-safe base64 of {"id":"<last id>","_kd":"n"}
 * (Gitlab::Pagination::Keyset::Paginator). Decoded here; anything else is 400.
 */
export function decodeCursor(raw: string): number {
  try {
    const b64 = raw.replace(/-/g, '+').replace(/_/g, '/');
    const obj = JSON.parse(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4))) as { id?: unknown };
    const id = typeof obj.id === 'number' ? obj.id : typeof obj.id === 'string' && /^\d{1,15}$/.test(obj.id) ? Number(obj.id) : NaN;
    if (Number.isSafeInteger(id) && id >= 0) return id;
  } catch {
    /* fall through */
  }
  throw badRequest('cursor is invalid');
}

/** Encode a keyset cursor the way GitLab does. */
export function encodeCursor(id: number): string {
  return btoa(JSON.stringify({ id: String(id), _kd: 'n' })).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function wantsCsv(request: Request): boolean {
  return (request.headers.get('Accept') ?? '').toLowerCase().includes('text/csv');
}

/** The JSON listing: offset pages (default) or keyset pages. */
async function listJson(request: IRequest, app: App, access: Access, filters: AuditFilters): Promise<Response> {
  const url = new URL(request.url);
  const p = await readParams(request);
  const pagination = optionalEnum(p, 'pagination', ['offset', 'keyset'] as const) ?? 'offset';
  const page = readPage(url);
  if (pagination === 'keyset') {
    optionalEnum(p, 'order_by', ['id'] as const);
    const sort = optionalEnum(p, 'sort', ['asc', 'desc'] as const) ?? 'desc';
    const cursor = url.searchParams.get('cursor');
    const afterId = cursor === null || cursor === '' ? undefined : decodeCursor(cursor);
    const { events, hasMore, nextAfterId } = await listAuditEventsKeyset(app.env, access.scope, filters, { sort, afterId }, page.perPage);
    const headers = new Headers({ 'Content-Type': 'application/json' });
    if (hasMore && nextAfterId !== undefined) {
      // GitLab: only a rel="next" link, absent on the last page; no totals. A page that read
      // its cap of archive chunks (src/audit/listing.ts) may be shorter, even empty, and still link on.
      const next = new URL(url);
      next.searchParams.delete('page');
      next.searchParams.set('pagination', 'keyset');
      next.searchParams.set('per_page', String(page.perPage));
      next.searchParams.set('order_by', 'id');
      next.searchParams.set('sort', sort);
      next.searchParams.set('cursor', encodeCursor(nextAfterId));
      headers.set('Link', `<${next.toString()}>; rel="next"`);
    }
    return new Response(JSON.stringify(events.map(auditEventJson)), { status: 200, headers });
  }
  const { total, events } = await listAuditEventsPage(app.env, access.scope, filters, page);
  return pagedJson(url, page, total, events.map(auditEventJson));
}

/** A download's format: the CSV, or the JSON export of exact payloads. */
type ExportFormat = 'csv' | 'json';

const EXPORTS = {
  csv: { stream: auditCsvStream, contentType: 'text/csv; charset=utf-8', message: 'Exported audit events to CSV' },
  json: { stream: auditJsonStream, contentType: 'application/json; charset=utf-8', message: 'Exported audit events to JSON' },
} as const;

/**
 * The CSV or JSON download. The export is recorded (durably) before the first byte is streamed; the
 * stream then reads the log as it was at that moment (ids below the export event's own),
 * so rows added meanwhile cannot shift or repeat.
 */
async function listExport(request: IRequest, app: App, access: Access, filters: AuditFilters, format: ExportFormat): Promise<Response> {
  const p = await readParams(request);
  const sort = optionalEnum(p, 'sort', ['asc', 'desc'] as const) ?? 'desc';
  const exported = await recordAuditEvent(app.env, app.ctx, {
    eventType: 'audit_events_exported',
    author: authorOf(app.actor!.user),
    entity: access.entity,
    target: { id: null, type: null, details: null },
    ipAddress: clientIp(request),
    details: {
      custom_message: EXPORTS[format].message,
      format,
      filters: filtersUsed(filters, sort),
      // A developer's download holds only their own events (GitLab's permission, not a filter).
      ...(access.onlyAuthorId !== undefined ? { own_events_only: true } : {}),
    },
  });
  const stream = EXPORTS[format].stream(exportPageReader(app.env, access.scope, filters, sort, exported.id - 1, CSV_PAGE_SIZE));
  const stamp = exported.createdAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return new Response(stream, {
    status: 200,
    headers: {
      'Content-Type': EXPORTS[format].contentType,
      'Content-Disposition': `attachment; filename="${access.fileStem}_${stamp}.${format}"`,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    },
  });
}

/** A listing: `format` for the .csv and .json routes, else JSON pages (or the CSV for Accept: text/csv). */
async function listing(request: IRequest, app: App, access: Access, instance: boolean, format: ExportFormat | null): Promise<Response> {
  const p = await readParams(request);
  const filters = { ...readFilters(p, instance), onlyAuthorId: access.onlyAuthorId };
  const download = format ?? (wantsCsv(request) ? 'csv' : null);
  return download ? listExport(request, app, access, filters, download) : listJson(request, app, access, filters);
}

/** The `:audit_event_id` / `:id` of one event: an integer (Grape's "is invalid" otherwise). */
function eventId(request: IRequest, name: string): number {
  const raw = param(request, name);
  if (!/^\d{1,15}$/.test(raw)) throw badRequest(`${name} is invalid`);
  return Number(raw);
}

async function showOne(app: App, scope: AuditScope, id: number): Promise<Response> {
  const event = await findAuditEvent(app.env, scope, id);
  if (!event) throw notFound('Audit Event');
  return json(auditEventJson(event));
}

/** 405 for every attempt to change an event: the audit log is view-only for everyone, root included. */
function readOnly(): never {
  throw new ApiError(405, { message: '405 Method Not Allowed' }, { Allow: 'GET' });
}

/** Register the audit log routes (GETs, the .csv and .json exports, and the 405s). */
export function registerAuditLogRoutes(router: ApiRouter): void {
  for (const format of ['csv', 'json'] as const) {
    router.get(`/audit_events.${format}`, async (request, app) => listing(request, app, await instanceAccess(app), true, format));
    router.get(`/groups/:id/audit_events.${format}`, async (request, app) =>
      listing(request, app, await groupAccess(app, param(request, 'id')), false, format),
    );
    router.get(`/projects/:id/audit_events.${format}`, async (request, app) =>
      listing(request, app, await projectAccess(app, param(request, 'id')), false, format),
    );
  }
  router.get('/audit_events', async (request, app) => listing(request, app, await instanceAccess(app), true, null));
  router.get('/audit_events/:id', async (request, app) => {
    const access = await instanceAccess(app);
    return showOne(app, access.scope, eventId(request, 'id'));
  });

  router.get('/groups/:id/audit_events', async (request, app) =>
    listing(request, app, await groupAccess(app, param(request, 'id')), false, null),
  );
  router.get('/groups/:id/audit_events/:audit_event_id', async (request, app) => {
    const access = await groupAccess(app, param(request, 'id'));
    // GitLab: a single group event is only available to group owners and administrators.
    if (!access.all) throw forbidden();
    return showOne(app, access.scope, eventId(request, 'audit_event_id'));
  });

  router.get('/projects/:id/audit_events', async (request, app) =>
    listing(request, app, await projectAccess(app, param(request, 'id')), false, null),
  );
  router.get('/projects/:id/audit_events/:audit_event_id', async (request, app) => {
    const access = await projectAccess(app, param(request, 'id'));
    // GitLab: a single project event needs at least the Maintainer role.
    if (!access.all) throw forbidden();
    return showOne(app, access.scope, eventId(request, 'audit_event_id'));
  });

  // View-only, for real. POST /audit_events is the ingest endpoint (audit_ingest.ts), not ours.
  const item = ['/audit_events/:id', '/groups/:id/audit_events/:audit_event_id', '/projects/:id/audit_events/:audit_event_id'];
  const collections = ['/audit_events', '/groups/:id/audit_events', '/projects/:id/audit_events'];
  for (const path of [...item, ...collections]) {
    router.put(path, readOnly);
    router.patch(path, readOnly);
    router.delete(path, readOnly);
  }
  for (const path of [...item, '/groups/:id/audit_events', '/projects/:id/audit_events']) router.post(path, readOnly);
}
