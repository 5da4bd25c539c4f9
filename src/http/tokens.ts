import { findTokenById, listTokens, revokeTokenStatement, type PersonalAccessToken } from '../db/tokens';
import { findUserById } from '../db/users';
import { authorOf, clientIp, recordAuditEvent, userEntity } from '../audit/record';
import { param, type App, type ApiRouter } from './context';
import { badRequest, json, notFound } from '../web/errors';
import { pagedJson, readPage } from './pagination';
import { tokenJson } from '../web/serializers';
import { requireActor } from './access';
import { can } from '../auth/policy';

/** The token `:id` (or `self`) if the caller may do `action` to it (their own; any for an admin), else 404. */
async function loadToken(app: App, raw: string, action: 'read_user_tokens' | 'admin_user_tokens'): Promise<PersonalAccessToken> {
  const actor = requireActor(app);
  if (raw === 'self') {
    if (actor.tokenId === null) throw notFound();
    raw = String(actor.tokenId);
  }
  if (!/^\d{1,15}$/.test(raw)) throw notFound();
  const token = await findTokenById(app.env.DB, Number(raw));
  if (!token || !(await can(app.env.DB, actor, action, { kind: 'user', userId: token.userId }))) throw notFound();
  return token;
}

export function registerTokenRoutes(router: ApiRouter): void {
  /** `GET /personal_access_tokens`: the caller's tokens; an admin sees all, or one user's with `user_id`. */
  router.get('/personal_access_tokens', async (request, app) => {
    const actor = requireActor(app);
    const url = new URL(request.url);
    const page = readPage(url);
    let userId: number | null = actor.user.id;
    const filter = url.searchParams.get('user_id');
    if (await can(app.env.DB, actor, 'read_instance')) {
      if (filter === null) userId = null;
      else if (/^\d{1,15}$/.test(filter)) userId = Number(filter);
      else throw badRequest('user_id is invalid');
    }
    const { total, items } = await listTokens(app.env.DB, userId, page.limit, page.offset);
    return pagedJson(url, page, total, items.map((t) => tokenJson(t)));
  });

  /** `GET /personal_access_tokens/:id` (or `self`). */
  router.get('/personal_access_tokens/:id', async (request, app) => {
    return json(tokenJson(await loadToken(app, param(request, 'id'), 'read_user_tokens')));
  });

  /** `DELETE /personal_access_tokens/:id` (or `self`): revoke; 204. */
  router.delete('/personal_access_tokens/:id', async (request, app) => {
    const actor = requireActor(app);
    const token = await loadToken(app, param(request, 'id'), 'admin_user_tokens');
    if (token.revoked) throw badRequest('Token already revoked');
    const owner = await findUserById(app.env.DB, token.userId);
    // The revocation and its audit event commit together.
    await recordAuditEvent(app.env, app.ctx, {
      eventType: 'personal_access_token_revoked',
      author: authorOf(actor.user),
      entity: userEntity(owner ?? { id: token.userId, username: String(token.userId) }),
      target: { id: token.id, type: 'PersonalAccessToken', details: token.name },
      ipAddress: clientIp(request),
      details: { custom_message: `Revoked personal access token with id ${token.id}` },
    }, [revokeTokenStatement(app.env.DB, token.id)]);
    return new Response(null, { status: 204 });
  });
}
