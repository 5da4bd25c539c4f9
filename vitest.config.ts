import { defineConfig } from 'vitest/config';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';
import { build } from 'esbuild';
import { join } from 'node:path';
import { buildWeb } from './scripts/build-web.mjs';

const root = import.meta.dirname;
const migrations = await readD1Migrations(join(root, 'migrations'));

/** What every Worker of the tests gets instead of wrangler.toml's production vars. */
const testVars = {
  ADMIN_TOKEN: 'test-admin-token',
  // Signs the releases page's download links (src/auth/download_links.ts); a test value.
  DOWNLOAD_LINK_SECRET: 'test-download-link-secret-0123456789abcdef',
  ALLOW_LOCAL_DESTINATIONS: 'true',
  // No test delivery ever leaves the machine (fuzzed or example destinations included).
  DELIVERY_LOOPBACK_ONLY: 'true',
  DELIVERY_TIMEOUT_MS: '2000',
  DELIVERY_RETRY_SCHEDULE: '1,1,1',
  // Several lanes per destination in tests (production's default is 1), so their paths run.
  DELIVERY_LANES_PER_DESTINATION: '4',
  // Load measures the service, not the limiter: only the limiter's own tests turn them on
  // (test/rest/rate_limits.test.ts calls the handler with RATE_LIMITS "on").
  RATE_LIMITS: 'off',
  // Test files share one database and the archive moves the oldest events of the whole log: in
  // this suite nothing is ever old enough (tests date events back to 1990 at most). The archive's
  // own tests (test/archive/) run in a database of their own: vitest.archive.config.ts.
  AUDIT_HOT_DAYS: '36500',
  // The audit log's checkpoint signing key (a fixed test seed: bytes 0 to 31).
  AUDIT_LOG_SIGNING_KEY: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=',
};

// The consumer Worker (consumer/wrangler.toml) runs beside the API Worker under test as an
// auxiliary Worker: the plugin loads one wrangler config, so its entry src/consumer.ts is bundled
// here (a git-ignored file inside the project: workerd refuses scripts outside the project root)
// and its bindings (the same D1 database, the "deliveries" consumer, the dead-letter queue) are
// read from its own wrangler config. Messages the API sends reach this Worker's queue handler.
const consumerScript = join(root, '.wrangler', 'test', 'consumer.mjs');
await build({
  entryPoints: [join(root, 'src', 'consumer.ts')],
  outfile: consumerScript,
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  // As wrangler resolves packages for Workers (ipaddr.js has only a CommonJS "main").
  mainFields: ['browser', 'module', 'main'],
  target: 'es2022',
  external: ['cloudflare:*', 'node:*'],
  logLevel: 'warning',
});
// The web pages' client (web/) is built into the Static Assets directory the tests serve (public/).
await buildWeb();

const { workerOptions: consumer } = unstable_getMiniflareWorkerOptions(join(root, 'consumer', 'wrangler.toml'));

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        bindings: { TEST_MIGRATIONS: migrations, ...testVars },
        // Tests call the consumer's code directly too (test/delivery/consumer.test.ts): it needs the DLQ.
        queueProducers: { DELIVERIES_DLQ: { queueName: 'deliveries-dlq' } },
        // ... and the consumer Worker's lanes (its queue handler hands jobs to them): the objects
        // run in the consumer Worker (with its env), whichever Worker calls them.
        durableObjects: { DESTINATION_LANES: { className: 'DestinationLane', scriptName: 'audit-events-consumer' } },
        workers: [
          {
            name: 'audit-events-consumer',
            rootPath: root,
            modules: true,
            scriptPath: consumerScript,
            compatibilityDate: consumer.compatibilityDate,
            compatibilityFlags: consumer.compatibilityFlags,
            bindings: { ...consumer.bindings, ...testVars },
            d1Databases: consumer.d1Databases,
            r2Buckets: consumer.r2Buckets,
            queueProducers: consumer.queueProducers,
            queueConsumers: consumer.queueConsumers,
            // The API Worker's objects (EDGE_MODEL_PRIMARY, bench only) are bound by the script_name of
            // the deployed API Worker, which the test runner does not carry: left out here.
            durableObjects: Object.fromEntries(
              Object.entries(consumer.durableObjects ?? {}).filter(([, d]) => !(typeof d === 'object' && d !== null && 'scriptName' in d && d.scriptName)),
            ),
          },
        ],
      },
    }),
  ],
  test: {
    setupFiles: ['./test/support/apply-migrations.ts'],
    // Node-side HTTP receiver for the delivery tests (port provided as inject('receiverPort')).
    // Local S3 (s3rver behind a SigV4-verifying proxy), OAuth token and Cloud Logging endpoints for
    // the aws and gcp destinations' tests (inject('cloud')).
    globalSetup: ['./test/support/receiver-setup.mjs', './test/support/cloud-setup.mjs'],
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'test/archive/**', 'node_modules/**'],
    testTimeout: 30_000,
    // Worker console output goes straight to workerd's stdout. With vitest's interception, a
    // console call from another invocation's I/O context (the queue consumer logging while a file
    // ends) is parked by the pool until its next message, while vitest's runner waits for that
    // log call's RPC reply before sending one: the file never finishes and the run hangs.
    disableConsoleIntercept: true,
  },
});
