import { applyD1Migrations, type D1Migration } from 'cloudflare:test';
import { env } from 'cloudflare:workers';

// Setup files run outside isolated storage and may run many times; applyD1Migrations only
// applies what has not been applied yet.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS as D1Migration[]);
