/**
 * `POST /api/v4/audit_events`: ingest an audit event produced elsewhere (a CI system, a GitLab
 * instance) in the streaming payload's own field names. Administrators only. The event is
 * stored through recordAuditEvent like every other event, so it reaches the destinations of
 * its entity's top-level group. GitLab has no such endpoint; its REST audit event shape is
 * used for the answer.
 *
 * What an ingested event can claim is bounded (issue 17): the server always sets
 * `details.ingested_by` to the ingesting user ({id, username}; a body that sets it is refused),
 * so an ingested event is told apart from one this service recorded, whoever it names as author;
 * `created_at` may lie at most 24 hours in the past (and 5 minutes ahead, for clock skew);
 * `details` may take at most 16 KB as JSON, 32 levels deep. The writer's own bounds apply too.
 */
import type { ApiRouter, App } from './context';
import { findNamespaceById, findNamespaceByPath, type Namespace } from '../db/namespaces';
import { findProjectById, findProjectByPath, type Project } from '../db/projects';
import { findUserById, findUserByUsername, type User } from '../db/users';
import {
  clientIp,
  groupEntity,
  projectEntity,
  recordAuditEvent,
  streamingPayload,
  UNAUTHENTICATED_AUTHOR,
  userEntity,
  type AuditEntity,
  type AuditEvent,
} from '../audit/record';
import { INGESTED_DETAILS_MAX_BYTES, INGESTED_DETAILS_MAX_DEPTH, nestingDepth, utf8Length } from '../audit/bounds';
import { ApiError, badRequest, badRequestMessage, json, notFound, validationError } from '../web/errors';
import { parseIsoDateTime, readBodyText } from '../web/params';
import { requireAllowed } from './access';
import { readReplicaFirst } from '../db/replica';
import { recentlyWritten } from '../downloads/cache';

/** Largest accepted body: an event with generous details, not a bulk upload. */
export const MAX_INGEST_BODY_BYTES = 64 * 1024;
/** GitLab's event type names: lower case, digits and underscores. */
const EVENT_TYPE_RE = /^[a-z0-9_]{1,255}$/;
const ENTITY_TYPES = ['Project', 'Group', 'User'] as const;
type EntityType = (typeof ENTITY_TYPES)[number];
/** GitLab truncates target_details and entity_path at 5,500 characters; we refuse longer ones (the writer stores 2 KB). */
const MAX_TARGET_DETAILS = 5500;
/** How far back an ingested event may be dated. */
export const INGEST_MAX_AGE_MS = 24 * 60 * 60 * 1000;
/** How far ahead of the server's clock an ingested event may be dated (the producer's clock skew). */
export const INGEST_MAX_SKEW_MS = 5 * 60 * 1000;

type Body = Record<string, unknown>;

/** The REST audit event shape: the streaming payload's fields, with the numeric id REST uses. */
export function ingestedEventJson(e: AuditEvent) {
  return { ...streamingPayload(e), id: e.id };
}

function tooLong(key: string, max: number): ApiError {
  return new ApiError(400, { message: { [key]: [`is too long (maximum is ${max} characters)`] } });
}

/** An optional string field: absent or null gives undefined; other types are invalid. */
function str(body: Body, key: string, max: number): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw badRequest(`${key} is invalid`);
  if (v.trim() === '') throw badRequest(`${key} is empty`);
  if ([...v].length > max) throw tooLong(key, max);
  return v;
}

/** An optional integer field ("12" or 12). */
function int(body: Body, key: string, min: number): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d{1,15}$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw badRequest(`${key} is invalid`);
  return n;
}

/** Whether a string is an IPv4 or IPv6 address literal. */
export function isIpAddress(s: string): boolean {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (v4) return v4.slice(1).every((o) => Number(o) <= 255 && String(Number(o)) === o);
  if (!s.includes(':') || !/^[0-9a-fA-F:.]+$/.test(s)) return false;
  try {
    return new URL(`http://[${s}]/`).hostname.length > 2;
  } catch {
    return false;
  }
}

/** An optional `details` object within its bounds; `ingested_by` is the server's to set. */
function ingestDetails(body: Body): Body {
  const details = body.details;
  if (details === undefined || details === null) return {};
  if (typeof details !== 'object' || Array.isArray(details)) throw badRequest('details is invalid');
  if (nestingDepth(details, INGESTED_DETAILS_MAX_DEPTH) > INGESTED_DETAILS_MAX_DEPTH) {
    throw validationError('details', `is nested too deeply (maximum is ${INGESTED_DETAILS_MAX_DEPTH} levels)`);
  }
  if (utf8Length(JSON.stringify(details)) > INGESTED_DETAILS_MAX_BYTES) {
    throw validationError('details', `is too long (maximum is ${INGESTED_DETAILS_MAX_BYTES} bytes as JSON)`);
  }
  if (Object.hasOwn(details, 'ingested_by')) throw validationError('details', 'ingested_by is set by the server, not by the request');
  return details as Body;
}

/** An optional `created_at` within the last 24 hours (5 minutes ahead allowed); undefined: now. */
function ingestCreatedAt(body: Body, now: number): string | undefined {
  if (body.created_at === undefined || body.created_at === null) return undefined;
  const createdAt = typeof body.created_at === 'string' ? parseIsoDateTime(body.created_at) : undefined;
  if (!createdAt) throw badRequest('created_at is invalid');
  const at = Date.parse(createdAt);
  if (at < now - INGEST_MAX_AGE_MS) throw badRequestMessage('created_at is more than 24 hours in the past');
  if (at > now + INGEST_MAX_SKEW_MS) throw badRequestMessage('created_at is more than 5 minutes in the future');
  return createdAt;
}

/** The row an entity type is read from. */
type EntityRow = Project | Namespace | User;

/** The entity's row by id or path (null: none such). */
async function findEntity(db: D1Database, type: EntityType, id: number | undefined, path: string | undefined): Promise<EntityRow | null> {
  if (type === 'Project') return id !== undefined ? findProjectById(db, id) : findProjectByPath(db, path!);
  if (type === 'Group') return id !== undefined ? findNamespaceById(db, id) : findNamespaceByPath(db, path!);
  return id !== undefined ? findUserById(db, id) : findUserByUsername(db, path!);
}

/** The path an entity row goes by (a project's or group's full path, a user's username). */
function pathOf(row: EntityRow): string {
  return 'username' in row ? row.username : row.fullPath;
}

/** Whether a row agrees with the path the request gave with its id (no path given: it does). */
function pathAgrees(row: EntityRow, id: number | undefined, path: string | undefined): boolean {
  return id === undefined || path === undefined || pathOf(row).toLowerCase() === path.toLowerCase();
}

/**
 * Resolve the entity an event is about, by id or path (both must agree when both are given).
 * Read from a replica, or from the primary when this isolate wrote recently (`primaryNeeded`: a
 * replica may not have its write yet); an answer a lagging replica could give wrongly (none such,
 * or a path that no longer agrees after a rename) is read again from the primary before it
 * becomes a 404 or a 400.
 */
async function resolveEntity(db: D1Database, primaryNeeded: boolean, type: EntityType, id: number | undefined, path: string | undefined): Promise<AuditEntity> {
  const row = await readReplicaFirst(db, primaryNeeded, (r) => findEntity(r, type, id, path), (found) => !found || !pathAgrees(found, id, path));
  if (!row || (type === 'Group' && (row as Namespace).kind !== 'group')) throw notFound(type);
  if (!pathAgrees(row, id, path)) throw badRequest('entity_path does not match entity_id');
  if (type === 'Project') return projectEntity(row as Project);
  if (type === 'Group') return groupEntity(row as Namespace);
  return userEntity(row as User);
}

/** Read and validate the ingest body; every bad field is a 400 naming it, in Grape's words. */
async function readIngestBody(request: Request): Promise<Body> {
  const text = await readBodyText(request, MAX_INGEST_BODY_BYTES);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw badRequest('The request body is not valid JSON');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('The request body must be a JSON object');
  return body as Body;
}

export function registerAuditIngestRoutes(router: ApiRouter): void {
  /** `POST /audit_events` (administrators): store an event produced elsewhere and stream it. */
  router.post('/audit_events', async (request, app: App) => {
    const actor = await requireAllowed(app, 'admin_instance');
    const body = await readIngestBody(request);
    const db = app.env.DB;

    if (body.event_type === undefined || body.event_type === null) throw badRequest('event_type is missing');
    if (typeof body.event_type !== 'string' || !EVENT_TYPE_RE.test(body.event_type)) throw badRequest('event_type is invalid');
    const eventType = body.event_type;

    if (body.entity_type === undefined || body.entity_type === null) throw badRequest('entity_type is missing');
    if (!(ENTITY_TYPES as readonly unknown[]).includes(body.entity_type)) throw badRequest('entity_type does not have a valid value');
    const entityType = body.entity_type as EntityType;
    const entityId = int(body, 'entity_id', 1);
    const entityPath = str(body, 'entity_path', MAX_TARGET_DETAILS);
    if (entityId === undefined && entityPath === undefined) {
      throw badRequest('entity_id, entity_path are missing, at least one parameter must be provided');
    }

    const authorId = int(body, 'author_id', -1);
    let authorName = str(body, 'author_name', 255);
    const targetId = int(body, 'target_id', 0);
    const targetType = str(body, 'target_type', 255);
    const targetDetails = str(body, 'target_details', MAX_TARGET_DETAILS);
    const ip = str(body, 'ip_address', 45);
    if (ip !== undefined && !isIpAddress(ip)) throw badRequest('ip_address is invalid');
    const details = ingestDetails(body);
    const createdAt = ingestCreatedAt(body, Date.now());

    // The entity and the author's name (another user's, named by id alone) are read together,
    // from a replica first (resolveEntity). The caller's own row was read to authenticate this
    // request: no second read.
    const primaryNeeded = recentlyWritten();
    const readAuthor = authorId !== undefined && authorId > 0 && authorId !== actor.user.id && authorName === undefined;
    const [entity, authorRow] = await Promise.all([
      resolveEntity(db, primaryNeeded, entityType, entityId, entityPath),
      readAuthor ? readReplicaFirst(db, primaryNeeded, (r) => findUserById(r, authorId), (u) => !u) : null,
    ]);
    let author = { id: actor.user.id, name: actor.user.name };
    if (authorId !== undefined) {
      if (authorId === UNAUTHENTICATED_AUTHOR.id) authorName ??= UNAUTHENTICATED_AUTHOR.name;
      else if (authorName === undefined) {
        const u = authorId === actor.user.id ? actor.user : authorRow;
        if (!u) throw badRequest('author_name is missing');
        authorName = u.name;
      }
      author = { id: authorId, name: authorName };
    } else if (authorName !== undefined) author = { id: actor.user.id, name: authorName };

    const event = await recordAuditEvent(app.env, app.ctx, {
      eventType,
      author,
      entity,
      target: { id: targetId ?? null, type: targetType ?? null, details: targetDetails ?? null },
      ipAddress: ip ?? clientIp(request),
      details: { ...details, ingested_by: { id: actor.user.id, username: actor.user.username } },
      createdAt,
      authorClass: typeof details.author_class === 'string' ? details.author_class : undefined,
    });
    return json(ingestedEventJson(event), 201);
  });
}
