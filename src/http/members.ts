import type { IRequest } from 'itty-router';
import { ACCESS_LEVEL_NAMES, ACCESS_LEVELS, can, type Action } from '../auth/policy';
import { deleteMemberStatement, findMember, insertMemberStatement, listMembers, updateMemberStatement, type SourceType } from '../db/members';
import { findUserById } from '../db/users';
import { nowIso } from '../db/time';
import { authorOf, clientIp, groupEntity, projectEntity, recordAuditEvent, recordAuditEventIfChanged, type AuditEntity } from '../audit/record';
import { param, type App, type ApiRouter } from './context';
import { publicOrigin } from '../web/origin';
import { badRequest, conflict, forbidden, json, notFound } from '../web/errors';
import { optionalDate, readParams, requireInteger, type Params } from '../web/params';
import { memberJson } from '../web/serializers';
import { pagedJson, readPage } from './pagination';
import { loadReadableGroup, loadReadableProject, requireActor } from './access';
import type { Namespace } from '../db/namespaces';
import type { Project } from '../db/projects';

/** A group or project whose members are managed, and who may manage them. */
interface MemberSource {
  sourceType: SourceType;
  sourceId: number;
  resource: { kind: 'group'; group: Namespace } | { kind: 'project'; project: Project };
  manage: Action;
  entity: AuditEntity;
}

async function loadSource(app: App, kind: 'groups' | 'projects', raw: string): Promise<MemberSource> {
  if (kind === 'groups') {
    const group = await loadReadableGroup(app, raw);
    return { sourceType: 'Namespace', sourceId: group.id, resource: { kind: 'group', group }, manage: 'admin_group_member', entity: groupEntity(group) };
  }
  const project = await loadReadableProject(app, raw);
  return { sourceType: 'Project', sourceId: project.id, resource: { kind: 'project', project }, manage: 'admin_project_member', entity: projectEntity(project) };
}

function readAccessLevel(p: Params): number {
  const level = requireInteger(p, 'access_level');
  if (!(ACCESS_LEVELS as readonly number[]).includes(level)) throw badRequest('access_level does not have a valid value');
  return level;
}

/**
 * The manager may not grant, or touch a member holding, a level above their own (a project
 * Maintainer cannot make or change Owners); group Owners and admins can.
 */
async function checkLevelCeiling(app: App, src: MemberSource, ...levels: number[]): Promise<void> {
  for (const accessLevel of levels) {
    if (!(await can(app.env.DB, app.actor, 'admin_member_at_level', { kind: 'membership', source: src.resource, accessLevel }))) throw forbidden();
  }
}

function userIdParam(request: IRequest): number {
  const raw = param(request, 'user_id');
  if (!/^\d{1,15}$/.test(raw)) throw notFound('Member');
  return Number(raw);
}

export function registerMemberRoutes(router: ApiRouter): void {
  for (const kind of ['groups', 'projects'] as const) {
    /** `GET /:kind/:id/members`: direct members. */
    router.get(`/${kind}/:id/members`, async (request, app) => {
      const src = await loadSource(app, kind, param(request, 'id'));
      const url = new URL(request.url);
      const page = readPage(url);
      const { total, items } = await listMembers(app.env.DB, src.sourceType, src.sourceId, page.limit, page.offset);
      const origin = publicOrigin(request, app.env);
      return pagedJson(url, page, total, items.map((m) => memberJson(m, origin)));
    });

    /** `GET /:kind/:id/members/:user_id`. */
    router.get(`/${kind}/:id/members/:user_id`, async (request, app) => {
      const src = await loadSource(app, kind, param(request, 'id'));
      const member = await findMember(app.env.DB, src.sourceType, src.sourceId, userIdParam(request));
      if (!member) throw notFound('Member');
      return json(memberJson(member, publicOrigin(request, app.env)));
    });

    /** `POST /:kind/:id/members`: add a member (group: Owner; project: Maintainer, up to their own level). */
    router.post(`/${kind}/:id/members`, async (request, app) => {
      const actor = requireActor(app);
      const src = await loadSource(app, kind, param(request, 'id'));
      if (!(await can(app.env.DB, actor, src.manage, src.resource))) throw forbidden();
      const p = await readParams(request);
      const userId = requireInteger(p, 'user_id');
      const level = readAccessLevel(p);
      const expiresAt = optionalDate(p, 'expires_at') ?? null;
      await checkLevelCeiling(app, src, level);
      const user = await findUserById(app.env.DB, userId);
      if (!user) throw notFound('User');
      if (await findMember(app.env.DB, src.sourceType, src.sourceId, userId, 'any')) throw conflict('Member already exists');
      // An expired membership still holds the row: it is renewed with PUT, not added again.
      // The membership and its event in one transaction.
      const insert = insertMemberStatement(app.env.DB, { sourceType: src.sourceType, sourceId: src.sourceId, userId, accessLevel: level, expiresAt, createdBy: actor.user.id, createdAt: nowIso() });
      try {
        await recordAuditEvent(app.env, app.ctx, {
          eventType: 'member_created',
          author: authorOf(actor.user),
          entity: src.entity,
          target: { id: user.id, type: 'User', details: user.username },
          ipAddress: clientIp(request),
          details: { add: 'user_access', as: ACCESS_LEVEL_NAMES[level], member_id: user.id, expiry_to: expiresAt, custom_message: `Added ${user.username} as ${ACCESS_LEVEL_NAMES[level]}` },
        }, [insert]);
      } catch (err) {
        if (String(err).includes('UNIQUE') || String(err).includes('PRIMARY')) throw conflict('Member already exists');
        throw err;
      }
      const member = (await findMember(app.env.DB, src.sourceType, src.sourceId, userId, 'any'))!;
      return json(memberJson(member, publicOrigin(request, app.env)), 201);
    });

    /** `PUT /:kind/:id/members/:user_id`: change access level (and expiry). */
    router.put(`/${kind}/:id/members/:user_id`, async (request, app) => {
      const actor = requireActor(app);
      const src = await loadSource(app, kind, param(request, 'id'));
      if (!(await can(app.env.DB, actor, src.manage, src.resource))) throw forbidden();
      const userId = userIdParam(request);
      const member = await findMember(app.env.DB, src.sourceType, src.sourceId, userId, 'any');
      if (!member) throw notFound('Member');
      const p = await readParams(request);
      const level = readAccessLevel(p);
      const expiresAt = p.expires_at === undefined ? member.expiresAt : (optionalDate(p, 'expires_at') ?? null);
      await checkLevelCeiling(app, src, level, member.accessLevel);
      // The change and its event in one transaction; a group's last Owner is never demoted.
      const change = updateMemberStatement(app.env.DB, { sourceType: src.sourceType, sourceId: src.sourceId, userId, accessLevel: level, expiresAt }, src.sourceType === 'Namespace');
      const event = await recordAuditEventIfChanged(app.env, app.ctx, {
        eventType: 'member_updated',
        author: authorOf(actor.user),
        entity: src.entity,
        target: { id: userId, type: 'User', details: member.username },
        ipAddress: clientIp(request),
        details: {
          change: 'access_level',
          from: ACCESS_LEVEL_NAMES[member.accessLevel],
          to: ACCESS_LEVEL_NAMES[level],
          expiry_from: member.expiresAt,
          expiry_to: expiresAt,
          member_id: userId,
        },
      }, change);
      const updated = await findMember(app.env.DB, src.sourceType, src.sourceId, userId, 'any');
      if (!updated) throw notFound('Member'); // removed meanwhile
      if (!event) throw forbidden('A group must keep at least one Owner');
      return json(memberJson(updated, publicOrigin(request, app.env)));
    });

    /** `DELETE /:kind/:id/members/:user_id`: 204. */
    router.delete(`/${kind}/:id/members/:user_id`, async (request, app) => {
      const actor = requireActor(app);
      const src = await loadSource(app, kind, param(request, 'id'));
      if (!(await can(app.env.DB, actor, src.manage, src.resource))) throw forbidden();
      const userId = userIdParam(request);
      const member = await findMember(app.env.DB, src.sourceType, src.sourceId, userId, 'any');
      if (!member) throw notFound('Member');
      await checkLevelCeiling(app, src, member.accessLevel);
      // The removal and its event in one transaction; a group's last Owner is never removed.
      const change = deleteMemberStatement(app.env.DB, { sourceType: src.sourceType, sourceId: src.sourceId, userId }, src.sourceType === 'Namespace');
      const event = await recordAuditEventIfChanged(app.env, app.ctx, {
        eventType: 'member_destroyed',
        author: authorOf(actor.user),
        entity: src.entity,
        target: { id: userId, type: 'User', details: member.username },
        ipAddress: clientIp(request),
        details: { remove: 'user_access', member_id: userId, custom_message: `Removed ${member.username}` },
      }, change);
      if (!event) {
        if (!(await findMember(app.env.DB, src.sourceType, src.sourceId, userId, 'any'))) throw notFound('Member'); // removed meanwhile
        throw forbidden('A group must keep at least one Owner');
      }
      return new Response(null, { status: 204 });
    });
  }
}
