/**
 * Every change and its audit event commit together (issue 14): for each writer, the event's
 * insert is made to fail (a temporary trigger on audit_events that RAISEs for that one event,
 * matched by its target so no other test's writes are touched), and then no row of the change
 * may exist, the API answering a 5xx in its surface's error shape. Afterwards the same change
 * succeeds, and its one event describes it exactly as before (ids included).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { ADMIN, addMember, api, createGroup, createProject, createUser, gql, unique } from '../support/api';
import { receiverOrigin } from '../support/receiver';
import { allowAllEvents, allowEvent, refuseEvent } from '../support/refuse_event';
import { runAuditLogJobs } from '../../src/audit/log_jobs';
import { collectScheduledEvidence } from '../../src/releases/evidence';

afterEach(allowAllEvents);

async function count(sql: string, ...binds: unknown[]): Promise<number> {
  const row = await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${sql}`).bind(...binds).first<{ n: number }>();
  return row!.n;
}

/** The one event of this type about this target. */
async function eventFor(eventType: string, target: string) {
  const rows = await env.DB.prepare('SELECT * FROM audit_events WHERE event_type = ?1 AND target_details = ?2').bind(eventType, target).all<any>();
  expect(rows.results).toHaveLength(1);
  return { ...rows.results[0], details: JSON.parse(rows.results[0].details) };
}

const REST_500 = { message: '500 Internal Server Error' };

describe('a change without its audit event is not written', () => {
  it('POST /users: no user, no namespace', async () => {
    const username = unique('tx');
    const body = { username, name: username, email: `${username}@example.com`, password: 'secret-password' };
    const refusal = await refuseEvent('user_created', username);
    const r = await api('POST', '/api/v4/users', { token: ADMIN, body });
    expect(r.status).toBe(500);
    expect(r.body).toEqual(REST_500);
    expect(await count('users WHERE username = ?1', username)).toBe(0);
    expect(await count('namespaces WHERE full_path = ?1', username)).toBe(0);

    await allowEvent(refusal);
    const ok = await api('POST', '/api/v4/users', { token: ADMIN, body });
    expect(ok.status).toBe(201);
    const e = await eventFor('user_created', username);
    expect(e).toMatchObject({ author_id: 1, entity_type: 'Gitlab::Audit::InstanceScope', entity_id: 1, target_id: ok.body.id, target_type: 'User' });
    expect(e.details).toEqual({
      author_name: 'Administrator',
      author_class: 'User',
      target_id: ok.body.id,
      target_type: 'User',
      target_details: username,
      custom_message: `User ${username} created`,
      ip_address: null,
      entity_path: 'gitlab_instance',
    });
    expect(Object.keys(e.details)).toEqual(['author_name', 'author_class', 'target_id', 'target_type', 'target_details', 'custom_message', 'ip_address', 'entity_path']);
  });

  it('POST /users/:id/personal_access_tokens: no token', async () => {
    const user = await createUser();
    const name = unique('pat');
    const refusal = await refuseEvent('personal_access_token_created', name);
    const r = await api('POST', `/api/v4/users/${user.id}/personal_access_tokens`, { token: ADMIN, body: { name, scopes: ['api'] } });
    expect(r.status).toBe(500);
    expect(r.body).toEqual(REST_500);
    expect(await count('personal_access_tokens WHERE name = ?1', name)).toBe(0);

    await allowEvent(refusal);
    const ok = await api('POST', `/api/v4/users/${user.id}/personal_access_tokens`, { token: ADMIN, body: { name, scopes: ['api'] } });
    expect(ok.status).toBe(201);
    const e = await eventFor('personal_access_token_created', name);
    expect(e).toMatchObject({ entity_type: 'User', entity_id: user.id, entity_path: user.username, target_id: ok.body.id, target_type: 'PersonalAccessToken' });
    expect(e.details.target_id).toBe(ok.body.id);
    expect(e.details.custom_message).toBe(`Created personal access token with id ${ok.body.id}`);
  });

  it('POST /groups: no group, no Owner membership (top-level and subgroup)', async () => {
    const parent = await createGroup();
    for (const parentId of [undefined, parent.id]) {
      const path = unique('txg');
      const fullPath = parentId ? `${parent.full_path}/${path}` : path;
      const refusal = await refuseEvent('group_created', fullPath);
      const body = { name: path, path, ...(parentId ? { parent_id: parentId } : {}) };
      const r = await api('POST', '/api/v4/groups', { token: ADMIN, body });
      expect(r.status).toBe(500);
      expect(r.body).toEqual(REST_500);
      expect(await count('namespaces WHERE full_path = ?1', fullPath)).toBe(0);
      expect(await count(`members WHERE source_type = 'Namespace' AND source_id NOT IN (SELECT id FROM namespaces)`)).toBe(0);

      await allowEvent(refusal);
      const ok = await api('POST', '/api/v4/groups', { token: ADMIN, body });
      expect(ok.status).toBe(201);
      const e = await eventFor('group_created', fullPath);
      const root = parentId ? parent.id : ok.body.id;
      const scope = parentId ? `${parent.id}/${ok.body.id}/` : `${ok.body.id}/`;
      expect(e).toMatchObject({ entity_type: 'Group', entity_id: ok.body.id, entity_path: fullPath, target_id: ok.body.id, root_namespace_id: root, scope_path: scope, project_id: null });
      expect(e.details).toMatchObject({ target_id: ok.body.id, add: 'group', custom_message: `Added group ${fullPath}` });
    }
  });

  it('POST /projects: no project', async () => {
    const group = await createGroup();
    const path = unique('txp');
    const fullPath = `${group.full_path}/${path}`;
    const refusal = await refuseEvent('project_created', fullPath);
    const body = { name: path, path, namespace_id: group.id };
    const r = await api('POST', '/api/v4/projects', { token: ADMIN, body });
    expect(r.status).toBe(500);
    expect(r.body).toEqual(REST_500);
    expect(await count('projects WHERE full_path = ?1', fullPath)).toBe(0);

    await allowEvent(refusal);
    const ok = await api('POST', '/api/v4/projects', { token: ADMIN, body });
    expect(ok.status).toBe(201);
    const e = await eventFor('project_created', fullPath);
    expect(e).toMatchObject({
      entity_type: 'Project',
      entity_id: ok.body.id,
      entity_path: fullPath,
      target_id: ok.body.id,
      root_namespace_id: group.id,
      scope_path: `${group.id}/p${ok.body.id}/`,
      project_id: ok.body.id,
    });
    expect(e.details).toMatchObject({ target_id: ok.body.id, add: 'project', custom_message: `Added project ${fullPath}` });
  });

  const CREATE_GROUP_DEST = `mutation($i: ExternalAuditEventDestinationCreateInput!) {
    externalAuditEventDestinationCreate(input: $i) { errors externalAuditEventDestination { id name } } }`;
  const CREATE_INSTANCE_DEST = `mutation($i: InstanceExternalAuditEventDestinationCreateInput!) {
    instanceExternalAuditEventDestinationCreate(input: $i) { errors instanceExternalAuditEventDestination { id name } } }`;

  for (const scope of ['group', 'instance'] as const) {
    it(`GraphQL ${scope} destination create: no destination`, async () => {
      const group = scope === 'group' ? await createGroup() : null;
      const name = unique('txd');
      const url = `${receiverOrigin()}/tx/${name}`;
      const eventType = scope === 'group' ? 'create_event_streaming_destination' : 'create_instance_event_streaming_destination';
      const [query, field] = scope === 'group' ? [CREATE_GROUP_DEST, 'externalAuditEventDestinationCreate'] : [CREATE_INSTANCE_DEST, 'instanceExternalAuditEventDestinationCreate'];
      const input = { destinationUrl: url, name, ...(group ? { groupPath: group.full_path } : {}) };
      const refusal = await refuseEvent(eventType, name);
      const r = await gql(query, { i: input });
      expect(r.status).toBe(500);
      expect(r.body).toEqual({ errors: [{ message: 'Internal server error' }] });
      expect(await count('streaming_destinations WHERE name = ?1', name)).toBe(0);

      await allowEvent(refusal);
      const ok = await gql(query, { i: input });
      expect(ok.status).toBe(200);
      expect(ok.body.data[field].errors).toEqual([]);
      const id = Number(String(ok.body.data[field][scope === 'group' ? 'externalAuditEventDestination' : 'instanceExternalAuditEventDestination'].id).split('/').pop());
      const e = await eventFor(eventType, name);
      expect(e).toMatchObject({ target_id: id, entity_type: scope === 'group' ? 'Group' : 'Gitlab::Audit::InstanceScope', entity_id: group?.id ?? 1 });
      expect(e.details).toMatchObject({ target_id: id, custom_message: `Create event streaming destination ${url}` });
      if (scope === 'instance') {
        await gql(`mutation($i: InstanceExternalAuditEventDestinationDestroyInput!) { instanceExternalAuditEventDestinationDestroy(input: $i) { errors } }`, {
          i: { id: ok.body.data[field].instanceExternalAuditEventDestination.id },
        });
      }
    });
  }

  /**
   * A REST writer whose event `eventType` about `target` is refused: it answers 500 in REST's
   * shape and `unchanged` finds nothing changed; once allowed, it answers `okStatus` and records
   * exactly one such event.
   */
  async function refusedThenWritten(
    eventType: string,
    target: string,
    write: () => Promise<{ status: number; body: any }>,
    okStatus: number,
    unchanged: () => Promise<void>,
  ) {
    const refusal = await refuseEvent(eventType, target);
    const r = await write();
    expect(r.status).toBe(500);
    expect(r.body).toEqual(REST_500);
    await unchanged();
    await allowEvent(refusal);
    const ok = await write();
    expect(ok.status).toBe(okStatus);
    return { ok, event: await eventFor(eventType, target) };
  }

  /** A private project (as root) with a release named `name` that has one link `linkName`. */
  async function projectWithRelease(name: string, linkName = unique('lk')) {
    const group = await createGroup();
    const project = await createProject(group.id);
    const tag = unique('v');
    const rel = await api('POST', `/api/v4/projects/${project.id}/releases`, {
      token: ADMIN,
      body: { tag_name: tag, name, assets: { links: [{ name: linkName, url: `https://example.com/${linkName}` }] } },
    });
    expect(rel.status).toBe(201);
    const base = `/api/v4/projects/${project.id}/releases/${tag}`;
    return { project, tag, base, link: rel.body.assets.links[0] as { id: number; name: string } };
  }

  const releaseRow = (projectId: number, tag: string) =>
    env.DB.prepare('SELECT * FROM releases WHERE project_id = ?1 AND tag_name = ?2').bind(projectId, tag).first<any>();
  const linkRow = (id: number) => env.DB.prepare('SELECT * FROM release_links WHERE id = ?1').bind(id).first<any>();

  it('POST /projects/:id/releases: no release, no links', async () => {
    const project = await createProject((await createGroup()).id);
    const tag = unique('v');
    const name = unique('rel');
    const body = { tag_name: tag, name, assets: { links: [{ name: 'bin', url: `https://example.com/${tag}` }] } };
    const { ok, event } = await refusedThenWritten('release_created', name, () => api('POST', `/api/v4/projects/${project.id}/releases`, { token: ADMIN, body }), 201, async () => {
      expect(await releaseRow(project.id, tag)).toBeNull();
      expect(await count('release_links WHERE url = ?1', `https://example.com/${tag}`)).toBe(0);
    });
    expect(ok.body.assets.links).toHaveLength(1);
    expect(event).toMatchObject({ entity_type: 'Project', entity_id: project.id, target_type: 'Release' });
  });

  it('PUT /projects/:id/releases/:tag: the release keeps its name', async () => {
    const before = unique('rel');
    const after = unique('rel');
    const { project, tag, base } = await projectWithRelease(before);
    const { ok } = await refusedThenWritten('release_updated', after, () => api('PUT', base, { token: ADMIN, body: { name: after } }), 200, async () => {
      expect((await releaseRow(project.id, tag)).name).toBe(before);
    });
    expect(ok.body.name).toBe(after);
  });

  it('DELETE /projects/:id/releases/:tag: the release and its link stay', async () => {
    const name = unique('rel');
    const { project, tag, base, link } = await projectWithRelease(name);
    await refusedThenWritten('release_deleted_audit_event', name, () => api('DELETE', base, { token: ADMIN }), 200, async () => {
      expect(await releaseRow(project.id, tag)).not.toBeNull();
      expect(await linkRow(link.id)).not.toBeNull();
    });
    expect(await releaseRow(project.id, tag)).toBeNull();
  });

  it('POST release link: no link', async () => {
    const { base } = await projectWithRelease(unique('rel'));
    const name = unique('lk');
    const url = `https://example.com/${name}`;
    const { ok } = await refusedThenWritten('release_asset_link_created', name, () => api('POST', `${base}/assets/links`, { token: ADMIN, body: { name, url } }), 201, async () => {
      expect(await count('release_links WHERE url = ?1', url)).toBe(0);
    });
    expect(await linkRow(ok.body.id)).toMatchObject({ name, url });
  });

  it('PUT release link: the link keeps its name', async () => {
    const { base, link } = await projectWithRelease(unique('rel'));
    const after = unique('lk');
    await refusedThenWritten('release_asset_link_updated', after, () => api('PUT', `${base}/assets/links/${link.id}`, { token: ADMIN, body: { name: after } }), 200, async () => {
      expect((await linkRow(link.id)).name).toBe(link.name);
    });
    expect((await linkRow(link.id)).name).toBe(after);
  });

  it('DELETE release link: the link stays', async () => {
    const { base, link } = await projectWithRelease(unique('rel'));
    await refusedThenWritten('release_asset_link_deleted', link.name, () => api('DELETE', `${base}/assets/links/${link.id}`, { token: ADMIN }), 200, async () => {
      expect(await linkRow(link.id)).not.toBeNull();
    });
    expect(await linkRow(link.id)).toBeNull();
  });

  const evidenceCount = (releaseId: number) => count('release_evidences WHERE release_id = ?1', releaseId);

  it('release evidence, by the cron and by POST .../evidence: no evidence row', async () => {
    const name = unique('rel');
    const { project, tag, base } = await projectWithRelease(name);
    const releaseId = (await releaseRow(project.id, tag)).id;
    // The cron's evidence: refused, the run fails and stores nothing; allowed, it is written.
    const refusal = await refuseEvent('release_evidence_collected', name);
    await runAuditLogJobs(env, null);
    await expect(collectScheduledEvidence(env, null)).rejects.toThrow(/release evidence failed/);
    expect(await evidenceCount(releaseId)).toBe(0);
    await allowEvent(refusal);
    await collectScheduledEvidence(env, null);
    expect(await evidenceCount(releaseId)).toBe(1);
    const scheduled = await eventFor('release_evidence_collected', name);
    expect(scheduled).toMatchObject({ entity_type: 'Project', entity_id: project.id, target_type: 'Release', target_id: releaseId });
    // On request, at the latest checkpoint.
    const again = await refuseEvent('release_evidence_collected', name);
    const r = await api('POST', `${base}/evidence`, { token: ADMIN });
    expect(r.status).toBe(500);
    expect(r.body).toEqual(REST_500);
    expect(await evidenceCount(releaseId)).toBe(1);
    await allowEvent(again);
    const ok = await api('POST', `${base}/evidence`, { token: ADMIN });
    expect(ok.status).toBe(201);
    expect(await evidenceCount(releaseId)).toBe(2);
    const events = await env.DB.prepare("SELECT details FROM audit_events WHERE event_type = 'release_evidence_collected' AND target_id = ?1 ORDER BY id").bind(releaseId).all<{ details: string }>();
    expect(events.results.map((e) => JSON.parse(e.details).sha)).toEqual([scheduled.details.sha, ok.body.sha]);
  });

  const memberRow = (groupId: number, userId: number) =>
    env.DB.prepare(`SELECT * FROM members WHERE source_type = 'Namespace' AND source_id = ?1 AND user_id = ?2`).bind(groupId, userId).first<any>();

  it('POST /groups/:id/members: no membership', async () => {
    const group = await createGroup();
    const user = await createUser();
    const { event } = await refusedThenWritten(
      'member_created',
      user.username,
      () => api('POST', `/api/v4/groups/${group.id}/members`, { token: ADMIN, body: { user_id: user.id, access_level: 30 } }),
      201,
      async () => expect(await memberRow(group.id, user.id)).toBeNull(),
    );
    expect(event).toMatchObject({ entity_type: 'Group', entity_id: group.id, target_id: user.id, target_type: 'User' });
  });

  it('PUT /groups/:id/members/:user_id: the level stays', async () => {
    const group = await createGroup();
    const user = await createUser();
    await addMember('groups', group.id, user.id, 10);
    const put = () => api('PUT', `/api/v4/groups/${group.id}/members/${user.id}`, { token: ADMIN, body: { access_level: 20 } });
    await refusedThenWritten('member_updated', user.username, put, 200, async () => expect((await memberRow(group.id, user.id)).access_level).toBe(10));
    expect((await memberRow(group.id, user.id)).access_level).toBe(20);
  });

  it('DELETE /groups/:id/members/:user_id: the membership stays', async () => {
    const group = await createGroup();
    const user = await createUser();
    await addMember('groups', group.id, user.id, 10);
    const del = () => api('DELETE', `/api/v4/groups/${group.id}/members/${user.id}`, { token: ADMIN });
    await refusedThenWritten('member_destroyed', user.username, del, 204, async () => expect(await memberRow(group.id, user.id)).not.toBeNull());
    expect(await memberRow(group.id, user.id)).toBeNull();
  });

  it('DELETE /personal_access_tokens/:id: the token stays usable', async () => {
    const user = await createUser();
    const name = unique('pat');
    const t = await api('POST', `/api/v4/users/${user.id}/personal_access_tokens`, { token: ADMIN, body: { name, scopes: ['api'] } });
    expect(t.status).toBe(201);
    const revoked = async () => (await env.DB.prepare('SELECT revoked FROM personal_access_tokens WHERE id = ?1').bind(t.body.id).first<{ revoked: number }>())!.revoked;
    await refusedThenWritten('personal_access_token_revoked', name, () => api('DELETE', `/api/v4/personal_access_tokens/${t.body.id}`, { token: ADMIN }), 204, async () => {
      expect(await revoked()).toBe(0);
      expect((await api('GET', '/api/v4/user', { token: t.body.token })).status).toBe(200);
    });
    expect(await revoked()).toBe(1);
  });
});
