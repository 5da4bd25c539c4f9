import type { Env } from '../env';
import { findTokenAndUserByDigest } from '../db/tokens';
import { findUserById, type User } from '../db/users';
import { unauthorized } from '../web/errors';
import { sha256Hex, timingSafeEqualStrings } from './crypto';

export type Scope = 'api' | 'read_api';
export const SCOPES: readonly Scope[] = ['api', 'read_api'];

/** Who is calling: a user and the scopes of the token they presented. */
export interface Actor {
  user: User;
  scopes: readonly string[];
  /** The personal access token used, or null for ADMIN_TOKEN. */
  tokenId: number | null;
}

/** Where a token may come from on this request. */
export interface TokenSources {
  /** Accept `?private_token=` (the download route; GitLab accepts it on the API too). */
  queryParam?: boolean;
}

/** The token presented on a request: `PRIVATE-TOKEN`, `Authorization: Bearer`, or `?private_token=`. */
export function presentedToken(request: Request, sources: TokenSources = {}): string | null {
  const header = request.headers.get('PRIVATE-TOKEN');
  if (header !== null) return header.trim();
  const auth = request.headers.get('Authorization');
  if (auth !== null) {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    return m ? m[1].trim() : '';
  }
  if (sources.queryParam) {
    const q = new URL(request.url).searchParams.get('private_token');
    if (q !== null) return q.trim();
  }
  return null;
}

/** Today as YYYY-MM-DD (UTC): a token expiring on this day is already expired, as in GitLab. */
function today(): string {
  return new Date().toISOString().slice(0, 10);
}

/**
 * Authenticate a request. Returns null for an anonymous request (no token presented) and
 * throws 401 for a token that is unknown, revoked, expired, or whose user is blocked.
 */
export async function authenticate(request: Request, env: Env, sources: TokenSources = {}): Promise<Actor | null> {
  const token = presentedToken(request, sources);
  if (token === null) return null;
  return actorForToken(env, token);
}

/** The actor a token stands for; throws 401 when it stands for nobody. */
export async function actorForToken(env: Env, token: string): Promise<Actor> {
  const found = await lookupToken(env, token, env.DB);
  if (typeof found === 'string') throw unauthorized();
  return found;
}

/**
 * The actor a token stands for, read through `db` (a D1 session may read a replica): 'unknown'
 * when `db` knows no such token (a replica may not have it yet), 'refused' when it stands for
 * nobody (revoked, expired, blocked user, malformed).
 */
export async function lookupToken(env: Pick<Env, 'ADMIN_TOKEN'>, token: string, db: D1Database): Promise<Actor | 'unknown' | 'refused'> {
  if (token === '' || token.length > 1024) return 'refused';
  if (env.ADMIN_TOKEN && env.ADMIN_TOKEN.length > 0 && (await timingSafeEqualStrings(token, env.ADMIN_TOKEN))) {
    const root = await findUserById(db, 1);
    return root ? { user: root, scopes: ['api', 'read_api'], tokenId: null } : 'unknown';
  }
  const found = await findTokenAndUserByDigest(db, await sha256Hex(token));
  if (!found) return 'unknown';
  const { token: pat, user } = found;
  if (pat.revoked || (pat.expiresAt !== null && pat.expiresAt <= today())) return 'refused';
  if (!user || user.state !== 'active') return 'refused';
  return { user, scopes: pat.scopes, tokenId: pat.id };
}

/** Whether the actor's token allows writes (scope `api`). */
export function canWrite(actor: Actor | null): boolean {
  return actor !== null && actor.scopes.includes('api');
}
