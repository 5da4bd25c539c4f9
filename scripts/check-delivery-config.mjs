#!/usr/bin/env node
// Refuse contradictory delivery settings before anything runs: `npm run deploy` runs this file,
// `npm start` imports it. The checks are the Workers' own (src/delivery/config.ts, loaded through
// Node's type stripping), applied to the vars each Worker would get: its wrangler config's
// [vars], then (locally) .dev.vars and `--var NAME:value`. Both Workers read the DELIVERY_* vars,
// so their configs must agree on them.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unstable_readConfig } from 'wrangler';
import { checkDeliveryVars } from '../src/delivery/config.ts';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
const CONFIGS = ['wrangler.toml', 'consumer/wrangler.toml'];
const NAMES = ['DELIVERY_TIMEOUT_MS', 'DELIVERY_RETRY_SCHEDULE', 'DELIVERY_BREAKER_COOLDOWN_SECONDS', 'DELIVERY_MAX_WAIT_DAYS', 'DELIVERY_PAUSE_RETENTION_DAYS'];

/** What is wrong with the delivery settings of both Workers, `overrides` applied over their [vars]; [] when nothing. */
export function deliveryConfigErrors(overrides = {}) {
  const vars = CONFIGS.map((file) => ({ ...unstable_readConfig({ config: join(ROOT, file) }).vars, ...overrides }));
  const differ = NAMES.filter((name) => vars[0][name] !== vars[1][name]);
  if (differ.length === 0) return checkDeliveryVars(vars[0]).errors;
  return [
    ...differ.map((name) => `${CONFIGS[0]} and ${CONFIGS[1]} set ${name} differently (${JSON.stringify(vars[0][name])} and ${JSON.stringify(vars[1][name])}): both Workers read it`),
    ...CONFIGS.flatMap((file, i) => checkDeliveryVars(vars[i]).errors.map((e) => `${file}: ${e}`)),
  ];
}

/** Print the errors and exit 1 when there are any. */
export function refuseBadDeliveryConfig(overrides = {}, what = 'deploy') {
  const errors = deliveryConfigErrors(overrides);
  if (errors.length === 0) return;
  console.error(`Refusing to ${what}: the delivery settings contradict themselves.\n${errors.map((e) => `  - ${e}`).join('\n')}`);
  process.exit(1);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) refuseBadDeliveryConfig();
