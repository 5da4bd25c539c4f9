// End-to-end, in Debian's Chromium against `npm start`: download counts on the pages. A release
// with two links is downloaded through its tracked URLs (three GETs without following the
// redirect, and one click on the page's link, which follows a signed link, no token in any URL,
// to a local file server on 127.0.0.1);
// the release page then shows each link's count, the release's total, and the downloads per day
// as a chart with the same figures in a sentence and a table; the releases list shows the total;
// a signed-out visitor of a public release sees the same; the admin page shows the month's tracked
// downloads and CSV exports in a table and two charts.
// Screenshots land in test/e2e/screenshots/ (names starting with "downloads-").
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { api, closeAll, createUserWithToken, launchBrowser, must, screenshot, startFileServer, startWorker, until } from './harness.mjs';

/** The UTC day `n` days before today (YYYY-MM-DD). */
const daysAgo = (n) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);

describe('download counts on the pages in a real browser', { concurrency: false }, () => {
  let worker, files, browser, page, owner, group, project, release;
  const s = Date.now().toString(36);
  const groupPath = `dl-${s}`;

  async function signIn(p, token, returnTo) {
    await p.goto(`${worker.base}/-/sign_in?return=${encodeURIComponent(returnTo)}`);
    await p.getByLabel('Personal access token').fill(token);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.waitForURL(`${worker.base}${returnTo}`);
  }

  /** The release's links' counts by name, as the REST API reports them. */
  async function counts() {
    const r = await must(worker.base, 200, 'GET', `/api/v4/projects/${project.id}/releases/v2.0`, { token: owner.token });
    return Object.fromEntries(r.assets.links.map((l) => [l.name, l.download_count]));
  }

  before(async () => {
    [worker, files] = await Promise.all([startWorker(), startFileServer()]);
    owner = await createUserWithToken(worker, `dora-${s}`, 'Dora Downloads');
    group = await must(worker.base, 201, 'POST', '/api/v4/groups', { token: owner.token, body: { name: groupPath, path: groupPath, visibility: 'private' } });
    project = await must(worker.base, 201, 'POST', '/api/v4/projects', { token: owner.token, body: { name: 'tool', path: 'tool', namespace_id: group.id, visibility: 'private' } });
    release = await must(worker.base, 201, 'POST', `/api/v4/projects/${project.id}/releases`, {
      token: owner.token,
      body: {
        tag_name: 'v2.0',
        name: 'Tool 2',
        assets: {
          links: [
            { name: 'Installer', url: `${files.origin}/installer.sh`, direct_asset_path: '/bin/installer', link_type: 'package' },
            { name: 'Checksums', url: `${files.origin}/sha256sums`, direct_asset_path: '/sha256sums', link_type: 'other' },
          ],
        },
      },
    });
    browser = await launchBrowser();
    page = await browser.context.newPage();
  });

  after(() => closeAll(browser, files, worker));
  afterEach(async () => {
    if (page && !page.isClosed()) await screenshot(page, '99-downloads-last-state').catch(() => {});
  });

  it('counts tracked downloads and shows them per link, in total, and per day on the release page', async () => {
    assert.deepEqual(await counts(), { Installer: 0, Checksums: 0 });
    const installer = release.assets.links.find((l) => l.name === 'Installer');
    // Three GETs of the tracked URL, each a 302 to the link's URL (not followed).
    for (let i = 0; i < 3; i++) {
      const r = await api(worker.base, 'GET', new URL(installer.direct_asset_url).pathname, { token: owner.token });
      assert.equal(r.status, 302);
      assert.equal(r.headers.get('location'), `${files.origin}/installer.sh`);
    }
    // One click on the page's link: the page asks for a signed link (the project is private) and
    // the browser follows its redirect to the file server. No URL carries the token (issue 17).
    await signIn(page, owner.token, new URL(release._links.self).pathname);
    const requested = [];
    const onRequest = (r) => requested.push(r.url());
    page.on('request', onRequest);
    await page.getByRole('link', { name: 'Checksums' }).click();
    await page.waitForURL(`${files.origin}/sha256sums`);
    page.off('request', onRequest);
    assert.ok(requested.every((u) => !u.includes(owner.token) && !u.includes('private_token')), requested.join('\n'));
    assert.ok(requested.some((u) => /\/-\/releases\/[^?]+\?expires=\d+&user=\d+&signature=[\w-]{43}$/.test(u)), requested.join('\n'));
    assert.match(await page.textContent('body'), /artifact \/sha256sums/);
    // The counters rise when the buffered events reach D1 (about a second).
    await until(async () => {
      const c = await counts();
      return c.Installer === 3 && c.Checksums === 1;
    }, 'the counts 3 and 1');

    await page.goto(release._links.self);
    // The API lists a release's links newest first (here: by id, Checksums last created).
    const links = page.getByRole('list').filter({ has: page.getByRole('link', { name: 'Installer' }) });
    await links.waitFor();
    assert.deepEqual(
      (await links.getByRole('listitem').allTextContents()).map((t) => t.replace(/\s+/g, ' ').trim()),
      ['Checksumsother 1 download', 'Installerpackage 3 downloads'],
    );
    await page.getByText('4 downloads in total').waitFor();
    const section = page.getByRole('region', { name: 'Downloads' });
    assert.equal(await section.getByLabel('Window').inputValue(), '30');
    const today = daysAgo(0);
    const sentence = `${daysAgo(29)} to ${today} (UTC days): 4 downloads (Checksums 1, Installer 3); busiest day ${today} with 4 downloads.`;
    await section.getByText(sentence).waitFor();
    const table = section.getByRole('table', { name: 'Downloads per UTC day (days with downloads)' });
    assert.deepEqual(await table.getByRole('columnheader').allTextContents(), ['Day', 'Checksums', 'Installer', 'Total']);
    assert.equal(await table.locator('tbody tr').count(), 1);
    assert.equal(await table.getByRole('rowheader').textContent(), today);
    assert.deepEqual(await table.locator('tbody td').allTextContents(), ['1', '3', '4']);
    // The chart: uPlot's canvas (hidden from screen readers, the sentence says the same) with a key per link.
    const chart = section.getByRole('figure');
    await chart.locator('canvas').waitFor();
    assert.equal(await chart.getAttribute('aria-hidden'), null);
    assert.equal(await chart.locator('[aria-hidden="true"]').first().locator('canvas').count(), 1);
    assert.deepEqual(await chart.locator('.chart-key .key').allTextContents(), ['Checksums', 'Installer']);
    assert.equal(await page.locator('.error:not(:empty)').count(), 0);
    await screenshot(page, 'downloads-01-release-page');

    // A shorter window asks the API again.
    await section.getByLabel('Window').selectOption('7');
    await section.getByText(`${daysAgo(6)} to ${today} (UTC days): 4 downloads (Checksums 1, Installer 3);`, { exact: false }).waitFor();

    // On a phone: the chart fits the screen, nothing scrolls sideways.
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await page.reload();
      await section.locator('canvas').waitFor();
      assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no horizontal scrolling at 390 px');
      await screenshot(page, 'downloads-02-release-page-mobile');
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }
  });

  it('shows each release\'s total downloads in the releases list', async () => {
    await must(worker.base, 201, 'POST', `/api/v4/projects/${project.id}/releases`, {
      token: owner.token,
      body: { tag_name: 'v2.1', name: 'Tool 2.1', assets: { links: [{ name: 'Installer', url: `${files.origin}/installer-2.1.sh` }] } },
    });
    await page.goto(`${worker.base}/${groupPath}/tool/-/releases`);
    const card = (name) => page.getByRole('article', { name, exact: true });
    await card('Tool 2').getByText('4 downloads in total').waitFor();
    await card('Tool 2.1').getByText('0 downloads in total').waitFor();
    await screenshot(page, 'downloads-03-releases-list');
  });

  it('shows a signed-out visitor of a public release its counts and chart', async () => {
    const open = await must(worker.base, 201, 'POST', '/api/v4/groups', { token: owner.token, body: { name: `${groupPath}-open`, path: `${groupPath}-open`, visibility: 'public' } });
    const pub = await must(worker.base, 201, 'POST', '/api/v4/projects', { token: owner.token, body: { name: 'open', path: 'open', namespace_id: open.id, visibility: 'public' } });
    const rel = await must(worker.base, 201, 'POST', `/api/v4/projects/${pub.id}/releases`, {
      token: owner.token,
      body: { tag_name: 'v1', assets: { links: [{ name: 'Source', url: `${files.origin}/source.tar.gz`, direct_asset_path: '/source.tar.gz' }] } },
    });
    // An anonymous download (no token: the project is public).
    assert.equal((await api(worker.base, 'GET', new URL(rel.assets.links[0].direct_asset_url).pathname)).status, 302);
    await until(async () => (await must(worker.base, 200, 'GET', `/api/v4/projects/${pub.id}/releases/v1`)).assets.links[0].download_count === 1, 'the anonymous download counted');
    // A new tab has no token: signed out.
    const visitor = await browser.context.newPage();
    try {
      await visitor.goto(rel._links.self);
      await visitor.getByRole('link', { name: 'Sign in' }).first().waitFor();
      await visitor.getByText('1 download in total').waitFor();
      const section = visitor.getByRole('region', { name: 'Downloads' });
      await section.getByText(`${daysAgo(29)} to ${daysAgo(0)} (UTC days): 1 download (Source 1); busiest day ${daysAgo(0)} with 1 download.`).waitFor();
      await section.locator('canvas').waitFor();
      assert.equal(await visitor.locator('.error:not(:empty)').count(), 0);
    } finally {
      await visitor.close();
    }
  });

  it('shows the month\'s tracked downloads and CSV exports on the admin page', async () => {
    const csv = await api(worker.base, 'GET', `/api/v4/groups/${group.id}/audit_events.csv`, { token: owner.token });
    assert.equal(csv.status, 200);
    const admin = await browser.context.newPage();
    try {
      await signIn(admin, worker.adminToken, '/admin');
      const figures = admin.getByRole('region', { name: 'Audit log exports and tracked downloads (last 12 months)' });
      const table = figures.getByRole('table', { name: 'CSV exports and tracked downloads per UTC month' });
      await table.waitFor();
      const month = daysAgo(0).slice(0, 7);
      assert.equal(await table.locator('tbody tr').count(), 12);
      const row = table.getByRole('row').filter({ has: admin.getByRole('rowheader', { name: month, exact: true }) });
      // Four downloads of the private release and one of the public one.
      assert.deepEqual(await row.getByRole('cell').allTextContents(), ['1', '5']);
      // Oldest first, this month last.
      assert.equal(await table.getByRole('rowheader').last().textContent(), month);
      await figures.getByText(/this month 1 CSV export and 5 tracked downloads\.$/).waitFor();
      assert.equal(await figures.locator('figure canvas').count(), 2);
      assert.deepEqual(await figures.locator('figure h4').allTextContents(), ['CSV exports per month', 'Tracked downloads per month']);
      await screenshot(admin, 'downloads-04-admin');
    } finally {
      await admin.close();
    }
  });
});

