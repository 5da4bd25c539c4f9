import { describe, expect, it } from 'vitest';
import { BASE, createUser, gql } from '../support/api';
import { createRelease, projectEvents, releaseWorld } from './support';

const NOT_AVAILABLE = "The resource that you are attempting to access does not exist or you don't have permission to perform this action";

const CREATE = `mutation($input: ReleaseCreateInput!) {
  releaseCreate(input: $input) {
    errors
    release { id tagName name description releasedAt author { username }
      assets { count links { nodes { id name url directAssetUrl directAssetPath linkType } } } }
  }
}`;
const UPDATE = `mutation($input: ReleaseUpdateInput!) { releaseUpdate(input: $input) { errors release { name description } } }`;
const DELETE = `mutation($input: ReleaseDeleteInput!) { releaseDelete(input: $input) { errors release { tagName } } }`;
const LINK_CREATE = `mutation($input: ReleaseAssetLinkCreateInput!) { releaseAssetLinkCreate(input: $input) { errors link { id name url linkType directAssetUrl } } }`;
const LINK_UPDATE = `mutation($input: ReleaseAssetLinkUpdateInput!) { releaseAssetLinkUpdate(input: $input) { errors link { id name url linkType directAssetUrl } } }`;
const LINK_DELETE = `mutation($input: ReleaseAssetLinkDeleteInput!) { releaseAssetLinkDelete(input: $input) { errors link { id name } } }`;
const READ = `query($fullPath: ID!, $tag: String!) {
  project(fullPath: $fullPath) {
    releases { count nodes { tagName name description releasedAt createdAt author { username }
      assets { count links { nodes { id name url directAssetUrl linkType } } } } }
    release(tagName: $tag) { tagName upcomingRelease }
  }
}`;

describe('releases GraphQL API', () => {
  it('creates, reads, updates and deletes a release with GitLab names, payloads and audit events', async () => {
    const w = await releaseWorld('private');
    const fullPath = w.project.path_with_namespace;
    const created = await gql(
      CREATE,
      {
        input: {
          projectPath: fullPath,
          tagName: 'v0.3',
          name: 'New Release',
          description: 'notes',
          ref: 'main',
          releasedAt: '2019-10-16T16:26:50Z',
          assets: { links: [{ name: 'an external file', url: 'https://example.com/f.zip', directAssetPath: '/bin/f.zip', linkType: 'PACKAGE' }] },
        },
      },
      w.developer.token,
    );
    expect(created.status).toBe(200);
    const payload = created.body.data.releaseCreate;
    expect(payload.errors).toEqual([]);
    expect(payload.release).toMatchObject({
      tagName: 'v0.3',
      name: 'New Release',
      releasedAt: '2019-10-16T16:26:50.000Z',
      author: { username: w.developer.username },
      assets: { count: 1 },
    });
    expect(payload.release.id).toMatch(/^gid:\/\/gitlab\/Release\/\d+$/);
    const link = payload.release.assets.links.nodes[0];
    expect(link).toMatchObject({ name: 'an external file', linkType: 'PACKAGE', directAssetPath: '/bin/f.zip' });
    expect(link.id).toMatch(/^gid:\/\/gitlab\/Releases::Link\/\d+$/);
    expect(link.directAssetUrl).toBe(`${BASE}/${fullPath}/-/releases/v0.3/downloads/bin/f.zip`);
    expect((await projectEvents(w.project.id, 'release_created'))[0].details.custom_message).toBe('Created release v0.3');

    const dup = await gql(CREATE, { input: { projectPath: fullPath, tagName: 'v0.3' } }, w.developer.token);
    expect(dup.body.data.releaseCreate).toEqual({ errors: ['Release already exists'], release: null });

    const read = await gql(READ, { fullPath, tag: 'v0.3' }, w.reporter.token);
    expect(read.body.data.project.releases.nodes[0]).toMatchObject({ tagName: 'v0.3', author: { username: w.developer.username } });
    expect(read.body.data.project.release).toEqual({ tagName: 'v0.3', upcomingRelease: false });
    // A guest sees the project but not its releases.
    const guestRead = await gql(READ, { fullPath, tag: 'v0.3' }, w.guest.token);
    expect(guestRead.body.data.project.releases.nodes).toEqual([]);
    expect(guestRead.body.data.project.release).toBeNull();

    const upd = await gql(UPDATE, { input: { projectPath: fullPath, tagName: 'v0.3', description: 'better notes' } }, w.developer.token);
    expect(upd.body.data.releaseUpdate).toEqual({ errors: [], release: { name: 'New Release', description: 'better notes' } });
    const [ev] = await projectEvents(w.project.id, 'release_updated');
    expect(ev.details.changes).toEqual([{ field: 'description', from: 'notes', to: 'better notes' }]);
    const missing = await gql(UPDATE, { input: { projectPath: fullPath, tagName: 'nope', name: 'x' } }, w.developer.token);
    expect(missing.body.data.releaseUpdate).toEqual({ errors: ['Release does not exist'], release: null });
    const nullDate = await gql(UPDATE, { input: { projectPath: fullPath, tagName: 'v0.3', releasedAt: null } }, w.developer.token);
    expect(nullDate.body.errors[0].message).toBe('if the releasedAt argument is provided, it cannot be null');

    const devDelete = await gql(DELETE, { input: { projectPath: fullPath, tagName: 'v0.3' } }, w.developer.token);
    expect(devDelete.body.errors[0].message).toBe(NOT_AVAILABLE);
    const del = await gql(DELETE, { input: { projectPath: fullPath, tagName: 'v0.3' } }, w.maintainer.token);
    expect(del.body.data.releaseDelete).toEqual({ errors: [], release: { tagName: 'v0.3' } });
    expect((await projectEvents(w.project.id, 'release_deleted_audit_event'))[0].author_id).toBe(w.maintainer.id);
    const delAgain = await gql(DELETE, { input: { projectPath: fullPath, tagName: 'v0.3' } }, w.maintainer.token);
    expect(delAgain.body.data.releaseDelete.errors).toEqual(['Release does not exist']);
  });

  it('refuses callers without permission with GitLab top-level error', async () => {
    const w = await releaseWorld('private');
    const fullPath = w.project.path_with_namespace;
    for (const token of [null, w.outsider.token, w.guest.token, w.reporter.token]) {
      const res = await gql(CREATE, { input: { projectPath: fullPath, tagName: 'v1' } }, token);
      expect(res.body.errors?.[0]?.message).toBe(NOT_AVAILABLE);
      expect(res.body.data.releaseCreate).toBeNull();
    }
    const reader = await createUser({ scopes: ['read_api'] });
    const { addMember } = await import('../support/api');
    await addMember('projects', w.project.id, reader.id, 40);
    expect((await gql(CREATE, { input: { projectPath: fullPath, tagName: 'v1' } }, reader.token)).body.errors[0].message).toBe(NOT_AVAILABLE);
    expect((await gql(CREATE, { input: { projectPath: 'no/such-project', tagName: 'v1' } }, w.developer.token)).body.errors[0].message).toBe(NOT_AVAILABLE);
    // Anonymous and outsiders do not see a private project at all.
    expect((await gql(READ, { fullPath, tag: 'v1' }, null)).body.data.project).toBeNull();

    const pub = await releaseWorld('public');
    await createRelease(pub.project.id, pub.developer.token, { tag_name: 'v1' });
    const anon = await gql(READ, { fullPath: pub.project.path_with_namespace, tag: 'v1' }, null);
    expect(anon.body.data.project.releases.nodes.map((r: any) => r.tagName)).toEqual(['v1']);
  });

  it('manages asset links with GitLab errors-as-data', async () => {
    const w = await releaseWorld('private');
    const fullPath = w.project.path_with_namespace;
    await createRelease(w.project.id, w.developer.token, { tag_name: 'v2' });
    const create = (input: Record<string, unknown>, token = w.developer.token) =>
      gql(LINK_CREATE, { input: { projectPath: fullPath, tagName: 'v2', ...input } }, token);
    const ok = await create({ name: 'docs', url: 'https://docs.example.com/' });
    expect(ok.body.data.releaseAssetLinkCreate.errors).toEqual([]);
    const link = ok.body.data.releaseAssetLinkCreate.link;
    expect(link).toMatchObject({ name: 'docs', linkType: 'OTHER' });
    const numericId = Number(link.id.split('/').pop());
    expect(link.directAssetUrl).toBe(`${BASE}/${fullPath}/-/releases/v2/links/${numericId}`);

    expect((await create({ name: 'docs', url: 'https://other.example.com/' })).body.data.releaseAssetLinkCreate).toEqual({
      errors: ['Name has already been taken'],
      link: null,
    });
    expect((await create({ name: 'other', url: 'https://docs.example.com/' })).body.data.releaseAssetLinkCreate.errors).toEqual(['Url has already been taken']);
    await create({ name: 'bin', url: 'https://bin.example.com/x', directAssetPath: '/bin/x' });
    expect((await create({ name: 'bin2', url: 'https://bin.example.com/y', directAssetPath: 'bin/x' })).body.data.releaseAssetLinkCreate.errors).toEqual([
      'Filepath has already been taken',
    ]);
    expect((await create({ name: 'ssh', url: 'ssh://example.com/x' })).body.data.releaseAssetLinkCreate.errors).toEqual([
      'Url is blocked: Only allowed schemes are http, https, ftp',
    ]);
    expect((await create({ tagName: 'v404', name: 'x', url: 'https://x.example.com/' })).body.data.releaseAssetLinkCreate.errors).toEqual([
      'Release with tag "v404" was not found',
    ]);
    expect((await create({ name: 'r', url: 'https://r.example.com/' }, w.reporter.token)).body.errors[0].message).toBe(NOT_AVAILABLE);

    const nullType = await gql(LINK_UPDATE, { input: { id: link.id, linkType: null } }, w.developer.token);
    expect(nullType.body.errors[0].message).toBe('if the linkType argument is provided, it cannot be null');
    const upd = await gql(LINK_UPDATE, { input: { id: link.id, name: 'runbook', linkType: 'RUNBOOK' } }, w.developer.token);
    expect(upd.body.data.releaseAssetLinkUpdate).toMatchObject({ errors: [], link: { name: 'runbook', linkType: 'RUNBOOK' } });
    const [ev] = await projectEvents(w.project.id, 'release_asset_link_updated');
    expect(ev.details.changes).toEqual([
      { field: 'name', from: 'docs', to: 'runbook' },
      { field: 'link_type', from: 'other', to: 'runbook' },
    ]);
    const taken = await gql(LINK_UPDATE, { input: { id: link.id, name: 'bin' } }, w.developer.token);
    expect(taken.body.data.releaseAssetLinkUpdate).toEqual({ errors: ['Name has already been taken'], link: null });
    expect((await gql(LINK_UPDATE, { input: { id: 'gid://gitlab/Releases::Link/999999999', name: 'x' } }, w.developer.token)).body.errors[0].message).toBe(NOT_AVAILABLE);
    expect((await gql(LINK_UPDATE, { input: { id: link.id, name: 'x' } }, w.outsider.token)).body.errors[0].message).toBe(NOT_AVAILABLE);

    expect((await gql(LINK_DELETE, { input: { id: link.id } }, w.developer.token)).body.errors[0].message).toBe(NOT_AVAILABLE);
    const del = await gql(LINK_DELETE, { input: { id: link.id } }, w.maintainer.token);
    expect(del.body.data.releaseAssetLinkDelete).toEqual({ errors: [], link: { id: link.id, name: 'runbook' } });
    const [gone] = await projectEvents(w.project.id, 'release_asset_link_deleted');
    expect(gone).toMatchObject({ target_type: 'Releases::Link', target_details: 'runbook', author_id: w.maintainer.id });
  });
});
