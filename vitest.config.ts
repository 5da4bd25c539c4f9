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
  },
});
