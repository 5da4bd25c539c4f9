import type { IRequest, RouterType } from 'itty-router';
import type { Env } from '../env';
import type { Actor } from '../auth/authenticate';

/** What every REST handler receives besides the request. */
export interface App {
  env: Env;
  ctx: ExecutionContext;
  /** The authenticated caller, or null when anonymous (set by the router before handlers run). */
  actor: Actor | null;
}

/** The REST router: every resource file registers its routes on it (see router.ts). */
export type ApiRouter = RouterType<IRequest, [App]>;

/** A REST route handler. */
export type Handler = (request: IRequest, app: App) => Promise<Response> | Response;

/** The decoded value of a path parameter (`my-group%2Fsub` becomes `my-group/sub`). */
export function param(request: IRequest, name: string): string {
  const raw = request.params[name] ?? '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
