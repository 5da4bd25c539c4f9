import type { Env } from '../env';

/**
 * The web pages (audit log, streams, releases, sign-in): answers the request when the path is
 * a page or one of its assets, otherwise null. (Filled in by the web pages capability.)
 */
export async function handlePage(_request: Request, _env: Env, _ctx: ExecutionContext): Promise<Response | null> {
  return null;
}
