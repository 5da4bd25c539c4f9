import { sqlValue, type SqlValue } from './sql';
import { pagedSelect, type PageOf } from './paging';
import { toUser, userOfTokenDigestStatement, type User, type UserRow } from './users';

/** A personal access token (never holds the token itself, only what is stored about it). */
export interface PersonalAccessToken {
  id: number;
  userId: number;
  name: string;
  scopes: string[];
  expiresAt: string | null;
  revoked: boolean;
  createdAt: string;
  lastUsedAt: string | null;
}

/** A row of personal_access_tokens, as D1 returns it. */
interface PersonalAccessTokenRow {
  id: number;
  user_id: number;
  name: string;
  scopes: string;
  expires_at: string | null;
  revoked: number;
  created_at: string;
  last_used_at: string | null;
}

const COLUMNS = 'id, user_id, name, scopes, expires_at, revoked, created_at, last_used_at';

/** Row to domain object. */
export function toPersonalAccessToken(r: PersonalAccessTokenRow): PersonalAccessToken {
  return {
    id: r.id,
    userId: r.user_id,
    name: r.name,
    scopes: JSON.parse(r.scopes) as string[],
    expiresAt: r.expires_at,
    revoked: r.revoked === 1,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
  };
}

/** The token with this digest and the user it belongs to (null when unknown): ONE D1 round trip. */
export async function findTokenAndUserByDigest(db: D1Database, digest: string): Promise<{ token: PersonalAccessToken; user: User | null } | null> {
  const [t, u] = await db.batch([
    db.prepare(`SELECT ${COLUMNS} FROM personal_access_tokens WHERE token_digest = ?1`).bind(digest),
    userOfTokenDigestStatement(db, digest),
  ]);
  const row = (t.results as PersonalAccessTokenRow[])[0];
  if (!row) return null;
  const userRow = (u.results as UserRow[])[0];
  return { token: toPersonalAccessToken(row), user: userRow ? toUser(userRow) : null };
}

/** The token with this id, or null. */
export async function findTokenById(db: D1Database, id: number): Promise<PersonalAccessToken | null> {
  const row = await db.prepare(`SELECT ${COLUMNS} FROM personal_access_tokens WHERE id = ?1`).bind(id).first<PersonalAccessTokenRow>();
  return row ? toPersonalAccessToken(row) : null;
}

/** The statement that stores a new token by its digest (see insertedToken). */
export function insertTokenStatement(
  db: D1Database,
  t: { userId: number; name: string; digest: string; scopes: string[]; expiresAt: string | null; createdAt: string },
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO personal_access_tokens (user_id, name, token_digest, scopes, expires_at, created_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING ${COLUMNS}`,
    )
    .bind(t.userId, t.name, t.digest, JSON.stringify(t.scopes), t.expiresAt, t.createdAt);
}

/** The token insertTokenStatement stored, from its result. */
export function insertedToken(result: D1Result): PersonalAccessToken {
  return toPersonalAccessToken((result.results as PersonalAccessTokenRow[])[0]);
}

/** The id of the token with this digest, as the database gives it (e.g. for an audit event written with the insert). */
export function tokenIdOf(digest: string): SqlValue {
  return sqlValue('SELECT id FROM personal_access_tokens WHERE token_digest = ?', digest);
}

/** Tokens, optionally of one user, newest last, paged. */
export function listTokens(
  db: D1Database,
  userId: number | null,
  limit: number,
  offset: number,
): Promise<PageOf<PersonalAccessToken>> {
  const where = userId === null ? { sql: '1', binds: [] } : { sql: 'user_id = ?', binds: [userId] };
  return pagedSelect(db, { select: `SELECT ${COLUMNS} FROM personal_access_tokens`, from: 'personal_access_tokens', where, orderBy: 'id' }, limit, offset, toPersonalAccessToken);
}

/** The statement that marks a token revoked (batched with its audit event). */
export function revokeTokenStatement(db: D1Database, id: number): D1PreparedStatement {
  return db.prepare(`UPDATE personal_access_tokens SET revoked = 1 WHERE id = ?1`).bind(id);
}
