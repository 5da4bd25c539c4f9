import { describe, expect, it } from 'vitest';
import { gql, createUser } from '../support/api';

describe('core queries', () => {
  it('finds users by GID and refuses malformed or wrong-type GIDs with GitLab\'s messages', async () => {
    const u = await createUser();
    const q = 'query($id: UserID) { user(id: $id) { id username } }';
    expect((await gql(q, { id: `gid://gitlab/User/${u.id}` })).body.data.user).toEqual({ id: `gid://gitlab/User/${u.id}`, username: u.username });
    expect((await gql(q, { id: 'x' })).body.errors[0].message).toBe('"x" is not a valid Global ID');
    expect((await gql(q, { id: ['a'] })).body.errors[0].message).toBe('["a"] is not a valid Global ID');
    expect((await gql(q, { id: 'gid://gitlab/Project/1' })).body.errors[0].message).toBe('"gid://gitlab/Project/1" does not represent an instance of User');
    expect((await gql(q, { id: 'gid://gitlab/User/99999999' })).body.data.user).toBeNull();
  });

  it('answers currentUser for the token and null anonymously', async () => {
    const u = await createUser();
    expect((await gql('{ currentUser { username } }', undefined, u.token)).body.data.currentUser).toEqual({ username: u.username });
    expect((await gql('{ currentUser { username } }', undefined, null)).body.data.currentUser).toBeNull();
  });
});
