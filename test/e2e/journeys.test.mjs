// End-to-end journeys through the pages behind the API's URLs, in Debian's Chromium against the
// worker started with `npm start`: landing → group → project → release → edit release (audited)
// → new release; a guest sees disabled buttons with the role they need; a signed-out visitor of
// a private page sees one "Sign in to see this". Screenshots land in test/e2e/screenshots/.
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { api, launchBrowser, must, screenshot, startFileServer, startWorker } from './harness.mjs';

describe('page journeys in a real browser', { concurrency: false }, () => {
  let worker, files, browser, page;
  const s = Date.now().toString(36);
  const groupPath = `orbit-${s}`;
  const projectPath = `rocket-${s}`;
  let owner, guest, group, project;

  /** A user with an api token. */
  async function user(name) {
    const u = await must(worker.base, 201, 'POST', '/api/v4/users', {
      token: worker.adminToken,
      body: { username: `${name}-${s}`, name: `${name[0].toUpperCase()}${name.slice(1)} ${s}`, email: `${name}-${s}@example.com`, password: 'secret-password-1' },
    });
    const pat = await must(worker.base, 201, 'POST', `/api/v4/users/${u.id}/personal_access_tokens`, { token: worker.adminToken, body: { name: 'e2e', scopes: ['api'] } });
    return { id: u.id, username: u.username, token: pat.token };
  }

  async function signIn(p, token, returnTo) {
    await p.goto(`${worker.base}/-/sign_in?return=${encodeURIComponent(returnTo)}`);
    await p.getByLabel('Personal access token').fill(token);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.waitForURL(`${worker.base}${returnTo}`);
  }

  before(async () => {
    [worker, files] = await Promise.all([startWorker(), startFileServer()]);
    [owner, guest] = [await user('owner'), await user('guest')];
    group = await must(worker.base, 201, 'POST', '/api/v4/groups', { token: owner.token, body: { name: groupPath, path: groupPath, visibility: 'private' } });
    project = await must(worker.base, 201, 'POST', '/api/v4/projects', { token: owner.token, body: { name: projectPath, path: projectPath, namespace_id: group.id, visibility: 'private' } });
    await must(worker.base, 201, 'POST', `/api/v4/projects/${project.id}/releases`, {
      token: owner.token,
      body: { tag_name: 'v1.0', name: 'Liftoff', description: 'First flight', assets: { links: [{ name: 'Flight manual', url: `${files.origin}/manual.pdf`, direct_asset_path: '/manual.pdf', link_type: 'runbook' }] } },
    });
    await must(worker.base, 201, 'POST', `/api/v4/groups/${group.id}/members`, { token: owner.token, body: { user_id: guest.id, access_level: 10 } });
    browser = await launchBrowser();
    page = await browser.context.newPage();
  });

  after(async () => {
    await browser?.close();
    await files?.close();
    await worker?.stop();
  });

  afterEach(async () => {
    if (page && !page.isClosed()) await screenshot(page, '99-journeys-last-state').catch(() => {});
  });

  it('landing → group → project → release, each page at the URL the API returns', async () => {
    await signIn(page, owner.token, '/');
    await page.getByText(`Signed in as @${owner.username}`).waitFor();
    await page.getByRole('list', { name: 'Projects' }).getByRole('link', { name: `${groupPath}/${projectPath}` }).waitFor();
    await screenshot(page, '20-landing');
    await page.getByRole('list', { name: 'Your groups' }).getByRole('link', { name: groupPath }).click();
    await page.waitForURL(group.web_url);
    await page.getByRole('tab', { name: 'Overview' }).waitFor();
    await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: 'Home' }).waitFor();
    await screenshot(page, '21-group');
    await page.getByRole('list', { name: 'Projects' }).getByRole('link', { name: projectPath }).click();
    await page.waitForURL(project.web_url);
    await page.getByRole('heading', { name: /Liftoff/ }).waitFor();
    await screenshot(page, '22-project');
    await page.getByRole('link', { name: 'Liftoff' }).click();
    const release = await must(worker.base, 200, 'GET', `/api/v4/projects/${project.id}/releases/v1.0`, { token: owner.token });
    await page.waitForURL(release._links.self);
    const link = page.getByRole('link', { name: 'Flight manual' });
    await link.waitFor();
    // The tracked URL, without the token although the project is private (issue 17): a click asks
    // the API for a signed link (test/e2e/downloads_pages.test.mjs follows one).
    assert.equal(await link.getAttribute('href'), `${worker.base}/${groupPath}/${projectPath}/-/releases/v1.0/downloads/manual.pdf`);
    const crumbs = page.getByRole('navigation', { name: 'Breadcrumb' });
    assert.deepEqual(await crumbs.getByRole('listitem').allTextContents(), ['Home', groupPath, projectPath, 'Releases', 'v1.0']);
    await screenshot(page, '23-release');
  });

  it('edits the release and its links (each change audited), then creates a new release with a link', async () => {
    await page.getByRole('link', { name: 'Edit release' }).click();
    await page.waitForURL(/\/-\/releases\/v1\.0\/edit$/);
    await page.getByLabel('Release title').fill('Liftoff (final)');
    await page.getByRole('button', { name: 'Save release' }).click();
    await page.getByText('Release v1.0 saved.').waitFor();
    await page.getByLabel('Link 1 name').fill('Flight manual v2');
    await page.getByRole('button', { name: 'Save link Flight manual' }).click();
    await page.getByText('Link Flight manual v2 saved.').waitFor();
    await page.getByLabel('New link name').fill('Checksums');
    await page.getByLabel('New link URL').fill(`${files.origin}/sha256sums`);
    await page.getByRole('button', { name: 'Add link' }).click();
    await page.getByText('Link Checksums added.').waitFor();
    await screenshot(page, '24-release-edit');
    const events = await must(worker.base, 200, 'GET', `/api/v4/projects/${project.id}/audit_events?per_page=100`, { token: owner.token });
    const types = events.map((e) => e.event_type);
    for (const t of ['release_updated', 'release_asset_link_updated', 'release_asset_link_created']) assert.ok(types.includes(t), `${t} in ${types}`);
    const updated = events.find((e) => e.event_type === 'release_updated');
    assert.match(JSON.stringify(updated.details), /Liftoff \(final\)/);

    await page.goto(`${worker.base}/${groupPath}/${projectPath}/-/releases`);
    await page.getByRole('button', { name: 'New release' }).click();
    await page.getByLabel('Tag name').fill('v1.1');
    await page.getByLabel('Release title').fill('Second stage');
    await page.getByRole('button', { name: 'Add link' }).click();
    await page.getByLabel('Link 1 name').fill('Telemetry');
    await page.getByLabel('Link 1 URL').fill(`${files.origin}/telemetry.csv`);
    await page.getByLabel('Link 1 filepath (optional)').fill('/telemetry.csv');
    await screenshot(page, '25-new-release-form');
    await page.getByRole('button', { name: 'Create release' }).click();
    await page.waitForURL(`${worker.base}/${groupPath}/${projectPath}/-/releases/v1.1`);
    await page.getByRole('link', { name: 'Telemetry' }).waitFor();
    const created = await must(worker.base, 200, 'GET', `/api/v4/projects/${project.id}/audit_events?event_type=release_created`, { token: owner.token });
    assert.ok(created.some((e) => JSON.stringify(e.details).includes('v1.1')), 'release_created for v1.1');
    await screenshot(page, '26-new-release');
  });

  it('shows a guest the buttons they may not use disabled, with the role they would need', async () => {
    const guestPage = await browser.context.newPage();
    await signIn(guestPage, guest.token, `/${groupPath}/${projectPath}/-/releases`);
    const button = guestPage.getByRole('button', { name: 'New release' });
    await button.waitFor();
    assert.equal(await button.isDisabled(), true);
    await guestPage.getByText('Needs the Developer role or higher (you are Guest).').first().waitFor();
    await screenshot(guestPage, '27-guest-releases');
    await guestPage.goto(`${worker.base}/groups/${groupPath}#streams`);
    await guestPage.getByText('Streams: Needs the Owner role or higher (you are Guest).').waitFor();
    await guestPage.goto(`${worker.base}/${groupPath}/${projectPath}/-/releases/v1.0`);
    // A Guest cannot read the releases of a private project (Reporter can): one sentence says so.
    await guestPage.getByText('Reading releases: Needs the Reporter role or higher (you are Guest).').waitFor();
    assert.equal(await guestPage.getByRole('link', { name: 'Edit release' }).count(), 0);
    await screenshot(guestPage, '28-guest-release');
    await guestPage.close();
  });

  it('tells a signed-out visitor of a private page to sign in, once, and answers 404 for an unknown one', async () => {
    const visitor = await browser.context.newPage();
    await visitor.goto(project.web_url);
    await visitor.getByText('Sign in to see this project.').waitFor();
    assert.equal(await visitor.getByText('404 Project Not Found').count(), 0);
    assert.equal(await visitor.locator('[data-state]').count(), 1);
    await screenshot(visitor, '29-signed-out-private');
    const missing = await visitor.goto(`${worker.base}/${groupPath}/no-such-project`);
    assert.equal(missing.status(), 404);
    await visitor.getByRole('heading', { name: '404 Page Not Found' }).waitFor();
    const favicon = await api(worker.base, 'GET', '/favicon.ico');
    assert.equal(favicon.status, 200);
    await visitor.close();
  });
});
