/**
 * Releases in GraphQL, in GitLab's names: Project.releases / Project.release, the Release,
 * ReleaseAssets and ReleaseLink types, and the mutations releaseCreate, releaseUpdate,
 * releaseDelete, releaseAssetLinkCreate, releaseAssetLinkUpdate, releaseAssetLinkDelete.
 * A project the caller cannot see or act on is GitLab's top-level "resource not available";
 * refused changes are errors-as-data with GitLab's texts.
 */
import type { Project } from '../../db/projects';
import { findProjectById, findProjectByPath } from '../../db/projects';
import { findLinkById, findRelease, listReleases, type Release, type ReleaseLink } from '../../db/releases';
import type { User } from '../../db/users';
import { can, type Action } from '../../auth/policy';
import { clientIp } from '../../audit/record';
import { publicOrigin } from '../../web/origin';
import { parseIsoDateTime } from '../../web/params';
import { isHistorical, isUpcoming } from '../../releases/serializers';
import { directAssetUrl, evidencePath, releasePath } from '../../releases/urls';
import { evidencesOfReleases, type ReleaseEvidence } from '../../db/release_evidences';
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
} from '../../releases/service';
import { decodeCursor, encodeCursor, MAX_PAGE_SIZE, type ConnectionArgs } from '../connection';
import type { GraphQLContext, SchemaModule } from '../context';
import { PublicError, resourceNotAvailable } from '../errors';
import { parseGid, toGid } from '../gid';
import { releaseTypeDefs } from '../schema/releases';

/** A release as resolvers see it: with its project (for URLs), and its evidences when a listing read them. */
type GqlRelease = Release & { project: Project; evidences?: ReleaseEvidence[] };
/** An evidence as resolvers see it: with its project and tag (for its URL). */
type GqlEvidence = ReleaseEvidence & { project: Project; tagName: string };
/** A link as resolvers see it: with its project and tag (for the tracked URL). */
type GqlLink = ReleaseLink & { project: Project; tagName: string };

const LINK_TYPE_ENUM: Record<string, string> = { OTHER: 'other', RUNBOOK: 'runbook', PACKAGE: 'package', IMAGE: 'image' };


/** A Relay connection over items in the order given (cursors name item ids). */
function orderedConnection<T extends { id: number }>(items: T[], args: ConnectionArgs) {
  for (const k of ['first', 'last'] as const) {
    const n = args[k];
    if (n !== undefined && n !== null && (n < 0 || n > MAX_PAGE_SIZE)) throw new PublicError(`Argument '${k}' must be between 0 and ${MAX_PAGE_SIZE}`);
  }
  let start = 0;
  let end = items.length;
  if (args.after) {
    const id = decodeCursor(args.after);
    const i = items.findIndex((x) => x.id === id);
    start = i >= 0 ? i + 1 : items.length;
  }
  if (args.before) {
    const id = decodeCursor(args.before);
    const i = items.findIndex((x) => x.id === id);
    if (i >= 0) end = Math.min(end, i);
  }
  if (args.first !== undefined && args.first !== null) end = Math.min(end, start + args.first);
  if (args.last !== undefined && args.last !== null) start = Math.max(start, end - args.last);
  const slice = items.slice(start, Math.max(start, end));
  return {
    nodes: slice,
    edges: slice.map((node) => ({ cursor: encodeCursor(node.id), node })),
    count: items.length,
    pageInfo: {
      hasNextPage: start + slice.length < items.length,
      hasPreviousPage: start > 0,
      startCursor: slice.length ? encodeCursor(slice[0].id) : null,
      endCursor: slice.length ? encodeCursor(slice[slice.length - 1].id) : null,
    },
  };
}

const SORTS: Record<string, { orderBy: 'released_at' | 'created_at'; sort: 'asc' | 'desc' }> = {
  RELEASED_AT_DESC: { orderBy: 'released_at', sort: 'desc' },
  RELEASED_AT_ASC: { orderBy: 'released_at', sort: 'asc' },
  CREATED_DESC: { orderBy: 'created_at', sort: 'desc' },
  CREATED_ASC: { orderBy: 'created_at', sort: 'asc' },
};

/** Most releases a connection walks over (cursor pagination is done over this window). */
const RELEASE_WINDOW = 1000;

/** The project at `fullPath` if the caller may read it and do `action`; GitLab's top-level error otherwise. */
async function authorizedProject(c: GraphQLContext, fullPath: unknown, action: Action): Promise<Project> {
  const project = typeof fullPath === 'string' ? await findProjectByPath(c.env.DB, fullPath) : null;
  if (!project) throw resourceNotAvailable();
  const resource = { kind: 'project', project } as const;
  if (!(await can(c.env.DB, c.actor, 'read_project', resource)) || !(await can(c.env.DB, c.actor, action, resource))) {
    throw resourceNotAvailable();
  }
  return project;
}

/** The link a ReleasesLinkID names, its release and project, if the caller may do `action`. */
async function authorizedLink(c: GraphQLContext, gid: unknown, action: Action) {
  const id = parseGid(gid, 'Releases::Link');
  const found = id === null ? null : await findLinkById(c.env.DB, id);
  if (!found) throw resourceNotAvailable();
  const project = await findProjectById(c.env.DB, found.release.projectId);
  if (!project) throw resourceNotAvailable();
  const resource = { kind: 'project', project } as const;
  if (!(await can(c.env.DB, c.actor, 'read_project', resource)) || !(await can(c.env.DB, c.actor, action, resource))) {
    throw resourceNotAvailable();
  }
  return { ...found, project };
}

function changeContext(c: GraphQLContext): ChangeContext {
  // can() granted a write action, so there is an actor.
  return { env: c.env, ctx: c.ctx, actor: c.actor!, ip: clientIp(c.request) };
}

function time(value: unknown, arg: string): string | null | undefined {
  if (value === undefined || value === null) return value as null | undefined;
  const iso = typeof value === 'string' ? parseIsoDateTime(value) : undefined;
  if (!iso) throw new PublicError(`${arg} is not a valid Time`);
  return iso;
}

function linkInput(args: { name?: string | null; url?: string | null; directAssetPath?: string | null; linkType?: string | null }): LinkInput {
  return {
    name: args.name,
    url: args.url,
    filepath: args.directAssetPath,
    linkType: args.linkType === undefined || args.linkType === null ? args.linkType : LINK_TYPE_ENUM[args.linkType],
  };
}

/** Errors-as-data for the service's refusals; anything else propagates (and is masked). */
async function payload<T>(clientMutationId: unknown, key: 'release' | 'link', fn: () => Promise<T>) {
  const base = { clientMutationId: clientMutationId ?? null };
  try {
    return { ...base, errors: [], [key]: await fn() };
  } catch (err) {
    if (err instanceof ReleaseServiceError) return { ...base, errors: err.messages, [key]: null };
    throw err;
  }
}

function milestonesError(m: unknown): string[] {
  return Array.isArray(m) && m.length > 0 ? [`Milestone(s) not found: ${m.join(', ')}`] : [];
}

const withProject = (r: Release, project: Project, evidences?: ReleaseEvidence[]): GqlRelease => ({ ...r, project, evidences });

export const releases: SchemaModule = {
  typeDefs: releaseTypeDefs,
  resolvers: {
    Project: {
      releases: async (p: Project, args: ConnectionArgs & { sort?: string }, c: GraphQLContext) => {
        if (!(await can(c.env.DB, c.actor, 'read_release', { kind: 'project', project: p }))) return orderedConnection([], args);
        const { items, evidences } = await listReleases(c.env.DB, p.id, SORTS[args.sort ?? 'RELEASED_AT_DESC'] ?? SORTS.RELEASED_AT_DESC, RELEASE_WINDOW, 0);
        return orderedConnection(items.map((r) => withProject(r, p, evidences.get(r.id))), args);
      },
      release: async (p: Project, args: { tagName: string }, c: GraphQLContext) => {
        if (!(await can(c.env.DB, c.actor, 'read_release', { kind: 'project', project: p }))) return null;
        const r = await findRelease(c.env.DB, p.id, args.tagName);
        return r ? withProject(r, p) : null;
      },
    },
    Release: {
      id: (r: GqlRelease) => toGid('Release', r.id),
      tagPath: (r: GqlRelease) => `/${r.project.fullPath}/-/tags/${encodeURIComponent(r.tagName)}`,
      upcomingRelease: (r: GqlRelease) => isUpcoming(r),
      historicalRelease: (r: GqlRelease) => isHistorical(r),
      author: (r: GqlRelease): User | null =>
        r.author ? { ...r.author, email: '', isAdmin: false, namespaceId: null, createdAt: '' } : null,
      assets: (r: GqlRelease) => r,
      links: (r: GqlRelease, _a, c: GraphQLContext) => {
        const self = `${publicOrigin(c.request, c.env)}${releasePath(r.project.fullPath, r.tagName)}`;
        return { selfUrl: self, editUrl: `${self}/edit` };
      },
      evidences: async (r: GqlRelease, args: ConnectionArgs, c: GraphQLContext) => {
        const evidences = r.evidences ?? (await evidencesOfReleases(c.env.DB, [r.id])).get(r.id) ?? [];
        return orderedConnection(evidences.map((e): GqlEvidence => ({ ...e, project: r.project, tagName: r.tagName })), args);
      },
    },
    ReleaseEvidence: {
      id: (e: GqlEvidence) => toGid('Releases::Evidence', e.id),
      filepath: (e: GqlEvidence, _a, c: GraphQLContext) => `${publicOrigin(c.request, c.env)}${evidencePath(e.project.fullPath, e.tagName, e.id)}`,
    },
    ReleaseAssets: {
      count: (r: GqlRelease) => r.links.length,
      links: (r: GqlRelease, args: ConnectionArgs) =>
        orderedConnection(r.links.map((l): GqlLink => ({ ...l, project: r.project, tagName: r.tagName })), args),
      sources: (_r: GqlRelease, args: ConnectionArgs) => orderedConnection([] as { id: number }[], args),
    },
    ReleaseLink: {
      id: (l: GqlLink) => toGid('Releases::Link', l.id),
      linkType: (l: GqlLink) => l.linkType.toUpperCase(),
      directAssetUrl: (l: GqlLink, _a, c: GraphQLContext) => directAssetUrl(publicOrigin(c.request, c.env), l.project.fullPath, l.tagName, l),
      directAssetPath: (l: GqlLink) => l.filepath,
      // GitLab: a link is internal when it points into the project's own web URL.
      external: (l: GqlLink, _a, c: GraphQLContext) => !l.url.startsWith(`${publicOrigin(c.request, c.env)}/${l.project.fullPath}`),
    },
    Mutation: {
      releaseCreate: async (_p, { input }: { input: Record<string, any> }, c: GraphQLContext) => {
        const project = await authorizedProject(c, input.projectPath, 'create_release');
        const releasedAt = time(input.releasedAt, 'releasedAt');
        const milestoneErrors = milestonesError(input.milestones);
        if (milestoneErrors.length) return { clientMutationId: input.clientMutationId ?? null, errors: milestoneErrors, release: null };
        const links = ((input.assets?.links ?? []) as Record<string, any>[]).map(linkInput);
        return payload(input.clientMutationId, 'release', async () =>
          withProject(
            await createRelease(changeContext(c), project, { tagName: input.tagName, name: input.name, description: input.description, releasedAt, links }),
            project,
          ),
        );
      },
      releaseUpdate: async (_p, { input }: { input: Record<string, any> }, c: GraphQLContext) => {
        // GitLab's argument errors (top-level).
        if ('releasedAt' in input && input.releasedAt === null) throw new PublicError('if the releasedAt argument is provided, it cannot be null');
        if ('milestones' in input && input.milestones === null) throw new PublicError('if the milestones argument is provided, it cannot be null');
        const project = await authorizedProject(c, input.projectPath, 'update_release');
        const releasedAt = time(input.releasedAt, 'releasedAt');
        const milestoneErrors = milestonesError(input.milestones);
        if (milestoneErrors.length) return { clientMutationId: input.clientMutationId ?? null, errors: milestoneErrors, release: null };
        return payload(input.clientMutationId, 'release', async () => {
          const release = await findRelease(c.env.DB, project.id, input.tagName);
          if (!release) throw new ReleaseServiceError(404, 'Release does not exist', ['Release does not exist']);
          const updated = await updateRelease(changeContext(c), project, release, { name: input.name, description: input.description, releasedAt });
          return withProject(updated, project);
        });
      },
      releaseDelete: async (_p, { input }: { input: Record<string, any> }, c: GraphQLContext) => {
        const project = await authorizedProject(c, input.projectPath, 'destroy_release');
        return payload(input.clientMutationId, 'release', async () => {
          const release = await findRelease(c.env.DB, project.id, input.tagName);
          if (!release) throw new ReleaseServiceError(404, 'Release does not exist', ['Release does not exist']);
          return withProject(await deleteRelease(changeContext(c), project, release), project);
        });
      },
      releaseAssetLinkCreate: async (_p, { input }: { input: Record<string, any> }, c: GraphQLContext) => {
        const project = await authorizedProject(c, input.projectPath, 'create_release');
        return payload(input.clientMutationId, 'link', async () => {
          const release = await findRelease(c.env.DB, project.id, input.tagName);
          if (!release) {
            const msg = `Release with tag "${input.tagName}" was not found`;
            throw new ReleaseServiceError(404, msg, [msg]);
          }
          const link = await createLink(changeContext(c), project, release, linkInput(input));
          return { ...link, project, tagName: release.tagName } satisfies GqlLink;
        });
      },
      releaseAssetLinkUpdate: async (_p, { input }: { input: Record<string, any> }, c: GraphQLContext) => {
        // GitLab raises this as an argument error (top-level), before authorization.
        if ('linkType' in input && input.linkType === null) throw new PublicError('if the linkType argument is provided, it cannot be null');
        const { link, release, project } = await authorizedLink(c, input.id, 'update_release');
        return payload(input.clientMutationId, 'link', async () => {
          const updated = await updateLink(changeContext(c), project, release, link, linkInput(input));
          return { ...updated, project, tagName: release.tagName } satisfies GqlLink;
        });
      },
      releaseAssetLinkDelete: async (_p, { input }: { input: Record<string, any> }, c: GraphQLContext) => {
        const { link, release, project } = await authorizedLink(c, input.id, 'destroy_release');
        return payload(input.clientMutationId, 'link', async () => {
          const deleted = await deleteLink(changeContext(c), project, release, link);
          return { ...deleted, project, tagName: release.tagName } satisfies GqlLink;
        });
      },
    },
  },
};
