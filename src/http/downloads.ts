import type { Env } from '../env';

/**
 * The edge download redirect (`/:namespace/:project/-/releases/:tag/downloads/*filepath` and
 * friends): answers the request when the path is one of its routes, otherwise null.
 * (Filled in by the releases capability.)
 */
export async function handleDownload(_request: Request, _env: Env, _ctx: ExecutionContext): Promise<Response | null> {
  return null;
}
