import { can } from '../auth/policy';
import {
  findNamespaceById,
  insertedGroup,
  insertGroupStatements,
  listGroups,
  listSubgroups,
  newGroupRef,
  pathTaken,
  VISIBILITIES,
  VISIBILITY_LEVEL,
  type Namespace,
} from '../db/namespaces';
import { nowIso } from '../db/time';
import { authorOf, clientIp, groupEntity, recordChange } from '../audit/record';
import { param, type ApiRouter } from './context';
import { publicOrigin } from '../web/origin';
import { conflict, forbidden, json, notFound, validationError } from '../web/errors';
import { optionalEnum, optionalInteger, optionalString, readParams, requireString } from '../web/params';
import { nameError, pathError } from './names';
import { groupJson } from '../web/serializers';
import { pagedJson, readPage } from './pagination';
import { listingAccess, loadReadableGroup, requireAllowed } from './access';

/** GitLab's limit on group nesting. */
export const MAX_GROUP_DEPTH = 20;

export function registerGroupRoutes(router: ApiRouter): void {
  /**
   * `GET /groups`: groups the caller can read (admins: all), ordered by name: public ones,
   * internal ones when signed in, and those their active memberships reach (descendants included).
   */
  router.get('/groups', async (request, app) => {
    const url = new URL(request.url);
    const page = readPage(url);
    const { total, items } = await listGroups(app.env.DB, await listingAccess(app, 'read_instance'), page.limit, page.offset);
    const origin = publicOrigin(request, app.env);
    return pagedJson(url, page, total, items.map((g) => groupJson(g, origin)));
  });

  /** `POST /groups`: a top-level group (any user) or a subgroup (Owner of the parent). */
  router.post('/groups', async (request, app) => {
    const actor = await requireAllowed(app, 'create_group');
    const p = await readParams(request);
    const name = requireString(p, 'name');
    const path = requireString(p, 'path');
    const parentId = optionalInteger(p, 'parent_id');
    const visibility = optionalEnum(p, 'visibility', VISIBILITIES) ?? 'private';
    const description = optionalString(p, 'description', { max: 500, allowBlank: true }) ?? '';
    const nameErr = nameError(name);
    if (nameErr) throw validationError('name', nameErr);
    let parent: Namespace | null = null;
    if (parentId !== undefined) {
      parent = await findNamespaceById(app.env.DB, parentId);
      if (!parent || parent.kind !== 'group' || !(await can(app.env.DB, actor, 'read_group', { kind: 'group', group: parent }))) {
        throw notFound('Parent group');
      }
      if (!(await can(app.env.DB, actor, 'create_subgroup', { kind: 'group', group: parent }))) throw forbidden();
      if (parent.traversalPath.split('/').filter(Boolean).length >= MAX_GROUP_DEPTH) {
        throw validationError('parent', 'has too deep level of nesting');
      }
      if (VISIBILITY_LEVEL[visibility] > VISIBILITY_LEVEL[parent.visibility]) {
        throw validationError('visibility_level', `${visibility} is not allowed since the parent group has a ${parent.visibility} visibility.`);
      }
    }
    const pathErr = pathError(path, parent === null);
    if (pathErr) throw validationError('path', pathErr);
    const fullPath = parent ? `${parent.fullPath}/${path}` : path;
    if (await pathTaken(app.env.DB, fullPath)) throw conflict({ path: ['has already been taken'] });
    // The group, its Owner and its creation event commit together.
    const insert = insertGroupStatements(app.env.DB, { name, path, fullPath, parent, description, visibility, creatorId: actor.user.id, createdAt: nowIso() });
    const created = newGroupRef(fullPath, parent);
    let group: Namespace;
    try {
      const { results } = await recordChange(app.env, app.ctx, insert, [
        {
          eventType: 'group_created',
          author: authorOf(actor.user),
          entity: groupEntity(created),
          target: { id: created.id, type: 'Group', details: fullPath },
          ipAddress: clientIp(request),
          details: { add: 'group', custom_message: `Added group ${fullPath}` },
        },
      ]);
      group = insertedGroup(results);
    } catch (err) {
      if (String(err).includes('UNIQUE')) throw conflict({ path: ['has already been taken'] });
      throw err;
    }
    return json(groupJson(group, publicOrigin(request, app.env)), 201);
  });

  /** `GET /groups/:id`. */
  router.get('/groups/:id', async (request, app) => {
    const group = await loadReadableGroup(app, param(request, 'id'));
    return json(groupJson(group, publicOrigin(request, app.env)));
  });

  /** `GET /groups/:id/subgroups`: direct subgroups the caller can see. */
  router.get('/groups/:id/subgroups', async (request, app) => {
    const group = await loadReadableGroup(app, param(request, 'id'));
    const url = new URL(request.url);
    const page = readPage(url);
    const origin = publicOrigin(request, app.env);
    // Members of the group (inherited access) see every subgroup; others see them by visibility
    // and by their own memberships in them.
    const access = await listingAccess(app, 'read_all_subgroups', { kind: 'group', group });
    const { total, items } = await listSubgroups(app.env.DB, group.id, access, page.limit, page.offset);
    return pagedJson(url, page, total, items.map((g) => groupJson(g, origin)));
  });
}
