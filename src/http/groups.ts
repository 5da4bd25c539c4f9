import { can } from '../auth/policy';
import { activeGroupMembershipIds } from '../db/members';
import type { Actor } from '../auth/authenticate';
import {
  findNamespaceById,
  insertedGroup,
  insertGroupStatements,
  listSubgroups,
  NAMESPACE_COLUMNS,
  newGroupRef,
  pathTaken,
  toNamespace,
  VISIBILITIES,
  VISIBILITY_LEVEL,
  type Namespace,
  type NamespaceRow,
  type Visibility,
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
import { loadReadableGroup, requireActor } from './access';

/** GitLab's limit on group nesting. */
export const MAX_GROUP_DEPTH = 20;

/** Visibilities a caller sees without membership: public always, internal when signed in. */
function visibleWithoutMembership(actor: Actor | null): Visibility[] {
  return actor ? ['public', 'internal'] : ['public'];
}

export function registerGroupRoutes(router: ApiRouter): void {
  /** `GET /groups`: groups the caller can see (admins: all), ordered by name. */
  router.get('/groups', async (request, app) => {
    const url = new URL(request.url);
    const page = readPage(url);
    const db = app.env.DB;
    const vis = visibleWithoutMembership(app.actor);
    const all = await can(db, app.actor, 'read_instance');
    // Direct members see a private group (and an expired membership is no membership).
    const where = all
      ? `kind = 'group'`
      : `kind = 'group' AND (visibility IN (${vis.map((v) => `'${v}'`).join(', ')}) OR id IN (${activeGroupMembershipIds('?1')}))`;
    const bind = all ? [] : [app.actor?.user.id ?? -1];
    const [count, rows] = await db.batch([
      db.prepare(`SELECT COUNT(*) AS n FROM namespaces WHERE ${where}`).bind(...bind),
      db.prepare(`SELECT ${NAMESPACE_COLUMNS} FROM namespaces WHERE ${where} ORDER BY name, id LIMIT ${page.limit} OFFSET ${page.offset}`).bind(...bind),
    ]);
    const origin = publicOrigin(request, app.env);
    return pagedJson(url, page, (count.results[0] as { n: number }).n, (rows.results as NamespaceRow[]).map((r) => groupJson(toNamespace(r), origin)));
  });

  /** `POST /groups`: a top-level group (any user) or a subgroup (Owner of the parent). */
  router.post('/groups', async (request, app) => {
    const actor = requireActor(app);
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
    // Members of the group (inherited access) see every subgroup; others see them by visibility.
    if (await can(app.env.DB, app.actor, 'read_all_subgroups', { kind: 'group', group })) {
      const { total, items } = await listSubgroups(app.env.DB, group.id, page.limit, page.offset);
      return pagedJson(url, page, total, items.map((g) => groupJson(g, origin)));
    }
    const vis = visibleWithoutMembership(app.actor).map((v) => `'${v}'`).join(', ');
    const db = app.env.DB;
    const [count, rows] = await db.batch([
      db.prepare(`SELECT COUNT(*) AS n FROM namespaces WHERE parent_id = ?1 AND kind = 'group' AND visibility IN (${vis})`).bind(group.id),
      db
        .prepare(
          `SELECT ${NAMESPACE_COLUMNS} FROM namespaces WHERE parent_id = ?1 AND kind = 'group' AND visibility IN (${vis})
           ORDER BY name, id LIMIT ${page.limit} OFFSET ${page.offset}`,
        )
        .bind(group.id),
    ]);
    return pagedJson(url, page, (count.results[0] as { n: number }).n, (rows.results as NamespaceRow[]).map((r) => groupJson(toNamespace(r), origin)));
  });
}
