import { describe, expect, it } from 'vitest';
import { api, ADMIN } from './support/api';

describe('smoke', () => {
  it('answers the readiness probe without authentication', async () => {
    const r = await api('GET', '/api/v4/version');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ version: expect.any(String), revision: expect.any(String) });
  });
  it('authenticates ADMIN_TOKEN as root', async () => {
    const r = await api('GET', '/api/v4/user', { token: ADMIN });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: 1, username: 'root', is_admin: true });
  });
});
