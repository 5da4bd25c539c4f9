import type { Env } from '../env';

/** The origin used in absolute URLs: EXTERNAL_URL when set, else the request's. */
export function publicOrigin(request: Request, env: Env): string {
  if (env.EXTERNAL_URL) return env.EXTERNAL_URL.replace(/\/+$/, '');
  return new URL(request.url).origin;
}
