/**
 * `GET /groups/:id/members/all/:user_id` and `GET /projects/:id/members/all/:user_id`: a user's
 * effective membership, inherited ones included (GitLab's "all members" reads). The web pages
 * read it for the signed-in user to show which buttons their role allows.
 */
import { membershipLevel } from '../auth/policy';
import { findUserById } from '../db/users';
import { notFound, json } from '../web/errors';
import { publicOrigin } from '../web/origin';
import { userBasicJson } from '../web/serializers';
import { loadReadableGroup, loadReadableProject } from './access';
import { param, type ApiRouter } from './context';

export function registerAllMemberRoutes(router: ApiRouter): void {
  for (const kind of ['groups', 'projects'] as const) {
    router.get(`/${kind}/:id/members/all/:user_id`, async (request, app) => {
      const resource =
        kind === 'groups'
          ? ({ kind: 'group', group: await loadReadableGroup(app, param(request, 'id')) } as const)
          : ({ kind: 'project', project: await loadReadableProject(app, param(request, 'id')) } as const);
      const raw = param(request, 'user_id');
      const user = /^\d{1,15}$/.test(raw) ? await findUserById(app.env.DB, Number(raw)) : null;
      const level = user ? await membershipLevel(app.env.DB, user.id, resource) : 0;
      if (!user || level === 0) throw notFound('Member');
      return json({ ...userBasicJson(user, publicOrigin(request, app.env)), access_level: level, membership_state: 'active' });
    });
  }
}
