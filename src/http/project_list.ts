/**
 * `GET /projects`: every project the caller can read (public ones for anyone, internal ones too
 * when signed in, private ones through memberships; all for administrators), newest first, paged
 * as GitLab does. The landing page lists them.
 */
import { listReadableProjects } from '../db/projects';
import { publicOrigin } from '../web/origin';
import { projectJson } from '../web/serializers';
import { listingAccess } from './access';
import type { ApiRouter } from './context';
import { pagedJson, readPage } from './pagination';

export function registerProjectListRoutes(router: ApiRouter): void {
  router.get('/projects', async (request, app) => {
    const url = new URL(request.url);
    const page = readPage(url);
    const { total, items } = await listReadableProjects(app.env.DB, await listingAccess(app, 'read_instance'), page.limit, page.offset);
    const origin = publicOrigin(request, app.env);
    return pagedJson(url, page, total, items.map((p) => projectJson(p, origin)));
  });
}
