import { can } from '../auth/policy';
import { findNamespaceById, findNamespaceByPath, pathTaken, VISIBILITIES, VISIBILITY_LEVEL, type Namespace } from '../db/namespaces';
import { insertedProject, insertProjectStatements, listNamespaceProjects, newProjectRef, type Project } from '../db/projects';
import { nowIso } from '../db/time';
import { authorOf, clientIp, projectEntity, recordChange } from '../audit/record';
import { param, type ApiRouter } from './context';
import { publicOrigin } from '../web/origin';
import { badRequest, conflict, forbidden, json, notFound, validationError } from '../web/errors';
import { optionalEnum, optionalString, readParams } from '../web/params';
import { nameError, pathError } from './names';
import { projectJson } from '../web/serializers';
import { pagedJson, readPage } from './pagination';
import { listingAccess, loadReadableGroup, loadReadableProject, requireActor } from './access';

export function registerProjectRoutes(router: ApiRouter): void {
  /** `POST /projects`: in a group (Maintainer or above) or in the caller's own namespace. */
  router.post('/projects', async (request, app) => {
    const actor = requireActor(app);
    const p = await readParams(request);
    let name = optionalString(p, 'name', { max: 255 });
    let path = optionalString(p, 'path', { max: 255 });
    if (name === undefined && path === undefined) throw badRequest('name, path are missing, at least one parameter must be provided');
    name ??= path!;
    path ??= name.trim().toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '');
    const visibility = optionalEnum(p, 'visibility', VISIBILITIES) ?? 'private';
    const description = optionalString(p, 'description', { max: 2000, allowBlank: true }) ?? '';
    const nameErr = nameError(name);
    if (nameErr) throw validationError('name', nameErr);
    const pathErr = pathError(path, false);
    if (pathErr) throw validationError('path', pathErr);

    let namespace: Namespace | null;
    const rawNs = p.namespace_id;
    if (rawNs === undefined || rawNs === null || rawNs === '') {
      namespace = actor.user.namespaceId ? await findNamespaceById(app.env.DB, actor.user.namespaceId) : null;
    } else if (typeof rawNs === 'number' || (typeof rawNs === 'string' && /^\d{1,15}$/.test(rawNs))) {
      namespace = await findNamespaceById(app.env.DB, Number(rawNs));
    } else if (typeof rawNs === 'string') {
      namespace = await findNamespaceByPath(app.env.DB, rawNs);
    } else {
      throw badRequest('namespace_id is invalid');
    }
    if (!namespace) throw notFound('Namespace');
    if (namespace.kind === 'group') {
      if (!(await can(app.env.DB, actor, 'read_group', { kind: 'group', group: namespace }))) throw notFound('Namespace');
      if (!(await can(app.env.DB, actor, 'create_project', { kind: 'group', group: namespace }))) throw forbidden();
      if (VISIBILITY_LEVEL[visibility] > VISIBILITY_LEVEL[namespace.visibility]) {
        throw validationError('visibility_level', `${visibility} is not allowed in a ${namespace.visibility} group.`);
      }
    } else if (!(await can(app.env.DB, actor, 'create_project', { kind: 'group', group: namespace }))) {
      throw forbidden(); // someone else's personal namespace
    }
    if (await pathTaken(app.env.DB, `${namespace.fullPath}/${path}`)) throw conflict({ path: ['has already been taken'] });
    // The project and its creation event commit together.
    const insert = insertProjectStatements(app.env.DB, { namespace, name, path, description, visibility, creatorId: actor.user.id, createdAt: nowIso() });
    const created = newProjectRef(namespace, path);
    let project: Project;
    try {
      const { results } = await recordChange(app.env, app.ctx, insert, [
        {
          eventType: 'project_created',
          author: authorOf(actor.user),
          entity: projectEntity(created),
          target: { id: created.id, type: 'Project', details: created.fullPath },
          ipAddress: clientIp(request),
          details: { add: 'project', custom_message: `Added project ${created.fullPath}` },
        },
      ]);
      project = insertedProject(results);
    } catch (err) {
      if (String(err).includes('UNIQUE')) throw conflict({ path: ['has already been taken'] });
      throw err;
    }
    return json(projectJson(project, publicOrigin(request, app.env)), 201);
  });

  /** `GET /projects/:id`. */
  router.get('/projects/:id', async (request, app) => {
    const project = await loadReadableProject(app, param(request, 'id'));
    return json(projectJson(project, publicOrigin(request, app.env)));
  });

  /** `GET /groups/:id/projects`: the group's projects the caller can read, newest first, one page per query. */
  router.get('/groups/:id/projects', async (request, app) => {
    const group = await loadReadableGroup(app, param(request, 'id'));
    const url = new URL(request.url);
    const page = readPage(url);
    const { total, items } = await listNamespaceProjects(app.env.DB, group.id, await listingAccess(app, 'read_instance'), page.limit, page.offset);
    const origin = publicOrigin(request, app.env);
    return pagedJson(url, page, total, items.map((x) => projectJson(x, origin)));
  });
}
