import { sqlValue, type SqlValue } from './sql';
import { pagedSelect, type PageOf } from './paging';

/** A user. */
export interface User {
  id: number;
  username: string;
  name: string;
  email: string;
  state: 'active' | 'blocked';
  isAdmin: boolean;
  namespaceId: number | null;
  createdAt: string;
}

/** A row of users, as D1 returns it. */
export interface UserRow {
  id: number;
  username: string;
  name: string;
  email: string;
  state: 'active' | 'blocked';
  is_admin: number;
  namespace_id: number | null;
  created_at: string;
}

const COLUMNS = 'id, username, name, email, state, is_admin, namespace_id, created_at';

/** Row to domain object. */
export function toUser(r: UserRow): User {
  return {
    id: r.id,
    username: r.username,
    name: r.name,
    email: r.email,
    state: r.state,
    isAdmin: r.is_admin === 1,
    namespaceId: r.namespace_id,
    createdAt: r.created_at,
  };
}

/** The statement that reads the user a token digest belongs to (for a batch with the token's own lookup). */
export function userOfTokenDigestStatement(db: D1Database, digest: string): D1PreparedStatement {
  return db.prepare(`SELECT ${COLUMNS} FROM users WHERE id = (SELECT user_id FROM personal_access_tokens WHERE token_digest = ?1)`).bind(digest);
}

/** The user with this id, or null. */
export async function findUserById(db: D1Database, id: number): Promise<User | null> {
  const row = await db.prepare(`SELECT ${COLUMNS} FROM users WHERE id = ?1`).bind(id).first<UserRow>();
  return row ? toUser(row) : null;
}

/** The user with this username (case-insensitive), or null. */
export async function findUserByUsername(db: D1Database, username: string): Promise<User | null> {
  const row = await db.prepare(`SELECT ${COLUMNS} FROM users WHERE username = ?1`).bind(username).first<UserRow>();
  return row ? toUser(row) : null;
}

/** Users, newest first, paged: one round trip whatever the page size. */
export function listUsers(db: D1Database, limit: number, offset: number): Promise<PageOf<User>> {
  return pagedSelect(db, { select: `SELECT ${COLUMNS} FROM users`, from: 'users', where: { sql: '1', binds: [] }, orderBy: 'id DESC' }, limit, offset, toUser);
}

/** Whether a username or email is already taken (case-insensitive). */
export async function userConflicts(db: D1Database, username: string, email: string) {
  const row = await db
    .prepare(
      `SELECT
         EXISTS(SELECT 1 FROM users WHERE username = ?1) AS username_taken,
         EXISTS(SELECT 1 FROM namespaces WHERE full_path = ?1) AS path_taken,
         EXISTS(SELECT 1 FROM users WHERE email = ?2) AS email_taken`,
    )
    .bind(username, email)
    .first<{ username_taken: number; path_taken: number; email_taken: number }>();
  return { username: !!(row?.username_taken || row?.path_taken), email: !!row?.email_taken };
}

/** The id of the user with this username, as the database gives it (e.g. for an audit event written with the insert). */
export function userIdOf(username: string): SqlValue {
  return sqlValue('SELECT id FROM users WHERE username = ?', username);
}

/**
 * The statements that create a user and their personal namespace (path = username), for one
 * transaction (with the audit event); the last one reads the new user back (see insertedUser).
 * The namespace id is taken from the namespaces sequence; the user row points at it.
 */
export function insertUserStatements(
  db: D1Database,
  u: { username: string; name: string; email: string; isAdmin: boolean; createdAt: string },
): D1PreparedStatement[] {
  return [
    db
      .prepare(
        `INSERT INTO users (username, name, email, state, is_admin, created_at) VALUES (?1, ?2, ?3, 'active', ?4, ?5)`,
      )
      .bind(u.username, u.name, u.email, u.isAdmin ? 1 : 0, u.createdAt),
    db
      .prepare(
        `INSERT INTO namespaces (kind, name, path, full_path, parent_id, root_id, traversal_path, owner_id, visibility, created_at)
         VALUES ('user', ?2, ?1, ?1, NULL, 0, '', (SELECT id FROM users WHERE username = ?1), 'public', ?3)`,
      )
      .bind(u.username, u.name, u.createdAt),
    db
      .prepare(`UPDATE namespaces SET root_id = id, traversal_path = id || '/' WHERE id = last_insert_rowid()`),
    db
      .prepare(`UPDATE users SET namespace_id = (SELECT id FROM namespaces WHERE full_path = ?1 AND kind = 'user') WHERE username = ?1`)
      .bind(u.username),
    db.prepare(`SELECT ${COLUMNS} FROM users WHERE username = ?1`).bind(u.username),
  ];
}

/** The user that insertUserStatements created, from their results. */
export function insertedUser(results: D1Result[]): User {
  return toUser((results[results.length - 1].results as UserRow[])[0]);
}
