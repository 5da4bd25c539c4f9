import { can } from '../auth/policy';
import { newPersonalAccessToken, sha256Hex } from '../auth/crypto';
import { SCOPES } from '../auth/authenticate';
import { findUserById, findUserByUsername, insertedUser, insertUserStatements, listUsers, userConflicts, userIdOf, type User } from '../db/users';
import { insertedToken, insertTokenStatement, tokenIdOf } from '../db/tokens';
import { nowIso } from '../db/time';
import { sqlText } from '../db/sql';
import { authorOf, clientIp, instanceEntity, recordChange, userEntity } from '../audit/record';
import { param, type App, type ApiRouter } from './context';
import { publicOrigin } from '../web/origin';
import { badRequest, conflict, json, notFound, validationError } from '../web/errors';
import { optionalBoolean, optionalDate, readParams, requireString } from '../web/params';
import { emailValid, pathError } from './names';
import { tokenJson, userJson } from '../web/serializers';
import { pagedJson, readPage } from './pagination';
import { requireActor, requireAllowed } from './access';

/** A user by `:id` (numeric), or 404. */
async function loadUser(app: App, raw: string): Promise<User> {
  if (!/^\d{1,15}$/.test(raw)) throw notFound('User');
  const user = await findUserById(app.env.DB, Number(raw));
  if (!user) throw notFound('User');
  return user;
}

export function registerUserRoutes(router: ApiRouter): void {
  /** `GET /user`: the authenticated user. */
  router.get('/user', (request, app) => {
    const actor = requireActor(app);
    return json(userJson(actor.user, publicOrigin(request, app.env), true));
  });

  /** `GET /users`: users, optionally `?username=`. */
  router.get('/users', async (request, app) => {
    const url = new URL(request.url);
    const page = readPage(url);
    const username = url.searchParams.get('username');
    const origin = publicOrigin(request, app.env);
    const full = await can(app.env.DB, app.actor, 'read_instance');
    if (username !== null) {
      const u = await findUserByUsername(app.env.DB, username);
      const items = u ? [userJson(u, origin, full)] : [];
      return pagedJson(url, page, items.length, items);
    }
    const { total, items } = await listUsers(app.env.DB, page.limit, page.offset);
    return pagedJson(url, page, total, items.map((u) => userJson(u, origin, full)));
  });

  /** `POST /users` (admin): create a user and their personal namespace. */
  router.post('/users', async (request, app) => {
    const actor = await requireAllowed(app, 'admin_instance');
    const p = await readParams(request);
    const email = requireString(p, 'email', { max: 255 });
    const username = requireString(p, 'username', { max: 255 });
    const name = requireString(p, 'name', { max: 255 });
    const admin = optionalBoolean(p, 'admin') ?? false;
    if (p.password === undefined && p.reset_password === undefined && p.force_random_password === undefined) {
      throw badRequest('password, reset_password, force_random_password are missing, exactly one parameter must be provided');
    }
    if (!emailValid(email)) throw validationError('email', 'is invalid');
    const pathErr = pathError(username, true);
    if (pathErr) throw validationError('username', pathErr);
    const taken = await userConflicts(app.env.DB, username, email);
    if (taken.email) throw conflict('Email has already been taken');
    if (taken.username) throw conflict('Username has already been taken');
    // The user and their creation event commit together.
    let user: User;
    try {
      const { results } = await recordChange(app.env, app.ctx, insertUserStatements(app.env.DB, { username, name, email, isAdmin: admin, createdAt: nowIso() }), [
        {
          eventType: 'user_created',
          author: authorOf(actor.user),
          entity: instanceEntity(),
          target: { id: userIdOf(username), type: 'User', details: username },
          ipAddress: clientIp(request),
          details: { custom_message: `User ${username} created` },
        },
      ]);
      user = insertedUser(results);
    } catch (err) {
      if (String(err).includes('UNIQUE')) throw conflict('Username has already been taken');
      throw err;
    }
    return json(userJson(user, publicOrigin(request, app.env), true), 201);
  });

  /** `GET /users/:id`. */
  router.get('/users/:id', async (request, app) => {
    const user = await loadUser(app, param(request, 'id'));
    const full = await can(app.env.DB, app.actor, 'read_user_private', { kind: 'user', userId: user.id });
    return json(userJson(user, publicOrigin(request, app.env), full));
  });

  /** `POST /users/:id/personal_access_tokens` (admin): the token is returned once, stored hashed. */
  router.post('/users/:id/personal_access_tokens', async (request, app) => {
    const actor = await requireAllowed(app, 'admin_instance');
    const user = await loadUser(app, param(request, 'id'));
    const p = await readParams(request);
    const name = requireString(p, 'name', { max: 255 });
    if (p.scopes === undefined || p.scopes === null) throw badRequest('scopes is missing');
    const scopes = Array.isArray(p.scopes) ? p.scopes : typeof p.scopes === 'string' ? p.scopes.split(',') : null;
    if (!scopes || scopes.length === 0) throw badRequest('scopes is empty');
    if (!scopes.every((s) => typeof s === 'string' && (SCOPES as readonly string[]).includes(s))) {
      throw badRequest('scopes does not have a valid value');
    }
    const expiresAt = optionalDate(p, 'expires_at') ?? null;
    if (expiresAt !== null && expiresAt < new Date().toISOString().slice(0, 10)) {
      throw validationError('expires_at', 'must not be in the past');
    }
    const token = newPersonalAccessToken();
    const digest = await sha256Hex(token);
    const insert = insertTokenStatement(app.env.DB, { userId: user.id, name, digest, scopes: [...new Set(scopes as string[])], expiresAt, createdAt: nowIso() });
    // The token and its creation event commit together.
    const tokenId = tokenIdOf(digest);
    const { results } = await recordChange(app.env, app.ctx, [insert], [
      {
        eventType: 'personal_access_token_created',
        author: authorOf(actor.user),
        entity: userEntity(user),
        target: { id: tokenId, type: 'PersonalAccessToken', details: name },
        ipAddress: clientIp(request),
        details: { custom_message: sqlText`Created personal access token with id ${tokenId}` },
      },
    ]);
    return json(tokenJson(insertedToken(results[0]), token), 201);
  });
}
