import type { ApiRouter } from './context';
import { json } from '../web/errors';

/** The version this service reports (GitLab API compatible shape). */
export const VERSION = '17.5.0-audit-edge';
/** Short revision id of the release. */
export const REVISION = 'a1e2d3g4';

/** `GET /api/v4/version`: the readiness probe, no authentication. */
export function registerVersionRoutes(router: ApiRouter): void {
  router.get('/version', () => json({ version: VERSION, revision: REVISION }));
}
