/**
 * The REST v4 API: one router, authentication and the token-scope check done once here,
 * one file per resource. Unknown routes answer GitLab's 404; unexpected errors are masked.
 */
import { Router, type IRequest } from 'itty-router';
import { authenticate } from '../auth/authenticate';
import { can } from '../auth/policy';
import type { ApiRouter, App } from './context';
import { ApiError, errorResponse, insufficientScope, json, unauthorized } from '../web/errors';
import { registerVersionRoutes } from './version';
import { registerUserRoutes } from './users';
import { registerTokenRoutes } from './tokens';
import { registerGroupRoutes } from './groups';
import { registerProjectRoutes } from './projects';
import { registerMemberRoutes } from './members';
import { registerAllMemberRoutes } from './members_all';
import { registerProjectListRoutes } from './project_list';
import { registerAuditIngestRoutes } from './audit_ingest';
import { registerAuditLogRoutes } from './audit_log';
import { registerAuditLogProofRoutes } from './audit_log_proofs';
import { registerReleaseRoutes } from './releases';
import { registerReleaseEvidenceRoutes } from './release_evidence';
import { registerAdminStatsRoutes } from './admin_stats';

/** Routes that answer without authentication even when no token is sent. */
const PUBLIC_ROUTES = new Set(['/api/v4/version']);

function buildRouter(): ApiRouter {
  const router: ApiRouter = Router<IRequest, [App]>({
    base: '/api/v4',
    before: [
      async (request: IRequest, app: App) => {
        const path = new URL(request.url).pathname;
        if (PUBLIC_ROUTES.has(path)) return;
        app.actor = await authenticate(request, app.env, { queryParam: true });
        const writes = !['GET', 'HEAD', 'OPTIONS'].includes(request.method);
        if (writes && !(await can(app.env.DB, app.actor, 'write_api'))) throw app.actor === null ? unauthorized() : insufficientScope('api');
      },
    ],
    catch: (err: unknown) => errorResponse(err),
  });
  registerVersionRoutes(router);
  registerUserRoutes(router);
  registerTokenRoutes(router);
  registerGroupRoutes(router);
  registerProjectRoutes(router);
  registerProjectListRoutes(router);
  // Before the direct members' routes: `members/all/:user_id` is not `members/:user_id`.
  registerAllMemberRoutes(router);
  registerMemberRoutes(router);
  registerAuditIngestRoutes(router);
  // Before the audit log's routes: `audit_events/checkpoint` is not `audit_events/:id`.
  registerAuditLogProofRoutes(router);
  registerAuditLogRoutes(router);
  registerReleaseRoutes(router);
  registerReleaseEvidenceRoutes(router);
  registerAdminStatsRoutes(router);
  // Unknown routes answer like every other 404 here (GitLab's Grape says {"error": ...}).
  router.all('*', () => {
    throw new ApiError(404, { message: '404 Not Found' });
  });
  return router;
}

const router = buildRouter();

/** Answer a request under /api/v4. */
export async function handleRest(request: Request, env: App['env'], ctx: ExecutionContext): Promise<Response> {
  const app: App = { env, ctx, actor: null };
  const response = (await router.fetch(request as IRequest, app)) as Response | undefined;
  if (!response) return json({ message: '404 Not Found' }, 404);
  if (request.method === 'HEAD') return new Response(null, { status: response.status, headers: response.headers });
  return response;
}
