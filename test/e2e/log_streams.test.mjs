// End-to-end, in Debian's Chromium against `npm start`: the audit log's details (what changed,
// as a from/to table), its filters and page in the URL (reload, Back, Forward), its times in UTC
// or the viewer's zone; and the Streams tab's create-with-filters, delivery log (live refresh,
// attempts with response excerpts, paging, redelivery of one or all failed) and charts.
// Screenshots land in test/e2e/screenshots/ (names starting with "log-" and "streams-").
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { api, createUserWithToken, launchBrowser, must, screenshot, startReceiver, signIn, startWorker, until } from './harness.mjs';

/** A receiver whose answer can be switched: 500 "boom: receiver down" or 200 "ok". */
async function startSwitchableReceiver() {
  const state = { failing: true, requests: [] };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      state.requests.push({ headers: req.headers, body });
      res.writeHead(state.failing ? 500 : 200, { 'Content-Type': 'text/plain' });
      res.end(state.failing ? 'boom: receiver down' : 'ok');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}/flaky`, state, close: () => new Promise((r) => server.close(r)) };
}

describe('the log and the streams in a real browser', { concurrency: false }, () => {
  let worker, receiver, flaky, browser, page, owner, project;
  const s = Date.now().toString(36);
  const groupPath = `logs-${s}`;
  const gql = (query) => must(worker.base, 200, 'POST', '/api/graphql', { token: owner.token, body: { query } });
  /**
   * Releases made before the tests (v1.0 and the builds). Each gets one scheduled evidence event
   * (authored by the log itself), so the group log holds 4 + 2 × RELEASES - 1 events: two pages,
   * the update of v1.0 on the second, and more than 20 of the owner's own (two pages by author).
   */
  const RELEASES = 18;
  /** The group log's release_evidence_collected events, as the API counts them. */
  const evidenceEvents = async () =>
    Number((await api(worker.base, 'GET', `/api/v4/groups/${groupPath}/audit_events?per_page=1&event_type=release_evidence_collected`, { token: owner.token })).headers.get('x-total'));
  /**
   * The cron collects each release's evidence once a checkpoint covers its creation, and records
   * release_evidence_collected in the group's log, which the group's destinations stream. The
   * minute cron would do it at some moment of the tests (totals and delivery counts that change
   * under them): run it now until every release of the project has its evidence.
   */
  async function settleEvidence() {
    const releases = (await must(worker.base, 200, 'GET', `/api/v4/projects/${project.id}/releases?per_page=100`, { token: owner.token })).length;
    for (let run = 0; (await evidenceEvents()) < releases; run++) {
      assert.ok(run < 10, `every release has its scheduled evidence after ${run} cron runs (${await evidenceEvents()} of ${releases})`);
      const cron = await fetch(`${worker.base}/__scheduled?cron=*+*+*+*+*`);
      assert.equal(cron.status, 200, await cron.text());
    }
  }

  before(async () => {
    [worker, receiver, flaky] = await Promise.all([startWorker({ testScheduled: true }), startReceiver(), startSwitchableReceiver()]);
    const { base } = worker;
    owner = await createUserWithToken(worker, `lena-${s}`, 'Lena Logs');
    const group = await must(base, 201, 'POST', '/api/v4/groups', { token: owner.token, body: { name: groupPath, path: groupPath, visibility: 'private' } });
    project = await must(base, 201, 'POST', '/api/v4/projects', { token: owner.token, body: { name: 'app', path: 'app', namespace_id: group.id, visibility: 'private' } });
    await must(base, 201, 'POST', `/api/v4/projects/${project.id}/releases`, { token: owner.token, body: { tag_name: 'v1.0', name: 'Old name', description: 'first' } });
    await must(base, 200, 'PUT', `/api/v4/projects/${project.id}/releases/v1.0`, { token: owner.token, body: { name: 'New name' } });
    // Enough events for a second page of the log (20 a page), the update on page 2.
    for (let i = 0; i < RELEASES - 1; i++) {
      await must(base, 201, 'POST', `/api/v4/projects/${project.id}/releases`, { token: owner.token, body: { tag_name: `v0.${i}`, name: `Build ${i}` } });
    }
    await settleEvidence();
    // A browser in New York, so that the viewer's zone differs from UTC.
    browser = await launchBrowser({ timezoneId: 'America/New_York' });
    page = await browser.context.newPage();
    await signIn(page, base, owner);
  });

  after(async () => {
    await browser?.close();
    await receiver?.close();
    await flaky?.close();
    await worker?.stop();
  });

  afterEach(async () => {
    if (page && !page.isClosed()) await screenshot(page, '99-log-streams-last-state').catch(() => {});
  });

  const groupPage = () => `${worker.base}/groups/${groupPath}/-/audit_events`;
  const rows = () => page.locator('.log-table tbody tr[data-event-id]');
  /** The group log's X-Total, as the API reports it. */
  const total = async () => Number((await api(worker.base, 'GET', `/api/v4/groups/${groupPath}/audit_events?per_page=1`, { token: owner.token })).headers.get('x-total'));
  let all; // the group log's size before the streams tests add events
  const totals = (n) => `${n} event${n === 1 ? '' : 's'} in total, ${Math.max(1, Math.ceil(n / 20))} page${n > 20 ? 's' : ''}.`;

  it('opens a row to its full details, with what changed as a from/to table', async () => {
    all = await total();
    assert.ok(all > 20 && all <= 40, `two pages of events (${all})`);
    await page.goto(groupPage());
    await page.getByText(totals(all)).waitFor();
    // The update is among the oldest events: on page 2.
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText(`Page 2, ${all - 20} events.`).waitFor();
    const row = rows().filter({ hasText: 'Updated release v1.0' });
    await row.getByRole('button', { name: /^Details of event/ }).click();
    assert.equal(await row.getByRole('button', { name: /^Details of event/ }).getAttribute('aria-expanded'), 'true');
    const changes = page.getByRole('table', { name: 'What changed' });
    await changes.waitFor();
    const nameRow = changes.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'name' }) });
    assert.deepEqual(await nameRow.getByRole('cell').allTextContents(), ['Old name', 'New name']);
    const details = page.locator('.details-row');
    assert.match(await details.textContent(), /Release updated\s*release_updated/);
    assert.match(await details.textContent(), /Lena Logs \(user \d+\)/);
    await screenshot(page, 'log-01-details-from-to');
    await row.getByRole('button', { name: /^Details of event/ }).click();
    assert.equal(await page.locator('.details-row').count(), 0);
  });

  it('shows times in UTC, or in the viewer\'s zone after the toggle, remembered across reloads', async () => {
    const at = () => rows().first().locator('td[data-label="At"] time').textContent();
    assert.match(await at(), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    await page.getByRole('button', { name: 'Show times in America/New_York' }).click();
    assert.match(await at(), /EST|EDT|GMT-[45]/);
    await page.reload();
    await page.getByText(totals(all)).waitFor();
    assert.match(await at(), /EST|EDT|GMT-[45]/);
    await screenshot(page, 'log-02-local-times');
    await page.getByRole('button', { name: 'Show times in UTC' }).click();
    assert.match(await at(), / UTC$/);
  });

  it('keeps filters and the page in the URL: reload and Back restore the same view', async () => {
    await page.goto(groupPage());
    await page.getByText('Page 1, 20 events.').waitFor();
    // The grouped, searchable picker: readable names under their category.
    const type = page.getByRole('combobox', { name: 'Event type' });
    await type.fill('release upd');
    const listbox = page.getByRole('listbox', { name: 'Suggestions' });
    await listbox.getByRole('group', { name: 'Release orchestration' }).getByRole('option', { name: /Release updated/ }).waitFor();
    assert.equal(await listbox.getByRole('option', { name: /Member created/ }).count(), 0);
    await screenshot(page, 'log-03-type-picker');
    // Keyboard: the second match is "Release updated" (after "Release asset link updated").
    await type.press('ArrowDown');
    await type.press('ArrowDown');
    assert.match(await page.locator(`#${await type.getAttribute('aria-activedescendant')}`).textContent(), /^Release updated/);
    await type.press('Enter');
    assert.equal(await type.inputValue(), 'Release updated');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL(/event_type=release_updated/);
    await page.getByText('1 event in total, 1 page.').waitFor();
    assert.equal(await rows().count(), 1);
    // A bookmark (a reload) shows the same view.
    await page.reload();
    await page.getByText('1 event in total, 1 page.').waitFor();
    assert.equal(await page.getByRole('combobox', { name: 'Event type' }).inputValue(), 'Release updated');
    // Another filter, then Back: the previous view, its form and its rows.
    await page.getByLabel('Author').fill(`@${owner.username}`);
    await page.getByRole('combobox', { name: 'Event type' }).fill('');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL(/author=/);
    await page.waitForFunction(() => !document.querySelector('.log-table[aria-busy]') && /in total/.test(document.querySelector('.totals')?.textContent || ''));
    const byAuthor = await page.locator('.totals').textContent();
    assert.equal(byAuthor, totals(all - RELEASES)); // the owner authored every event of the group but the log's own evidence events
    await page.goBack();
    await page.waitForURL((u) => u.searchParams.get('event_type') === 'release_updated' && !u.searchParams.has('author'));
    await page.getByText('1 event in total, 1 page.').waitFor();
    assert.equal(await page.getByLabel('Author').inputValue(), '');
    await page.goForward();
    await page.getByText(byAuthor).waitFor();
    assert.equal(await page.getByLabel('Author').inputValue(), `@${owner.username}`);
    // The page is in the URL too.
    await page.getByRole('button', { name: 'Next' }).click();
    await page.waitForURL(/page=2/);
    await page.getByText(`Page 2, ${all - RELEASES - 20} events.`).waitFor();
    await page.reload();
    await page.getByText(`Page 2, ${all - RELEASES - 20} events.`).waitFor();
    await page.goBack();
    await page.getByText('Page 1, 20 events.').waitFor();
    // An unknown author is a clear error, and nothing is listed.
    await page.getByLabel('Author').fill('nobody-here');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('No user has the username @nobody-here.').waitFor();
    await screenshot(page, 'log-04-filters-in-url');
  });

  it('creates a destination with its filters in one step, and shows its delivery arriving live', async () => {
    await page.goto(groupPage());
    await page.getByRole('tab', { name: 'Streams' }).click();
    await page.getByText('No streaming destinations yet.').waitFor();
    await page.getByRole('button', { name: 'Add streaming destination' }).click();
    await page.getByLabel('Destination URL').fill(receiver.url);
    await page.getByLabel('Name', { exact: true }).fill('Releases only');
    await page.getByLabel('Search types').fill('release created');
    assert.equal(await page.getByLabel('member_created').isVisible(), false);
    await page.getByLabel('release_created').check();
    await screenshot(page, 'streams-01-create-with-filters');
    await page.getByRole('button', { name: 'Add destination' }).click();
    await page.getByText('Destination Releases only added.').waitFor();
    const card = page.locator('[data-destination-id]').filter({ hasText: 'Releases only' });
    await card.getByText('Filtered').waitFor();
    const q = await gql(`{ group(fullPath: "${groupPath}") { externalAuditEventDestinations { nodes { name active eventTypeFilters } } } }`);
    assert.deepEqual(q.data.group.externalAuditEventDestinations.nodes, [{ name: 'Releases only', active: true, eventTypeFilters: ['release_created'] }]);

    // The edit form names the destination it edits.
    await card.getByRole('button', { name: 'Edit' }).click();
    await page.getByRole('heading', { name: /^Edit destination\W*Releases only\W/ }).waitFor();
    await page.getByRole('button', { name: 'Cancel' }).click();

    await card.getByRole('button', { name: 'Recent deliveries' }).click();
    await must(worker.base, 201, 'POST', `/api/v4/projects/${project.id}/releases`, { token: owner.token, body: { tag_name: 'v2.0', name: 'Streamed' } });
    // No Refresh click: the open log refreshes itself while the tab is visible.
    const row = card.locator('tr[data-delivery-id]').filter({ hasText: 'release_created' }).first();
    await until(async () => /delivered/.test((await row.textContent().catch(() => '')) || ''), 'the delivery shown as delivered', 40_000);
    await row.getByRole('button', { name: /^Attempts of event/ }).click();
    const attempts = card.getByRole('table', { name: /^Attempts of event/ });
    await attempts.waitFor();
    assert.match(await attempts.textContent(), /200/);
    assert.match(await attempts.textContent(), /ok/);
    await card.locator('.charts canvas').first().waitFor();
    assert.match(await card.locator('.chart-summary').textContent(), /Last 24 hours \(UTC hours\): [1-9]\d* delivered/);
    await screenshot(page, 'streams-02-delivered-live');
    // Only events of the filtered type arrive, not even the destination's own creation event: the
    // form creates it with its filters in one step (the create's eventTypeFilters argument).
    const types = receiver.requests.map((r) => r.headers['x-gitlab-audit-event-type']);
    assert.ok(types.includes('release_created'), `${types}`);
    assert.deepEqual(types.filter((t) => t !== 'release_created'), []);

    // Paging: 22 more releases, more than 20 deliveries, 20 a page.
    for (let i = 0; i < 22; i++) {
      await must(worker.base, 201, 'POST', `/api/v4/projects/${project.id}/releases`, { token: owner.token, body: { tag_name: `v3.${i}`, name: `More ${i}` } });
    }
    await card.getByLabel('Status').selectOption('DELIVERED');
    const n = Number(await until(async () => {
      const m = /(\d+) deliveries: \1 delivered, 0 pending/.exec(await card.textContent());
      return m && Number(m[1]) >= 23 ? m[1] : null;
    }, 'every delivery delivered', 60_000));
    assert.ok(n >= 23, `${n} deliveries`);
    await card.getByRole('button', { name: 'Refresh' }).click();
    await card.getByText(`Deliveries 1 to 20 of ${n}.`).waitFor();
    await card.getByRole('button', { name: 'Older' }).click();
    await card.getByText(`Deliveries 21 to ${n} of ${n}.`).waitFor();
    assert.equal(await card.locator('tr[data-delivery-id]').count(), n - 20);
    await screenshot(page, 'streams-02b-older-page');
    await card.getByRole('button', { name: 'Newer' }).click();
    await card.getByText(`Deliveries 1 to 20 of ${n}.`).waitFor();
    await card.getByRole('button', { name: 'Recent deliveries' }).click();
  });

  it('shows failed deliveries with their attempts and response excerpts, and redelivers one or all of them', async () => {
    // An unfiltered destination whose receiver fails: its creation event and a release's update
    // fail four times each (DELIVERY_RETRY_SCHEDULE=1,1,1), fewer than the breaker's threshold.
    // Every release made so far has its evidence first, so no evidence event joins them.
    await settleEvidence();
    const created = await gql(`mutation { externalAuditEventDestinationCreate(input: { destinationUrl: "${flaky.url}", name: "Flaky", groupPath: "${groupPath}" }) { errors externalAuditEventDestination { id } } }`);
    assert.deepEqual(created.data.externalAuditEventDestinationCreate.errors, []);
    await must(worker.base, 200, 'PUT', `/api/v4/projects/${project.id}/releases/v0.0`, { token: owner.token, body: { name: 'Flaky' } });
    await page.reload();
    const card = page.locator('[data-destination-id]').filter({ hasText: 'Flaky' });
    await card.getByRole('button', { name: 'Recent deliveries' }).click();
    await card.getByLabel('Status').selectOption('FAILED');
    await until(async () => /2 deliveries: 0 delivered, 0 pending, 2 failed\./.test(await card.textContent()), 'both deliveries failed', 60_000);
    await card.getByRole('button', { name: 'Refresh' }).click();
    await card.getByText('Deliveries 1 to 2 of 2.').waitFor();
    const row = card.locator('tr[data-delivery-id]').filter({ hasText: 'release_updated' });
    await row.getByRole('button', { name: /^Attempts of event/ }).click();
    const attempts = card.getByRole('table', { name: /^Attempts of event/ });
    await attempts.waitFor();
    assert.match(await attempts.textContent(), /500/);
    assert.match(await attempts.textContent(), /boom: receiver down/);
    assert.equal(await attempts.locator('tbody tr').count(), 4);
    await screenshot(page, 'streams-03-failed-attempts');

    // The receiver recovers: redeliver one, then all the others.
    flaky.state.failing = false;
    const before = flaky.state.requests.length;
    const eventId = await row.getAttribute('data-event-id');
    await row.getByRole('button', { name: `Redeliver event ${eventId}` }).click();
    await card.getByText(`Event ${eventId} queued for redelivery.`).waitFor();
    await until(() => flaky.state.requests.slice(before).some((r) => String(JSON.parse(r.body).id) === eventId), 'the redelivery', 60_000).catch(async (err) => {
      throw new Error(`${err.message}; ${flaky.state.requests.length - before} requests since; ids ${flaky.state.requests.map((r) => JSON.parse(r.body).id)}; card: ${await card.textContent()}`);
    });
    await card.getByRole('button', { name: 'Redeliver all failed' }).click();
    await card.getByText(/^[12] failed deliver(y|ies) queued for redelivery\.$/).waitFor();
    await until(async () => /(\d+) deliveries: \1 delivered, 0 pending, 0 failed\./.test(await card.textContent()), 'every delivery delivered', 60_000);
    await card.getByLabel('Status').selectOption('');
    await card.locator('tr[data-delivery-id]').first().waitFor();
    assert.equal(await card.getByRole('button', { name: 'Redeliver all failed' }).isDisabled(), true);
    // The charts follow: the live refresh redraws them when the counts change.
    await until(async () => /: [1-9]\d* delivered, [1-9]\d* failed attempts/.test(await card.locator('.chart-summary').textContent()), 'the charts redrawn', 20_000);
    await card.locator('.charts canvas').first().waitFor();
    await screenshot(page, 'streams-04-redelivered');
  });

  it('keeps the log usable at phone width', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${groupPage()}?event_type=release_updated`);
    const row = rows().filter({ hasText: 'Updated release v1.0' });
    await row.getByRole('button', { name: /^Details of event/ }).click();
    await page.getByRole('table', { name: 'What changed' }).waitFor();
    await screenshot(page, 'log-05-details-phone');
    await page.setViewportSize({ width: 1280, height: 900 });
  });
});
