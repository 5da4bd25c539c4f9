// End-to-end: a group owner and an anonymous visitor use the web pages in Debian's Chromium,
// against the worker started with `npm start`. Screenshots land in test/e2e/screenshots/.
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { api, createUserWithToken, launchBrowser, must, screenshot, startFileServer, startReceiver, startWorker } from './harness.mjs';

const HEADER_LIMIT_MESSAGE = 'Headers are limited to 20 per destination';

describe('web pages in a real browser', { concurrency: false }, () => {
  let worker, receiver, files, browser, page;
  const s = Date.now().toString(36);
  const groupPath = `acme-${s}`;
  const projectPath = `widget-${s}`;
  let owner; // { token, username }
  const token20 = 'verify-token-1234567'; // 20 characters

  before(async () => {
    [worker, receiver, files] = await Promise.all([startWorker(), startReceiver(), startFileServer()]);
    const { base } = worker;
    owner = await createUserWithToken(worker, `owner-${s}`, 'Olga Owner');
    // The owner creates the group (becoming its Owner), a public project and a release.
    const group = await must(base, 201, 'POST', '/api/v4/groups', { token: owner.token, body: { name: groupPath, path: groupPath, visibility: 'public' } });
    const project = await must(base, 201, 'POST', '/api/v4/projects', {
      token: owner.token,
      body: { name: projectPath, path: projectPath, namespace_id: group.id, visibility: 'public' },
    });
    await must(base, 201, 'POST', `/api/v4/projects/${project.id}/releases`, {
      token: owner.token,
      body: {
        tag_name: 'v0.3',
        name: 'Version 0.3',
        description: 'First public build <script>alert(1)</script>',
        assets: { links: [{ name: 'Linux binary', url: `${files.origin}/downloads/widget-linux`, direct_asset_path: '/bin/widget-linux', link_type: 'package' }] },
      },
    });
    browser = await launchBrowser();
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    page = await browser.context.newPage();
  });

  after(async () => {
    await browser?.close();
    await receiver?.close();
    await files?.close();
    await worker?.stop();
  });

  // The page as each test left it (useful when one fails).
  afterEach(async () => {
    if (page && !page.isClosed()) await screenshot(page, '99-last-state').catch(() => {});
  });

  const groupPage = () => `${worker.base}/groups/${groupPath}/-/audit_events`;

  it('asks for a token, signs in, and shows the group log', async () => {
    await page.goto(groupPage());
    await page.getByText('The audit log needs a personal access token.').waitFor();
    await page.getByRole('main').getByRole('link', { name: 'Sign in' }).click();
    await page.waitForURL(/\/-\/sign_in\?return=/);
    await page.getByLabel('Personal access token').fill('not-a-valid-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('401 Unauthorized').waitFor(); // the API's own words, next to the field
    await screenshot(page, '01-sign-in');
    await page.getByLabel('Personal access token').fill(owner.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(groupPage());
    await page.getByText(`Signed in as @${owner.username}`).waitFor();
    await page.getByRole('cell', { name: /Created release v0\.3/ }).waitFor();
    const tab = page.getByRole('tab', { name: 'Log' });
    assert.equal(await tab.getAttribute('aria-selected'), 'true');
    await screenshot(page, '02-group-log');
  });

  it('adds a destination with 20 headers and a filter through the form, with the API errors shown', async () => {
    await page.getByRole('tab', { name: 'Streams' }).click();
    await page.getByText('No streaming destinations yet.').waitFor();
    await page.getByRole('button', { name: 'Add streaming destination' }).click();
    await page.getByLabel('Destination URL').fill(receiver.url);
    await page.getByLabel('Name', { exact: true }).fill('SIEM');
    await page.getByLabel('Verification token (optional)').fill('short');
    const addHeader = page.getByRole('button', { name: 'Add header' });
    for (let i = 1; i <= 20; i++) {
      await addHeader.click();
      await page.getByLabel(`Header ${i} key`).fill(`X-Custom-${i}`);
      await page.getByLabel(`Header ${i} value`).fill(`value-${i}`);
    }
    await addHeader.click(); // the 21st
    await page.getByText(HEADER_LIMIT_MESSAGE).waitFor();
    assert.equal(await page.getByLabel('Header 21 key').count(), 0);
    await page.getByLabel('release_external_artifact_download').check();
    await page.getByRole('button', { name: 'Add destination' }).click();
    await page.getByText('Verification token is too short (minimum is 16 characters)').waitFor();
    await screenshot(page, '03-streams-form-errors');
    // Nothing was created: the list is still empty.
    assert.equal(await page.locator('[data-destination-id]').count(), 0);
    await page.getByLabel('Verification token (optional)').fill(token20);
    await page.getByRole('button', { name: 'Add destination' }).click();
    const card = page.locator('[data-destination-id]').filter({ hasText: 'SIEM' });
    await card.waitFor({ timeout: 30_000 });
    await page.getByText('Destination SIEM added.').waitFor();
    await card.getByText('Filtered').waitFor();
    await card.getByText('20 custom headers').waitFor();
    await screenshot(page, '04-streams-list');

    // The API agrees: 20 headers, the filter, the token.
    const gid = await card.getAttribute('data-destination-id');
    const q = await api(worker.base, 'POST', '/api/graphql', {
      token: owner.token,
      body: { query: `{ group(fullPath: "${groupPath}") { externalAuditEventDestinations { nodes { id verificationToken active eventTypeFilters headers { nodes { key value } } } } } }` },
    });
    const nodes = q.body.data.group.externalAuditEventDestinations.nodes;
    assert.equal(nodes.length, 1);
    assert.equal(nodes[0].id, gid);
    assert.equal(nodes[0].verificationToken, token20);
    assert.equal(nodes[0].active, true);
    assert.deepEqual(nodes[0].eventTypeFilters, ['release_external_artifact_download']);
    assert.equal(nodes[0].headers.nodes.length, 20);
  });

  it('reveals and copies the verification token', async () => {
    const card = page.locator('[data-destination-id]').filter({ hasText: 'SIEM' });
    const code = card.locator('code').filter({ hasText: token20 });
    assert.equal(await code.isVisible(), false);
    await card.getByRole('button', { name: 'Reveal verification token' }).click();
    await code.waitFor({ state: 'visible' });
    await card.getByRole('button', { name: 'Copy verification token' }).click();
    await card.getByText('Verification token copied to the clipboard.').waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), token20);
    await card.getByRole('button', { name: 'Reveal signing secret' }).click();
    await card.locator('code').filter({ hasText: /^whsec_/ }).waitFor({ state: 'visible' });
    await screenshot(page, '05-streams-revealed');
  });

  it('makes the active checkbox count: an edit to inactive shows the badge and reaches the API', async () => {
    const card = page.locator('[data-destination-id]').filter({ hasText: 'SIEM' });
    await card.getByRole('button', { name: 'Edit' }).click();
    const active = page.getByLabel('Active (events are streamed to this destination)');
    assert.equal(await active.isChecked(), true);
    await active.uncheck();
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Destination SIEM saved.').waitFor();
    await card.getByText('Inactive').waitFor();
    await card.getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('Active (events are streamed to this destination)').check();
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Destination SIEM saved.').waitFor();
    await page.waitForFunction(() => !document.querySelector('.badge.inactive'));
  });

  it('deletes a destination only after confirmation', async () => {
    await page.getByRole('button', { name: 'Add streaming destination' }).click();
    await page.getByLabel('Destination URL').fill(`${receiver.url}/second`);
    await page.getByLabel('Name', { exact: true }).fill('Throwaway');
    await page.getByRole('button', { name: 'Add destination' }).click();
    const card = page.locator('[data-destination-id]').filter({ hasText: 'Throwaway' });
    await card.waitFor();
    await card.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await screenshot(page, '06-delete-confirmation');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(await card.count(), 1);
    await card.getByRole('button', { name: 'Delete' }).click();
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await page.getByText('Destination Throwaway deleted.').waitFor();
    assert.equal(await card.count(), 0);
  });

  it('shows the new events in the Log and filters them by type', async () => {
    await page.getByRole('tab', { name: 'Log' }).click();
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByRole('cell', { name: /create_event_streaming_destination/ }).first().waitFor();
    await page.getByRole('cell', { name: /destroy_event_streaming_destination/ }).first().waitFor();
    await page.getByLabel('Event type').fill('release_created');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('.log-table tbody tr')];
      return rows.length === 1 && rows[0].textContent.includes('Created release v0.3');
    });
    await page.getByLabel('Event type').fill('');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByRole('cell', { name: /create_event_streaming_destination/ }).first().waitFor();
    // Keyset paging: Next reaches the older events, Previous comes back to the same first row.
    await page.getByText('Page 1, 20 events.').waitFor();
    const firstRow = await page.locator('.log-table tbody tr').first().getAttribute('data-event-id');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText(/^Page 2, \d+ events\.$/).waitFor();
    await page.getByRole('cell', { name: /Created release v0\.3/ }).waitFor();
    await page.getByRole('button', { name: 'Previous' }).click();
    await page.getByText('Page 1, 20 events.').waitFor();
    assert.equal(await page.locator('.log-table tbody tr').first().getAttribute('data-event-id'), firstRow);
    // A date range that excludes today empties the table.
    await page.getByLabel('To').fill('2020-01-01');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByRole('cell', { name: 'No events match.' }).waitFor();
    await page.getByLabel('To').fill('');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('Page 1, 20 events.').waitFor();
  });

  it('downloads the CSV with the token', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
    assert.match(download.suggestedFilename(), /\.csv$/);
    const text = readFileSync(await download.path(), 'utf8');
    assert.match(text.split('\n')[0], /Author/);
    assert.match(text, /Created release v0\.3/);
    await page.getByText(/^Downloaded .*\.csv\.$/).waitFor();
  });

  it('lets an anonymous visitor follow a release link, and the owner sees the download in the Log', async () => {
    // A new tab has its own sessionStorage: no token, an anonymous visitor.
    const visitor = await browser.context.newPage();
    await visitor.goto(`${worker.base}/${groupPath}/${projectPath}/-/releases`);
    const link = visitor.getByRole('link', { name: 'Linux binary' });
    await link.waitFor();
    assert.equal(await visitor.getByRole('button', { name: 'Sign out' }).count(), 0);
    assert.equal(await link.getAttribute('href'), `${worker.base}/${groupPath}/${projectPath}/-/releases/v0.3/downloads/bin/widget-linux`);
    // The description is text, never markup.
    await visitor.getByText('First public build <script>alert(1)</script>').waitFor();
    await screenshot(visitor, '07-releases-anonymous');
    await Promise.all([visitor.waitForURL(`${files.origin}/downloads/widget-linux`), link.click()]);
    assert.match(await visitor.textContent('body'), /artifact \/downloads\/widget-linux/);
    await visitor.close();

    // The download's event reaches the log about a second after the click (the redirect buffers
    // it in a Durable Object that flushes to D1 in batches): refresh until it is there.
    const row = page.locator('.log-table tbody tr').filter({ hasText: 'Repository External Resource Download Started' }).first();
    for (let tries = 0; ; tries++) {
      await page.getByRole('button', { name: 'Apply filters' }).click();
      try {
        await row.waitFor({ timeout: 1000 });
        break;
      } catch (err) {
        if (tries >= 10) throw err;
      }
    }
    assert.match(await row.textContent(), /An unauthenticated user/);
    assert.match(await row.textContent(), /Linux binary/);
    await screenshot(page, '08-log-with-download');
  });

  it('streams the download to the filtered destination', async () => {
    const deadline = Date.now() + 30_000;
    let hit;
    while (!(hit = receiver.requests.find((r) => r.headers['x-gitlab-audit-event-type'] === 'release_external_artifact_download')) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(hit, 'the download event reached the receiver');
    assert.equal(hit.headers['x-gitlab-event-streaming-token'], token20);
    assert.equal(hit.headers['x-custom-7'], 'value-7');
    // Changes made after the filter was set (edits, the other destination's deletion) never arrive.
    const types = receiver.requests.map((r) => r.headers['x-gitlab-audit-event-type']);
    assert.ok(!types.includes('update_event_streaming_destination'), `the filter held: ${types}`);
    assert.ok(!types.includes('destroy_event_streaming_destination'), `the filter held: ${types}`);

    // The delivery log shows it delivered; Redeliver sends it again with the same webhook-id.
    await page.getByRole('tab', { name: 'Streams' }).click();
    const card = page.locator('[data-destination-id]').filter({ hasText: 'SIEM' });
    await card.getByRole('button', { name: 'Recent deliveries' }).click();
    const row = card.locator('tr').filter({ hasText: 'release_external_artifact_download' }).first();
    await row.waitFor();
    const deadline2 = Date.now() + 15_000;
    while (!/delivered/.test(await row.textContent()) && Date.now() < deadline2) {
      await card.getByRole('button', { name: 'Refresh' }).click();
      await page.waitForTimeout(300);
    }
    assert.match(await card.locator('tr').filter({ hasText: 'release_external_artifact_download' }).first().textContent(), /delivered/);
    await screenshot(page, '09-deliveries');
    const before = receiver.requests.length;
    await card.locator('tr').filter({ hasText: 'release_external_artifact_download' }).first().getByRole('button', { name: /^Redeliver event/ }).click();
    await card.getByText(/queued for redelivery/).waitFor();
    const deadline3 = Date.now() + 30_000;
    while (receiver.requests.length === before && Date.now() < deadline3) await new Promise((r) => setTimeout(r, 250));
    const again = receiver.requests.slice(before).find((r) => r.headers['x-gitlab-audit-event-type'] === 'release_external_artifact_download');
    assert.ok(again, 'redelivered');
    assert.equal(again.headers['webhook-id'], hit.headers['webhook-id']);
  });

  it('shows the project log, the admin pages and a phone-width layout', async () => {
    await page.goto(`${worker.base}/${groupPath}/${projectPath}/-/audit_events`);
    await page.getByRole('cell', { name: /Created release v0\.3/ }).waitFor();
    await screenshot(page, '10-project-log');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(groupPage());
    await page.getByRole('cell', { name: /Repository External Resource Download Started/ }).first().waitFor();
    await screenshot(page, '11-group-log-phone');
    await page.setViewportSize({ width: 1280, height: 900 });

    // Sign out forgets the token.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/-\/sign_in$/);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    await page.getByLabel('Personal access token').fill(worker.adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'Instance audit events (Admin area)' }).click();
    await page.waitForURL(/\/admin\/audit_events$/);
    await page.getByRole('cell', { name: /Exported audit events/ }).first().waitFor();
    await page.getByRole('tab', { name: 'Streams' }).click();
    await page.getByText('No streaming destinations yet.').waitFor();
    await screenshot(page, '12-admin-streams');
  });
});
