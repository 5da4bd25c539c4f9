// End-to-end, in Debian's Chromium against `npm start`: the Streams tab over GitLab 18's
// consolidated API, for every category. An http destination created with its filters delivers to
// a receiver on 127.0.0.1; paused, its events wait (health: pending) and arrive on resume; a test
// event shows its outcome; an aws destination is added through its own form (field errors in
// place), listed with its category, and its failing delivery shows in its health (this worker has
// no S3 endpoint var and delivers to loopback only); deleted after confirmation.
// Screenshots land in test/e2e/screenshots/ (names starting with "categories-").
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createUserWithToken, launchBrowser, must, screenshot, startReceiver, signIn, startWorker, until } from './harness.mjs';

describe('the Streams tab for every category in a real browser', { concurrency: false }, () => {
  let worker, receiver, browser, page, owner, project;
  const s = Date.now().toString(36);
  const groupPath = `cats-${s}`;
  const gql = (query) => must(worker.base, 200, 'POST', '/api/graphql', { token: owner.token, body: { query } });
  const release = (tag) => must(worker.base, 201, 'POST', `/api/v4/projects/${project.id}/releases`, { token: owner.token, body: { tag_name: tag, name: tag } });
  const types = () => receiver.requests.map((r) => r.headers['x-gitlab-audit-event-type']);
  const card = (name) => page.locator('[data-destination-id]').filter({ has: page.getByRole('heading', { name: new RegExp(`^${name}\\b`) }) });
  /** Reload the list (the cards show health as of their last load) and read a card's health line. */
  const health = async (name) => {
    await page.getByRole('button', { name: 'Reload destinations' }).click();
    await page.getByText('Destinations and their health reloaded.').waitFor();
    return card(name).locator('.health').innerText();
  };

  before(async () => {
    [worker, receiver] = await Promise.all([startWorker(), startReceiver()]);
    owner = await createUserWithToken(worker, `cato-${s}`, 'Cato Categories');
    const group = await must(worker.base, 201, 'POST', '/api/v4/groups', { token: owner.token, body: { name: groupPath, path: groupPath, visibility: 'private' } });
    project = await must(worker.base, 201, 'POST', '/api/v4/projects', { token: owner.token, body: { name: 'app', path: 'app', namespace_id: group.id, visibility: 'private' } });
    browser = await launchBrowser();
    page = await browser.context.newPage();
    await signIn(page, worker.base, owner);
  });

  after(async () => {
    await browser?.close();
    await receiver?.close();
    await worker?.stop();
  });

  afterEach(async () => {
    if (page && !page.isClosed()) await screenshot(page, '99-categories-last-state').catch(() => {});
  });

  it('creates an http destination with filters, and its delivery arrives and shows in its health', async () => {
    await page.goto(`${worker.base}/groups/${groupPath}`);
    await page.getByRole('tab', { name: 'Streams' }).click();
    await page.getByText('No streaming destinations yet.').waitFor();
    await page.getByRole('button', { name: 'Add streaming destination' }).click();
    assert.equal(await page.getByLabel('Category').inputValue(), 'http');
    await page.getByLabel('Destination URL').fill(receiver.url);
    await page.getByLabel('Name', { exact: true }).fill('Hook');
    await page.getByLabel('Search types').fill('release created');
    await page.getByLabel('release_created').check();
    await page.getByRole('button', { name: 'Add destination' }).click();
    await page.getByText('Destination Hook added.').waitFor();
    const hook = card('Hook');
    await hook.locator('.badge[data-category="http"]').getByText('HTTP').waitFor();
    await hook.getByText('Filtered').waitFor();
    await hook.getByText('Active', { exact: true }).waitFor();
    assert.match(await hook.locator('.health').innerText(), /Nothing delivered yet[^]*Last success: never[^]*\b0 pending\n0 dead-lettered/);

    await release('v1.0');
    await until(() => types().includes('release_created'), 'the release event at the receiver');
    // The filters went with the create: nothing else arrived, not even the creation event.
    assert.deepEqual(types().filter((t) => t !== 'release_created'), []);
    assert.match(await until(async () => { const t = await health('Hook'); return /Healthy/.test(t) && t; }, 'the health to show the delivery'), /Last success: \d{4}-/);
    await screenshot(page, 'categories-01-http-delivered');
  });

  it('pauses: an event waits (pending in the health), and arrives on resume', async () => {
    const hook = card('Hook');
    await hook.getByRole('button', { name: 'Pause' }).click();
    await page.getByText('Destination Hook paused: its events wait until it is resumed.').waitFor();
    await hook.getByText('Paused (inactive)').waitFor();
    const q = await gql(`{ group(fullPath: "${groupPath}") { externalAuditEventStreamingDestinations { nodes { name active } } } }`);
    assert.deepEqual(q.data.group.externalAuditEventStreamingDestinations.nodes, [{ name: 'Hook', active: false }]);

    const before = receiver.requests.length;
    await release('v2.0');
    assert.match(await until(async () => { const t = await health('Hook'); return /\b[1-9]\d* pending/.test(t) && t; }, 'the paused event pending'), /[1-9]\d* pending/);
    const pending = await gql(`{ group(fullPath: "${groupPath}") { externalAuditEventStreamingDestinations { nodes { deliveries(status: PENDING) { nodes { eventType } } } } } }`);
    assert.deepEqual([...new Set(pending.data.group.externalAuditEventStreamingDestinations.nodes[0].deliveries.nodes.map((d) => d.eventType))], ['release_created']);
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(receiver.requests.length, before, 'nothing arrives while paused');
    await screenshot(page, 'categories-02-paused-pending');

    await hook.getByRole('button', { name: 'Resume' }).click();
    await page.getByText('Destination Hook resumed: waiting events go out oldest first.').waitFor();
    await until(() => receiver.requests.slice(before).some((r) => r.headers['x-gitlab-audit-event-type'] === 'release_created'), 'the waiting event after resume', 40_000);
    await until(async () => /\b0 pending/.test(await health('Hook')), 'no event pending');
    await card('Hook').getByText('Active', { exact: true }).waitFor();
  });

  it('sends a test event and shows its outcome', async () => {
    const hook = card('Hook');
    await hook.getByRole('button', { name: 'Send test event' }).click();
    await hook.getByText('Test event delivered (HTTP 200).').waitFor();
    assert.ok(types().includes('streaming_destination_test'), `${types()}`);
    await screenshot(page, 'categories-03-test-event');
  });

  it('adds an aws destination through its form, with field errors in place, and shows its failing delivery', async () => {
    await page.getByRole('button', { name: 'Add streaming destination' }).click();
    await page.getByLabel('Category').selectOption('aws');
    await page.getByRole('heading', { name: 'Add Amazon S3 destination' }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('Bucket');
    await page.getByLabel('Access key ID').fill('AKIASHORT');
    await page.getByLabel('Bucket name').fill('Not_A_Bucket');
    await page.getByLabel('AWS region').fill('us-east-1');
    await page.getByRole('button', { name: 'Add destination' }).click();
    await page.getByText('Access key ID must be 16 to 128 letters or digits.').waitFor();
    await page.getByText(/^Bucket name must be 3 to 63 lower-case letters/).waitFor();
    await page.getByText('Secret access key is required.').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), await page.getByLabel('Access key ID').getAttribute('id'), 'focus on the first field in error');
    await screenshot(page, 'categories-04-aws-field-errors');
    assert.equal(await page.locator('[data-destination-id]').count(), 1, 'nothing was created');

    await page.getByLabel('Access key ID').fill('AKIAIOSFODNN7EXAMPLE');
    await page.getByLabel('Bucket name').fill('audit-bucket');
    await page.getByLabel('Secret access key').fill('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
    await page.getByLabel('Search types').fill('release created');
    await page.getByLabel('release_created').check();
    await page.getByRole('button', { name: 'Add destination' }).click();
    await page.getByText('Destination Bucket added.').waitFor();
    const bucket = card('Bucket');
    await bucket.locator('.badge[data-category="aws"]').getByText('Amazon S3').waitFor();
    await bucket.getByText('s3://audit-bucket in us-east-1 (access key ID AKIAIOSFODNN7EXAMPLE)').waitFor();
    await bucket.getByText('Event types: release_created').waitFor();
    const q = await gql(`{ group(fullPath: "${groupPath}") { externalAuditEventStreamingDestinations { nodes { name category config eventTypeFilters } } } }`);
    const aws = q.data.group.externalAuditEventStreamingDestinations.nodes.find((d) => d.name === 'Bucket');
    assert.deepEqual(aws, { name: 'Bucket', category: 'aws', config: { accessKeyXid: 'AKIAIOSFODNN7EXAMPLE', bucketName: 'audit-bucket', awsRegion: 'us-east-1' }, eventTypeFilters: ['release_created'] });
    // Only http destinations show in the legacy API.
    const legacy = await gql(`{ group(fullPath: "${groupPath}") { externalAuditEventDestinations { nodes { name } } } }`);
    assert.deepEqual(legacy.data.group.externalAuditEventDestinations.nodes, [{ name: 'Hook' }]);

    await release('v3.0');
    const text = await until(async () => { const t = await health('Bucket'); return !/Last failure: never/.test(t) && t; }, 'the aws failure in the health', 60_000);
    assert.match(text, /^Health: ?\n?Failing/);
    assert.match(text, /Last failure: \d{4}-[^(]*\(.+\)/);
    // Created with its filters in one step: not even its own creation event was routed to it.
    const routed = await gql(`{ group(fullPath: "${groupPath}") { externalAuditEventStreamingDestinations { nodes { name deliveries { nodes { eventType } } } } } }`);
    const bucketDeliveries = routed.data.group.externalAuditEventStreamingDestinations.nodes.find((d) => d.name === 'Bucket').deliveries.nodes;
    assert.deepEqual(bucketDeliveries.map((d) => d.eventType), ['release_created']);
    // Its delivery log works on the consolidated GID too.
    await card('Bucket').getByRole('button', { name: 'Recent deliveries' }).click();
    await card('Bucket').locator('tr[data-delivery-id]').filter({ hasText: 'release_created' }).first().waitFor();
    await screenshot(page, 'categories-05-aws-listed-failing');
  });

  it('edits the aws destination in its own form, then deletes it after confirmation', async () => {
    await card('Bucket').getByRole('button', { name: 'Edit' }).click();
    await page.getByRole('heading', { name: /^Edit destination\W*Bucket\W*$/ }).waitFor();
    assert.equal(await page.getByLabel('Secret access key').inputValue(), '', 'the secret is write-only');
    await page.getByLabel('AWS region').fill('eu-west-1');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Destination Bucket saved.').waitFor();
    await card('Bucket').getByText('s3://audit-bucket in eu-west-1 (access key ID AKIAIOSFODNN7EXAMPLE)').waitFor();

    await card('Bucket').getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await page.getByText('Destination Bucket deleted.').waitFor();
    assert.equal(await card('Bucket').count(), 0);
    assert.equal(await card('Hook').count(), 1);
  });

  it('adds a gcp destination through its form (log ID defaulted), listed with its category', async () => {
    await page.getByRole('button', { name: 'Add streaming destination' }).click();
    await page.getByLabel('Category').selectOption('gcp');
    await page.getByRole('heading', { name: 'Add Google Cloud Logging destination' }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('Logs');
    await page.getByLabel('Google project ID').fill('1-bad');
    await page.getByLabel('Client email').fill(`audit@audit-events-test.iam.gserviceaccount.com`);
    await page.getByLabel('Private key (PEM)').fill('-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n');
    await page.getByRole('button', { name: 'Add destination' }).click();
    await page.getByText(/^Google project ID must be 6 to 30 lower-case letters/).waitFor();
    await page.getByLabel('Google project ID').fill('audit-events-test');
    await page.getByRole('button', { name: 'Add destination' }).click();
    await page.getByText('Destination Logs added.').waitFor();
    const logs = card('Logs');
    await logs.locator('.badge[data-category="gcp"]').getByText('Google Cloud Logging').waitFor();
    await logs.getByText('projects/audit-events-test/logs/audit-events as audit@audit-events-test.iam.gserviceaccount.com').waitFor();
    await screenshot(page, 'categories-07-gcp-listed');
    await logs.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.getByText('Destination Logs deleted.').waitFor();
  });

  it('gives the http destination namespace filters (at most 5, checked in place)', async () => {
    await card('Hook').getByRole('button', { name: 'Edit' }).click();
    const field = page.getByLabel('Namespace filters (optional)');
    await field.fill(['a', 'b', 'c', 'd', 'e', 'f'].map((x) => `${groupPath}/${x}`).join('\n'));
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('At most 5 namespace filters per destination (6 given).').waitFor();
    await field.fill(`${groupPath}/app`);
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Destination Hook saved.').waitFor();
    await card('Hook').getByText(`Namespaces: ${groupPath}/app`).waitFor();
    const q = await gql(`{ group(fullPath: "${groupPath}") { externalAuditEventStreamingDestinations { nodes { name namespaceFilters { namespace { fullPath } } } } } }`);
    assert.deepEqual(q.data.group.externalAuditEventStreamingDestinations.nodes, [{ name: 'Hook', namespaceFilters: [{ namespace: { fullPath: `${groupPath}/app` } }] }]);
    await screenshot(page, 'categories-06-namespace-filter');
  });
});
