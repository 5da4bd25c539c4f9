import { defineConfig } from 'vitest/config';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { join } from 'node:path';

const migrations = await readD1Migrations(join(import.meta.dirname, 'migrations'));

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        bindings: {
          TEST_MIGRATIONS: migrations,
          ADMIN_TOKEN: 'test-admin-token',
          ALLOW_LOCAL_DESTINATIONS: 'true',
          // No test delivery ever leaves the machine (fuzzed or example destinations included).
          DELIVERY_LOOPBACK_ONLY: 'true',
          DELIVERY_TIMEOUT_MS: '2000',
          DELIVERY_RETRY_SCHEDULE: '1,1,1',
        },
      },
    }),
  ],
  test: {
    setupFiles: ['./test/support/apply-migrations.ts'],
    // Node-side HTTP receiver for the delivery tests (port provided as inject('receiverPort')).
    globalSetup: ['./test/support/receiver-setup.mjs'],
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'node_modules/**'],
    testTimeout: 30_000,
    // Worker console output goes straight to workerd's stdout. With vitest's interception, a
    // console call from another invocation's I/O context (the queue consumer logging while a file
    // ends) is parked by the pool until its next message, while vitest's runner waits for that
    // log call's RPC reply before sending one: the file never finishes and the run hangs.
    disableConsoleIntercept: true,
  },
});
