/**
 * Release and asset link changes, shared by REST and GraphQL: GitLab's Releases::CreateService,
 * UpdateService, DestroyService and Releases::Links services, trimmed to this service's model.
 * Every change commits in one D1 batch together with the audit events describing it.
 * Authorization is the caller's job (it differs per surface: 403 vs resourceNotAvailable).
 */
import type { Actor } from '../auth/authenticate';
import type { Project } from '../db/projects';
import {
  deleteLinkStatement,
  deleteReleaseStatements,
  findLinkById,
  findRelease,
  insertLinkStatement,
  insertReleaseStatement,
  isDuplicateTag,
  isIdCollision,
  nextIds,
  updateLinkStatement,
  updateReleaseStatement,
  type Release,
  type ReleaseLink,
} from '../db/releases';
import { nowIso } from '../db/time';
import type { Env } from '../env';
import { authorOf, projectEntity, recordAuditEvents, type AuditEventInput } from '../audit/record';
import {
  errorMessages,
  fullMessage,
  LINK_TYPES,
  normalizeFilepath,
  uniquenessErrors,
  uniqueViolation,
  validateLinkAttributes,
  type LinkAttributes,
  type LinkError,
  type LinkType,
} from './links';

/**
 * A refused change: the HTTP status and REST message (a string, or errors by attribute), and the
 * GraphQL errors-as-data texts.
 */
export class ReleaseServiceError extends Error {
  constructor(
    readonly status: number,
    readonly restMessage: string | Record<string, string[]>,
    readonly messages: string[],
  ) {
    super(messages.join(', '));
  }
}

/** Who asks, and from where (for the audit event). */
export interface ChangeContext {
  env: Env;
  ctx: Pick<ExecutionContext, 'waitUntil'> | null;
  actor: Actor;
  ip: string | null;
}

/** A link as a client sends it (before defaults and normalization). */
export interface LinkInput {
  name?: string | null;
  url?: string | null;
  filepath?: string | null;
  linkType?: string | null;
}

/** GitLab's tag names follow git's check-ref-format; we hold no git repository, so check the rules here. */
export function tagNameValid(tag: string): boolean {
  if (tag === '' || tag.length > 255 || tag === '@') return false;
  if (/[\u0000-\u0020\u007f~^:?*[\\]/.test(tag)) return false;
  if (tag.includes('..') || tag.includes('@{') || tag.includes('//')) return false;
  if (tag.startsWith('/') || tag.startsWith('-') || tag.endsWith('/') || tag.endsWith('.') || tag.endsWith('.lock')) return false;
  return !tag.split('/').some((s) => s.startsWith('.'));
}

const MAX_ATTEMPTS = 8;

/**
 * Run a batch that inserts rows with reserved ids, retrying when a concurrent writer took them.
 * A retry reserves ids a random distance past the next free ones (wider each time), so writers
 * that collided do not all pick the same ids again: ten concurrent creates all succeed (ids may
 * have gaps, as AUTOINCREMENT's may).
 */
async function withReservedIds<T>(run: (ids: { release: number; link: number }) => Promise<T>, env: Env): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const next = await nextIds(env.DB);
    const spread = attempt === 1 ? 0 : 8 * attempt;
    const ids = { release: next.release + Math.floor(Math.random() * spread), link: next.link + Math.floor(Math.random() * spread) * 16 };
    try {
      return await run(ids);
    } catch (err) {
      if (isIdCollision(err) && attempt < MAX_ATTEMPTS) continue;
      throw err;
    }
  }
}

/** Audit changes list: [{field, from, to}] for each attribute whose value differs. */
function diff(before: Record<string, unknown>, after: Record<string, unknown>): Array<{ field: string; from: unknown; to: unknown }> {
  const changes: Array<{ field: string; from: unknown; to: unknown }> = [];
  for (const field of Object.keys(after)) {
    const from = before[field] ?? null;
    const to = after[field] ?? null;
    if (from !== to) changes.push({ field, from, to });
  }
  return changes;
}

function linkFields(l: LinkAttributes | ReleaseLink | null): Record<string, unknown> {
  if (!l) return { name: null, url: null, filepath: null, link_type: null };
  return { name: l.name, url: l.url, filepath: l.filepath, link_type: l.linkType };
}

function releaseTarget(r: { id: number; name: string }) {
  return { id: r.id, type: 'Release', details: r.name };
}

function linkTarget(l: { id: number; name: string }) {
  return { id: l.id, type: 'Releases::Link', details: l.name };
}

/** Defaults and normalization of a link input; errors for missing or unknown values. */
function linkAttributes(input: LinkInput): LinkAttributes {
  return {
    name: input.name ?? '',
    url: input.url ?? '',
    filepath: normalizeFilepath(input.filepath),
    linkType: (input.linkType ?? 'other') as LinkType,
  };
}

function linkEvent(c: ChangeContext, project: Project, release: Release, type: string, verb: string, link: { id: number; name: string }, changes: unknown[]): AuditEventInput {
  return {
    eventType: type,
    author: authorOf(c.actor.user),
    entity: projectEntity(project),
    target: linkTarget(link),
    ipAddress: c.ip,
    details: { custom_message: `${verb} asset link ${link.name} of release ${release.tagName}`, tag_name: release.tagName, changes },
  };
}

/**
 * Create a release (and its links) with its audit events. GitLab's errors: 409 "Release already
 * exists", 400 "Validation failed: Links url has already been taken" and friends.
 */
export async function createRelease(
  c: ChangeContext,
  project: Project,
  input: { tagName: string; name?: string | null; description?: string | null; releasedAt?: string | null; links: LinkInput[] },
): Promise<Release> {
  if (!tagNameValid(input.tagName)) throw new ReleaseServiceError(400, 'Tag name invalid', ['Tag name invalid']);
  if (await findRelease(c.env.DB, project.id, input.tagName)) {
    throw new ReleaseServiceError(409, 'Release already exists', ['Release already exists']);
  }
  const name = input.name === undefined || input.name === null || input.name === '' ? input.tagName : input.name;
  if ([...name].length > 255) throw invalidRelease([`Name is too long (maximum is 255 characters)`]);
  const links = input.links.map(linkAttributes);
  const errors: LinkError[] = [];
  links.forEach((l, i) => {
    errors.push(...validateLinkAttributes(l), ...uniquenessErrors(l, links.slice(0, i)));
  });
  if (errors.length > 0) throw invalidRelease(errors.map(nestedMessage));
  const now = nowIso();
  const releasedAt = input.releasedAt ?? now;
  const description = input.description ?? '';
  try {
    await withReservedIds(async (ids) => {
      const statements = [
        insertReleaseStatement(c.env.DB, { id: ids.release, projectId: project.id, tagName: input.tagName, name, description, authorId: c.actor.user.id, releasedAt, now }),
        ...links.map((l, i) => insertLinkStatement(c.env.DB, { id: ids.link + i, releaseId: ids.release, ...l, now })),
      ];
      const release = { id: ids.release, name, tagName: input.tagName } as Release;
      const events: AuditEventInput[] = [
        {
          eventType: 'release_created',
          author: authorOf(c.actor.user),
          entity: projectEntity(project),
          target: releaseTarget(release),
          ipAddress: c.ip,
          details: { custom_message: `Created release ${input.tagName}`, tag_name: input.tagName, released_at: releasedAt },
        },
        ...links.map((l, i) =>
          linkEvent(c, project, release, 'release_asset_link_created', 'Created', { id: ids.link + i, name: l.name }, diff(linkFields(null), linkFields(l))),
        ),
      ];
      await recordAuditEvents(c.env, c.ctx, events, statements);
    }, c.env);
  } catch (err) {
    if (isDuplicateTag(err)) throw new ReleaseServiceError(409, 'Release already exists', ['Release already exists']);
    const v = uniqueViolation(err);
    if (v) throw invalidRelease([nestedMessage(v)]);
    throw err;
  }
  return (await findRelease(c.env.DB, project.id, input.tagName))!;
}

/** Rails' full message of a nested link's error: "Links url has already been taken". */
function nestedMessage(e: LinkError): string {
  return `Links ${e.field.replace('_', ' ')} ${e.message}`;
}

function invalidRelease(messages: string[]): ReleaseServiceError {
  const text = `Validation failed: ${messages.join(', ')}`;
  return new ReleaseServiceError(400, text, [text]);
}

/**
 * Update a release's name, description and released_at, recording `release_updated` with each
 * changed field (from, to). A change that changes nothing records nothing.
 */
export async function updateRelease(
  c: ChangeContext,
  project: Project,
  release: Release,
  input: { name?: string | null; description?: string | null; releasedAt?: string | null },
): Promise<Release> {
  const next = {
    name: input.name === undefined || input.name === null ? release.name : input.name,
    description: input.description === undefined || input.description === null ? release.description : input.description,
    releasedAt: input.releasedAt ?? release.releasedAt,
  };
  if (next.name.trim() === '') throw invalidRelease(["Name can't be blank"]);
  if ([...next.name].length > 255) throw invalidRelease(['Name is too long (maximum is 255 characters)']);
  const changes = diff(
    { name: release.name, description: release.description, released_at: release.releasedAt },
    { name: next.name, description: next.description, released_at: next.releasedAt },
  );
  if (changes.length === 0) return release;
  await recordAuditEvents(
    c.env,
    c.ctx,
    [
      {
        eventType: 'release_updated',
        author: authorOf(c.actor.user),
        entity: projectEntity(project),
        target: releaseTarget({ id: release.id, name: next.name }),
        ipAddress: c.ip,
        details: { custom_message: `Updated release ${release.tagName}`, tag_name: release.tagName, changes },
      },
    ],
    [updateReleaseStatement(c.env.DB, release.id, { ...next, now: nowIso() })],
  );
  return (await findRelease(c.env.DB, project.id, release.tagName)) ?? { ...release, ...next };
}

/** Delete a release and its links, recording `release_deleted_audit_event`. */
export async function deleteRelease(c: ChangeContext, project: Project, release: Release): Promise<Release> {
  await recordAuditEvents(
    c.env,
    c.ctx,
    [
      {
        eventType: 'release_deleted_audit_event',
        author: authorOf(c.actor.user),
        entity: projectEntity(project),
        target: releaseTarget(release),
        ipAddress: c.ip,
        details: { custom_message: `Deleted release ${release.tagName}`, tag_name: release.tagName, deleted_links: release.links.length },
      },
    ],
    deleteReleaseStatements(c.env.DB, release.id),
  );
  return release;
}

/** A link refused by its rules: REST 400 `{"message": {"url": [...]}}`, GraphQL full messages. */
function invalidLink(errors: LinkError[]): ReleaseServiceError {
  return new ReleaseServiceError(400, errorMessages(errors), errors.map(fullMessage));
}

/** Add a link to a release, recording `release_asset_link_created`. */
export async function createLink(c: ChangeContext, project: Project, release: Release, input: LinkInput): Promise<ReleaseLink> {
  const attrs = linkAttributes(input);
  const errors = [...validateLinkAttributes(attrs), ...uniquenessErrors(attrs, release.links)];
  if (errors.length > 0) throw invalidLink(errors);
  let id = 0;
  try {
    await withReservedIds(async (ids) => {
      id = ids.link;
      await recordAuditEvents(
        c.env,
        c.ctx,
        [linkEvent(c, project, release, 'release_asset_link_created', 'Created', { id, name: attrs.name }, diff(linkFields(null), linkFields(attrs)))],
        [insertLinkStatement(c.env.DB, { id, releaseId: release.id, ...attrs, now: nowIso() })],
      );
    }, c.env);
  } catch (err) {
    const v = uniqueViolation(err);
    if (v) throw invalidLink([v]);
    throw err;
  }
  return (await findLinkById(c.env.DB, id))!.link;
}

/** Change a link's attributes, recording `release_asset_link_updated` with the changed fields. */
export async function updateLink(c: ChangeContext, project: Project, release: Release, link: ReleaseLink, input: LinkInput): Promise<ReleaseLink> {
  const attrs: LinkAttributes = {
    name: input.name ?? link.name,
    url: input.url ?? link.url,
    filepath: input.filepath === undefined ? link.filepath : normalizeFilepath(input.filepath),
    linkType: (input.linkType ?? link.linkType) as LinkType,
  };
  const others = release.links.filter((l) => l.id !== link.id);
  const errors = [...validateLinkAttributes(attrs), ...uniquenessErrors(attrs, others)];
  if (errors.length > 0) throw invalidLink(errors);
  const changes = diff(linkFields(link), linkFields(attrs));
  if (changes.length === 0) return link;
  try {
    await recordAuditEvents(
      c.env,
      c.ctx,
      [linkEvent(c, project, release, 'release_asset_link_updated', 'Updated', { id: link.id, name: attrs.name }, changes)],
      [updateLinkStatement(c.env.DB, link.id, { ...attrs, now: nowIso() })],
    );
  } catch (err) {
    const v = uniqueViolation(err);
    if (v) throw invalidLink([v]);
    throw err;
  }
  return (await findLinkById(c.env.DB, link.id))?.link ?? { ...link, ...attrs };
}

/** Remove a link, recording `release_asset_link_deleted`. */
export async function deleteLink(c: ChangeContext, project: Project, release: Release, link: ReleaseLink): Promise<ReleaseLink> {
  await recordAuditEvents(
    c.env,
    c.ctx,
    [linkEvent(c, project, release, 'release_asset_link_deleted', 'Deleted', link, diff(linkFields(link), linkFields(null)))],
    [deleteLinkStatement(c.env.DB, link.id)],
  );
  return link;
}

/** Whether a value is one of GitLab's link types. */
export function isLinkType(v: unknown): v is LinkType {
  return typeof v === 'string' && (LINK_TYPES as readonly string[]).includes(v);
}
